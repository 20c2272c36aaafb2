"""Call the emulator app at the ASGI level, with a request body the test scripts chunk by chunk.

An HTTP client always sends the body it declares; these tests need bodies that stall, trickle,
never end or stop with a disconnect, so they hand the app a ``receive`` of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message

Receive = Callable[[], Awaitable[Message]]


@dataclass
class Answer:
    """What the app sent back."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        import json

        return json.loads(self.body)


def scope(method: str, path: str, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("sandbox.test", 80),
    }


async def call(
    app: ASGIApp, method: str, path: str, headers: dict[str, str], receive: Receive, *, query: str = ""
) -> Answer:
    """Run one request through ``app``; return what it answered."""
    answer = Answer()

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    await app(scope(method, path, headers, query), receive, send)
    return answer


def run(coroutine: Awaitable[Answer], timeout: float = 10.0) -> Answer:
    """Run ``coroutine`` to its end, failing (not hanging) if it takes longer than ``timeout``."""

    async def bounded() -> Answer:
        return await asyncio.wait_for(coroutine, timeout)

    return asyncio.run(bounded())


def chunks(*parts: bytes, then: Message | None = None, stall: bool = False) -> tuple[Receive, list[int]]:
    """Return a receive giving ``parts`` (more to come after each), then ``then``, or a stall; and a read count."""
    reads = [0]

    async def receive() -> Message:
        reads[0] += 1
        if reads[0] <= len(parts):
            return {"type": "http.request", "body": parts[reads[0] - 1], "more_body": True}
        if then is not None:
            return then
        if stall:
            await asyncio.Event().wait()  # a client that sends nothing more (the call's timeout bounds it)
        return {"type": "http.request", "body": b"", "more_body": False}

    return receive, reads
