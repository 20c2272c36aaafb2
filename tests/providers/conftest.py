"""Helpers every adapter test shares: hand-built answers, a sans-IO driver, the emulator in-process."""

from __future__ import annotations

import email.message
import email.parser
import json
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from realavatar_nb._models import Asset
from realavatar_nb.generation import GenerationRequest
from realavatar_nb.providers.base import RETRY, Next, Step
from realavatar_nb.simulator import SimConfig, create_app

T = TypeVar("T")
SANDBOX = "http://sandbox.test"


def respond(
    request: httpx.Request,
    status: int = 200,
    body: Any = None,
    *,
    headers: Mapping[str, str] | None = None,
    text: str | None = None,
) -> httpx.Response:
    """Return the answer ``status`` + JSON ``body`` (or plain ``text``) to ``request``, as a server would."""
    if text is not None:
        return httpx.Response(status, text=text, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


def sent(request: httpx.Request) -> Any:
    """Return the JSON body a request carries."""
    assert request.headers["content-type"] == "application/json", request.headers
    return json.loads(request.content)


def retryable(request: httpx.Request) -> bool:
    """Return whether the transport may send ``request`` again."""
    return bool(request.extensions.get(RETRY))


def form(request: httpx.Request) -> dict[str, tuple[str | None, bytes]]:
    """Return a multipart request's parts: name -> (file name or None, content)."""
    body = request.read()
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser().parsebytes(head + body)
    assert message.is_multipart(), request.headers["content-type"]
    parts: dict[str, tuple[str | None, bytes]] = {}
    for part in message.get_payload():
        assert isinstance(part, email.message.Message)
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        parts[str(name)] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return parts


def generation(
    *references: Asset,
    prompt: str = "p",
    model: str | None = None,
    duration: int = 5,
    ratio: str = "16:9",
    resolution: str = "720p",
    seed: int | None = None,
) -> GenerationRequest:
    """Return a generation request over ``references``: 5 s of "p" at 16:9 and 720p, default model, no seed."""
    return GenerationRequest(prompt=prompt, references=references, model=model, duration=duration, ratio=ratio,
                             resolution=resolution, seed=seed)  # fmt: skip


def frozen(module: types.ModuleType, monkeypatch: pytest.MonkeyPatch, now: datetime) -> None:
    """Make an official SDK's signer (which stamps ``datetime.datetime.utcnow()``) sign at ``now``."""

    class Frozen(datetime):
        @classmethod
        def utcnow(cls) -> Any:
            return now.replace(tzinfo=None)

    monkeypatch.setattr(module, "datetime", types.SimpleNamespace(datetime=Frozen))


def drive(step: Step[T], http: httpx.Client) -> T:
    """Send each request an operation asks for until it has its answer."""
    while isinstance(step, Next):
        step = step.parse(http.send(step.request))
    return step


@dataclass
class Emulator:
    """The emulator app and a client for it at ``http://sandbox.test``."""

    app: Starlette
    http: TestClient

    def host(self, path: Path) -> str:
        """Put a local file on the emulator's file host; return its URL."""
        with open(path, "rb") as fh:
            # The file host takes any account's key (the emulator's rule); this one stages only.
            response = self.http.post("/files", files={"file": (path.name, fh)}, headers={"x-api-key": "stager"})
        assert response.status_code == 201, response.text
        return str(response.json()["url"])

    def settle(self) -> None:
        """Wait for every queued asset check and video render."""
        self.app.state.sim.settle()


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    """The emulator with no delays: sessions pass at once (as person "autopilot"), assets and jobs finish on settle."""
    app = create_app(SimConfig(processing_seconds=0, job_seconds=0, autopilot=0), workdir=str(tmp_path / "sandbox"))
    yield Emulator(app, TestClient(app, base_url=SANDBOX))
    app.state.sim.close()
