"""iter_status: yields until terminal, grows its interval, times out with the last state."""

from __future__ import annotations

import asyncio

import pytest

from realavatar_nb import PollTimeoutError
from realavatar_nb._polling import iter_status
from tests.client_flow import FakeTime

Time = FakeTime  # a clock that sleeping moves forward


def _states(*values: str) -> tuple[list[str], object]:
    queue = list(values)

    async def fetch() -> str:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return queue, fetch


def test_yields_every_state_until_the_terminal_one() -> None:
    t = Time()
    _, fetch = _states("pending", "pending", "verified", "never-read")

    async def go() -> list[str]:
        return [s async for s in iter_status(fetch, is_terminal=lambda s: s == "verified", interval=3,  # type: ignore[arg-type]
                                             clock=t.clock, sleep=t.sleep)]  # fmt: skip

    assert asyncio.run(go()) == ["pending", "pending", "verified"]
    assert t.slept == [3, 3]


def test_the_interval_grows_to_its_ceiling() -> None:
    t = Time()
    _, fetch = _states(*(["processing"] * 6), "active")

    async def go() -> None:
        async for _ in iter_status(fetch, is_terminal=lambda s: s == "active", interval=2, max_interval=5,  # type: ignore[arg-type]
                                   clock=t.clock, sleep=t.sleep):  # fmt: skip
            pass

    asyncio.run(go())
    assert t.slept == [2, 3, 4.5, 5, 5, 5]


def test_a_timeout_raises_with_the_last_state_and_never_oversleeps() -> None:
    t = Time()
    _, fetch = _states("pending")

    async def go() -> None:
        async for _ in iter_status(fetch, is_terminal=lambda s: False, interval=4, timeout=10,  # type: ignore[arg-type]
                                   clock=t.clock, sleep=t.sleep, what="the liveness check"):  # fmt: skip
            pass

    with pytest.raises(PollTimeoutError, match="the liveness check") as raised:
        asyncio.run(go())
    assert raised.value.last == "pending"
    assert t.now == 10 and t.slept == [4, 4, 2]


def _flaky(script: list[str | Exception]) -> object:
    async def fetch() -> str:
        step = script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    return fetch


def test_a_failed_look_or_two_in_a_row_is_waited_out() -> None:
    from realavatar_nb import RateLimitError, ServerError

    t = Time()
    fetch = _flaky(["pending", ServerError("502"), RateLimitError("429"), "verified"])

    async def collect() -> list[str]:
        return [
            s async for s in iter_status(fetch, is_terminal=lambda s: s == "verified", clock=t.clock, sleep=t.sleep)
        ]  # type: ignore[arg-type]

    assert asyncio.run(collect()) == ["pending", "verified"]
    assert len(t.slept) == 3  # the failed looks were spaced like any other


def test_three_failed_looks_in_a_row_raise_the_last_error() -> None:
    from realavatar_nb import ServerError, TransportError

    t = Time()
    fetch = _flaky([ServerError("a"), "pending", ServerError("b"), TransportError("c"), ServerError("d"), "verified"])

    async def collect() -> list[str]:
        return [
            s async for s in iter_status(fetch, is_terminal=lambda s: s == "verified", clock=t.clock, sleep=t.sleep)
        ]  # type: ignore[arg-type]

    with pytest.raises(ServerError, match="d"):
        asyncio.run(collect())
