"""Upstream's refusals through the client, on the emulator: a typed error saying what to do, sent once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

import realavatar_nb as ra
from realavatar_nb._config import Secret, Settings
from realavatar_nb.simulator import Sandbox, UpstreamKey


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(autopilot=0.0, processing_seconds=0.0) as sb:
        yield sb


class Counting(httpx.AsyncBaseTransport):
    """A real loopback transport that counts what it sends."""

    def __init__(self) -> None:
        self.sent = 0
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _refusal(sb: Sandbox, key: UpstreamKey, tmp_path: Path, *, secret: str | None = None,
             skew: timedelta | None = None) -> tuple[Exception, int]:  # fmt: skip
    """Return the error a session request ends in, and how many requests were sent for it."""
    settings = Settings(provider=key.cloud, access_key_id=key.access_key_id,
                        secret_key=Secret(secret or key.secret_access_key), api_key=Secret(key.api_key),
                        project=key.project)  # fmt: skip
    counting = Counting()

    async def run() -> Exception:
        client = ra.AsyncClient(settings=settings, base_url=sb.url, transport=counting,
                                ledger=ra.Ledger(tmp_path / "ledger.sqlite3"))  # fmt: skip
        if skew is not None:
            adapter = client.adapter
            assert isinstance(adapter, ra.providers.ark.Ark)
            adapter.clock = lambda: datetime.now(UTC) + skew
        async with client:
            with pytest.raises(ra.RealAvatarError) as caught:
                await client.create_verification(person="alice", consent=ra.Consent("Alice", "refusals"))
            return caught.value

    return asyncio.run(run()), counting.sent


CASES: list[tuple[str, Callable[[Sandbox], UpstreamKey], dict[str, object], type[Exception], list[str]]] = [
    ("wrong secret", lambda sb: sb.access_key("byteplus"), {"secret": "not-the-secret"}, ra.AuthenticationError,
     ["SignatureDoesNotMatch", "REALAVATAR_BYTEPLUS_SECRET_KEY", "clock"]),
    ("skewed clock", lambda sb: sb.access_key("volcengine"), {"skew": timedelta(minutes=20)}, ra.AuthenticationError,
     ["clock"]),
    ("missing permission", lambda sb: sb.access_key("byteplus", denied=["ark:CreateVisualValidateSession"]), {},
     ra.AuthenticationError, ["ark:CreateVisualValidateSession", "ArkFullAccess"]),
    ("library not activated", lambda sb: sb.access_key("volcengine", subscribed=False), {}, ra.AuthenticationError,
     ["SubscriptionRequired", "activate"]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "mint", "options", "error", "words"), CASES, ids=[c[0] for c in CASES])
def test_each_refusal_is_typed_says_what_to_do_and_is_not_retried(
    sandbox: Sandbox, tmp_path: Path, case: str, mint: Callable[[Sandbox], UpstreamKey],
    options: dict[str, object], error: type[Exception], words: list[str],
) -> None:  # fmt: skip
    key = mint(sandbox)
    caught, sent = _refusal(sandbox, key, tmp_path, **options)  # type: ignore[arg-type]
    assert isinstance(caught, error), repr(caught)
    for word in words:
        assert word in str(caught), str(caught)
    assert sent == 1  # it cannot succeed by trying again
    assert key.secret_access_key not in str(caught) and key.api_key not in str(caught)


def test_an_unknown_access_key_names_the_variable_to_check(sandbox: Sandbox, tmp_path: Path) -> None:
    known = sandbox.access_key("byteplus")
    stranger = UpstreamKey("byteplus", "ap-southeast-1", "AKAPnobodyknowsthiskey", "secret", known.api_key)
    caught, sent = _refusal(sandbox, stranger, tmp_path)
    assert isinstance(caught, ra.AuthenticationError) and "REALAVATAR_BYTEPLUS_ACCESS_KEY" in str(caught)
    assert sent == 1


def test_the_access_key_argument_signs_the_requests_and_a_malformed_one_is_refused(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ACCESS_KEY", "SECRET_KEY", "API_KEY"):
        monkeypatch.delenv(f"REALAVATAR_BYTEPLUS_{name}", raising=False)
    key = sandbox.access_key("byteplus")

    async def run() -> str:
        pair = (key.access_key_id, key.secret_access_key)
        ledger = ra.Ledger(tmp_path / "l.sqlite3")
        client = ra.AsyncClient("byteplus", access_key=pair, api_key=key.api_key, base_url=sandbox.url, ledger=ledger)
        async with client:
            session = await client.create_verification(person="alice", consent=ra.Consent("Alice", "argument"))
            return session.provider

    assert asyncio.run(run()) == "byteplus"
    for bad in (("only-an-id",), ("id", ""), "id:secret", ("id", "secret", "token", "more")):
        with pytest.raises(ra.InvalidArgumentError, match="access_key"):
            ra.AsyncClient("byteplus", access_key=bad, ledger=ra.Ledger(tmp_path / "l.sqlite3"))  # type: ignore[arg-type]
    with pytest.raises(ra.MissingAPIKeyError, match=r"access_key=\(id, secret\) to ra\.AsyncClient"):
        ra.AsyncClient("byteplus", api_key="ark", ledger=ra.Ledger(tmp_path / "l.sqlite3")).adapter.build_get_asset("a")
