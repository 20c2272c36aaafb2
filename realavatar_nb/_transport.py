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

__all__ = ["DEFAULT_RATES", "RETRY_STATUSES", "STREAM", "RateLimiter", "RetryTransport"]

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


# Upstream's published limits (reference/upstream.md): liveness actions 3 QPS, CreateAsset 300 per
# minute, GetAsset 100 QPS. Providers resell the same upstream, so these are safe defaults.
DEFAULT_RATES: Final[dict[str, float]] = {"verification": 3.0, "create_asset": 5.0, "read_asset": 100.0}


class RateLimiter:
    """Spaces requests of each kind to at most ``rates[kind]`` per second (kinds not listed are free)."""

    def __init__(
        self,
        rates: dict[str, float] | None = None,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        import time

        self.rates = dict(DEFAULT_RATES if rates is None else rates)
        self._clock = clock or time.monotonic
        self._sleep = sleep
        self._next: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def wait(self, kind: str | None) -> None:
        """Return once a request of ``kind`` may go."""
        rate = self.rates.get(kind or "")
        if not rate:
            return
        async with self._lock:  # reserve a slot in order, then wait for it outside the lock
            now = self._clock()
            slot = max(now, self._next.get(kind or "", now))
            self._next[kind or ""] = slot + 1.0 / rate
        if slot > now:
            await self._sleep(slot - now)
