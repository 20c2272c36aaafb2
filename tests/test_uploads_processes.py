"""Kernels sharing one ledger (every notebook of a folder does): the same files uploaded from separate
processes at once, and one of them killed mid-batch, still make one asset per file per group."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import realavatar_nb as ra
from realavatar_nb.samples import make_image
from realavatar_nb.simulator import Sandbox

BATCH = """
import asyncio, sys
import realavatar_nb as ra
from realavatar_nb.simulator import RemoteSandbox

root, dialect, key, group, ledger, *paths = sys.argv[1:]

async def main():
    client = ra.AsyncClient("sandbox", sandbox=RemoteSandbox(root), dialect=dialect, api_key=key,
                            ledger=ra.Ledger(ledger), poll_interval=0.05)
    gate = asyncio.Semaphore(4)
    async def one(path):
        async with gate:
            try:
                asset = await client.upload_asset(group, path)
                print("uploaded", asset.id, flush=True)
            except ra.OutcomeUnknownError as exc:
                print("unknown", "resolve_upload" in str(exc), flush=True)
    await asyncio.gather(*(one(p) for p in paths))
    await client.aclose()

asyncio.run(main())
"""

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def _command(sb: Sandbox, dialect: str, key: str, group: str, ledger: Path, paths: list[str]) -> list[str]:
    return [sys.executable, "-c", BATCH, sb.url, dialect, key, group, str(ledger), *paths]


def _start(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=ENV)


def _group(sb: Sandbox, dialect: str, key: str, ledger: Path) -> str:
    async def verify() -> str:
        client = ra.AsyncClient("sandbox", sandbox=sb, dialect=dialect, api_key=key, ledger=ra.Ledger(ledger),
                                poll_interval=0.05)  # fmt: skip
        async with client:
            session = await client.create_verification()
            return str((await client.wait_verified(session, timeout=30)).group_id)

    return asyncio.run(verify())


def _upstream(sb: Sandbox, group: str) -> list[Any]:
    return [a for a in list(sb.state.assets.values()) if a.group_id == group]


@pytest.fixture(scope="module")
def sandbox() -> Any:
    with Sandbox(autopilot=0.0, processing_seconds=0.0) as sb:
        yield sb


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("photos")
    return [str(make_image(folder / f"{n:02d}.jpg", width=400 + n, height=500)) for n in range(30)]


@pytest.mark.slow
@pytest.mark.parametrize("dialect", ["toapis", "easyrouter", "anyfast"])
def test_two_kernels_on_one_ledger_upload_each_file_once(
    sandbox: Sandbox, photos: list[str], tmp_path: Path, dialect: str
) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    key = f"procs-{dialect}"
    group = _group(sandbox, dialect, key, ledger)
    runs = [_start(_command(sandbox, dialect, key, group, ledger, order)) for order in (photos, photos[::-1])]
    outputs = [run.communicate(timeout=180)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert all(out.count("uploaded") == len(photos) for out in outputs), outputs  # no false "unknown"
    assert len(_upstream(sandbox, group)) == len(photos)
    rows = ra.Ledger(ledger).frame("assets")
    assert len(rows) == len(photos) and rows["id"].notna().all()


@pytest.mark.slow
@pytest.mark.parametrize("dialect", ["easyrouter", "anyfast"])
def test_a_kernel_killed_mid_batch_beside_two_others_costs_no_duplicate(
    sandbox: Sandbox, photos: list[str], tmp_path: Path, dialect: str
) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    key = f"kill-{dialect}"
    group = _group(sandbox, dialect, key, ledger)
    doomed = _start(_command(sandbox, dialect, key, group, ledger, photos))
    assert doomed.stdout is not None
    for _ in range(5):
        assert doomed.stdout.readline().startswith("uploaded")
    others = [
        _start(_command(sandbox, dialect, key, group, ledger, order))
        for order in (photos[::-1], photos[10:] + photos[:10])
    ]
    doomed.send_signal(signal.SIGKILL)  # in the middle of its sends, its claims held
    doomed.wait(timeout=30)
    outputs = [run.communicate(timeout=180)[0] for run in others]
    assert [run.returncode for run in others] == [0, 0]
    assert all(out.count("uploaded") == len(photos) for out in outputs), outputs
    assert len(_upstream(sandbox, group)) == len(photos)
    assert sandbox.stats()["duplicates"] == []


@pytest.mark.slow
def test_after_a_kill_at_a_provider_that_cannot_list_every_file_is_settled_and_none_sent_twice(
    sandbox: Sandbox, photos: list[str], tmp_path: Path
) -> None:
    dialect, key, ledger = "crun", "kill-crun", tmp_path / "ledger.sqlite3"
    group = _group(sandbox, dialect, key, ledger)
    doomed = _start(_command(sandbox, dialect, key, group, ledger, photos))
    assert doomed.stdout is not None
    for _ in range(8):
        assert doomed.stdout.readline().startswith("uploaded")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    rerun = subprocess.run(_command(sandbox, dialect, key, group, ledger, photos), capture_output=True, text=True,
                           env=ENV, timeout=180)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    unknown = rerun.stdout.count("unknown True")  # each names the call that settles it
    assert rerun.stdout.count("uploaded") + unknown == len(photos)

    async def settle() -> int:
        client = ra.AsyncClient("sandbox", sandbox=sandbox, dialect=dialect, api_key=key, ledger=ra.Ledger(ledger),
                                poll_interval=0.05)  # fmt: skip
        async with client:
            by_name = {a.name: a.id for a in _upstream(sandbox, group)}
            rows = client.ledger.unsettled_uploads(client.ledger_name, group)
            for row in rows:  # a person looks each one up in the console
                await client.resolve_upload(group, row["source"], asset_id=by_name.get(row["name"]))
            results = await client.upload_assets(group, photos)
            assert not [r for r in results if isinstance(r, BaseException)], results
            return len(rows)

    assert asyncio.run(settle()) == unknown
    names = [a.name for a in _upstream(sandbox, group)]
    assert len(names) == len(set(names)) == len(photos)
