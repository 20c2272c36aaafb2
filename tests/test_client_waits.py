"""Every wait of the client runs on the clock and sleep it was given: no test waits for real time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import realavatar_nb as ra
from realavatar_nb.simulator import Sandbox
from tests.client_flow import FakeTime


def test_a_wait_that_never_ends_times_out_on_the_injected_clock(tmp_path: Path) -> None:
    fake = FakeTime(1000.0)
    with Sandbox(autopilot=None) as sb:  # nobody ever opens the link

        async def run() -> ra.PollTimeoutError:
            async with ra.AsyncClient("sandbox", sandbox=sb, ledger=ra.Ledger(tmp_path / "l.sqlite3"),
                                      poll_interval=5.0, clock=fake.clock, sleep=fake.sleep) as client:  # fmt: skip
                session = await client.create_verification()
                with pytest.raises(ra.PollTimeoutError) as caught:
                    await client.wait_verified(session, timeout=600)
                return caught.value

        error = asyncio.run(run())
    assert "600" in str(error) and fake.now >= 1600.0
    assert fake.slept[0] == 5.0 and sum(fake.slept) >= 600.0
