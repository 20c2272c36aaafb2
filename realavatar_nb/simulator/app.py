"""The emulator as one Starlette app: each provider's dialect under ``/<provider>/``.

Beside the dialects: the H5 pages (``/h5/<token>``), the file host (``/files``), generated
videos (``/videos/<job>.mp4?key=<the job's random key>``) and their last frames (``.png``, same
key), and ``/_sandbox/stats`` /
``/_sandbox/reset`` for tests. Upstream's own API (``dialects.ark``) is also served at the root,
``POST /?Action=…`` and ``/api/v3/contents/generations/tasks``, as the official SDKs call it.

``/_sandbox/reset`` wipes every account, so it needs the app's admin token (``admin_token=``, else
one drawn at creation: ``app.state.admin_token``) in the ``X-Sandbox-Admin`` header.
``POST /_sandbox/access-keys`` (same header) mints an upstream access key (``Sandbox.access_key``).
``/_sandbox/stats`` stays open: it only reads, counts what accounts created under non-secret
labels (and, under ``refusals``, what their limits refused, by upstream's code: ``limits``), and is
how tests and benchmarks prove "no duplicates" or "no rate refusal" against a server they did not start.
Every request body has deadlines (``bodies``): a stalled or endless body ends with a 408.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from . import h5
from .backend import Render
from .bodies import BodyDeadlines, BodyRefused
from .checks import check_file
from .dialects import DIALECTS, Dialect
from .dialects.ark import Ark
from .downloads import Downloader, FetchPolicy
from .files import FileHost
from .limits import AccountLimits
from .state import Job, SimConfig, State
from .upstream_keys import keyed_account

__all__ = ["ADMIN_HEADER", "create_app"]

ADMIN_HEADER = "X-Sandbox-Admin"
log = logging.getLogger("realavatar_nb.simulator")


def create_app(
    config: SimConfig | None = None,
    *,
    clock: Callable[[], float] = time.time,
    workdir: str | None = None,
    middleware: list[Any] | None = None,
    admin_token: str | None = None,
) -> Starlette:
    """Return the emulator app; its ``State`` is ``app.state.sim``, its file host ``app.state.files``.

    ``admin_token`` guards ``/_sandbox/reset`` (default: a fresh random one, ``app.state.admin_token``).
    """
    config = config or SimConfig()
    AccountLimits(config)  # a limit that admits nothing is refused before any file or thread exists
    root = workdir or tempfile.mkdtemp(prefix="realavatar-sandbox-")
    policy = FetchPolicy(seconds=config.download_seconds, hosts=tuple(config.fetch_hosts))
    files = FileHost(os.path.join(root, "files"), Downloader(policy))
    admin = admin_token or secrets.token_urlsafe(24)
    render = _renderer(os.path.join(root, "videos"))
    state = State(config, clock=clock, fetch=files.fetch, check=check_file, render=render)
    dialects: dict[str, Dialect] = {name: cls(state, files) for name, cls in DIALECTS.items()}
    # Fault injection, when the caller installed it, reports and resets with everything else.
    faults = [m for m in middleware or [] if hasattr(m, "stats") and hasattr(m, "reset")]
    sandbox = _SandboxRoutes(state, admin, faults)
    refusals = _Refusals(dialects)
    deadlines = Middleware(BodyDeadlines, idle=config.body_idle, total=config.body_total, clock=clock)
    app = Starlette(
        routes=_routes(state, files, dialects, sandbox),
        exception_handlers=refusals.handlers(),
        middleware=[*(middleware or []), deadlines],
    )
    app.state.sim = state
    app.state.admin_token = admin
    app.state.reset = sandbox.reset_all
    app.state.files = files
    app.state.workdir = root
    app.state.owns_workdir = workdir is None
    return app


def _routes(state: State, files: FileHost, dialects: dict[str, Dialect], sandbox: _SandboxRoutes) -> list[BaseRoute]:
    """Return the app's route table: each dialect under ``/<provider>``, then the H5 pages, files and sandbox routes."""
    routes: list[BaseRoute] = [Mount(f"/{name}", routes=d.routes()) for name, d in dialects.items()]
    routes += Ark(state, files).routes()  # "/" and "/api/v3/…": the key says which cloud
    routes += h5.routes(state)
    routes += files.routes(authorize=state.authenticate)
    routes += [
        Route("/videos/{job_id}.mp4", sandbox.video, methods=["GET", "HEAD"]),
        Route("/videos/{job_id}.png", sandbox.last_frame, methods=["GET", "HEAD"]),
        Route("/_sandbox/stats", sandbox.stats, methods=["GET"]),
        Route("/_sandbox/reset", sandbox.reset, methods=["POST"]),
        Route("/_sandbox/access-keys", sandbox.access_key, methods=["POST"]),
        Route("/_sandbox/callback", _callback, methods=["GET"]),
    ]
    return routes


def _renderer(videos: str) -> Render:
    """Return the job renderer writing into ``videos`` (made now, so the first render finds it)."""
    os.makedirs(videos, exist_ok=True)

    def render(job: Job, references: list[str]) -> str:
        from .render import render_video

        extra = job.extra
        # A 4k job is drawn at 1080p (its usage is still counted at 4k): renders stay short.
        drawn = dataclasses.replace(job, resolution="1080p") if job.resolution == "4k" else job
        return render_video(
            drawn, references, videos, sound=bool(extra.get("generate_audio", False)), audio=extra.get("audio_source"),
            last_frame=bool(extra.get("return_last_frame")),
        )  # fmt: skip

    return render


class _SandboxRoutes:
    """The emulator's own routes beside the dialects: generated videos, stats and the admin reset."""

    def __init__(self, state: State, admin: str, faults: list[Any]) -> None:
        self.state = state
        self.admin = admin
        self.faults = faults

    async def video(self, request: Request) -> Response:
        job = self.state.job_for_download(request.path_params["job_id"])
        key = request.query_params.get("key", "").encode()
        if job is None or not hmac.compare_digest(key, job.video_key.encode()):
            return JSONResponse({"error": "no such video"}, status_code=404)  # as for an unknown id: no oracle
        if job.status != "succeeded" or not job.video_path:
            return JSONResponse({"error": "no such video"}, status_code=404)
        return FileResponse(job.video_path, media_type="video/mp4")

    async def last_frame(self, request: Request) -> Response:
        """Serve a finished job's last frame (``return_last_frame``) as PNG, behind the same key as its video."""
        job = self.state.job_for_download(request.path_params["job_id"])
        key = request.query_params.get("key", "").encode()
        if job is None or not hmac.compare_digest(key, job.video_key.encode()) or not job.last_frame_path:
            return JSONResponse({"error": "no such frame"}, status_code=404)
        return FileResponse(job.last_frame_path, media_type="image/png")

    async def stats(self, request: Request) -> Response:
        answer = self.state.stats()
        if self.faults:
            answer["faults"] = self.faults[0].stats
        return JSONResponse(answer)

    def reset_all(self) -> None:
        self.state.reset()
        for injector in self.faults:
            injector.reset()

    def _refuse_without_admin(self, request: Request, what: str) -> Response | None:
        given = request.headers.get(ADMIN_HEADER, "")
        if hmac.compare_digest(given.encode(), self.admin.encode()):
            return None
        message = f"{what} needs its admin token in the {ADMIN_HEADER} header."
        return JSONResponse({"error": message}, status_code=403 if given else 401)

    async def reset(self, request: Request) -> Response:
        refused = self._refuse_without_admin(request, "Resetting the emulator")
        if refused is not None:
            return refused
        self.reset_all()
        return JSONResponse({"reset": True})

    async def access_key(self, request: Request) -> Response:
        """Mint an upstream access key: JSON ``{cloud, project, denied, subscribed, account | account_key}``.

        Like an API key on the other dialects, a key in a new account, or in the account an
        ``account_key`` (a secret) names, needs nothing more; joining an account by its plain
        ``account`` label needs the admin token (a label can be guessed).
        """
        try:
            spec = await request.json()
            if not isinstance(spec, dict):
                raise ValueError("the body must be a JSON object")
            if spec.get("account") is not None:
                refused = self._refuse_without_admin(request, "Minting a key into a labelled account")
                if refused is not None:
                    return refused
            key = self.state.keys.mint(
                str(spec.get("cloud")), project=spec.get("project") or "default", denied=spec.get("denied") or (),
                subscribed=spec.get("subscribed", True) is not False,
                account=spec.get("account") or keyed_account(spec.get("account_key")),
            )  # fmt: skip
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": f"Cannot mint an access key: {exc}"}, status_code=400)
        return JSONResponse({"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key,
                             "ApiKey": key.api_key, "Region": key.region, "Project": key.project})  # fmt: skip


async def _callback(request: Request) -> Response:
    # The callback page for sessions created without one of their own: says what happened,
    # never echoes the token.
    passed = request.query_params.get("resultCode") == "10000"
    verdict = "Verified" if passed else "Not verified"
    detail = "You can return to the notebook." if passed else "Ask for a new verification link."
    return HTMLResponse(
        f"<!doctype html><html><head><meta name='viewport' content='width=device-width'><title>{verdict}</title>"
        f"</head><body style='font-family:sans-serif;margin:2em'><h1>{verdict}</h1><p>{detail}</p></body></html>",
        headers={"cache-control": "no-store", "referrer-policy": "no-referrer"},
    )


class _Refusals:
    """The app's own refusals (no route, a refused body, a client gone), each in its dialect's shape."""

    def __init__(self, dialects: dict[str, Dialect]) -> None:
        self.dialects = dialects

    def handlers(self) -> dict[Any, Callable[[Request, Exception], Awaitable[Response]]]:
        not_found, refused = self.not_found, self.body_refused
        return {404: not_found, 405: not_found, BodyRefused: refused, ClientDisconnect: _client_gone}

    def refusal(self, request: Request, status: int, code: str, message: str) -> Response:
        """Return the error in the shape of the dialect the path belongs to, else the emulator's own."""
        first = request.url.path.strip("/").split("/", 1)[0]
        if first in self.dialects:
            return self.dialects[first].error(status, code, message)
        return JSONResponse({"error": message}, status_code=status)

    async def not_found(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        message = "Method not allowed." if status == 405 else f"No route for {request.method} {request.url.path}."
        return self.refusal(request, status, "not_found" if status == 404 else "method_not_allowed", message)

    async def body_refused(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BodyRefused)
        return self.refusal(request, exc.status, exc.code, exc.message)


async def _client_gone(request: Request, exc: Exception) -> Response:
    # A client that hangs up mid-upload is no server error: no traceback, nobody to answer.
    log.debug("sandbox: the client went away during %s %s", request.method, request.url.path)
    return Response(status_code=400)
