"""APIMart (docs.apimart.ai): Bearer auth, ``{code: 200, data}``, and every step a task.

One endpoint, ``POST /v1/seedance2/real-avatar``, does the three real-person steps, told apart
by the body's fields: ``callback_url`` opens a session, ``byted_token`` asks for its result,
``group_id`` + ``assets[]`` submits a batch for review. Each answers a task polled at
``GET /v1/tasks/{task_id}``, as does ``POST /v1/videos/generations``, whose ``data`` is an
array (reference/providers.md §2).
"""

from __future__ import annotations

import io
import math
from typing import Any, ClassVar, Final, Literal

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..generation import GenerationRequest, Reference, family_of, numbered
from ..state import Asset, Job, Session, SimError, Task
from .base import Context, Dialect, generation_fields, json_response, url_items

_PROJECT_MAX: Final = 64
_BATCH_MAX: Final = 20  # inferred: private-avatar's documented per-request limit
_TYPES: Final = ("Image", "Video", "Audio")
_MODELS: Final = {"doubao-seedance-2.0", "doubao-seedance-2.0-fast", "doubao-seedance-2.0-face",
                  "doubao-seedance-2.0-fast-face"}  # fmt: skip
_LANGUAGES: Final = {"zh", "en", "ko", "ja"}
# Reference lists: the kind each holds and the role of an item without one; limits are the state's to check.
_REFERENCES: Final = {
    "image_with_roles": ("image", "reference_image"),
    "image_urls": ("image", "reference_image"),
    "video_urls": ("video", "reference_video"),  # the role is implied by the list
    "audio_urls": ("audio", "reference_audio"),
}
_JOB_STATUS: Final = {"queued": "pending", "running": "processing", "succeeded": "completed",
                      "failed": "failed", "cancelled": "cancelled", "expired": "failed"}  # fmt: skip
_URL_TTL: Final = 24 * 3600  # upstream's generated-video URL life (reference/upstream.md §4.6)


class Apimart(Dialect):
    name = "apimart"
    # inferred: Step 2's response is not shown. "task" answers a task to poll, like Steps 1 and 3;
    # "sync" answers the result in ``data`` at once. Clients should handle both.
    step2: ClassVar[Literal["task", "sync"]] = "task"

    def error(self, status: int, code: str, message: str, field: str | None = None) -> Response:
        # inferred: the body is not shown; the 3P client reads error.message, message and error.code.
        text = f"{field}: {message}" if field and field not in message else message
        return json_response({"code": status, "message": text, "error": {"code": code, "message": text}}, status)

    def ok(self, data: Any) -> Response:
        return json_response({"code": 200, "data": data})

    # -- the real-avatar endpoint ----------------------------------------------------------

    async def real_avatar(self, ctx: Context) -> Response:
        fields = ctx.body.data
        # inferred: which step wins when a body mixes fields is not documented: assets, then result, then session.
        if "group_id" in fields or "assets" in fields:
            return self._upload_assets(ctx)
        if "byted_token" in fields:
            return self._get_result(ctx)
        return self._create_session(ctx)

    def _project(self, ctx: Context) -> str:
        return str(ctx.body.text("project_name", default="default", max_len=_PROJECT_MAX) or "default")

    def _create_session(self, ctx: Context) -> Response:
        callback = ctx.body.text("callback_url", required=True)
        if not callback.startswith(("http://", "https://")):
            raise SimError("invalid", "callback_url must be an http(s) URL.", field="callback_url")
        session = ctx.state.create_session(ctx.account, callback_url=callback, project=self._project(ctx))
        task = ctx.state.create_task(
            ctx.account, "apimart-session", task_id=ctx.state.ids.ulid_like("task_"), token=session.token
        )
        return self.ok({"id": task.id, "status": "completed"})

    def _get_result(self, ctx: Context) -> Response:
        token = ctx.body.text("byted_token", required=True)
        self._project(ctx)
        session = ctx.state.result(ctx.account, token)  # an unknown or another account's token is a 404 now
        if self.step2 == "sync":
            return self.ok(_verification(session))
        task = ctx.state.create_task(
            ctx.account, "apimart-result", task_id=ctx.state.ids.ulid_like("task_"), token=session.token
        )
        return self.ok(self._task(ctx, task))

    def _upload_assets(self, ctx: Context) -> Response:
        b = ctx.body
        group_id = b.text("group_id", required=True)
        project = self._project(ctx)
        kind = b.text("asset_type", default="Video")
        if kind not in _TYPES:  # Audio is not listed for real-avatar; upstream's CreateAsset takes it
            raise SimError("invalid", "asset_type must be one of Video, Image, Audio.", field="asset_type")
        items = b.items("assets", required=True, max_items=_BATCH_MAX)
        batch: list[tuple[str, str | None]] = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise SimError("invalid", f"assets[{i}] must be an object with url and name.", field=f"assets[{i}]")
            url, name = item.get("url"), item.get("name")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise SimError("invalid", f"assets[{i}].url must be a public http(s) URL.", field=f"assets[{i}].url")
            if name is not None and (not isinstance(name, str) or len(name) > 64):
                raise SimError("invalid", f"assets[{i}].name must be a string of at most 64 characters.",
                               field=f"assets[{i}].name")  # fmt: skip
            batch.append((url, name))
        ctx.state.group(ctx.account, group_id)  # refuse a foreign group before creating anything
        # One CreateAsset write per item, all or none within the account's limits (``limits``).
        assets = ctx.state.create_assets(ctx.account, group_id=group_id, items=batch, asset_type=kind, project=project)
        task = ctx.state.create_task(
            ctx.account, "apimart-assets", task_id=ctx.state.ids.ulid_like("task_"), assets=[a.id for a in assets]
        )
        # inferred: real-avatar's submit response is not shown; private-avatar's asset task object.
        return self.ok(
            {
                "id": task.id,
                "object": "seedance.avatar.asset.task",
                "status": "processing",
                "progress": 10,
                "model": "doubao-seedance-2.0",
            }
        )

    # -- tasks -----------------------------------------------------------------------------

    async def get_task(self, ctx: Context) -> Response:
        language = ctx.query("language")
        if language is not None and language not in _LANGUAGES:
            raise SimError("invalid", "language must be one of zh, en, ko, ja.", field="language")
        task = ctx.state.task(ctx.account, ctx.request.path_params["task_id"])
        return self.ok(self._task(ctx, task))

    def _task(self, ctx: Context, task: Task) -> dict[str, Any]:
        """Return the task object as ``GET /v1/tasks/{id}`` shows it, computed from what it points at."""
        if task.kind == "apimart-session":
            session = ctx.state.session(ctx.account, task.refs["token"])
            result = {"byted_token": session.token, "h5_link": ctx.h5_link(session.token, session.lng),
                      "raw_response": {}}  # fmt: skip
            return _shape(task, "completed", result=result, done=task.created_at, estimated=0)
        if task.kind == "apimart-result":
            return self._result_task(ctx, task)
        if task.kind == "apimart-assets":
            return self._assets_task(ctx, task)
        return self._job_task(ctx, task)

    def _result_task(self, ctx: Context, task: Task) -> dict[str, Any]:
        # inferred: Step 2 as a task reads the session live, so one task can be polled until the person is done.
        try:
            session = ctx.state.result(ctx.account, task.refs["token"])
        except SimError as exc:
            if exc.kind != "expired":
                raise
            return _shape(task, "failed", error={"code": "token_expired", "message": exc.message})
        estimated = math.ceil(ctx.state.config.link_ttl)
        if session.state == "pending":
            return _shape(task, "processing", progress=50, estimated=estimated)
        # A session can end before this task was asked for; the task cannot finish before it began.
        done = max(task.created_at, session.finished_at if session.finished_at is not None else session.expires_at)
        if session.state == "verified":
            return _shape(task, "completed", result=_verification(session), done=done, estimated=estimated)
        reason = ("The H5 link expired before verification finished; create a new session."
                  if session.state == "expired"
                  else f"Verification failed (resultCode {session.result_code}); create a new session.")  # fmt: skip
        error = {"code": f"verification_{session.state}", "message": reason}
        return _shape(task, "failed", result=_verification(session), error=error, done=done, estimated=estimated)

    def _assets_task(self, ctx: Context, task: Task) -> dict[str, Any]:
        assets = [ctx.state.asset(ctx.account, asset_id) for asset_id in task.refs["assets"]]
        estimated = math.ceil(ctx.state.config.processing_seconds)
        pending = sum(a.status == "Processing" for a in assets)
        if pending:
            progress = 10 + (80 * (len(assets) - pending)) // len(assets)
            return _shape(task, "processing", progress=progress, estimated=estimated)
        items = [_asset_item(a) for a in assets]
        result = {
            "assets": items,
            "usable_assets": [i for i in items if i["status"] == "Active"],
            "failed_assets": [i for i in items if i["status"] == "Failed"],
        }
        done = max(a.updated_at for a in assets)
        if result["failed_assets"]:
            error = {"code": "task_failed", "message": "Some assets failed review"}
            return _shape(task, "failed", result=result, error=error, done=done, estimated=estimated)
        return _shape(task, "completed", result=result, done=done, estimated=estimated)

    def _job_task(self, ctx: Context, task: Task) -> dict[str, Any]:
        job = ctx.state.job(ctx.account, task.id)
        status = _JOB_STATUS[job.status]
        estimated = math.ceil(job.done_at - job.created_at)
        if status == "completed":
            # inferred: the 3P client reads result.videos[0].url (array or string) and result.thumbnail_url;
            # an array of strings with expires_at, as APIMart's documented image results are.
            video = {"url": [ctx.video_url(job)], "expires_at": int(job.done_at) + _URL_TTL}
            result = {"videos": [video], "thumbnail_url": f"{ctx.root}/{self.name}/f/thumbnail/{job.id}.jpg"}
            if (frame := ctx.last_frame_url(job)) is not None:
                result["last_frame_url"] = frame  # inferred: beside the videos
            shaped = _shape(task, status, result=result, done=job.done_at, estimated=estimated)
            shaped["usage"] = ctx.usage(job)  # inferred: beside status
            return shaped
        if status == "failed":
            error = {
                "code": job.error_code or "generation_failed",
                "message": job.error_message or "Generation failed.",
            }
            return _shape(task, status, error=error, done=job.done_at, estimated=estimated)
        return _shape(task, status, progress=job.progress, estimated=estimated)

    # -- generation ------------------------------------------------------------------------

    def _references(self, ctx: Context, prompt: str) -> tuple[Reference, ...]:
        """Return every reference, numbered as upstream's content: images (with roles, then plain), videos, audios."""
        groups: dict[str, list[tuple[str, str, object, str]]] = {"image": [], "video": [], "audio": []}
        for name, (kind, role) in _REFERENCES.items():
            items = ctx.body.items(name, max_items=64)
            if name == "image_with_roles" and not all(isinstance(item, dict) for item in items):
                raise SimError("invalid", f"{name} items need a url and a role.", field=name)
            groups[kind] += [(url, kind, r, name) for url, r in url_items(items, name, default_role=role)]
        return numbered(prompt, groups["image"], groups["video"], groups["audio"])

    async def create_generation(self, ctx: Context) -> Response:
        b = ctx.body
        model = b.text("model", required=True)
        prompt, duration = generation_fields(b, model, _MODELS)
        size = b.text("size", default="16:9")  # inferred: the default aspect is not shown
        request = GenerationRequest(
            model, prompt, (), family_of(model), duration, size, b.text("resolution", default="480p"),
            b.integer("seed"), shortest=1, wire={"ratio": "size"},
        )  # fmt: skip
        for flag in ("generate_audio", "return_last_frame"):
            if (value := b.flag(flag)) is not None:
                setattr(request, flag, value)
        b.items("tools", max_items=4)
        request.references = self._references(ctx, prompt)
        job = await ctx.submit(request, job_id=ctx.state.ids.ulid_like("task_"))
        ctx.state.create_task(ctx.account, "apimart-generation", task_id=job.id)
        return self.ok([{"status": "submitted", "task_id": job.id}])

    async def thumbnail(self, request: Request) -> Response:
        """Serve a finished job's first frame as JPEG (the URL itself is the credential, like the video's)."""
        job = self.state.job_for_download(request.path_params["job_id"])
        if job is None or job.status != "succeeded" or not job.video_path:
            return self.error(404, "not_found", "No such thumbnail.")
        return Response(await run_in_threadpool(_first_frame, job), media_type="image/jpeg")

    def routes(self) -> list[BaseRoute]:
        e = self.endpoint
        return [
            Route("/v1/seedance2/real-avatar", e(self.real_avatar), methods=["POST"]),
            Route("/v1/tasks/{task_id}", e(self.get_task), methods=["GET"]),
            Route("/v1/videos/generations", e(self.create_generation), methods=["POST"]),
            Route("/f/thumbnail/{job_id}.jpg", self.thumbnail, methods=["GET"]),
        ]


def _shape(
    task: Task,
    status: str,
    *,
    progress: int | None = None,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    done: float | None = None,
    estimated: int = 0,
) -> dict[str, Any]:
    """Return a task object: ``completed`` and ``actual_time`` once finished, ``error`` only when failed."""
    data: dict[str, Any] = {"id": task.id, "status": status,
                            "progress": 100 if done is not None else (progress or 0)}  # fmt: skip
    if result is not None:
        data["result"] = result
    data["created"] = int(task.created_at)
    if done is not None:
        data["completed"] = int(done)
    data["estimated_time"] = estimated
    if done is not None:
        data["actual_time"] = max(0, int(done) - int(task.created_at))
    if error is not None:
        data["error"] = error
    return data


def _verification(session: Session) -> dict[str, Any]:
    # inferred: Step 2's result is not shown; upstream GetVisualValidateResult's GroupId, snake_cased.
    data: dict[str, Any] = {"byted_token": session.token, "status": session.state, "result_code": session.result_code}
    if session.state == "verified":
        data["group_id"] = session.group_id
    return data


def _asset_item(asset: Asset) -> dict[str, Any]:
    item: dict[str, Any] = {"asset_id": asset.id, "asset_url": f"asset://{asset.id}", "status": asset.status}
    if asset.status == "Failed":
        item["error"] = {"code": asset.error_code, "message": asset.error_message}  # inferred: upstream's Error
    return item


def _first_frame(job: Job) -> bytes:
    import av

    with av.open(job.video_path or "") as container:
        frame = next(container.decode(video=0))
        out = io.BytesIO()
        frame.to_image().save(out, format="JPEG", quality=80)
        return out.getvalue()
