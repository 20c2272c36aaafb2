"""One way to wait: ``iter_status`` yields each state of a thing until it is terminal.

``wait_verified``, ``wait_active``, ``wait_job`` and the widgets all use it. The clock and the
sleep are injectable, so a test moves time instead of spending it; a timeout raises
``PollTimeoutError`` carrying the last state seen, so no wait can hang.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from ._exceptions import MalformedResponseError, PollTimeoutError, RateLimitError, ServerError, TransportError

__all__ = ["iter_status", "wait_for"]

T = TypeVar("T")

# A look that failed even after the transport's retries: a wait tolerates a few in a row, since the
# thing waited on is still there, and raises the last one after that.
# A malformed look (a proxy's HTML error page) is one of them; three in a row end the wait.
TRANSIENT = (ServerError, TransportError, RateLimitError, MalformedResponseError)
FAILED_LOOKS = 3


async def iter_status(
    fetch: Callable[[], Awaitable[T]],
    *,
    is_terminal: Callable[[T], bool],
    interval: float = 3.0,
    max_interval: float | None = None,
    timeout: float | None = None,
    what: str = "the status",
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[T]:
    """Yield each state ``fetch()`` returns, every ``interval`` seconds, until one is terminal.

    The interval grows by half each poll up to ``max_interval`` (default: the interval itself).
    Raises ``PollTimeoutError`` (with ``last``) when ``timeout`` seconds pass without a terminal state.
    Up to ``FAILED_LOOKS - 1`` failed looks in a row (server errors, rate limits, a lost connection)
    are waited out; the next one is raised.
    """
    deadline = None if timeout is None else clock() + timeout
    ceiling = max_interval if max_interval is not None else interval
    wait = interval
    failures = 0
    state: T | None = None
    while True:
        try:
            state = await fetch()
        except TRANSIENT:
            failures += 1
            if failures >= FAILED_LOOKS:
                raise
        else:
            failures = 0
            yield state
            if is_terminal(state):
                return
        if deadline is not None:
            left = deadline - clock()
            if left <= 0:
                raise PollTimeoutError(
                    f"Waited {timeout:g} s for {what}; the last state was {state!r}. Wait longer or check it later.",
                    last=state,
                )
            await sleep(min(wait, left))
        else:
            await sleep(wait)
        wait = min(wait * 1.5, max(ceiling, interval))


async def wait_for(fetch: Callable[[], Awaitable[T]], **options: Any) -> T:
    """Poll with ``iter_status`` (same options) and return the terminal state."""
    last: T | None = None
    async for state in iter_status(fetch, **options):
        last = state
    assert last is not None  # iter_status yields at least once or raises
    return last
