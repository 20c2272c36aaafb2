"""VerificationLauncher without a frontend: consent, link, countdown, renew, reuse, callback URL, outcome."""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import realavatar_nb as ra
from realavatar_nb._config import Secret
from realavatar_nb._exceptions import MalformedResponseError
from realavatar_nb.simulator import Sandbox
from realavatar_nb.widgets import VerificationLauncher

CONSENT = ra.Consent(given_by="Alice", purpose="widget test")


class FakeTime:
    """A wall clock that only the launcher's sleeps move."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def clock(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


@pytest.fixture(scope="module")
def manual() -> Iterator[Sandbox]:
    """A person answers the H5 page themselves (no autopilot)."""
    with Sandbox(autopilot=None, processing_seconds=0.0) as sb:
        yield sb


@pytest.fixture(scope="module")
def auto() -> Iterator[Sandbox]:
    with Sandbox(autopilot=0.0, autopilot_person="alice", processing_seconds=0.0) as sb:
        yield sb


def _client(sb: Sandbox, tmp_path: Path, dialect: str = "toapis", poll: float = 0.02) -> ra.AsyncClient:
    ledger = ra.Ledger(tmp_path / "ledger.sqlite3")
    return ra.AsyncClient("sandbox", sandbox=sb, dialect=dialect, ledger=ledger, poll_interval=poll)


def _sessions(sb: Sandbox) -> int:
    return sum(account.get("sessions", 0) for account in sb.stats()["accounts"].values())


async def _until(predicate: object, what: str, limit: int = 2000) -> None:
    for _ in range(limit):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never reached: {what}")


def _answer(sb: Sandbox, launcher: VerificationLauncher, outcome: str) -> str:
    """Press Pass or Fail on the launcher's H5 page; return the callback URL it redirects to."""
    link = launcher._link_text.value
    assert link.startswith(sb.url)
    response = httpx.post(link, data={"outcome": outcome, "person": "alice"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def _everything_shown(launcher: VerificationLauncher) -> str:
    states = [json.dumps(w.get_state(), default=str) for w in launcher._family()]
    return "\n".join([*states, launcher.fallback_text(), launcher.fallback_html(), repr(launcher)])


def test_consent_is_asked_before_the_first_link_and_recorded_once(manual: Sandbox, tmp_path: Path) -> None:
    async def scenario() -> None:
        client = _client(manual, tmp_path)
        before = _sessions(manual)
        launcher = VerificationLauncher(client, person="carol")
        assert launcher.state == "consent"
        assert launcher._consent_box.button.disabled
        await asyncio.sleep(0.05)
        assert _sessions(manual) == before  # nothing created before consent

        form = launcher._consent_box
        form.given_by.value, form.purpose.value, form.agree.value = "Carol", "study 12", True
        assert not launcher._consent_box.button.disabled
        form.button.click()
        await _until(lambda: launcher.state == "waiting", "a link")
        assert client.ledger.consent("carol") == ra.Consent(
            "Carol", "study 12", client.ledger.consent("carol").confirmed_at
        )  # type: ignore[union-attr]
        assert launcher._qr.value[:8] == b"\x89PNG\r\n\x1a\n"
        assert launcher.countdown.running and 100 < launcher.countdown.seconds_left <= 120
        assert _sessions(manual) == before + 1

        again = VerificationLauncher(client, person="carol")  # consent is in the ledger now: no question
        assert again.state == "creating"
        await _until(lambda: again.state == "waiting", "a second link")
        launcher.close()
        again.close()
        await client.aclose()

    asyncio.run(scenario())


def test_countdown_reaches_expiry_on_an_injected_clock_and_renew_creates_a_new_session(
    manual: Sandbox, tmp_path: Path
) -> None:
    t = FakeTime()

    async def scenario() -> None:
        client = _client(manual, tmp_path, poll=10.0)
        launcher = VerificationLauncher(client, person="dave", consent=CONSENT, clock=t.clock, sleep=t.sleep)
        await _until(lambda: launcher.state != "creating", "a link")
        first = launcher.session_id
        seen: list[float] = []
        launcher.observe(lambda change: seen.append(change["new"]), names="seconds_left")
        await _until(lambda: launcher.state == "expired", "expiry")
        assert seen[0] > 100 and seen[-1] == 0 and seen == sorted(seen, reverse=True)
        assert launcher._qr.value == b"" and launcher._link_text.value == ""
        assert launcher._new_link in launcher.children
        with pytest.raises(ra.VerificationExpiredError, match="New link"):
            await launcher.verified()

        sessions = _sessions(manual)
        launcher._new_link.click()
        await _until(lambda: launcher.state == "waiting", "a new link")
        assert launcher.session_id != first and launcher.renewals == 1
        assert _sessions(manual) == sessions + 1
        launcher.close()
        await client.aclose()

    asyncio.run(scenario())


def test_auto_renew_makes_new_links_until_its_limit(manual: Sandbox, tmp_path: Path) -> None:
    t = FakeTime()

    async def scenario() -> None:
        client = _client(manual, tmp_path, poll=30.0)
        launcher = VerificationLauncher(
            client, person="erin", consent=CONSENT, auto_renew=True, max_renewals=2, clock=t.clock, sleep=t.sleep
        )
        with pytest.raises(ra.VerificationExpiredError):
            await asyncio.wait_for(launcher.verified(), 30)
        assert launcher.renewals == 2 and launcher.state == "expired"
        await client.aclose()

    asyncio.run(scenario())


def test_verified_sets_group_id_writes_the_ledger_and_calls_on_verified(auto: Sandbox, tmp_path: Path) -> None:
    async def scenario() -> None:
        client = _client(auto, tmp_path)
        launcher = VerificationLauncher(client, person="alice", consent=CONSENT)
        called: list[ra.Verification] = []
        launcher.on_verified(called.append)
        link = ""
        await _until(lambda: launcher.state != "creating", "a link")
        link = launcher._session.h5_link.reveal()  # type: ignore[union-attr]
        token = launcher._session.byted_token.reveal()  # type: ignore[union-attr]
        verification = await launcher.verified(timeout=30)

        assert verification.verified and launcher.group_id == verification.group_id
        assert client.ledger.group_for(client.ledger_name, "alice") == launcher.group_id
        assert called == [verification]
        assert launcher.state == "verified" and launcher.group_id in launcher.fallback_text()
        shown = _everything_shown(launcher)
        assert link not in shown and token not in shown  # the link left the page with its use
        late: list[ra.Verification] = []
        launcher.on_verified(late.append)  # registered after the fact: called at once
        assert late == [verification]
        await client.aclose()

    asyncio.run(scenario())


def test_a_known_group_is_reused_and_verify_again_starts_a_new_check(auto: Sandbox, tmp_path: Path) -> None:
    async def scenario() -> None:
        client = _client(auto, tmp_path)
        first = await VerificationLauncher(client, person="alice", consent=CONSENT).verified(timeout=30)
        sessions = _sessions(auto)

        launcher = VerificationLauncher(client, person="alice")
        assert launcher.state == "verified" and launcher.reused
        assert launcher.group_id == first.group_id
        assert (await launcher.verified()).group_id == first.group_id
        assert "already has a verified group" in launcher.message and launcher._again in launcher.children
        await asyncio.sleep(0.05)
        assert _sessions(auto) == sessions  # no new liveness check was asked for

        launcher._again.click()
        second = await launcher.verified(timeout=30)
        assert _sessions(auto) == sessions + 1 and not launcher.reused
        assert second.group_id and second.group_id != first.group_id
        await client.aclose()

    asyncio.run(scenario())


@pytest.mark.parametrize("dialect", ["crun", "easyrouter"])
def test_a_pasted_callback_url_is_accepted_and_settles_the_outcome(
    manual: Sandbox, tmp_path: Path, dialect: str
) -> None:
    async def scenario() -> None:
        client = _client(manual, tmp_path, dialect=dialect, poll=3600.0)  # only the pasted URL can tell
        launcher = VerificationLauncher(client, person="frank", consent=CONSENT)
        await _until(lambda: launcher.state == "waiting", "a link")
        callback = await asyncio.to_thread(_answer, manual, launcher, "pass")
        launcher._paste.value = callback
        launcher._paste_button.click()
        verification = await launcher.verified(timeout=10)
        assert verification.verified and launcher.result_code == "10000"
        assert launcher.group_id == verification.group_id
        await client.aclose()

    asyncio.run(scenario())


def test_a_bad_or_foreign_callback_url_is_rejected_with_a_reason(manual: Sandbox, tmp_path: Path) -> None:
    async def scenario() -> None:
        client = _client(manual, tmp_path, poll=3600.0)
        one = VerificationLauncher(client, person="gina", consent=CONSENT)
        other = VerificationLauncher(client, person="hank", consent=CONSENT)
        await _until(lambda: one.state == other.state == "waiting", "two links")
        with pytest.raises(ra.CallbackParseError, match="resultCode"):
            one.paste_callback("https://example.org/cb?bytedToken=abc")
        foreign = await asyncio.to_thread(_answer, manual, other, "pass")
        with pytest.raises(ra.CallbackParseError, match="another session"):
            one.paste_callback(foreign)
        one._paste.value = "not a url at all"
        one._paste_button.click()
        assert one.state == "waiting" and "bytedToken" in one.message
        one.close()
        other.close()
        await client.aclose()

    asyncio.run(scenario())


def test_a_failed_check_shows_the_result_code_and_offers_a_new_link(manual: Sandbox, tmp_path: Path) -> None:
    async def scenario() -> None:
        client = _client(manual, tmp_path)
        launcher = VerificationLauncher(client, person="ivan", consent=CONSENT)
        await _until(lambda: launcher.state == "waiting", "a link")
        await asyncio.to_thread(_answer, manual, launcher, "fail")
        with pytest.raises(ra.VerificationRejectedError, match="New link") as caught:
            await launcher.verified(timeout=10)
        assert launcher.state == "failed" and launcher.result_code and launcher.result_code != "10000"
        assert caught.value.result_code == launcher.result_code
        assert launcher.result_code in launcher.fallback_text() and launcher._new_link in launcher.children
        assert launcher._qr.value == b""
        await client.aclose()

    asyncio.run(scenario())


def test_built_outside_a_running_loop_it_starts_when_awaited(auto: Sandbox, tmp_path: Path) -> None:
    client = _client(auto, tmp_path)
    launcher = VerificationLauncher(client, person="alice", consent=CONSENT)
    assert launcher.state == "creating" and launcher.session_id is None
    verification = asyncio.run(launcher.verified(timeout=30))
    assert verification.verified and launcher.group_id == verification.group_id


def test_a_click_delivered_on_another_threads_loop_still_wakes_the_awaiting_cell(auto: Sandbox, tmp_path: Path) -> None:
    """JupyterLab ≥ 4.4 sends comm messages to a kernel subshell: a thread with its own event loop."""
    import threading

    async def scenario() -> None:
        client = _client(auto, tmp_path)
        launcher = VerificationLauncher(client, person="alice")  # no consent yet: the form is shown
        waiting = asyncio.ensure_future(launcher.verified(timeout=30))
        form = launcher._consent_box
        form.given_by.value, form.purpose.value, form.agree.value = "Alice", "subshell test", True

        def subshell() -> None:
            async def click() -> None:
                form.button.click()

            asyncio.run(click())

        thread = threading.Thread(target=subshell)
        thread.start()
        await asyncio.to_thread(thread.join)
        verification = await waiting
        assert verification.verified and launcher.group_id == verification.group_id
        assert all(task.get_loop() is asyncio.get_running_loop() for task in launcher._tasks)
        await client.aclose()

    asyncio.run(scenario())


# -- a provider's link is shown only when it is http(s) ----------------------------------------


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(1)", "JavaScript:alert(document.cookie)//https://x", "data:text/html,<script>alert(1)</script>",
     "file:///etc/passwd", " https://padded.example/h5"],
)  # fmt: skip
def test_a_link_that_is_not_http_gets_no_href_no_qr_and_a_clear_message(
    manual: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, link: str
) -> None:
    async def scenario() -> None:
        client = _client(manual, tmp_path, poll=3600.0)
        create = client.create_verification

        async def hostile(**kwargs: Any) -> ra.VerificationSession:
            # The adapters refuse such links too; the widget must not depend on it.
            return replace(await create(**kwargs), h5_link=Secret(link))

        monkeypatch.setattr(client, "create_verification", hostile)
        launcher = VerificationLauncher(client, person="ivy", consent=CONSENT)
        await _until(lambda: launcher.state != "creating", "the session's outcome")
        assert launcher.state == "error"
        assert "The provider sent a link that is not http(s); not shown." in launcher.message
        assert launcher._qr.value == b"" and launcher._link.value == "" and launcher._link_text.value == ""
        shown = _everything_shown(launcher)
        assert link.strip() not in shown and "href" not in shown and "not http(s); not shown" in shown
        assert launcher._new_link in launcher.children  # another link may be fine
        with pytest.raises(MalformedResponseError, match=r"not http\(s\)"):
            await launcher.verified(timeout=5)
        launcher.close()
        await client.aclose()

    asyncio.run(scenario())


def test_an_http_link_still_gets_its_href_and_qr_code(manual: Sandbox, tmp_path: Path) -> None:
    async def scenario() -> None:
        client = _client(manual, tmp_path, poll=3600.0)
        launcher = VerificationLauncher(client, person="ivy", consent=CONSENT)
        await _until(lambda: launcher.state == "waiting", "a link")
        link = launcher._session.h5_link.reveal()  # type: ignore[union-attr]
        assert link.startswith("http") and f'href="{html.escape(link)}"' in launcher._link.value
        assert launcher._qr.value[:8] == b"\x89PNG\r\n\x1a\n"
        launcher.close()
        await client.aclose()

    asyncio.run(scenario())


@pytest.mark.parametrize(("given_by", "purpose"), [("", "study 12"), ("Jill", "   "), (None, None)])
def test_blank_consent_fields_show_a_message_and_create_nothing(
    manual: Sandbox, tmp_path: Path, given_by: Any, purpose: Any
) -> None:
    async def scenario() -> None:
        client = _client(manual, tmp_path)
        before = _sessions(manual)
        launcher = VerificationLauncher(client, person="jill")
        form = launcher._consent_box
        form.given_by.value, form.purpose.value, form.agree.value = given_by or "", purpose or "", True
        form.button.click()  # a frontend may still deliver a click on a disabled button
        launcher.give_consent(given_by, purpose)  # and code may call it with anything
        assert launcher.state == "consent"
        assert launcher.message == "Both the consenting person's name and the purpose are needed."
        assert client.ledger.consent("jill") is None
        await asyncio.sleep(0.05)
        assert _sessions(manual) == before
        launcher.close()
        await client.aclose()

    asyncio.run(scenario())
