"""Retries, size caps and deadlines in a wrapping transport: what reaches the client is bounded.

Retries: reads retry on 429, 5xx and dropped connections; creates only when nothing can have happened
(a 429, a connection never made). Whether a request may be sent again is the adapter's word
(``request.extensions["realavatar_retry"]``), not its HTTP method: Anyfast reads with POST, and a
create is unsafe to repeat whatever its verb. Backoff is exponential with jitter and a cap, and a
server's ``Retry-After`` wins when it gives one. Time is injectable (``sleep``, ``rng``), so tests never wait.

Limits, so that a hostile or broken server cannot exhaust the kernel:

* Size. An answer is read here, whole, and refused with ``ResponseLimitError`` once its *decoded* size
  passes ``max_response_bytes`` (``REALAVATAR_MAX_RESPONSE_BYTES``, 16 MiB: these APIs answer in JSON
  of a few KB; a list page is the largest). gzip and deflate are decoded here in steps of at most
  64 KiB, so a gzip bomb stops at the cap instead of inflating a whole network chunk (up to ~1000x) at
  once; an answer in another encoding (adapters ask for none) is refused as undecodable. The answer
  handed on carries the decoded body and no ``Content-Encoding``.
* Time. httpx's timeout (``REALAVATAR_TIMEOUT``) applies to each operation and restarts with every
  byte, so a server trickling a byte a second never trips it. Each send therefore has an overall
  deadline covering connect, send and the whole answer: ``deadline`` for a read (``REALAVATAR_DEADLINE``,
  120 s) and ``create_deadline`` for a create (``REALAVATAR_CREATE_DEADLINE``, 300 s). Creates get
  longer because a gateway holds a create's connection, silent, while it relays it upstream (live
  clients wait up to 300 s); for the same reason a create's wait for its first byte is raised to its
  deadline instead of ``REALAVATAR_TIMEOUT``. A deadline hit raises ``DeadlineExceeded``, an
  ``httpx.ReadTimeout``: a read is retried like any timeout (each send with a fresh deadline, so a
  read gives up after at most ``attempts`` deadlines plus backoff), a create is never resent, and the
  client reports it as ``OutcomeUnknownError``, since the server may have acted on it.
* Streams. A request marked ``realavatar_stream`` (a video download) is passed through once, unread:
  its caller owns the body's cap, deadline and retries (``_download.download_to``).
"""

from __future__ import annotations

import asyncio
import math
import random
import zlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Final

import httpx

from ._config import DEFAULT_CREATE_DEADLINE, DEFAULT_DEADLINE, DEFAULT_MAX_RESPONSE_BYTES, Settings
from ._exceptions import ResponseLimitError
from .providers.base import RETRY, retry_after

__all__ = [
    "DEFAULT_RATES",
    "KIND",
    "RETRY_STATUSES",
    "STREAM",
    "DeadlineExceeded",
    "RateLimiter",
    "RetryTransport",
    "account_rates",
]

RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
STREAM: Final = "realavatar_stream"  # request extension: a large body the caller streams (a video), sent once
KIND: Final = "realavatar_kind"  # request extension: the rate-limited kind (create_asset, list_assets …) it is
_STEP: Final = 64 * 1024  # the most one decoding step may produce
_DECODED: Final = frozenset({"gzip", "x-gzip", "deflate"})
_BODY_HEADERS: Final = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class DeadlineExceeded(httpx.ReadTimeout):
    """No complete answer within the overall deadline; ``setting`` names the variable that sets it."""

    def __init__(self, message: str, *, request: httpx.Request, setting: str) -> None:
        super().__init__(message, request=request)
        self.setting = setting


class RetryTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; retries what is safe to retry, at most ``attempts`` sends in all.

    Each send is bounded in time (``deadline`` for a read, ``create_deadline`` for a create, in seconds)
    and its answer in decoded size (``max_response_bytes``); see the module docstring.
    """

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
        deadline: float = DEFAULT_DEADLINE,
        create_deadline: float = DEFAULT_CREATE_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._wrapped = wrapped or httpx.AsyncHTTPTransport()
        # A 429 lowers its kind's rate for the session, and every retry waits for its kind's next slot.
        self.limiter = limiter
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._cap = cap
        self._jitter = jitter
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.deadline = deadline
        self.create_deadline = create_deadline
        self.max_response_bytes = max_response_bytes
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
        if request.extensions.get(STREAM):
            return await self._wrapped.handle_async_request(request)
        safe = bool(request.extensions.get(RETRY))
        if not safe:
            _patient_reads(request, self.create_deadline)
        attempt = 0
        while True:
            last = attempt + 1 >= self._attempts
            try:
                response = await self._send_once(request, safe)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                if last:  # never connected, so nothing was sent: safe to retry even a create
                    raise
                delay = self._delay(attempt, None)
            except httpx.TransportError:  # DeadlineExceeded included
                if not safe or last:
                    raise
                delay = self._delay(attempt, None)
            else:
                # A 429 says the request was refused before any work: even a create may go again.
                retryable = response.status_code in RETRY_STATUSES if safe else response.status_code == 429
                hint = retry_after(response)
                if response.status_code == 429 and self.limiter is not None:
                    self.limiter.throttled(request.extensions.get(KIND), hint)
                if last or not retryable:
                    return response
                delay = self._delay(attempt, hint)
                await response.aclose()
            self.retries += 1
            await self._sleep(delay)
            if self.limiter is not None:
                await self.limiter.wait(request.extensions.get(KIND))
            attempt += 1

    async def _send_once(self, request: httpx.Request, safe: bool) -> httpx.Response:
        """Send once and read the whole answer, within the deadline and the size cap."""
        limit, setting = (
            (self.deadline, "REALAVATAR_DEADLINE") if safe else (self.create_deadline, "REALAVATAR_CREATE_DEADLINE")
        )
        try:
            async with asyncio.timeout(limit):  # no task of its own per request, unlike wait_for
                return await self._exchange(request, safe)
        except TimeoutError:
            what = "read" if safe else "create"
            raise DeadlineExceeded(
                f"no complete answer to {_where(request)} within {limit:g} s, the deadline for a {what} "
                f"({setting} sets it)",
                request=request,
                setting=setting,
            ) from None

    async def _exchange(self, request: httpx.Request, safe: bool) -> httpx.Response:
        response = await self._wrapped.handle_async_request(request)
        # Read the (small, JSON) body here: a connection dropped mid-body must be a retryable failure of
        # this request, not a surprise after it was "answered"; and here is where its size is capped.
        try:
            return await self._read_capped(request, response, safe)
        finally:
            await response.aclose()

    async def _read_capped(self, request: httpx.Request, response: httpx.Response, safe: bool) -> httpx.Response:
        cap = self.max_response_bytes
        if response.is_stream_consumed:  # built in memory (a mock transport): only its size is left to check
            if len(response.content) > cap:
                raise _too_large(request, cap, safe)
            return response
        layers = _decoders(response.headers.get("content-encoding", ""), request)
        declared = response.headers.get("content-length", "")
        if not layers and declared.isdigit() and int(declared) > cap:
            raise _too_large(request, cap, safe)  # said up front: refuse without reading a byte
        body = bytearray()
        try:
            async for chunk in response.aiter_raw():
                for piece in _decode(layers, chunk):
                    body += piece
                    if len(body) > cap:
                        raise _too_large(request, cap, safe)
        except zlib.error as exc:
            encoding = response.headers.get("content-encoding")
            raise httpx.DecodingError(
                f"the answer to {_where(request)} is not valid {encoding}: {exc}", request=request
            ) from exc
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _BODY_HEADERS]
        return httpx.Response(
            response.status_code, headers=headers, content=bytes(body), request=request, extensions=response.extensions
        )

    async def aclose(self) -> None:
        await self._wrapped.aclose()


def _patient_reads(request: httpx.Request, seconds: float) -> None:
    """Let a create wait up to ``seconds`` for each read (the gateway is silent while upstream works)."""
    timeouts = request.extensions.get("timeout")
    if isinstance(timeouts, dict) and timeouts.get("read") is not None:
        request.extensions["timeout"] = {**timeouts, "read": max(timeouts["read"], seconds)}


def _where(request: httpx.Request) -> str:
    # Host and path only: toapis and Crun carry byted tokens in the query.
    return f"{request.method} {request.url.host}{request.url.path}"


def _too_large(request: httpx.Request, cap: int, safe: bool) -> ResponseLimitError:
    message = (
        f"The answer to {_where(request)} is larger than {cap:,} bytes, far more than an API answer needs: "
        f"the server is misbehaving. If such answers are expected, raise REALAVATAR_MAX_RESPONSE_BYTES."
    )
    if not safe:
        message += " This was a create: it may have taken effect, so rerun the same call (it checks first)."
    return ResponseLimitError(message, setting="REALAVATAR_MAX_RESPONSE_BYTES")


class _Inflater:
    """One gzip or deflate layer, decoded in steps of at most ``_STEP`` bytes."""

    def __init__(self, name: str) -> None:
        self.name = name
        gzip = name != "deflate"
        self._z = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)
        self._fresh = not gzip  # some servers send deflate without its zlib header; httpx accepts that too

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                out = self._z.decompress(data, _STEP)
            except zlib.error:
                if not self._fresh:
                    raise
                self._z, self._fresh = zlib.decompressobj(-zlib.MAX_WBITS), False
                continue
            self._fresh = False
            if out:
                yield out
            data = self._z.unconsumed_tail
            if not data and len(out) < _STEP:  # a full step may leave output pending: ask again
                return


def _decoders(header: str, request: httpx.Request) -> list[_Inflater]:
    """Return the layers to undo, outermost first, or raise for an encoding decoded nowhere here."""
    names = [n.strip().lower() for n in header.split(",") if n.strip() and n.strip().lower() != "identity"]
    unknown = [n for n in names if n not in _DECODED]
    if unknown:
        raise httpx.DecodingError(
            f"the answer to {_where(request)} is encoded as {', '.join(unknown)}, which this client does not "
            f"decode (it asks for none)",
            request=request,
        )
    return [_Inflater(n) for n in reversed(names)]


def _decode(layers: Sequence[_Inflater], data: bytes) -> Iterator[bytes]:
    if not layers:
        yield data
        return
    for piece in layers[0].feed(data):
        yield from _decode(layers[1:], piece)


# Upstream's published limits (reference/upstream.md): liveness actions 3 QPS, CreateAsset 300 per
# minute, GetAsset 100 QPS. Providers resell the same upstream, so these are safe defaults.
DEFAULT_RATES: Final[dict[str, float]] = {"verification": 3.0, "create_asset": 5.0, "read_asset": 100.0,
                                          "list_assets": 1.0}  # fmt: skip


PACING_MARGIN: Final = 0.01
"""How far under an account's own limits its requests are paced (1 %: 0.6 s of slack in a sliding minute)."""


def account_rates(settings: Settings) -> dict[str, float]:
    """Return the rates a real provider is paced at: upstream's published ones, creates and lists at the
    account's own (``Settings.writes_per_minute`` and ``lists_per_second``, reported defaults).

    The account's two are kept ``PACING_MARGIN`` under the limit: paced exactly at N a minute, a request
    that arrives a few milliseconds early puts N + 1 in some sliding minute and is refused.
    """
    pace = 1.0 - PACING_MARGIN
    return {**DEFAULT_RATES, "create_asset": settings.writes_per_minute / 60.0 * pace,
            "list_assets": settings.lists_per_second * pace}  # fmt: skip


MIN_RATE: Final = 1.0 / 600
"""The slowest a refused kind is paced: one request every ten minutes."""


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
        self._lowered: dict[str, float] = {}
        self.throttles: dict[str, int] = {}
        """How many times each kind was slowed down after a refusal (for tests, benchmarks and the ETA)."""
        self._lock = asyncio.Lock()

    def throttled(self, kind: str | None, retry_after: float | None) -> None:
        """Lower ``kind``'s rate for the rest of the session: the provider refused it as too fast (a 429).

        The rate is halved (an unlimited kind starts at one request per ``retry_after``, else per second),
        at most once per slot of the lowered rate, so a burst of refusals in flight lowers it once; the next
        slot is no sooner than ``retry_after``.
        """
        if not kind:  # a request of no rate-limited kind (a job read, a download): its Retry-After is enough
            return
        name = kind
        now = self._clock()
        if now < self._lowered.get(name, -math.inf):
            return
        current = self.rates.get(name)
        lowered = current / 2 if current else 1.0 / max(retry_after or 1.0, 1e-3)
        self.rates[name] = max(lowered, MIN_RATE)
        self.throttles[name] = self.throttles.get(name, 0) + 1
        self._lowered[name] = now + 1.0 / self.rates[name]
        if retry_after:
            self._next[name] = max(self._next.get(name, now), now + retry_after)

    def per_minute(self, kind: str) -> float | None:
        """Return ``kind``'s rate in force, per minute (``None``: not limited)."""
        rate = self.rates.get(kind)
        return rate * 60.0 if rate else None

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
