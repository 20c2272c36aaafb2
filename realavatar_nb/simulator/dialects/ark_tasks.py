"""Ark's video generation tasks (reference/upstream.md §4): create, retrieve, list, cancel or delete.

The body is Ark's own (``model``, ``content[]`` of text and ``image_url``/``video_url``/``audio_url``
items with roles); references must be ``asset://`` ids of Active assets in the API key's account
and project. A task is the state's job: its ``content.video_url`` is the emulator's rendered video.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from starlette.responses import Response

from ..generation import DEFAULT_EXPIRY, FPS
from ..signatures import Refused
from ..state import Job, SimError
from .base import json_response
from .upstream import ark_content, ark_request, bounded, choice

if TYPE_CHECKING:
    from .ark import ArkContext

__all__ = ["Handler", "code", "create", "delete", "list_tasks", "retrieve", "task_result"]

Handler = Callable[["ArkContext"], Response]
STATUSES: Final = ("queued", "running", "cancelled", "succeeded", "failed", "expired")


def code(exc: SimError) -> str:
    """Return Ark's error code for a refusal: upstream's own when the refusal carries it."""
    if exc.code is not None:
        return exc.code
    if exc.kind in ("invalid", "expired", "not_ready"):
        missing = exc.field is not None and exc.message == f"{exc.field} is required."
        return "MissingParameter" if missing else "InvalidParameter"
    # inferred: Ark's code for an unknown task; the others as the OpenAPI names them.
    named = {"not_found": "ResourceNotFound", "unauthorized": "AuthenticationError", "forbidden": "AccessDenied",
             "rate_limited": "RateLimitExceeded"}  # fmt: skip
    return named.get(exc.kind, exc.kind)


def create(ctx: ArkContext) -> Response:
    b = ctx.body
    model = b.text("model", required=True)
    if model not in ctx.cloud.models:
        # inferred: Ark's code and message for a model id it does not serve.
        message = f"The model or endpoint {model} does not exist or you do not have access to it."
        raise Refused(404, "InvalidEndpointOrModel.NotFound", message)
    prompt, refs = ark_content(b.items("content", required=True, max_items=64))
    request = ark_request(b, model, prompt, refs)
    request.project = ctx.project  # an API key acts in its own project only
    job = ctx.state.submit_job(ctx.account, request)  # the callback_url is checked, never called back
    job.extra.update(draft=b.flag("draft", False), safety_identifier=b.text("safety_identifier", max_len=64))
    answer: dict[str, Any] = {"id": job.id}
    if job.extra["safety_identifier"] is not None:
        answer["safety_identifier"] = job.extra["safety_identifier"]
    return json_response(answer)


def retrieve(ctx: ArkContext) -> Response:
    return json_response(task_result(ctx, ctx.state.job(ctx.account, ctx.request.path_params["task_id"])))


def list_tasks(ctx: ArkContext) -> Response:
    q = ctx.request.query_params
    number = bounded(_whole(q.get("page_num"), "page_num", 1), "page_num", 1, 500)
    size = bounded(_whole(q.get("page_size"), "page_size", 10), "page_size", 1, 500)
    status = q.get("filter.status")
    if status is not None:
        choice(status, "filter.status", STATUSES)
    ids = set(q.getlist("filter.task_ids"))
    model, tier = q.get("filter.model"), q.get("filter.service_tier")
    if tier is not None:
        choice(tier, "filter.service_tier", ("default", "flex"))
    tasks = [
        j
        for j in ctx.state.jobs_of(ctx.account)
        if (status is None or j.status == status)
        and (not ids or j.id in ids)
        and (model is None or j.model == model)
        and (tier is None or j.extra.get("service_tier", "default") == tier)
    ]
    items = [task_result(ctx, j) for j in tasks[(number - 1) * size : number * size]]
    return json_response({"total": len(tasks), "items": items})


def delete(ctx: ArkContext) -> Response:
    try:
        ctx.state.cancel_job(ctx.account, ctx.request.path_params["task_id"])
    except SimError as exc:
        if exc.kind != "conflict":
            raise
        # inferred: a 400, not 409, which the Ark SDK would retry as a lock timeout.
        raise Refused(400, "InvalidParameter.TaskStatus", exc.message) from None
    return json_response({})


def task_result(ctx: ArkContext, job: Job) -> dict[str, Any]:
    """Return the retrieve body (reference/upstream.md §4.6)."""
    extra = job.extra
    finished = job.status in ("succeeded", "failed", "cancelled", "expired")
    updated = job.done_at if finished else job.started_at if job.status == "running" else job.created_at
    data: dict[str, Any] = {
        "id": job.id,
        "model": job.model,
        "status": job.status,
        "error": None,
        "created_at": int(job.created_at),
        "updated_at": int(updated),
        "seed": job.seed if job.seed is not None else 0,  # inferred: the seed upstream drew is not modelled
        "resolution": job.resolution,
        "ratio": job.ratio,
        "duration": job.duration,
        "framespersecond": FPS,
        "generate_audio": extra.get("generate_audio", True),
        "service_tier": extra.get("service_tier", "default"),
        "execution_expires_after": extra.get("execution_expires_after", DEFAULT_EXPIRY),
        "draft": extra.get("draft", False),
        "watermark": extra.get("watermark", False),  # inferred: the request's flags echoed, as generate_audio is
        "camera_fixed": extra.get("camera_fixed", False),
        "return_last_frame": extra.get("return_last_frame", False),
    }
    if extra.get("safety_identifier") is not None:
        data["safety_identifier"] = extra["safety_identifier"]
    if job.status == "succeeded":
        data["content"] = {"video_url": ctx.video_url(job)}
        if (frame := ctx.last_frame_url(job)) is not None:
            data["content"]["last_frame_url"] = frame
        data["usage"] = ctx.usage(job)
    elif job.status == "failed":
        data["error"] = {"code": job.error_code or "InternalServiceError", "message": job.error_message or ""}
    elif job.status == "expired":
        # inferred: an expired task's error is not documented; it says why, as a failed task's does.
        data["error"] = {"code": job.error_code, "message": job.error_message}
    return data


def _whole(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise SimError("invalid", f"{name} must be a whole number.", field=name) from None
