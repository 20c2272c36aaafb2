"""Which files the client sends: a report's ok rows only, and never a file the provider already refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import realavatar_nb as ra
from realavatar_nb.samples import make_image
from realavatar_nb.simulator import Sandbox
from tests import client_flow
from tests.client_flow import client_on as _client
from tests.client_flow import verified_group as _verified

sandbox = client_flow.sandbox  # the emulator fixture, shared with the other flow tests


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
