"""The client's line to one provider: rate-limited sends, typed transport errors, task indirection.

Every request the client makes goes through ``Channel.send``; every answer that may point at another
URL (a task to poll) is followed by ``Channel.drive``. The adapter is built here, on first use, so
that a missing API key is reported when it is needed and not when the client is made.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx

from . import providers
from ._config import Secret, Settings
from ._exceptions import OutcomeUnknownError, ResponseLimitError, TransportError
from ._polling import iter_status
from ._redact import redact, scrubbed
from ._transport import KIND, RateLimiter, RetryTransport
from .providers.base import RETRY, Adapter, Next, Step

__all__ = ["Channel"]

T = TypeVar("T")


class Channel:
    """Sends what the adapter builds, within the rate limits, and turns transport failures into typed errors."""

    def __init__(
        self,
        settings: Settings,
        *,
        dialect: str,
        base_url: str | None,
        key: Secret | None,
        transport: httpx.AsyncBaseTransport | None,
        rates: dict[str, float] | None,
        poll_interval: float,
        sleep: Callable[[float], Awaitable[None]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.provider = settings.provider
        self.dialect = dialect
        self.base_url = base_url
        self.key = key
        self.poll_interval = poll_interval
        # Every wait (verification, assets, jobs, task indirection) runs on these: injected, no test sleeps.
        self.sleep = sleep
        self.clock = clock
        self._adapter: Adapter | None = None
        self.limits = RateLimiter(rates, clock=clock, sleep=sleep)
        self.retry = RetryTransport(
            transport, deadline=settings.deadline, create_deadline=settings.create_deadline,
            max_response_bytes=settings.max_response_bytes, sleep=sleep, limiter=self.limits,
        )  # fmt: skip
        self.http = httpx.AsyncClient(transport=self.retry, timeout=settings.request_timeout)

    @property
    def adapter(self) -> Adapter:
        """The provider's adapter; the API key is looked up here, on first use."""
        if self._adapter is None:
            adapter = providers.get(self.dialect)
            self._adapter = adapter.configured(self.base_url, self.key, self.settings.with_(provider=self.provider))
        return self._adapter

    async def send(self, request: httpx.Request, kind: str | None = None) -> httpx.Response:
        """Return the provider's answer to ``request``, sent once its rate limit (``kind``) allows."""
        await self.limits.wait(kind)
        if kind is not None:
            request.extensions[KIND] = kind
        try:
            return await self.http.send(request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise TransportError(
                f"Could not reach {self.provider} at {request.url.host}: {exc}. Check the network."
            ) from scrubbed(exc)
        except httpx.HTTPError as exc:
            if request.extensions.get(RETRY):
                raise TransportError(
                    f"{self.provider} did not answer after retries: {type(exc).__name__}. Try again later."
                ) from scrubbed(exc)
            raise self._outcome_unknown(request, type(exc).__name__) from scrubbed(exc)
        except ResponseLimitError as exc:
            if request.extensions.get(RETRY):
                raise
            raise self._outcome_unknown(request, str(exc)) from exc

    def _outcome_unknown(self, request: httpx.Request, why: str) -> OutcomeUnknownError:
        return OutcomeUnknownError(
            f"{self.provider} may or may not have done this ({request.method} {redact(request.url.path)}): the answer "
            f"was lost after the request was sent ({why}). Rerun the same call: the client checks its ledger "
            f"and the provider before sending anything again."
        )

    async def drive(self, step: Step[Any], *, timeout: float = 120.0) -> Any:
        """Follow ``Next`` steps (task indirection), pausing between repeated polls of one URL."""
        deadline = self.clock() + timeout
        previous: str | None = None
        while isinstance(step, Next):
            url = str(step.request.url)
            if url == previous:
                if self.clock() > deadline:
                    raise OutcomeUnknownError(
                        f"{self.provider} kept answering 'in progress' for {timeout:g} s at {url}."
                    )
                await self.sleep(min(self.poll_interval, 1.0))
            previous = url
            step = step.parse(await self.send(step.request))
        return step

    def iter_status(self, fetch: Callable[[], Awaitable[T]], **options: Any) -> AsyncIterator[T]:
        """``_polling.iter_status`` on this client's clock and sleep."""
        return iter_status(fetch, clock=self.clock, sleep=self.sleep, **options)

    async def wait_for(self, fetch: Callable[[], Awaitable[T]], **options: Any) -> T:
        """Return the terminal state ``iter_status`` reaches (same options), on this client's clock and sleep."""
        last: T | None = None
        async for state in self.iter_status(fetch, **options):
            last = state
        assert last is not None  # iter_status yields at least once or raises
        return last

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.http.aclose()
