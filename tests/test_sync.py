"""ra.run: a coroutine to the end from sync code, and from inside a running loop (a kernel cell)."""

from __future__ import annotations

import asyncio

import realavatar_nb as ra


async def _answer() -> int:
    await asyncio.sleep(0)
    return 42


def test_run_outside_a_loop_is_asyncio_run() -> None:
    assert ra.run(_answer()) == 42


def test_run_inside_a_running_loop_nests_instead_of_failing() -> None:
    async def cell() -> int:
        return ra.run(_answer())  # what a synchronous helper called from a notebook cell does

    assert asyncio.run(cell()) == 42
