"""What every dialect shares: reading keys and bodies safely, and turning refusals into responses.

A dialect is a ``Dialect`` subclass with its auth header, its error shape and its routes. Each
handler is wrapped by ``Dialect.endpoint``: the account is resolved, the JSON body read with a
size cap, and any ``SimError`` (or a malformed body) becomes the provider's own error response, as
does a body that stalls past the app's deadlines (408); a client gone mid-body is logged at debug;
an unexpected exception becomes the provider's 500 shape without a stack trace.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import UTC
from typing import Any, ClassVar, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from ..bodies import BodyRefused
from ..files import FileHost
from ..generation import GenerationRequest, output_size, usage_tokens
from ..state import Job, SimError, State

__all__ = [
    "MAX_BODY",
    "MAX_INLINE_UPLOAD",
    "Body",
    "Context",
    "Dialect",
    "Handler",
    "generation_fields",
    "iso",
    "json_response",
    "url_items",
]

MAX_BODY: Final = 1024 * 1024  # JSON bodies; uploads of files go through /files or multipart
MAX_INLINE_UPLOAD: Final = 64 * 1024 * 1024  # a JSON body carrying a base64 file (upstream's request cap)
log = logging.getLogger("realavatar_nb.simulator")

STATUS_OF: Final[dict[str, int]] = {
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "invalid": 400,
    "not_ready": 400,
    "expired": 400,
    "conflict": 409,
    "rate_limited": 429,
    "quota": 400,  # a full account: waiting frees nothing (``limits``)
}


class Body:
    """A JSON object from a request, with typed getters that raise ``SimError`` naming the field."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def _get(self, name: str, kind: type | tuple[type, ...], required: bool, default: Any) -> Any:
        value = self.data.get(name)
        if value is None:
            if required:
                raise SimError("invalid", f"{name} is required.", field=name)
            return default
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float, (int, float))):
            expected = kind.__name__ if isinstance(kind, type) else "number"
            raise SimError("invalid", f"{name} must be a {_TYPE_WORDS.get(expected, expected)}.", field=name)
        return value

    def text(self, name: str, *, required: bool = False, default: str | None = None, max_len: int = 4096) -> Any:
        value = self._get(name, str, required, default)
        if isinstance(value, str):
            if required and not value.strip():
                raise SimError("invalid", f"{name} must not be empty.", field=name)
            if len(value) > max_len:
                raise SimError("invalid", f"{name} is longer than {max_len} characters.", field=name)
        return value

    def integer(self, name: str, *, required: bool = False, default: int | None = None) -> Any:
        value = self._get(name, (int, float), required, default)
        if isinstance(value, float):
            if not value.is_integer():
                raise SimError("invalid", f"{name} must be a whole number.", field=name)
            value = int(value)
        return value

    def flag(self, name: str, default: bool | None = None) -> Any:
        return self._get(name, bool, False, default)

    def obj(self, name: str, *, required: bool = False) -> Body:
        return Body(self._get(name, dict, required, {}) or {})

    def items(self, name: str, *, required: bool = False, max_items: int = 100) -> list[Any]:
        value = self._get(name, list, required, [])
        if len(value) > max_items:
            raise SimError("invalid", f"{name} holds more than {max_items} items.", field=name)
        if required and not value:
            raise SimError("invalid", f"{name} must not be empty.", field=name)
        return list(value)


_TYPE_WORDS: Final = {"str": "string", "int": "whole number", "dict": "JSON object", "list": "JSON array",
                      "bool": "boolean"}  # fmt: skip


class Context:
    """One request as a handler sees it: the account, the body, and the emulator's public root URL."""

    def __init__(self, request: Request, account: str, body: Body, state: State, files: FileHost) -> None:
        self.request = request
        self.account = account
        self.body = body
        self.state = state
        self.files = files
        self.root = str(request.base_url).rstrip("/")

    def query(self, name: str, *, required: bool = False) -> str | None:
        value = self.request.query_params.get(name)
        if required and not value:
            raise SimError("invalid", f"{name} is required.", field=name)
        return value

    def h5_link(self, token: str, lng: str) -> str:
        # Shaped like upstream's KYC H5 link (reference/upstream.md §2.2): opaque, token inside.
        return f"{self.root}/h5/{token}?configId=sandbox-liveness&bytedToken={token}&lng={lng}"

    def video_url(self, job: Job) -> str:
        return f"{self.root}/videos/{job.id}.mp4?key={job.video_key}"

    def last_frame_url(self, job: Job) -> str | None:
        """Return the URL of the job's last frame (PNG) once it has one (``return_last_frame``), else ``None``."""
        return f"{self.root}/videos/{job.id}.png?key={job.video_key}" if job.last_frame_path else None

    def usage(self, job: Job) -> dict[str, int]:
        """Return upstream's ``usage`` of a succeeded job (reference/upstream.md §4.6)."""
        tokens = job.extra.get("tokens")
        if tokens is None:  # a job kept from before usage was counted at creation: its output alone
            tokens = usage_tokens(job.duration, 0.0, output_size(job.ratio, job.resolution))
        return {"completion_tokens": int(tokens), "total_tokens": int(tokens)}

    async def submit(self, request: GenerationRequest, *, job_id: str | None = None) -> Job:
        """Queue ``request`` as this account's job; its inputs are downloaded and probed off the event loop."""
        return await run_in_threadpool(lambda: self.state.submit_job(self.account, request, job_id=job_id))


Handler = Callable[[Context], Awaitable[Response]]


class Dialect:
    """A provider's wire format: subclasses set ``name`` and ``auth``, and define ``routes`` and ``error``."""

    name: ClassVar[str]
    auth: ClassVar[str] = "bearer"  # or "x-api-key"

    def __init__(self, state: State, files: FileHost) -> None:
        self.state = state
        self.files = files

    def option(self, key: str) -> Any:
        """Return this dialect's setting ``key`` from ``SimConfig.dialect_options``, or ``None``."""
        return self.state.config.dialect_options.get(self.name, {}).get(key)

    def routes(self) -> list[BaseRoute]:
        raise NotImplementedError

    def error(self, status: int, code: str, message: str, field: str | None = None) -> Response:
        """Return the provider's error response."""
        raise NotImplementedError

    def refusal(self, exc: SimError) -> Response:
        """Return the provider's response to a ``SimError`` (upstream's ``code`` relayed when it has one)."""
        return self.error(STATUS_OF.get(exc.kind, 400), exc.code or exc.kind, exc.message, exc.field)

    def key(self, request: Request) -> str | None:
        if self.auth == "x-api-key":
            return request.headers.get("x-api-key")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None

    async def body(self, request: Request, limit: int = MAX_BODY) -> Body:
        if request.method in ("GET", "DELETE", "HEAD"):
            return Body({})
        return json_body(await raw_body(request, limit))

    def endpoint(self, handler: Handler, *, parse_body: bool = True) -> Callable[[Request], Awaitable[Response]]:
        """Wrap ``handler`` with auth, body parsing and this provider's error shapes."""

        async def run(request: Request) -> Response:
            try:
                account = self.state.account(self.key(request), self.name)
                body = await self.body(request) if parse_body else Body({})
                return await handler(Context(request, account, body, self.state, self.files))
            except SimError as exc:
                response = self.refusal(exc)
                if exc.retry_after is not None:
                    response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
                return response
            except BodyRefused as exc:  # a body too slow or too large (``bodies``)
                return self.error(exc.status, exc.code, exc.message)
            except ClientDisconnect:
                # Nobody is left to answer, and a client going away is no server error.
                log.debug("sandbox %s: the client went away before its request body arrived", self.name)
                return Response(status_code=400)
            except Exception:
                log.exception("sandbox %s handler failed", self.name)
                return self.error(500, "internal_error", "Internal server error.")

        return run


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """Return ``data`` as JSON (non-ASCII kept as is)."""
    return JSONResponse(data, status_code=status, headers=dict(headers or {}))


def iso(ts: float) -> str:
    """Return an epoch time as RFC 3339 UTC (``2026-03-18T03:33:32Z``), as upstream writes it."""
    from datetime import datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def url_items(items: Any, name: str, *, default_role: str | None = None) -> list[tuple[str, object]]:
    """Return ``(url, role)`` of each URL string or ``{url, role}`` item of a reference list, or refuse its shape."""
    found: list[tuple[str, object]] = []
    for i, item in enumerate(items if isinstance(items, list) else []):
        url = item.get("url") if isinstance(item, dict) else item
        if not isinstance(url, str):
            raise SimError("invalid", f"{name}[{i}] must be a URL string or an object with url and role.", field=name)
        found.append((url, item.get("role", default_role) if isinstance(item, dict) else default_role))
    return found


def generation_fields(b: Body, model: str, models: Collection[str]) -> tuple[str, int]:
    """Return an OpenAI-style body's ``(prompt, duration)`` once ``model`` is one of ``models``.

    The resellers' own reading, in their order (toapis, APIMart); the duration's range is the
    model's, checked with everything else by the state (``generation.check_request``).
    """
    if model not in models:
        raise SimError("invalid", f"model {model} is not supported.", field="model")
    prompt = b.text("prompt", required=True, max_len=5000)
    return prompt, b.integer("duration", default=5)


async def raw_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """Return the exact body bytes (a signature covers their hash), refusing more than ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise SimError("invalid", f"The request body is larger than {limit} bytes.")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise SimError("invalid", f"The request body is larger than {limit} bytes.")
    return bytes(raw)


def json_body(raw: bytes) -> Body:
    """Return a JSON object body (an empty one for no bytes), or refuse it as invalid."""
    if not raw.strip():
        return Body({})
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise SimError("invalid", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise SimError("invalid", "The request body must be a JSON object.")
    return Body(data)
