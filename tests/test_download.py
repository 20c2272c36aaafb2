"""A job's video is downloaded bounded: http(s) only, redirects checked hop by hop, capped in size and time.

Wire behaviour (a body cut off mid-way, a trickle, a huge body) runs against ``WireServer`` on
127.0.0.1; redirect policy, which is about URLs rather than bytes, runs on ``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import realavatar_nb as ra
from realavatar_nb._download import MAX_REDIRECTS, download_to
from realavatar_nb._transport import RetryTransport

from .test_transport_limits import MiB, WireServer, endless, head, served, trickle

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40


class Hops:
    """A mock CDN: answers by URL from a table, records every request it saw."""

    def __init__(self, table: dict[str, httpx.Response | Callable[[], httpx.Response]]) -> None:
        self.table = table
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        answer = self.table.get(str(request.url))
        if answer is None:
            return httpx.Response(404)
        return answer() if callable(answer) else answer


def _moved(location: str, status: int = 302) -> httpx.Response:
    return httpx.Response(status, headers={"location": location})


def _fetch(
    handler: Callable[[httpx.Request], httpx.Response] | None,
    url: str,
    target: Path,
    *,
    http: httpx.AsyncClient | None = None,
    waits: list[float] | None = None,
    **kwargs: object,
) -> Path:
    async def sleep(seconds: float) -> None:
        (waits if waits is not None else []).append(seconds)

    async def go() -> Path:
        client = http or httpx.AsyncClient(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
        async with client:
            options: dict[str, object] = {"max_bytes": 64 * MiB, "deadline": 30.0, "sleep": sleep} | kwargs
            return await download_to(client, url, target, **options)  # type: ignore[arg-type]

    return asyncio.run(go())


# -- what is fetched at all -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://cdn.test/clip.mp4", "javascript:alert(1)", "data:video/mp4;base64,AAAA", ""]
)
def test_a_video_url_that_is_not_http_is_refused_at_once(url: str, tmp_path: Path) -> None:
    cdn = Hops({})
    waits: list[float] = []
    with pytest.raises(ra.MalformedResponseError) as caught:
        _fetch(cdn, url, tmp_path / "v.mp4", waits=waits)
    assert caught.value.field == "video_url"
    assert cdn.seen == [] and waits == []  # nothing sent, nothing retried
    assert "passwd" not in str(caught.value)  # the scheme is named, never the local path
    assert not list(tmp_path.iterdir())


# -- redirects ----------------------------------------------------------------------------------


def test_redirects_are_followed_to_another_host_and_from_http_to_https(tmp_path: Path) -> None:
    cdn = Hops({
        "http://api.test/v/1": _moved("https://api.test/v/1", 301),
        "https://api.test/v/1": _moved("https://cdn.test/a/1.mp4", 307),
        "https://cdn.test/a/1.mp4": _moved("/b/1.mp4?sig=x", 308),  # relative, on the new host
        "https://cdn.test/b/1.mp4?sig=x": httpx.Response(200, content=VIDEO),
    })  # fmt: skip
    path = _fetch(cdn, "http://api.test/v/1", tmp_path / "out" / "v.mp4")
    assert path.read_bytes() == VIDEO
    assert [str(r.url) for r in cdn.seen][-1] == "https://cdn.test/b/1.mp4?sig=x"
    assert not (tmp_path / "out" / "v.mp4.part").exists()


def test_a_redirect_from_https_down_to_http_is_refused(tmp_path: Path) -> None:
    cdn = Hops({"https://cdn.test/v": _moved("http://cdn.test/v"), "http://cdn.test/v": httpx.Response(200)})
    with pytest.raises(ra.MalformedResponseError, match="plain http") as caught:
        _fetch(cdn, "https://cdn.test/v", tmp_path / "v.mp4")
    assert caught.value.field == "location" and len(cdn.seen) == 1


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://cdn.test/v.mp4", "gopher://x/", ""])
def test_a_redirect_to_something_other_than_http_is_refused(location: str, tmp_path: Path) -> None:
    cdn = Hops({"https://cdn.test/v": _moved(location)})
    with pytest.raises(ra.MalformedResponseError, match="not followed") as caught:
        _fetch(cdn, "https://cdn.test/v", tmp_path / "v.mp4")
    assert caught.value.field == "location" and len(cdn.seen) == 1
    assert not list(tmp_path.iterdir())


def test_redirects_over_the_wire_reach_another_host_and_stop_at_a_file_url(tmp_path: Path) -> None:
    async def go() -> tuple[bytes, BaseException, list[tuple[str, str]]]:
        routes = {"/v.mp4": served(VIDEO, content_type="video/mp4")}
        async with WireServer(routes) as server, httpx.AsyncClient() as http:
            port = server.url("").rsplit(":", 1)[1]

            async def to_other_host(srv: WireServer, writer: asyncio.StreamWriter) -> None:
                writer.write(head(302, location=f"http://localhost:{port}/v.mp4", content_length=0))

            async def to_a_file(srv: WireServer, writer: asyncio.StreamWriter) -> None:
                writer.write(head(302, location="file:///etc/passwd", content_length=0))

            server.routes |= {"/moved": to_other_host, "/stolen": to_a_file}
            path = await download_to(http, server.url("/moved"), tmp_path / "v.mp4", max_bytes=MiB, deadline=10)
            with pytest.raises(ra.MalformedResponseError) as caught:
                await download_to(http, server.url("/stolen"), tmp_path / "w.mp4", max_bytes=MiB, deadline=10)
            return path.read_bytes(), caught.value, [(h["host"].split(":")[0], p) for _, p, h in server.hits]

    data, error, hits = asyncio.run(go())
    assert data == VIDEO and hits[:2] == [("127.0.0.1", "/moved"), ("localhost", "/v.mp4")]
    assert "file:" in str(error) and hits[2:] == [("127.0.0.1", "/stolen")]  # the file: hop was never taken
    assert not (tmp_path / "w.mp4").exists() and not (tmp_path / "w.mp4.part").exists()


def test_a_redirect_loop_gives_up_after_the_hop_limit(tmp_path: Path) -> None:
    cdn = Hops({"https://cdn.test/a": _moved("/b"), "https://cdn.test/b": _moved("/a")})
    with pytest.raises(ra.TransportError, match="redirected more than"):
        _fetch(cdn, "https://cdn.test/a", tmp_path / "v.mp4", attempts=1)
    assert len(cdn.seen) == MAX_REDIRECTS + 1


def test_no_hop_carries_credentials_even_from_a_client_that_has_them(tmp_path: Path) -> None:
    cdn = Hops({
        "https://api.test/v": _moved("https://cdn.test/v"),
        "https://cdn.test/v": _moved("/w"),
        "https://cdn.test/w": _moved("https://user:pw@other.test/v"),
        "https://other.test/v": httpx.Response(200, content=VIDEO, headers={"set-cookie": "s=1; Path=/"}),
    })  # fmt: skip
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(cdn),
        headers={"Authorization": "Bearer sk-live-secret", "x-api-key": "sk-live-secret"},
        cookies={"session": "s3cret"},
        auth=("key", "sk-live-secret"),
    )
    assert _fetch(None, "https://api.test/v", tmp_path / "v.mp4", http=http).read_bytes() == VIDEO
    assert len(cdn.seen) == 4
    for request in cdn.seen:
        sent = {k.lower() for k in request.headers}
        assert not sent & {"authorization", "x-api-key", "cookie", "proxy-authorization"}, request.headers
        assert "sk-live-secret" not in str(request.headers) and request.url.userinfo == b""


# -- size, time, failures -------------------------------------------------------------------------


@pytest.mark.parametrize("declare", [True, False], ids=["content-length", "no-length"])
def test_a_video_over_the_cap_stops_there_and_leaves_no_file(declare: bool, tmp_path: Path) -> None:
    async def go() -> tuple[BaseException, int, int]:
        async with WireServer({"/v.mp4": endless(declare)}) as server, httpx.AsyncClient() as http:
            tracemalloc.start()
            try:
                with pytest.raises(ra.ResponseLimitError) as caught:
                    await download_to(http, server.url("/v.mp4"), tmp_path / "v.mp4", max_bytes=4 * MiB, deadline=30)
                return caught.value, server.sent, tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

    error, sent, peak = asyncio.run(go())
    assert isinstance(error, ra.ResponseLimitError) and error.setting == "REALAVATAR_MAX_DOWNLOAD_BYTES"
    assert "REALAVATAR_MAX_DOWNLOAD_BYTES" in str(error)
    assert sent < 32 * MiB and peak < 8 * MiB  # streamed to disk and cut off, never held
    assert not list(tmp_path.iterdir())  # neither the target nor a .part


def test_a_trickling_download_ends_at_its_deadline_and_leaves_no_file(tmp_path: Path) -> None:
    async def go() -> tuple[BaseException, int]:
        async with WireServer({"/v.mp4": trickle(total=10_000)}) as server, httpx.AsyncClient(timeout=5) as http:
            with pytest.raises(ra.ResponseLimitError) as caught:
                await download_to(http, server.url("/v.mp4"), tmp_path / "v.mp4", max_bytes=MiB, deadline=0.3)
            return caught.value, server.sent

    error, sent = asyncio.run(go())
    assert isinstance(error, ra.ResponseLimitError) and error.setting == "REALAVATAR_DOWNLOAD_DEADLINE"
    assert sent < 10_000
    assert not list(tmp_path.iterdir())


def test_a_body_cut_off_mid_way_is_fetched_again_whole(tmp_path: Path) -> None:
    async def cut(server: WireServer, writer: asyncio.StreamWriter) -> None:
        if len(server.hits) == 1:  # the first connection dies after a few bytes
            writer.write(head(content_length=len(VIDEO)))
            await server.body(writer, VIDEO[:100])
            return
        await served(VIDEO, content_type="video/mp4")(server, writer)

    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def go() -> tuple[Path, int]:
        async with WireServer({"/v.mp4": cut}) as server, httpx.AsyncClient() as http:
            target = tmp_path / "v.mp4"
            path = await download_to(http, server.url("/v.mp4"), target, max_bytes=MiB, deadline=30, sleep=sleep)
            return path, len(server.hits)

    path, hits = asyncio.run(go())
    assert path.read_bytes() == VIDEO and hits == 2 and len(waits) == 1


def test_server_errors_are_retried_a_bounded_number_of_times_with_retry_after(tmp_path: Path) -> None:
    answers = iter([httpx.Response(503, headers={"retry-after": "2"}), httpx.Response(429)])
    cdn = Hops({"https://cdn.test/v": lambda: next(answers, httpx.Response(200, content=VIDEO))})
    waits: list[float] = []
    assert _fetch(cdn, "https://cdn.test/v", tmp_path / "v.mp4", waits=waits, backoff=0.5).read_bytes() == VIDEO
    assert len(cdn.seen) == 3 and waits == [2.0, 1.0]  # the server's Retry-After, then the backoff for a 2nd retry

    failing = Hops({"https://cdn.test/v": httpx.Response(502)})
    with pytest.raises(ra.TransportError, match="HTTP 502"):
        _fetch(failing, "https://cdn.test/v", tmp_path / "w.mp4", attempts=3)
    assert len(failing.seen) == 3 and not list(tmp_path.glob("w.mp4*"))


@pytest.mark.parametrize("status", [403, 404, 410])
def test_an_expired_link_is_not_retried_and_says_how_to_get_a_fresh_one(status: int, tmp_path: Path) -> None:
    cdn = Hops({"https://cdn.test/v": httpx.Response(status)})
    with pytest.raises(ra.TransportError, match="get_job") as caught:
        _fetch(cdn, "https://cdn.test/v", tmp_path / "v.mp4")
    assert f"HTTP {status}" in str(caught.value) and len(cdn.seen) == 1


def test_a_refused_connection_ends_as_the_packages_transport_error(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    waits: list[float] = []
    with pytest.raises(ra.TransportError) as caught:
        _fetch(refuse, "https://cdn.test/v", tmp_path / "v.mp4", waits=waits, attempts=2)
    assert not isinstance(caught.value, httpx.HTTPError) and isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(waits) == 1


# -- through the client ------------------------------------------------------------------------


def _client(tmp_path: Path, transport: httpx.AsyncBaseTransport, **env: str) -> ra.AsyncClient:
    settings = ra.Settings.from_env(env, provider="toapis")
    return ra.AsyncClient(
        settings=settings,
        api_key="sk-live-provider-key",
        base_url="https://api.test",
        transport=transport,
        ledger=ra.Ledger(tmp_path / "ledger.sqlite3"),
    )


def test_client_download_follows_a_cdn_redirect_without_sending_the_api_key(tmp_path: Path) -> None:
    cdn = Hops({
        "https://api.test/files/job-1.mp4": _moved("https://cdn.test/x/job-1.mp4"),
        "https://cdn.test/x/job-1.mp4": httpx.Response(200, content=VIDEO),
    })  # fmt: skip
    job = ra.GenerationJob(id="job-1", status="succeeded", video_url="https://api.test/files/job-1.mp4")

    async def go() -> Path:
        async with _client(tmp_path, httpx.MockTransport(cdn)) as client:
            return await client.download(job, tmp_path / "out" / "clip.mp4")

    path = asyncio.run(go())
    assert path.read_bytes() == VIDEO and len(cdn.seen) == 2
    assert all("sk-live-provider-key" not in str(r.headers) for r in cdn.seen)


def test_client_download_refuses_a_file_url_at_once(tmp_path: Path) -> None:
    cdn = Hops({})
    job = ra.GenerationJob(id="job-1", status="succeeded", video_url="file:///etc/passwd")

    async def go() -> None:
        async with _client(tmp_path, httpx.MockTransport(cdn)) as client:
            await client.download(job, tmp_path / "clip.mp4")

    with pytest.raises(ra.MalformedResponseError, match="not an http"):
        asyncio.run(go())
    assert cdn.seen == []


def test_client_download_takes_its_cap_from_the_settings(tmp_path: Path) -> None:
    cdn = Hops({"https://cdn.test/v.mp4": httpx.Response(200, content=bytes(2048))})
    job = ra.GenerationJob(id="job-1", status="succeeded", video_url="https://cdn.test/v.mp4")

    async def go() -> None:
        client = _client(tmp_path, httpx.MockTransport(cdn), REALAVATAR_MAX_DOWNLOAD_BYTES="1KiB")
        async with client:
            await client.download(job, tmp_path / "clip.mp4")

    with pytest.raises(ra.ResponseLimitError) as caught:
        asyncio.run(go())
    assert caught.value.setting == "REALAVATAR_MAX_DOWNLOAD_BYTES" and "1,024" in str(caught.value)
    assert not (tmp_path / "clip.mp4").exists() and not (tmp_path / "clip.mp4.part").exists()


def test_a_streamed_download_passes_the_retry_transport_once_and_unread() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(503, content=bytes(100))

    async def go() -> httpx.Response:
        transport = RetryTransport(httpx.MockTransport(handler), max_response_bytes=10)
        async with httpx.AsyncClient(transport=transport) as http:
            request = http.build_request("GET", "https://cdn.test/v")
            request.extensions["realavatar_stream"] = True
            return await http.send(request, stream=True)

    # Neither retried (the download owns its retries) nor capped at the JSON cap (it owns its own cap).
    assert asyncio.run(go()).status_code == 503 and len(sent) == 1


def test_client_download_saves_the_emulators_video_and_records_it(tmp_path: Path) -> None:
    from realavatar_nb.simulator import Sandbox

    async def go(sb: Sandbox) -> tuple[ra.GenerationJob, Path, ra.Ledger]:
        ledger = ra.Ledger(tmp_path / "ledger.sqlite3")
        async with ra.AsyncClient("sandbox", sandbox=sb, ledger=ledger, poll_interval=0.05) as client:
            job = await client.generate("a quiet street", duration=4, resolution="480p")
            job = await client.wait_job(job, timeout=60)
            return job, await client.download(job, tmp_path / "out" / "clip.mp4"), ledger

    with Sandbox(processing_seconds=0.0, job_seconds=0.2) as sb:
        job, path, ledger = asyncio.run(go(sb))
    assert path == tmp_path / "out" / "clip.mp4" and path.read_bytes()[4:8] == b"ftyp"
    assert list(path.parent.iterdir()) == [path]  # the .part was renamed into place
    assert ledger.frame("jobs").set_index("id").loc[job.id, "path"] == str(path)
