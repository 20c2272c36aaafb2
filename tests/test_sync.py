"""ra.run: a coroutine to the end from sync code, and from inside a running loop (a kernel cell)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import realavatar_nb as ra


async def _answer() -> int:
    await asyncio.sleep(0)
    return 42


def test_run_outside_a_loop_is_asyncio_run() -> None:
    assert ra.run(_answer()) == 42


NESTED = """
import asyncio
import realavatar_nb as ra

async def answer():
    await asyncio.sleep(0)
    return 42

async def cell():
    return ra.run(answer())  # what a synchronous helper called from a notebook cell does

print(asyncio.run(cell()))
"""


def test_run_inside_a_running_loop_nests_instead_of_failing() -> None:
    # In its own process: nest-asyncio patches asyncio for the whole process (as it does in a kernel,
    # whose loop never stops), and would change how every later test's loop ends.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", NESTED], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "42"
