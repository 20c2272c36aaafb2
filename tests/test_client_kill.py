"""A batch killed with SIGKILL mid-run and started again finishes with no duplicate uploads."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

import realavatar_nb as ra
from realavatar_nb._staging import SandboxStager
from realavatar_nb.samples import make_image
from realavatar_nb.simulator import Sandbox

BATCH = """
import asyncio, sys
import realavatar_nb as ra
from realavatar_nb._staging import SandboxStager

root, group, ledger, *paths = sys.argv[1:]

async def main():
    client = ra.AsyncClient("easyrouter", api_key="kill-test", base_url=root + "/easyrouter",
                            ledger=ra.Ledger(ledger), stager=SandboxStager(root, "kill-test"), poll_interval=0.05,
                            rates={})
    gate = asyncio.Semaphore(4)
    async def one(path):
        async with gate:
            asset = await client.upload_asset(group, path)
            print("uploaded", asset.id, flush=True)
    await asyncio.gather(*(one(p) for p in paths))
    await client.aclose()

asyncio.run(main())
"""


def _group(root: str, ledger: Path) -> str:
    async def verify() -> str:
        client = ra.AsyncClient(
            "easyrouter", api_key="kill-test", base_url=root + "/easyrouter", ledger=ra.Ledger(ledger),
            stager=SandboxStager(root, "kill-test"), poll_interval=0.05,
        )  # fmt: skip
        async with client:
            session = await client.create_verification()
            return str((await client.wait_verified(session, timeout=30)).group_id)

    return asyncio.run(verify())


def test_rerun_after_kill_uploads_nothing_twice(tmp_path: Path) -> None:
    paths = [str(make_image(tmp_path / "in" / f"{n:02d}.jpg", width=300 + n, height=400)) for n in range(40)]
    ledger = tmp_path / "ledger.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with Sandbox(autopilot=0.0, processing_seconds=0.0) as sb:
        group = _group(sb.url, ledger)
        command = [sys.executable, "-c", BATCH, sb.url, group, str(ledger), *paths]
        first = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        assert first.stdout is not None
        for _ in range(10):  # let it get well into the batch, then kill it without warning
            assert first.stdout.readline().startswith("uploaded")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert first.returncode == -signal.SIGKILL

        second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
        assert second.returncode == 0, second.stderr
        stats = httpx.get(f"{sb.url}/_sandbox/stats").json()
    assert stats["duplicates"] == []
    assert next(iter(stats["accounts"].values()))["assets"] == 40
    assert second.stdout.count("uploaded") == 40  # every file answered, most from the ledger
