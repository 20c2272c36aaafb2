"""Request bodies with limits: a deadline for every body, a size cap where a route asks for one.

The emulator is a server on someone's machine, and a client that declares a large body and then
sends nothing (or a byte a minute) must not hold a handler, a temporary file or a connection for
ever. ``BodyDeadlines`` wraps every HTTP request's ``receive``: each next chunk must arrive within
``idle`` seconds and the whole body within ``total`` seconds of the request's start, else
``BodyTimeout`` is raised where the route reads. When a response goes out before its request's
body was read to the end (a refusal), a small rest of the body is read and dropped first, so the
client, still sending, gets to read its answer on a connection that stays open; a large or
unknown rest is not waited for: the response says ``Connection: close`` and the server stops
reading a body nobody wants. ``capped`` gives a route a ``Request`` whose body stops at a limit.

Refusals (``BodyRefused``: 408, 413) and a client gone mid-body (Starlette's ``ClientDisconnect``)
are answered by the app's handlers in the emulator's error shapes; a disconnect is logged at debug,
never as a traceback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyDeadlines", "BodyRefused", "BodyTimeout", "BodyTooLarge", "capped", "declared_length"]

DRAIN_LIMIT: Final = 16 * 1024 * 1024  # the most of a refused body read (and dropped) to keep its connection


class BodyRefused(Exception):
    """A request body the emulator stops reading: ``status`` and ``code`` say why."""

    status = 400
    code = "invalid"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class BodyTimeout(BodyRefused):
    """The body stopped arriving (``idle``) or took longer than ``total`` seconds."""

    status = 408
    code = "request_timeout"


class BodyTooLarge(BodyRefused):
    """The body passed the route's byte limit (declared or counted)."""

    status = 413
    code = "payload_too_large"


def declared_length(scope: Scope) -> int | None:
    """Return the request's ``Content-Length`` as a number, or None when absent or unreadable."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _has_body(scope: Scope) -> bool:
    names = {name for name, _ in scope.get("headers", [])}
    return b"transfer-encoding" in names or (declared_length(scope) or 0) > 0


class BodyDeadlines:
    """Pure ASGI middleware: every HTTP request body arrives in time, or its read raises ``BodyTimeout``."""

    def __init__(self, app: ASGIApp, *, idle: float, total: float, clock: Callable[[], float] = time.monotonic):
        self.app = app
        self.idle = idle
        self.total = total
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = _TimedBody(self, scope, receive)

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not body.complete and not await body.drained():
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, body.receive, closing_send)


class _TimedBody:
    """One request's ``receive`` under the deadlines, and the drain of a body its route did not read."""

    def __init__(self, limits: BodyDeadlines, scope: Scope, receive: Receive) -> None:
        self.limits = limits
        self.declared = declared_length(scope)
        self.complete = not _has_body(scope)
        self.received = 0
        self.deadline = limits.clock() + limits.total
        self._receive = receive
        # One reader of the body at a time: a route's disconnect listener (FileResponse) and the drain
        # would otherwise both wait on the server's receive, and one of them for ever.
        self._reading = asyncio.Lock()

    async def receive(self) -> Message:
        if not self.complete:
            async with self._reading:
                if not self.complete:
                    return await self._next()
        return await self._receive()  # after the body, receive only waits for a disconnect: no deadline

    async def _next(self) -> Message:
        wait = min(self.limits.idle, self.deadline - self.limits.clock())
        if wait <= 0:
            raise BodyTimeout(f"The request body did not arrive within {self.limits.total:g} seconds.")
        try:
            message = await asyncio.wait_for(self._receive(), wait)
        except TimeoutError:
            raise BodyTimeout(f"The request body stopped arriving for {wait:g} seconds.") from None
        self.received += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.complete = True
        return message

    async def drained(self) -> bool:
        """Read and drop the rest of a small body; return whether the connection can stay open."""
        if self.declared is None or self.declared - self.received > DRAIN_LIMIT:
            return False
        try:
            while not self.complete:
                async with self._reading:
                    if not self.complete:
                        await self._next()
        except BodyRefused:
            return False
        return True


def capped(request: Request, limit: int) -> Request:
    """Return ``request`` whose body reads raise ``BodyTooLarge`` once more than ``limit`` bytes arrived.

    A declared ``Content-Length`` above the limit is refused before anything is read.
    """
    declared = declared_length(request.scope)
    if declared is not None and declared > limit:
        raise BodyTooLarge(f"The upload is larger than the limit of {limit} bytes.")
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(f"The upload is larger than the limit of {limit} bytes.")
        return message

    return Request(request.scope, receive)
