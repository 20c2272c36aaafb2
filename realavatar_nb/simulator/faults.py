"""Deterministic fault injection for the emulator: 429s, 5xx answers, dropped connections, latency.

    Sandbox(faults="429=0.1,5xx=0.05,drop=0.02,latency=0.01", seed=7)

``fault_middleware`` wraps the app in a pure ASGI layer. What happens to the n-th request on a
(method, path) is drawn from ``random.Random(f"{seed}:{method}:{key}:{n}")`` alone, where ``key`` is
the path with its ids replaced by their order of first appearance (the third asset read is
``/assets/{id}#2`` whatever that asset's id). Ids carry the time and tokens are random, so keying on
the literal path would make a seeded run's faults change from run to run; keyed this way the same
seed and the same order of requests on each path give the same faults, however requests on
different paths interleave. Nothing here touches the global ``random``.

The kinds of fault:

* ``429``: answered at once with ``Retry-After``; the app never sees the request.
* ``5xx``: answered at once with 500, 502 or 503 (drawn); the app never sees the request.
* ``drop``: the app *does* handle the request, then its answer is lost: the status line goes
  out and the connection closes without a body, so an HTTP client raises
  ``httpx.RemoteProtocolError``. That is the case a client must reconcile (did my create
  happen?). In-process (``httpx.ASGITransport``, Starlette's ``TestClient``) the app raises
  ``ConnectionDropped``, itself an ``httpx.RemoteProtocolError``, which those transports hand
  to the caller unless told not to raise app exceptions. HEAD requests are never dropped: a
  response without a body cannot be cut short.
* ``latency``: seconds slept (``asyncio.sleep``) before any of the above or the normal answer.

Paths under ``exempt`` prefixes (stats, H5 page, file host, videos) are never touched.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

import httpx
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .fault_spec import Faults, FaultsLike, RouteKey

__all__ = ["ConnectionDropped", "Fault", "FaultMiddleware", "FaultPlan", "Faults", "decide", "fault_middleware"]

log = logging.getLogger("realavatar_nb.simulator")

KINDS: Final = ("429", "5xx", "drop")
SERVER_ERRORS: Final = (500, 502, 503)
_ERROR_CODES: Final = {429: "rate_limited", 500: "internal_error", 502: "bad_gateway", 503: "service_unavailable"}

FaultKind = Literal["429", "5xx", "drop"]


class ConnectionDropped(httpx.RemoteProtocolError):
    """The emulator dropped this connection on purpose (fault injection), after handling the request."""


# --- deciding (no I/O) -----------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """What happens to one request: a fault kind (or none), the status it is answered with, the delay."""

    kind: FaultKind | None
    status: int | None = None
    delay: float = 0.0
    retry_after: int | None = None  # seconds, for a 429


def decide(faults: Faults, seed: int | str, method: str, path: str, n: int) -> Fault:
    """Return the fault for the ``n``-th request (from 0) on ``method`` ``path``: a pure function of its arguments.

    Every draw is made whatever the rates, so changing one rate never shifts the others' draws.
    """
    rng = random.Random(f"{seed}:{method}:{path}:{n}")
    draw = rng.random()
    status = SERVER_ERRORS[rng.randrange(len(SERVER_ERRORS))]
    latency = faults.latency
    delay = rng.uniform(*latency) if isinstance(latency, tuple) else latency
    if draw < faults.rate_429:
        return Fault("429", 429, delay, faults.retry_after)
    if draw < faults.rate_429 + faults.rate_5xx:
        return Fault("5xx", status, delay)
    if draw < faults.rate_429 + faults.rate_5xx + faults.rate_drop and method != "HEAD":
        return Fault("drop", None, delay)
    return Fault(None, None, delay)


class FaultPlan:
    """The faults for one app: which requests get which fault, and a count of what was injected."""

    def __init__(self, faults: Faults, seed: int | str = 0) -> None:
        self.faults = faults
        self.seed = seed
        self._routes = [(_matcher(key), Faults.coerce(override)) for key, override in faults.routes.items()]
        self._lock = threading.Lock()
        self._seen: Counter[tuple[str, str]] = Counter()
        self._counts: Counter[str] = Counter()
        self._keys: dict[tuple[str, str], str] = {}
        self._shapes: Counter[tuple[str, str]] = Counter()

    def faults_for(self, path: str) -> Faults | None:
        """Return the faults that apply to ``path``, or ``None`` if it is exempt."""
        if path.startswith(self.faults.exempt):
            return None
        for matches, override in self._routes:
            if matches(path):
                return override
        return self.faults

    def next(self, method: str, path: str) -> Fault | None:
        """Return the fault for the next request on ``method`` ``path`` and count it; ``None`` if exempt."""
        faults = self.faults_for(path)
        if faults is None:
            return None
        with self._lock:
            n = self._seen[(method, path)]
            self._seen[(method, path)] = n + 1
            self._counts["requests"] += 1
            key = self._key(method, path)
        if not faults.active:
            return Fault(None)
        fault = decide(faults, self.seed, method, key, n)
        with self._lock:
            if fault.kind is not None:
                self._counts[fault.kind] += 1
            if fault.delay > 0:
                self._counts["delayed"] += 1
        return fault

    def _key(self, method: str, path: str) -> str:
        # Called under the lock: the k-th distinct path of a shape is keyed "<shape>#k".
        shape = _IDS.sub("{id}", path)
        if shape == path:
            return path
        known = self._keys.get((method, path))
        if known is None:
            ordinal = self._shapes[(method, shape)]
            self._shapes[(method, shape)] = ordinal + 1
            known = self._keys[(method, path)] = f"{shape}#{ordinal}"
        return known

    def stats(self) -> dict[str, int]:
        """Return how many requests were seen (not exempt) and how many got each fault."""
        with self._lock:
            return {key: self._counts[key] for key in ("requests", *KINDS, "delayed")}

    def reset(self) -> None:
        """Start every path's sequence again from its first request, and zero the counts."""
        with self._lock:
            self._seen.clear()
            self._counts.clear()
            self._keys.clear()
            self._shapes.clear()


# A path segment that is an id: eight or more characters with a digit among them (asset-2026…,
# task_01K…, a BytedToken); "v1", "api" and "visual-validate" are not.
_IDS = re.compile(r"(?<=/)(?=[^/]*\d)[^/]{8,}")


def _matcher(key: RouteKey) -> Callable[[str], object]:
    if isinstance(key, re.Pattern):
        return key.search
    if key.startswith("^"):
        return re.compile(key).search
    return lambda path: path.startswith(key)


# --- sending ---------------------------------------------------------------------------------


class FaultInjector:
    """Pure ASGI middleware that applies a ``FaultPlan`` to every HTTP request."""

    def __init__(self, app: ASGIApp, plan: FaultPlan) -> None:
        self.app = app
        self.plan = plan
        _quiet_uvicorn_about_drops()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fault = self.plan.next(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.delay > 0:
            await asyncio.sleep(fault.delay)
        if fault.kind is None:
            await self.app(scope, receive, send)
        elif fault.kind == "drop":
            await self._drop(scope, receive, send)
        else:
            await self._refuse(fault, scope, receive, send)

    async def _refuse(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        status = fault.status or 500
        headers: dict[str, str] = {"x-sandbox-fault": fault.kind or ""}
        if status == 429:
            headers["retry-after"] = str(fault.retry_after or 0)
            message = f"Too many requests; retry after {fault.retry_after or 0} s (injected by the sandbox)."
        else:
            message = f"The service answered {status} (injected by the sandbox); try again."
        log.debug("sandbox fault: %s %s -> %s", scope["method"], scope["path"], status)
        body = {"error": {"code": _ERROR_CODES[status], "message": message}}
        await JSONResponse(body, status_code=status, headers=headers)(scope, receive, send)

    async def _drop(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 200

        async def lose(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(scope, receive, lose)
        if status < 200 or status in (204, 304):  # these have no body to cut short
            status = 200
        log.debug("sandbox fault: %s %s -> dropped after %s", scope["method"], scope["path"], status)
        # No content-length: the server frames the body as chunked, and closing mid-body is what
        # the client sees. Raising after the start makes uvicorn close the connection.
        headers = [(b"content-type", b"application/json"), (b"x-sandbox-fault", b"drop")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        raise ConnectionDropped("The sandbox dropped the connection on purpose (fault injection).")


class _QuietDrops(logging.Filter):
    """Keeps uvicorn from logging a traceback for each connection dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def _quiet_uvicorn_about_drops() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())


class FaultMiddleware(Middleware):
    """A Starlette ``Middleware`` entry for the fault injector that keeps its plan within reach."""

    def __init__(self, plan: FaultPlan) -> None:
        super().__init__(FaultInjector, plan=plan)
        self.plan = plan

    @property
    def faults(self) -> Faults:
        return self.plan.faults

    @property
    def stats(self) -> dict[str, int]:
        """Requests seen (not exempt) and faults injected: ``requests``, ``429``, ``5xx``, ``drop``, ``delayed``."""
        return self.plan.stats()

    def reset(self) -> None:
        """Restart every path's fault sequence and zero the counts."""
        self.plan.reset()

    def __repr__(self) -> str:
        return f"FaultMiddleware({self.plan.faults!r}, seed={self.plan.seed!r})"


def fault_middleware(faults: FaultsLike | None, *, seed: int | str = 0) -> FaultMiddleware:
    """Return the middleware entry that injects ``faults`` (a ``Faults``, a dict or a ``parse`` string)."""
    return FaultMiddleware(FaultPlan(Faults.coerce(faults), seed))
