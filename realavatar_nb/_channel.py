"""The client's line to one provider: rate-limited sends, typed transport errors, task indirection.

Every request the client makes goes through ``Channel.send``; every answer that may point at another
URL (a task to poll) is followed by ``Channel.drive``. The adapter is built here, on first use, so
that a missing API key is reported when it is needed and not when the client is made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from . import providers
from ._config import Secret, Settings
from ._exceptions import OutcomeUnknownError, ResponseLimitError, TransportError
from ._redact import redact, scrubbed
from ._transport import RateLimiter, RetryTransport
from .providers.base import RETRY, Adapter, Next, Step

__all__ = ["Channel"]


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
    ) -> None:
        self.settings = settings
        self.provider = settings.provider
        self.dialect = dialect
        self.base_url = base_url
        self.key = key
        self.poll_interval = poll_interval
        self._adapter: Adapter | None = None
        self.retry = RetryTransport(
            transport, deadline=settings.deadline, create_deadline=settings.create_deadline,
            max_response_bytes=settings.max_response_bytes, sleep=sleep,
        )  # fmt: skip
        self.limits = RateLimiter(rates, sleep=sleep)
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
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        previous: str | None = None
        while isinstance(step, Next):
            url = str(step.request.url)
            if url == previous:
                if loop.time() > deadline:
                    raise OutcomeUnknownError(
                        f"{self.provider} kept answering 'in progress' for {timeout:g} s at {url}."
                    )
                await asyncio.sleep(min(self.poll_interval, 1.0))
            previous = url
            step = step.parse(await self.send(step.request))
        return step

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.http.aclose()
