"""The emulator in-process with a clock the tests move: no sockets, no sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from realavatar_nb.samples import make_audio, make_image, make_video
from realavatar_nb.simulator import SimConfig, create_app


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config() -> SimConfig:
    return SimConfig(processing_seconds=3.0, job_seconds=4.0, link_ttl=120.0)


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock, config: SimConfig) -> Iterator[Starlette]:
    application = create_app(config, clock=clock, workdir=str(tmp_path / "sandbox"))
    yield application
    application.state.sim.close()


@pytest.fixture
def http(app: Starlette) -> TestClient:
    """A client for the app at ``http://sandbox.test`` (no auth header set)."""
    return TestClient(app, base_url="http://sandbox.test", raise_server_exceptions=False)


def press(http: TestClient, token: str, outcome: str = "pass", person: str = "alice") -> None:
    """Do what a person does on the H5 page: press Pass or Fail."""
    response = http.post(f"/h5/{token}", data={"outcome": outcome, "person": person}, follow_redirects=False)
    assert response.status_code in (200, 303), response.text


# The file host takes any account's key, as the dialects do; which account stages a file does not matter.
FILE_HOST_KEY = {"authorization": "Bearer file-host-key"}


def host(http: TestClient, path: Path) -> str:
    """Put a local file on the emulator's file host; return its URL."""
    with open(path, "rb") as fh:
        response = http.post("/files", files={"file": (path.name, fh)}, headers=FILE_HOST_KEY)
    assert response.status_code == 201, response.text
    return str(response.json()["url"])


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small files to upload: good ones of each kind, a too-short clip, another person, two faces."""
    d = tmp_path_factory.mktemp("upload-media")
    return {
        "image": make_image(d / "alice.jpg", width=600, height=800, person="alice", faces=1),
        "untagged": make_image(d / "plain.png", width=600, height=800),
        "video": make_video(d / "alice.mp4", width=576, height=720, duration=2.5, fps=24, person="alice"),
        "audio": make_audio(d / "alice.mp3", duration=3.0, person="alice"),
        "short": make_video(d / "short.mp4", width=576, height=720, duration=1.0, fps=24, person="alice"),
        "bob": make_image(d / "bob.jpg", width=600, height=800, person="bob", faces=1),
        "two": make_image(d / "two.jpg", width=800, height=600, person="alice", faces=2),
    }
