"""Retries in a wrapping transport: reads retry on 429, 5xx and dropped connections; creates only
when nothing can have happened (a 429, a connection never made).

Whether a request may be sent again is the adapter's word (``request.extensions["realavatar_retry"]``),
not its HTTP method: Anyfast reads with POST, and a create is unsafe to repeat whatever its verb.
Backoff is exponential with jitter and a cap, and a server's ``Retry-After`` wins when it gives one.
Time is injectable (``sleep``, ``rng``), so tests never wait.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Final

import httpx

from .providers.base import RETRY, retry_after

__all__ = ["RETRY_STATUSES", "STREAM", "RetryTransport"]

RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
STREAM: Final = "realavatar_stream"  # request extension: a large body the caller streams (a video)


class RetryTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; retries what is safe to retry, at most ``attempts`` sends in all."""

    def __init__(
        self,
        wrapped: httpx.AsyncBaseTransport | None = None,
        *,
        attempts: int = 6,
        backoff: float = 0.5,
        cap: float = 30.0,
        jitter: float = 0.1,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._wrapped = wrapped or httpx.AsyncHTTPTransport()
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._cap = cap
        self._jitter = jitter
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.retries = 0  # how many extra sends this transport has made (for tests and benchmarks)

    def _delay(self, attempt: int, hint: float | None) -> float:
        if hint is not None:
            return min(hint, self._cap)
        base = min(self._backoff * (2**attempt), self._cap)
        return base * (1 + self._rng.uniform(-self._jitter, self._jitter))

    async def pause(self, attempt: int) -> None:
        """Wait the backoff for ``attempt`` (for callers that retry a whole operation themselves)."""
        await self._sleep(self._delay(attempt, None))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        safe = bool(request.extensions.get(RETRY))
        attempt = 0
        while True:
            last = attempt + 1 >= self._attempts
            try:
                response = await self._wrapped.handle_async_request(request)
                if not request.extensions.get(STREAM):
                    # Read the (small, JSON) body here: a connection dropped mid-body must be a
                    # retryable failure of this request, not a surprise after it was "answered".
                    await response.aread()
            except (httpx.ConnectError, httpx.ConnectTimeout):
                if last:  # never connected, so nothing was sent: safe to retry even a create
                    raise
                delay = self._delay(attempt, None)
            except httpx.TransportError:
                if not safe or last:
                    raise
                delay = self._delay(attempt, None)
            else:
                # A 429 says the request was refused before any work: even a create may go again.
                retryable = response.status_code in RETRY_STATUSES if safe else response.status_code == 429
                if last or not retryable:
                    return response
                delay = self._delay(attempt, retry_after(response))
                await response.aclose()
            self.retries += 1
            await self._sleep(delay)
            attempt += 1

    async def aclose(self) -> None:
        await self._wrapped.aclose()
