"""A hostile or broken server cannot exhaust the kernel: answers are capped in decoded size and in time.

The wire matters here (httpx's timeout restarts per byte; a body arrives in network chunks), so most
tests talk to ``WireServer``: a bare HTTP/1.1 server on 127.0.0.1, on the test's own loop, whose
handlers write exactly the bytes a misbehaving server would. Deadlines are fractions of a second.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import struct
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType

import httpx
import pytest

import realavatar_nb as ra
from realavatar_nb._transport import DeadlineExceeded, RetryTransport
from realavatar_nb.providers.base import RETRY

MiB = 1024 * 1024
Handler = Callable[["WireServer", asyncio.StreamWriter], Awaitable[None]]


class WireServer:
    """Answers each connection once, by path, with a handler that writes raw bytes; counts what it sent.

    Bounded and self-stopping: leaving the ``async with`` closes the socket and cancels any handler
    still writing (a trickle whose client gave up).
    """

    def __init__(self, routes: dict[str, Handler], default: Handler | None = None) -> None:
        self.routes = routes
        self.default = default
        self.hits: list[tuple[str, str, dict[str, str]]] = []  # (method, path, lower-cased headers)
        self.sent = 0  # body bytes written, across connections
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> WireServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def url(self, path: str = "/") -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            method, target, _ = (await reader.readline()).decode("latin-1").split(" ", 2)
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            await reader.readexactly(int(headers.get("content-length", "0")))
            path = target.split("?")[0]
            self.hits.append((method, path, headers))
            handler = self.routes.get(path, self.default)
            if handler is None:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            else:
                await handler(self, writer)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up: exactly what a cap or a deadline does
        except asyncio.CancelledError:
            pass  # stopped by __aexit__; ending normally keeps asyncio's stream callback from logging it
        finally:
            writer.close()
            self._tasks.discard(task)

    async def body(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        """Write part of a body and wait until the socket took it."""
        writer.write(data)
        self.sent += len(data)
        await writer.drain()


def head(status: int = 200, **headers: str | int) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join([*lines, "Connection: close", "", ""])).encode()


def trickle(total: int = 1000, every: float = 0.02) -> Handler:
    """A server that promises ``total`` bytes and sends one per ``every`` seconds (never idle long)."""

    async def handler(server: WireServer, writer: asyncio.StreamWriter) -> None:
        writer.write(head(content_type="application/json", content_length=total))
        for _ in range(total):
            await server.body(writer, b" ")
            await asyncio.sleep(every)

    return handler


def endless(declare: bool) -> Handler:
    """300 MB of JSON generated lazily, 64 KiB at a time, with or without a Content-Length."""
    size, chunk = 300_000_000, b"[" + b"0," * (32 * 1024 - 1) + b"0"

    async def handler(server: WireServer, writer: asyncio.StreamWriter) -> None:
        writer.write(head(content_type="application/json", **({"content_length": size} if declare else {})))
        while server.sent < size:
            await server.body(writer, chunk)

    return handler


def served(data: bytes, **headers: str | int) -> Handler:
    async def handler(server: WireServer, writer: asyncio.StreamWriter) -> None:
        writer.write(head(content_length=len(data), **headers))
        await server.body(writer, data)

    return handler


def silent_then(seconds: float, data: bytes) -> Handler:
    """A gateway relaying upstream: nothing at all for ``seconds``, then the answer."""

    async def handler(server: WireServer, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(seconds)
        writer.write(head(content_type="application/json", content_length=len(data)))
        await server.body(writer, data)

    return handler


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """About 400 KB of valid gzip that inflates to 400 MiB of zeros.

    Built from one compressed MiB repeated (a full flush makes every block after the first encode alike),
    so the fixture takes milliseconds instead of compressing 400 MiB.
    """
    block, blocks = bytes(MiB), 400
    z = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    first = z.compress(block) + z.flush(zlib.Z_FULL_FLUSH)
    again = z.compress(block) + z.flush(zlib.Z_FULL_FLUSH)
    final = z.flush()[:-8]  # the last (empty) block, without the trailer for two blocks only
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    bomb = first + again * (blocks - 1) + final + struct.pack("<II", crc, (blocks * MiB) & 0xFFFFFFFF)
    assert len(bomb) < 500_000
    return bomb


async def _get(transport: RetryTransport, url: str, *, retry: bool = True, timeout: float = 5.0) -> httpx.Response:
    async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
        request = client.build_request("GET" if retry else "POST", url)
        request.extensions[RETRY] = retry
        return await client.send(request)


async def _no_wait(seconds: float) -> None:
    return None


# -- size -------------------------------------------------------------------------------------


@pytest.mark.parametrize("declare", [True, False], ids=["content-length", "no-length"])
def test_a_300_mb_answer_stops_at_the_cap_with_memory_bounded(declare: bool) -> None:
    async def go() -> tuple[BaseException, int, int]:
        async with WireServer({}, default=endless(declare)) as server:
            tracemalloc.start()
            try:
                with pytest.raises(ra.ResponseLimitError) as caught:
                    await _get(RetryTransport(sleep=_no_wait), server.url("/v1/list"))
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            return caught.value, peak, server.sent

    error, peak, sent = asyncio.run(go())
    assert isinstance(error, ra.ResponseLimitError) and error.setting == "REALAVATAR_MAX_RESPONSE_BYTES"
    assert "REALAVATAR_MAX_RESPONSE_BYTES" in str(error)
    assert peak < 48 * MiB  # the 16 MiB cap and a copy, not 300 MB (709 MB before)
    assert sent < 64 * MiB  # the client hung up instead of reading on
    if declare:  # a Content-Length over the cap is refused before the body is read
        assert sent < 8 * MiB


def test_a_gzip_bomb_stops_at_the_decoded_cap(gzip_bomb: bytes) -> None:
    async def go() -> tuple[BaseException, int]:
        handler = served(gzip_bomb, content_type="application/json", content_encoding="gzip")
        async with WireServer({"/bomb": handler}) as server:
            tracemalloc.start()
            try:
                with pytest.raises(ra.ResponseLimitError) as caught:
                    await _get(RetryTransport(max_response_bytes=4 * MiB), server.url("/bomb"))
                return caught.value, tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

    error, peak = asyncio.run(go())
    assert isinstance(error, ra.ResponseLimitError) and error.setting == "REALAVATAR_MAX_RESPONSE_BYTES"
    assert peak < 16 * MiB  # 400 MiB inflated would need 1.65 GB; the cap is 4 MiB, one step 64 KiB


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", "gzip, gzip"])
def test_compressed_answers_under_the_cap_arrive_decoded(encoding: str) -> None:
    payload = json.dumps({"items": list(range(50_000))}).encode()
    if encoding == "deflate":
        body = zlib.compress(payload)
    elif encoding == "raw-deflate":  # deflate without its zlib header, as some servers send it
        z = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        body, encoding = z.compress(payload) + z.flush(), "deflate"
    else:
        body = payload
        for _ in encoding.split(","):
            body = gzip.compress(body)

    async def go() -> httpx.Response:
        handler = served(body, content_type="application/json", content_encoding=encoding)
        async with WireServer({"/x": handler}) as server:
            return await _get(RetryTransport(), server.url("/x"))

    response = asyncio.run(go())
    assert response.json() == {"items": list(range(50_000))}
    assert "content-encoding" not in response.headers  # nothing left for httpx to inflate again
    assert response.headers["content-length"] == str(len(payload))


def test_an_answer_in_an_encoding_not_decoded_here_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-encoding": "br"}, stream=httpx.ByteStream(b"\x0b\x01\x80{}\x03"))

    with pytest.raises(httpx.DecodingError, match="br"):
        asyncio.run(_get(RetryTransport(httpx.MockTransport(handler)), "http://p.test/x"))


def test_an_in_memory_answer_over_the_cap_is_refused_too() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b"x" * 2048))
    with pytest.raises(ra.ResponseLimitError, match="2,047"):
        asyncio.run(_get(RetryTransport(transport, max_response_bytes=2047), "http://p.test/x"))
    assert asyncio.run(_get(RetryTransport(transport, max_response_bytes=2048), "http://p.test/x")).content == (
        b"x" * 2048
    )


def test_a_create_over_the_cap_says_it_may_have_taken_effect() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b"x" * 100))
    with pytest.raises(ra.ResponseLimitError, match="may have taken effect"):
        asyncio.run(_get(RetryTransport(transport, max_response_bytes=10), "http://p.test/x", retry=False))


# -- time ---------------------------------------------------------------------------------------


def test_a_trickling_server_cannot_hold_a_read_past_its_deadline() -> None:
    async def go() -> tuple[BaseException, int]:
        async with WireServer({"/slow": trickle()}) as server:
            with pytest.raises(httpx.TimeoutException) as caught:
                # httpx's own 5 s timeout never fires: a byte arrives every 20 ms.
                await _get(RetryTransport(attempts=1, deadline=0.3), server.url("/slow"), timeout=5.0)
            return caught.value, server.sent

    error, sent = asyncio.run(go())
    assert isinstance(error, DeadlineExceeded) and isinstance(error, httpx.ReadTimeout)
    assert error.setting == "REALAVATAR_DEADLINE" and "REALAVATAR_DEADLINE" in str(error)
    assert sent < 1000  # cut off before the promised body was complete


def test_a_read_past_its_deadline_is_retried_and_a_create_is_not() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def go(retry: bool) -> int:
        async with WireServer({}, default=trickle()) as server:
            transport = RetryTransport(attempts=3, deadline=0.2, create_deadline=0.2, sleep=sleep)
            with pytest.raises(DeadlineExceeded) as caught:
                await _get(transport, server.url("/x"), retry=retry)
            assert caught.value.setting == ("REALAVATAR_DEADLINE" if retry else "REALAVATAR_CREATE_DEADLINE")
            return len(server.hits)

    assert asyncio.run(go(retry=True)) == 3 and len(waits) == 2
    assert asyncio.run(go(retry=False)) == 1 and len(waits) == 2


def test_a_create_may_wait_silent_past_the_timeout_until_its_deadline_and_a_read_may_not() -> None:
    async def go(retry: bool) -> httpx.Response:
        async with WireServer({}, default=silent_then(0.5, b'{"ok": true}')) as server:
            transport = RetryTransport(attempts=1, deadline=5.0, create_deadline=5.0)
            return await _get(transport, server.url("/x"), retry=retry, timeout=0.2)

    assert asyncio.run(go(retry=False)).json() == {"ok": True}  # the gateway's silence is allowed
    with pytest.raises(httpx.ReadTimeout) as caught:
        asyncio.run(go(retry=True))
    assert not isinstance(caught.value, DeadlineExceeded)  # REALAVATAR_TIMEOUT fired, per read, as before


def test_the_client_reports_a_create_past_its_deadline_as_outcome_unknown(tmp_path: Path) -> None:
    env = {"REALAVATAR_TIMEOUT": "5", "REALAVATAR_CREATE_DEADLINE": "0.3"}

    async def go() -> tuple[BaseException, int]:
        async with WireServer({}, default=trickle()) as server:
            settings = ra.Settings.from_env(env, provider="toapis")
            client = ra.AsyncClient(
                settings=settings, base_url=server.url(""), api_key="k", ledger=ra.Ledger(tmp_path / "l.sqlite3")
            )
            async with client:
                with pytest.raises(ra.OutcomeUnknownError) as caught:
                    await client.generate("a quiet street at dusk")
            return caught.value, len(server.hits)

    error, hits = asyncio.run(go())
    assert hits == 1  # never sent again blindly
    assert "REALAVATAR_CREATE_DEADLINE" in " ".join(_causes(error))  # the cause names the knob


def _causes(error: BaseException | None) -> list[str]:
    texts = []
    while error is not None:
        texts.append(str(error))
        error = error.__cause__
    return texts


def test_the_client_refuses_an_oversized_answer_naming_the_setting(tmp_path: Path) -> None:
    env = {"REALAVATAR_MAX_RESPONSE_BYTES": "1MiB"}

    async def go() -> tuple[BaseException, int]:
        async with WireServer({}, default=endless(declare=False)) as server:
            settings = ra.Settings.from_env(env, provider="toapis")
            client = ra.AsyncClient(
                settings=settings, base_url=server.url(""), api_key="k", ledger=ra.Ledger(tmp_path / "l.sqlite3")
            )
            async with client:
                with pytest.raises(ra.ResponseLimitError) as caught:
                    await client.get_job("job-1")
            return caught.value, server.sent

    error, sent = asyncio.run(go())
    assert isinstance(error, ra.ResponseLimitError) and error.setting == "REALAVATAR_MAX_RESPONSE_BYTES"
    assert "1,048,576" in str(error)
    assert sent < 16 * MiB  # refused at the 1 MiB setting, not read to the end and not retried
