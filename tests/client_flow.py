"""The setup the client's flow tests share: an emulator that passes alice, a client on it, her group, fake time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

import realavatar_nb as ra
from realavatar_nb.simulator import Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(autopilot=0.0, processing_seconds=0.0, job_seconds=0.2, autopilot_person="alice") as sb:
        yield sb


def client_on(sb: Sandbox, dialect: str, ledger: Path, **kwargs: object) -> ra.AsyncClient:
    return ra.AsyncClient(
        "sandbox", sandbox=sb, dialect=dialect, ledger=ra.Ledger(ledger), poll_interval=0.05, **kwargs
    )  # type: ignore[arg-type]


async def verified_group(client: ra.AsyncClient) -> str:
    session = await client.create_verification(person="alice", consent=ra.Consent("Alice", "tests"))
    group = (await client.wait_verified(session, timeout=30)).group_id
    assert group
    return group


class FakeTime:
    """A clock that moves only when slept on: pass ``clock=time`` (or ``time.clock``) and ``sleep=time.sleep``.

    One instance can drive the client and the emulator (``Sandbox(clock=time)``) together.
    """

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)
