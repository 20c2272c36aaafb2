"""The file host and request bodies as a server on someone's machine: keys, caps, deadlines, hang-ups.

Bodies that stall, trickle, never end or stop with a disconnect are scripted at the ASGI level
(``asgi.py``); the byte cap is lowered for the test so nothing large is sent. The real-port tests
talk to a ``Sandbox`` on 127.0.0.1 with a raw socket, bounded by a socket timeout.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from realavatar_nb._exceptions import TransportError
from realavatar_nb._staging import SandboxStager
from realavatar_nb.simulator import Sandbox, SimConfig, create_app
from realavatar_nb.simulator import files as file_host

from .asgi import call, chunks, run
from .conftest import FakeClock

KEY = {"authorization": "Bearer file-host-key"}
CRUN_SESSION = "/crun/api/v1/client/job/visual-validate-session"


class TickingClock(FakeClock):
    """A clock that moves one second each time it is read: a trickle of chunks takes "seconds" at once."""

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def config() -> SimConfig:
    return SimConfig(processing_seconds=0, body_idle=0.05, body_total=300.0)


def _partials(app: Starlette) -> list[str]:
    return os.listdir(os.path.join(app.state.files.root, ".incoming"))


# -- 1. an account's key; a cap checked as the bytes arrive ------------------------------------


def test_uploading_to_the_file_host_needs_an_api_key(http: TestClient, media: dict[str, Path]) -> None:
    data = media["image"].read_bytes()
    refused = http.post("/files", params={"name": "a.jpg"}, content=data)
    assert refused.status_code == 401 and "API key" in refused.json()["error"]
    assert http.post("/files", params={"name": "a.jpg"}, content=data, headers={"x-api-key": "k"}).status_code == 201
    answer = http.post("/files", params={"name": "a.jpg"}, content=data, headers=KEY)
    assert answer.status_code == 201
    assert http.get(answer.json()["url"]).content == data  # fetching stays open: the URL is the credential


def test_a_listed_key_is_needed_when_the_emulator_lists_its_keys(http: TestClient, app: Starlette) -> None:
    app.state.sim.config.api_keys = frozenset({"only-key"})
    assert http.post("/files", params={"name": "a.bin"}, content=b"x", headers=KEY).status_code == 401
    listed = {"x-api-key": "only-key"}
    assert http.post("/files", params={"name": "a.bin"}, content=b"x", headers=listed).status_code == 201


@pytest.mark.parametrize("multipart", [False, True], ids=["raw", "multipart"])
def test_an_upload_over_the_cap_is_refused_as_soon_as_the_cap_is_passed(
    app: Starlette, monkeypatch: pytest.MonkeyPatch, multipart: bool
) -> None:
    monkeypatch.setattr(file_host, "MAX_BYTES", 1000)
    monkeypatch.setattr(file_host, "_ENVELOPE", 100)
    head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n' if multipart else b""
    receive, reads = chunks(head, *[b"x" * 400] * 100)  # 40 kB, no Content-Length: counted, not declared
    kind = "multipart/form-data; boundary=b" if multipart else "application/octet-stream"
    headers = {**KEY, "content-type": kind, "transfer-encoding": "chunked"}
    answer = run(call(app, "POST", "/files", headers, receive, query="name=a.bin"))
    assert answer.status == 413 and "larger than" in answer.json()["error"]
    assert reads[0] <= 5, f"read {reads[0]} chunks of a body already over the cap"
    assert answer.headers["connection"] == "close"  # nobody reads the other 38 kB
    assert _partials(app) == []


def test_a_declared_2gb_upload_is_refused_before_any_of_it_is_read() -> None:
    with Sandbox() as sb, socket.create_connection(("127.0.0.1", int(sb.url.rsplit(":", 1)[1])), timeout=5) as sock:
        sock.sendall(
            b"POST /files?name=big.mp4 HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer k\r\n"
            b"Content-Length: 2147483648\r\n\r\n12345678"
        )
        answer = b""
        while chunk := sock.recv(65536):  # the server closes after answering: recv ends with b""
            answer += chunk
    status, _, rest = answer.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 413 ") and b"connection: close" in rest.lower()
    assert b"larger than" in rest


# -- 2. deadlines: a body that stalls or trickles ends with an error ----------------------------


@pytest.mark.parametrize(
    ("path", "headers"),
    [("/files", {**KEY, "content-length": "5000"}), (CRUN_SESSION, {"x-api-key": "k", "content-length": "500"})],
    ids=["file-host", "crun"],
)
def test_a_body_that_stops_arriving_ends_with_408_at_the_idle_deadline(
    app: Starlette, path: str, headers: dict[str, str]
) -> None:
    receive, _ = chunks(b"12345678", stall=True)  # 8 bytes of the 500 or 5000 declared, then nothing
    answer = run(call(app, "POST", path, headers, receive, query="name=a.bin"), timeout=5)
    assert answer.status == 408 and answer.headers["connection"] == "close"
    if path == CRUN_SESSION:
        assert answer.json()["code"] == 408 and "stopped arriving" in answer.json()["message"]  # Crun's shape
    else:
        assert "stopped arriving" in answer.json()["error"]
        assert _partials(app) == []


def test_a_trickled_body_ends_with_408_at_the_total_deadline(tmp_path: Path) -> None:
    clock = TickingClock()
    app = create_app(SimConfig(body_idle=30.0, body_total=5.0), clock=clock, workdir=str(tmp_path))
    try:
        receive, reads = chunks(*[b"x"] * 1000)  # a byte per "second", each well within the idle deadline
        headers = {**KEY, "content-length": "1000"}
        answer = run(call(app, "POST", "/files", headers, receive, query="name=a.bin"))
        assert answer.status == 408 and "within 5 seconds" in answer.json()["error"]
        assert reads[0] < 10
        assert _partials(app) == []
    finally:
        app.state.sim.close()


def test_a_refused_small_body_is_read_so_the_client_gets_its_answer_on_a_live_connection() -> None:
    with Sandbox() as sb, httpx.Client(base_url=sb.url) as client:
        refused = client.post("/files", params={"name": "a.bin"}, content=b"x" * 200_000)  # no key
        assert refused.status_code == 401 and "connection" not in refused.headers
        assert client.post("/files", params={"name": "a.bin"}, content=b"x", headers=KEY).status_code == 201


# -- 8. a client hanging up mid-upload is no server error -------------------------------------


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG):
        yield caplog


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/files", "application/octet-stream"),
        ("/files", "multipart/form-data; boundary=b"),
        ("/anyfast/volc/asset/CreateAsset", "multipart/form-data; boundary=b"),
    ],
    ids=["file-host-raw", "file-host-multipart", "anyfast-multipart"],
)
def test_a_client_hanging_up_mid_upload_is_logged_quietly(
    app: Starlette, records: pytest.LogCaptureFixture, path: str, kind: str
) -> None:
    part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n\xff\xd8\xff'
    receive, _ = chunks(part, then={"type": "http.disconnect"})
    headers = {**KEY, "content-type": kind, "content-length": "100000"}
    run(call(app, "POST", path, headers, receive))
    assert [r for r in records.records if r.levelno >= logging.WARNING or r.exc_info] == []
    assert any("went away" in r.getMessage() and r.levelno == logging.DEBUG for r in records.records)
    assert _partials(app) == []


def test_a_client_hanging_up_mid_upload_prints_no_traceback_from_the_server(
    records: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    with Sandbox() as sb:
        with socket.create_connection(("127.0.0.1", int(sb.url.rsplit(":", 1)[1])), timeout=5) as sock:
            sock.sendall(
                b"POST /files?name=a.jpg HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer k\r\n"
                b"Content-Length: 100000\r\n\r\n" + b"\xff\xd8\xff" * 100
            )

        async def went_away() -> None:
            while not any("went away" in r.getMessage() for r in records.records):
                await asyncio.sleep(0.01)

        asyncio.run(asyncio.wait_for(went_away(), 5))
    assert [r for r in records.records if r.levelno >= logging.WARNING or r.exc_info] == []
    assert "Traceback" not in capfd.readouterr().err


# -- the stager sends the key it is given -----------------------------------------------------


def test_the_stager_stages_with_the_key_it_is_given_and_says_why_without_one(app: Starlette, tmp_path: Path) -> None:
    path = tmp_path / "front.jpg"
    path.write_bytes(b"\xff\xd8\xff" + b"\0" * 100)

    async def stage(stager: SandboxStager) -> str:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport) as http:
            return await stager.stage(str(path), http)

    url = asyncio.run(stage(SandboxStager("http://sandbox.test", api_key="sk-mine")))
    assert url.startswith("http://sandbox.test/files/") and url.endswith("/front.jpg")
    assert "sk-mine" not in repr(SandboxStager("http://sandbox.test", api_key="sk-mine"))
    with pytest.raises(TransportError, match="401"):
        asyncio.run(stage(SandboxStager("http://sandbox.test")))
