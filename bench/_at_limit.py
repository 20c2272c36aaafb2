"""A batch at a provider's write limit: the emulator allows N CreateAsset a minute, the client is told N.

The emulator (in this process, its own thread) refuses a create past ``write_qpm`` in any sliding
minute with 429 ``QuotaWriteQPMExceeded``; the client is built as for a real provider whose account
allows N writes a minute (``Settings(writes_per_minute=N)``: the pacing a real provider gets by
default). M uploads cannot finish sooner than ``(M - 1) × 60 / N`` seconds after the first create:
the figure is the batch's upload time over that minimum, side by side, and the refusals the
emulator counted (the goal: within 5 % of the minimum, and none).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import realavatar_nb as ra
from realavatar_nb._staging import SandboxStager
from realavatar_nb.simulator import Sandbox

GOAL = 1.05
DIALECT = "easyrouter"


async def _batch(sb: Sandbox, paths: list[Path], per_minute: int, ledger: Path) -> tuple[float, int]:
    key = "bench-at-limit"
    settings = ra.Settings(provider=DIALECT, writes_per_minute=per_minute)
    client = ra.AsyncClient(DIALECT, api_key=key, base_url=sb.base_url(DIALECT), settings=settings,
                            stager=SandboxStager(sb.url, key), ledger=ra.Ledger(ledger), poll_interval=0.2)  # fmt: skip
    async with client:
        session = await client.create_verification()
        group = (await client.wait_verified(session, timeout=60)).group_id
        assert group
        started = time.perf_counter()
        done = await client.upload_assets(group, paths, concurrency=8, progress=False)
        took = time.perf_counter() - started
    return took, sum(isinstance(a, ra.Asset) for a in done)


def at_limit(paths: list[Path], per_minute: int) -> dict[str, Any]:
    """Return the figures of one batch of ``paths`` at ``per_minute`` writes, and print them."""
    minimum = (len(paths) - 1) * 60.0 / per_minute
    with Sandbox(autopilot=0.0, processing_seconds=0.0, write_qpm=per_minute) as sb, \
            tempfile.TemporaryDirectory(prefix="bench-at-limit-") as tmp:  # fmt: skip
        took, uploaded = asyncio.run(_batch(sb, paths, per_minute, Path(tmp) / "ledger.sqlite3"))
        refusals = sum(n for codes in sb.stats().get("refusals", {}).values() for n in codes.values())
    ratio = took / minimum
    verdict = "PASS" if ratio <= GOAL and refusals == 0 and uploaded == len(paths) else "MISS"
    print(f"at the limit ({DIALECT}, {per_minute} writes/min): {len(paths)} uploads in {took:.2f} s, minimum "
          f"{minimum:.2f} s -> {ratio:.3f}x the minimum, {refusals} refusals, {uploaded} uploaded  "
          f"[{verdict}: <= {GOAL:.2f}x, no refusal]")  # fmt: skip
    return {"per_minute": per_minute, "uploads": len(paths), "seconds": took, "minimum_s": minimum,
            "ratio": ratio, "refusals": refusals, "uploaded": uploaded, "verdict": verdict}  # fmt: skip
