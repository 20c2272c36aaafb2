"""AsyncClient beyond the main flow: erasure, secrets, the shared emulator, report uploads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import realavatar_nb as ra
from realavatar_nb.samples import make_image
from realavatar_nb.simulator import Sandbox

KEY = "rk-RECOGNISABLE-KEY-0123456789abcdef"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(autopilot=0.0, processing_seconds=0.0, job_seconds=0.2, autopilot_person="alice") as sb:
        yield sb


def _client(sb: Sandbox, dialect: str, ledger: Path, **kwargs: object) -> ra.AsyncClient:
    return ra.AsyncClient(
        "sandbox", sandbox=sb, dialect=dialect, ledger=ra.Ledger(ledger), poll_interval=0.05, **kwargs
    )  # type: ignore[arg-type]


async def _verified(client: ra.AsyncClient) -> str:
    session = await client.create_verification(person="alice", consent=ra.Consent("Alice", "tests"))
    group = (await client.wait_verified(session, timeout=30)).group_id
    assert group
    return group


@pytest.mark.parametrize("dialect", ["easyrouter", "crun"])
def test_erase_person_deletes_upstream_where_allowed_and_purges_the_ledger(
    sandbox: Sandbox, tmp_path: Path, dialect: str
) -> None:
    image = make_image(tmp_path / "a.jpg", width=400, height=500)

    async def flow() -> dict[str, object]:
        async with _client(sandbox, dialect, tmp_path / "l.sqlite3") as client:
            group = await _verified(client)
            await client.wait_active([await client.upload_asset(group, image)])
            report = await client.erase_person("alice")
            assert client.ledger.group_for(client.ledger_name, "alice") is None
            assert client.ledger.consent("alice") is None
            report["group"] = group
            return report

    report = asyncio.run(flow())
    if dialect == "easyrouter":
        assert (report["deleted_groups"], report["not_deleted"]) == (1, [])
        assert report["group"] not in sandbox.state.groups
    else:
        kept = dict(report["not_deleted"])  # type: ignore[arg-type]
        assert report["group"] in kept and "console" in kept[report["group"]]  # type: ignore[index]
        assert report["deleted_assets"] == 0


def test_a_recognisable_key_and_the_tokens_show_nowhere(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    image = make_image(tmp_path / "a.jpg", width=400, height=500)
    shown: list[str] = []

    async def flow() -> None:
        async with _client(sandbox, "crun", tmp_path / "l.sqlite3", api_key=KEY) as client:
            session = await client.create_verification(person="alice", consent=ra.Consent("Alice", "tests"))
            token = session.byted_token.reveal()
            group = (await client.wait_verified(session, timeout=30)).group_id
            assert group
            asset = (await client.wait_active([await client.upload_asset(group, image)]))[0]
            shown.extend([repr(client), repr(session), str(session), repr(asset), session._repr_html_(), token])
            for kind in ("sessions", "groups", "assets", "jobs", "consents"):
                shown.append(client.ledger.frame(kind).to_string())
            try:
                await client.get_asset("asset-does-not-exist")
            except ra.NotFoundError as exc:
                shown.append(str(exc) + repr(exc))

    with caplog.at_level(logging.DEBUG):
        asyncio.run(flow())
    token = shown.pop(5)
    ledger_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("l.sqlite3*"))
    for text in [*shown, caplog.text]:
        assert KEY not in text and token not in text
    assert KEY.encode() not in ledger_bytes and token.encode() not in ledger_bytes
    assert "byted_token=**********" in caplog.text  # the log line is there, masked


def test_the_sandbox_provider_starts_a_shared_emulator_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from realavatar_nb import _client

    monkeypatch.setenv("REALAVATAR_SANDBOX_AUTOPILOT", "0")
    monkeypatch.setattr(_client, "_shared", None)

    async def flow() -> str:
        async with ra.AsyncClient("sandbox", ledger=ra.Ledger(tmp_path / "l.sqlite3"), poll_interval=0.05) as client:
            assert client.dialect == "toapis"
            session = await client.create_verification()
            return (await client.wait_verified(session, timeout=30)).status

    try:
        assert asyncio.run(flow()) == "verified"
        shared = _client._shared
        assert shared is not None and shared.running
    finally:
        if _client._shared is not None:
            _client._shared.close()


def test_upload_assets_takes_a_report_and_uploads_only_its_ok_rows(sandbox: Sandbox, tmp_path: Path) -> None:
    folder = tmp_path / "faces"
    make_image(folder / "good.jpg", width=600, height=800)
    make_image(folder / "tiny.jpg", width=100, height=120)
    report = ra.validate_folder(folder, progress=False)

    async def flow() -> list[ra.Asset | BaseException]:
        async with _client(sandbox, "anyfast", tmp_path / "l.sqlite3") as client:
            return await client.upload_assets(await _verified(client), report)

    results = asyncio.run(flow())
    assert len(results) == 1 and isinstance(results[0], ra.Asset) and results[0].source.endswith("good.jpg")  # type: ignore[union-attr]


def test_a_group_verified_for_one_person_is_refused_for_another(sandbox: Sandbox, tmp_path: Path) -> None:
    image = make_image(tmp_path / "b.jpg", width=400, height=500)

    async def flow() -> None:
        async with _client(sandbox, "toapis", tmp_path / "l.sqlite3") as client:
            group = await _verified(client)  # alice's
            with pytest.raises(ra.PersonMismatchError, match="alice"):
                await client.upload_asset(group, image, person="bob")
            assert (await client.upload_asset(group, image, person="alice")).status == "processing"

    asyncio.run(flow())


def test_sandbox_url_in_the_environment_shares_an_emulator_already_serving(tmp_path: Path) -> None:
    from realavatar_nb._client import shared_sandbox
    from realavatar_nb.simulator import RemoteSandbox, Sandbox

    with Sandbox(autopilot=0.0, processing_seconds=0.0) as sb:
        remote = shared_sandbox({"REALAVATAR_SANDBOX_URL": sb.url + "/"})
        assert isinstance(remote, RemoteSandbox) and remote.url == sb.url
        assert remote.base_url("crun") == sb.base_url("crun")

        async def verify() -> str | None:
            async with ra.AsyncClient("sandbox", sandbox=remote, ledger=ra.Ledger(tmp_path / "l.sqlite3")) as client:
                session = await client.create_verification()
                return (await client.wait_verified(session, timeout=20)).group_id

        assert asyncio.run(verify())
        assert sum(a["sessions"] for a in remote.stats()["accounts"].values()) == 1  # counted by the one emulator


def test_a_file_refused_for_itself_is_not_uploaded_again_but_a_transient_failure_is(tmp_path: Path) -> None:
    stranger = make_image(tmp_path / "bob.jpg", width=600, height=800, person="bob")
    flaky = make_image(tmp_path / "alice.jpg", width=600, height=800, person="alice")
    with Sandbox(autopilot=0.0, autopilot_person="alice", processing_seconds=0.0) as sb:

        async def flow() -> tuple[ra.Asset, ra.Asset, ra.Asset, ra.Asset]:
            ledger = ra.Ledger(tmp_path / "l.sqlite3")
            async with ra.AsyncClient("sandbox", sandbox=sb, ledger=ledger, poll_interval=0.05) as client:
                group = (await client.wait_verified(await client.create_verification(), timeout=20)).group_id
                assert group
                first, good = await client.wait_active(
                    [await client.upload_asset(group, stranger), await client.upload_asset(group, flaky)], timeout=20
                )
                again = await client.upload_asset(group, stranger)  # FaceMismatch judged the file: not resent
                # Pretend the good one had failed to download upstream: that is worth another try.
                ledger._run(
                    "UPDATE assets SET status = 'failed', error_code = 'DownloadFailed' WHERE id = ?", (good.id,)
                )
                retried = await client.upload_asset(group, flaky)
                return first, again, good, retried

        first, again, good, retried = asyncio.run(flow())
        creates = next(iter(sb.stats()["accounts"].values()))["assets"]
    assert (first.status, first.error_code) == ("failed", "FaceMismatch")
    assert (again.id, again.status, again.error_code) == (first.id, "failed", "FaceMismatch")
    assert retried.id != good.id
    assert creates == 3  # stranger once, flaky twice
