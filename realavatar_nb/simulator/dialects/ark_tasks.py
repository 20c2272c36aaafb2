"""Ark's video generation tasks (reference/upstream.md §4): create, retrieve, list, cancel or delete.

The body is Ark's own (``model``, ``content[]`` of text and ``image_url``/``video_url``/``audio_url``
items with roles); references must be ``asset://`` ids of Active assets in the API key's account
and project. A task is the state's job: its ``content.video_url`` is the emulator's rendered video.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from starlette.responses import Response

from ..signatures import Refused
from ..state import Job, SimError
from .base import asset_refs, json_response
from .upstream import RATIOS, ark_content, ark_tokens, bounded, choice, public_url, seedance_duration

if TYPE_CHECKING:
    from .ark import ArkContext

__all__ = ["Handler", "code", "create", "delete", "list_tasks", "retrieve", "task_result"]

Handler = Callable[["ArkContext"], Response]
STATUSES: Final = ("queued", "running", "cancelled", "succeeded", "failed", "expired")
FPS: Final = 24  # upstream's output frame rate (reference/upstream.md §4.4)
DEFAULT_EXPIRY: Final = 172_800  # execution_expires_after's default, in seconds


def _resolutions(model: str) -> tuple[str, ...]:
    # fast and mini render up to 720p (reference/upstream.md §4.3); the emulator renders no 4k.
    return ("480p", "720p") if "-fast-" in model or "-mini-" in model else ("480p", "720p", "1080p")


def code(exc: SimError) -> str:
    """Return Ark's error code for a refusal."""
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
    prompt, urls, roles = ark_content(b.items("content", required=True, max_items=16))
    if roles and all(kind == "audio_url" for kind, _ in roles):
        raise SimError("invalid", "content needs an image or a video beside audio.", field="content")
    refs = asset_refs(urls)
    _same_project(ctx, refs)
    seed = b.integer("seed")
    if seed is not None:
        bounded(seed, "seed", -1, 2_147_483_647)
    expiry = bounded(b.integer("execution_expires_after", default=DEFAULT_EXPIRY), "execution_expires_after",
                     3600, 259_200)  # fmt: skip
    public_url(b, "callback_url")  # inferred: checked, never called back by the emulator
    job = ctx.state.create_job(
        ctx.account,
        model=model,
        prompt=prompt,
        references=refs,
        duration=seedance_duration(b.integer("duration", default=5)),
        ratio=choice(b.text("ratio", default="16:9"), "ratio", RATIOS),
        resolution=choice(b.text("resolution", default="720p"), "resolution", _resolutions(model)),
        seed=None if seed == -1 else seed,
    )
    job.extra.update(
        generate_audio=b.flag("generate_audio", True),
        service_tier=choice(b.text("service_tier", default="default"), "service_tier", ("default", "flex")),
        execution_expires_after=expiry,
        draft=b.flag("draft", False),
        safety_identifier=b.text("safety_identifier", max_len=64),
    )
    answer: dict[str, Any] = {"id": job.id}
    if job.extra["safety_identifier"] is not None:
        answer["safety_identifier"] = job.extra["safety_identifier"]
    return json_response(answer)


def _same_project(ctx: ArkContext, refs: list[str]) -> None:
    """Refuse an asset of another project: an API key acts in its own project only."""
    for ref in refs:
        asset = ctx.state.assets.get(ref.removeprefix("asset://"))
        if asset is not None and asset.account == ctx.account and asset.project != ctx.project:
            raise SimError("invalid", f"asset {asset.id} not found or not accessible", field="content")


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
    model = q.get("filter.model")
    tasks = [
        j
        for j in ctx.state.jobs_of(ctx.account)
        if (status is None or j.status == status) and (not ids or j.id in ids) and (model is None or j.model == model)
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
    }
    if extra.get("safety_identifier") is not None:
        data["safety_identifier"] = extra["safety_identifier"]
    if job.status == "succeeded":
        data["content"] = {"video_url": ctx.video_url(job)}
        tokens = ark_tokens(job)
        data["usage"] = {"completion_tokens": tokens, "total_tokens": tokens}
    elif job.status == "failed":
        data["error"] = {"code": job.error_code or "InternalServiceError", "message": job.error_message or ""}
    return data


def _whole(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise SimError("invalid", f"{name} must be a whole number.", field=name) from None
