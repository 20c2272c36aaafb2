"""The emulator as one Starlette app: each provider's dialect under ``/<provider>/``.

Beside the dialects: the H5 pages (``/h5/<token>``), the file host (``/files``), generated
videos (``/videos/<job>.mp4``), and ``/_sandbox/stats`` / ``/_sandbox/reset`` for tests.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from . import h5
from .checks import check_file
from .dialects import DIALECTS, Dialect
from .files import FileHost
from .state import Job, SimConfig, State

__all__ = ["create_app"]


def create_app(
    config: SimConfig | None = None,
    *,
    clock: Callable[[], float] = time.time,
    workdir: str | None = None,
    middleware: list[Any] | None = None,
) -> Starlette:
    """Return the emulator app; its ``State`` is ``app.state.sim`` and its file host ``app.state.files``."""
    root = workdir or tempfile.mkdtemp(prefix="realavatar-sandbox-")
    files = FileHost(os.path.join(root, "files"))
    videos = os.path.join(root, "videos")
    os.makedirs(videos, exist_ok=True)

    def render(job: Job, references: list[str]) -> str:
        from .render import render_video

        return render_video(job, references, videos)

    state = State(config, clock=clock, fetch=files.fetch, check=check_file, render=render)
    dialects: dict[str, Dialect] = {name: cls(state, files) for name, cls in DIALECTS.items()}

    async def video(request: Request) -> Response:
        job = state.job_for_download(request.path_params["job_id"])
        if job is None or job.status != "succeeded" or not job.video_path:
            return JSONResponse({"error": "no such video"}, status_code=404)
        return FileResponse(job.video_path, media_type="video/mp4")

    # Fault injection, when the caller installed it, reports and resets with everything else.
    faults = [m for m in middleware or [] if hasattr(m, "stats") and hasattr(m, "reset")]

    async def stats(request: Request) -> Response:
        answer = state.stats()
        if faults:
            answer["faults"] = faults[0].stats
        return JSONResponse(answer)

    async def callback(request: Request) -> Response:
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

    async def reset(request: Request) -> Response:
        state.reset()
        for injector in faults:
            injector.reset()
        return JSONResponse({"reset": True})

    routes: list[BaseRoute] = [Mount(f"/{name}", routes=d.routes()) for name, d in dialects.items()]
    routes += h5.routes(state)
    routes += files.routes()
    routes += [
        Route("/videos/{job_id}.mp4", video, methods=["GET", "HEAD"]),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/callback", callback, methods=["GET"]),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        first = request.url.path.strip("/").split("/", 1)[0]
        message = "Method not allowed." if status == 405 else f"No route for {request.method} {request.url.path}."
        if first in dialects:
            return dialects[first].error(status, "not_found" if status == 404 else "method_not_allowed", message)
        return JSONResponse({"error": message}, status_code=status)

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found}, middleware=middleware)
    app.state.sim = state
    app.state.files = files
    app.state.workdir = root
    app.state.owns_workdir = workdir is None
    return app
