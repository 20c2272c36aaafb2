"""toapis (docs.toapis.com): Bearer auth; ``{success, message, data}`` avatar routes, bare generation objects.

The real-person flow is task-shaped ("follows an APIMart-style task flow"): a verify task is
``completed`` as soon as the session exists, its detail carries ``h5_link``/``byted_token``/
``expires_at``, and ``verify-results`` says whether the person passed (reference/providers.md §1).
Generation (``/v1/videos/generations``) answers bare OpenAI-style task objects with lowercase
statuses and, on error, ``{"error": {code, message, type, param}}``.
"""

from __future__ import annotations

import re
from typing import Any, Final

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..files import FileHost
from ..generation import GenerationRequest, Reference, family_of, numbered
from ..state import Asset, Job, SimError, State
from .base import STATUS_OF, Context, Dialect, generation_fields, json_response, url_items
from .upstream import within

P: Final = "/v1/videos/doubao-seedance-2-0/real-avatar"
_LOCALE: Final = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}")
_VIDEO_URL_TTL: Final = 24 * 3600  # upstream's content.video_url lives 24 h (reference/upstream.md §4.6)

# The seedance-2 mirror page names the same models without the doubao- prefix.
_MODELS: Final = {"doubao-seedance-2-0", "doubao-seedance-2-0-fast", "seedance-2", "seedance-2-fast"}
# The reference lists and the kind each holds; roles and counts are upstream's, checked by the state.
_REFERENCES: Final = {"image_with_roles": "image", "video_with_roles": "video", "audio_with_roles": "audio"}
_JOB_STATUS: Final = {"queued": "queued", "running": "in_progress", "succeeded": "completed",
                      "failed": "failed", "cancelled": "failed", "expired": "failed"}  # fmt: skip
_ERROR_CODE: Final = {
    "unauthorized": "invalid_api_key",
    "invalid": "invalid_parameter",
    "not_ready": "invalid_parameter",
}
_ERROR_TYPE: Final = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                      404: "invalid_request_error", 409: "invalid_request_error", 429: "rate_limit_error"}  # fmt: skip


def _with_field(message: str, field: str | None) -> str:
    return f"{field}: {message}" if field and field not in message else message


class Toapis(Dialect):
    """The avatar routes; generation lives in ``_Generations`` because its error shape differs."""

    name = "toapis"

    def __init__(self, state: State, files: FileHost) -> None:
        super().__init__(state, files)
        self._generations = _Generations(state, files)

    def error(self, status: int, code: str, message: str, field: str | None = None) -> Response:
        # inferred: no error body is documented; the envelope's own failure form, as EasyRouter's.
        return json_response({"success": False, "message": _with_field(message, field), "data": None}, status)

    def refusal(self, exc: SimError) -> Response:
        if exc.code is None:
            return super().refusal(exc)
        # inferred: upstream's refusal (an account limit's) relayed with its code beside the envelope, as EasyRouter's.
        body = {"success": False, "message": _with_field(exc.message, exc.field), "data": None,
                "error": {"code": exc.code, "message": exc.message}}  # fmt: skip
        return json_response(body, STATUS_OF.get(exc.kind, 400))

    def ok(self, data: Any) -> Response:
        return json_response({"success": True, "message": "", "data": data})

    # -- verification ----------------------------------------------------------------------

    def _verify_task(self, ctx: Context, task_id: str) -> str:
        """Return the byted token behind one of this account's verify tasks."""
        task = ctx.state.task(ctx.account, task_id)
        if task.kind != "toapis-verify":
            raise SimError("not_found", f"task {task_id} not found", field="task_id")
        return str(task.refs["token"])

    async def create_session(self, ctx: Context) -> Response:
        b = ctx.body
        # inferred: which fields are required is not shown; callback_url is, as everywhere upstream.
        callback = b.text("callback_url", required=True)
        if not callback.startswith(("http://", "https://")):
            raise SimError("invalid", "callback_url must be an http(s) URL.", field="callback_url")
        locale = b.text("locale", default="zh", max_len=20)
        if not _LOCALE.fullmatch(locale):
            raise SimError("invalid", "locale must be a language tag such as zh or en.", field="locale")
        biz_id = b.text("biz_id", max_len=128)
        session = ctx.state.create_session(ctx.account, callback_url=callback, lng=locale, biz_id=biz_id)
        task_id = ctx.state.ids.ulid_like("tsk_dav_")
        ctx.state.create_task(ctx.account, "toapis-verify", task_id=task_id, token=session.token)
        # inferred: the create response is not shown; the task object carries both id and task_id
        # (the page says "returns a task_id", the APIMart-style tasks it follows say "id").
        return self.ok(
            {"id": task_id, "task_id": task_id, "status": "completed", "created_at": int(session.created_at)}
        )

    async def get_verify_task(self, ctx: Context) -> Response:
        task_id = ctx.request.path_params["task_id"]
        session = ctx.state.session(ctx.account, self._verify_task(ctx, task_id))
        return self.ok(
            {
                "id": task_id,
                "task_id": task_id,
                "status": "completed",  # the session exists; whether the person passed is verify-results' answer
                "h5_link": ctx.h5_link(session.token, session.lng),
                "byted_token": session.token,
                # inferred: the format is not shown; Unix seconds, as toapis writes every other time.
                "expires_at": int(session.expires_at),
                "callback_url": session.callback_url,
                "locale": session.lng,
                "biz_id": session.biz_id,
                "created_at": int(session.created_at),
            }
        )

    async def get_result(self, ctx: Context) -> Response:
        task_id = ctx.query("task_id")
        token = ctx.query("byted_token")
        result_code = ctx.query("result_code")
        if result_code is not None and not (result_code.isdigit() and len(result_code) <= 10):
            raise SimError("invalid", "result_code must be the callback's numeric resultCode.", field="result_code")
        if task_id:
            owned = self._verify_task(ctx, task_id)
            if token and token != owned:
                raise SimError("invalid", "byted_token does not belong to this task_id.", field="byted_token")
            token = owned
        if not token:
            raise SimError("invalid", "task_id or byted_token is required.", field="task_id")
        session = ctx.state.result(ctx.account, token)
        # inferred: only verify_status=verified is documented; the others are the neutral pending/failed/expired.
        data: dict[str, Any] = {"verify_status": session.state, "byted_token": session.token,
                                "result_code": session.result_code}  # fmt: skip
        if task_id:
            data["task_id"] = task_id
        if session.state == "verified":
            data["group_id"] = session.group_id
        return self.ok(data)

    # -- assets ----------------------------------------------------------------------------

    def _asset(self, asset: Asset) -> dict[str, Any]:
        # inferred: the real-avatar asset body is not shown; the private-avatar example's fields,
        # lowercase, plus times in Unix seconds and upstream's error once failed.
        data: dict[str, Any] = {
            "asset_id": asset.id,
            "group_id": asset.group_id,
            "name": asset.name,
            "asset_type": asset.asset_type.lower(),
            "source_url": asset.url,
            "status": asset.status.lower(),
            "created_at": int(asset.created_at),
            "updated_at": int(asset.updated_at),
        }
        if asset.status == "Failed":
            data["error"] = {"code": asset.error_code, "message": asset.error_message}
        return data

    async def upload_asset(self, ctx: Context) -> Response:
        b = ctx.body
        # inferred: the body follows private-avatar's upload (group_id, asset_type, source_url, name).
        group_id = b.text("group_id", required=True)
        kind = b.text("asset_type", required=True)
        if kind not in ("image", "video", "audio"):
            raise SimError("invalid", "asset_type must be one of image, video, audio.", field="asset_type")
        url = b.text("source_url", required=True)
        if not url.startswith(("http://", "https://")):
            raise SimError("invalid", "source_url must be a public http(s) URL.", field="source_url")
        asset = ctx.state.create_asset(
            ctx.account, group_id=group_id, url=url, asset_type=kind, name=b.text("name", max_len=64)
        )
        return self.ok(self._asset(asset))

    async def get_asset(self, ctx: Context) -> Response:
        return self.ok(self._asset(ctx.state.asset(ctx.account, ctx.request.path_params["asset_id"])))

    def routes(self) -> list[BaseRoute]:
        e = self.endpoint
        return [
            Route(f"{P}/verify-tasks", e(self.create_session), methods=["POST"]),
            Route(f"{P}/verify-tasks/{{task_id}}", e(self.get_verify_task), methods=["GET"]),
            Route(f"{P}/verify-results", e(self.get_result), methods=["GET"]),
            Route(f"{P}/assets", e(self.upload_asset), methods=["POST"]),
            Route(f"{P}/assets/{{asset_id}}", e(self.get_asset), methods=["GET"]),
            *self._generations.routes(),
        ]


class _Generations(Dialect):
    """``/v1/videos/generations``: bare task objects and OpenAI-style errors."""

    name = "toapis"

    def error(self, status: int, code: str, message: str, field: str | None = None) -> Response:
        # inferred: toapis shows no error body; the OpenAI-style shape clients of upstream's data plane parse.
        kind = _ERROR_TYPE.get(status, "server_error" if status >= 500 else "invalid_request_error")
        body = {
            "code": _ERROR_CODE.get(code, code),
            "message": _with_field(message, field),
            "type": kind,
            "param": field,
        }
        return json_response({"error": body}, status)

    def _references(self, ctx: Context, prompt: str) -> tuple[Reference, ...]:
        """Return the references of the three ``*_with_roles`` lists, numbered as upstream's content."""
        groups = []
        for name, kind in _REFERENCES.items():
            items = ctx.body.items(name, max_items=64)
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    raise SimError("invalid", f"{name}[{i}] must be an object with url and role.", field=name)
            groups.append([(url, kind, role, name) for url, role in url_items(items, name)])
        return numbered(prompt, *groups)

    async def create_generation(self, ctx: Context) -> Response:
        b = ctx.body
        model = b.text("model", default="doubao-seedance-2-0")
        # inferred: prompt's required-ness is not shown; required, so a client that omits it fails here first.
        prompt, duration = generation_fields(b, model, _MODELS)
        meta = b.obj("metadata")
        metadata = dict(meta.data)
        request = GenerationRequest(
            model, prompt, self._references(ctx, prompt), family_of(model), duration,
            b.text("aspect_ratio", default="16:9"), shortest=1,
            wire={"ratio": "aspect_ratio", "resolution": "metadata.resolution", "seed": "metadata.seed"},
        )  # fmt: skip
        with within("metadata"):
            request.resolution = meta.text("resolution", default="720p")
            request.seed = meta.integer("seed")  # inferred: seed and the flags below besides generate_audio
            for flag in ("generate_audio", "watermark", "camera_fixed", "return_last_frame"):
                if (value := meta.flag(flag)) is not None:
                    setattr(request, flag, value)
        metadata.setdefault("resolution", request.resolution)
        job = await ctx.submit(request, job_id=ctx.state.ids.ulid_like("task_"))
        job.extra["metadata"] = metadata
        return json_response(self._task(ctx, job))

    def _task(self, ctx: Context, job: Job) -> dict[str, Any]:
        status = _JOB_STATUS[job.status]
        data: dict[str, Any] = {
            "id": job.id,
            "object": "generation.task",
            "model": job.model,
            "status": status,
            "progress": job.progress,
            "created_at": int(job.created_at),
            "metadata": job.extra.get("metadata", {}),
        }
        if status == "completed":
            data["completed_at"] = int(job.done_at)
            data["expires_at"] = int(job.done_at) + _VIDEO_URL_TTL
            # inferred: the page says "result (type video)" and "read the url field"; nesting not shown.
            data["result"] = {"type": "video", "url": ctx.video_url(job)}
            if (frame := ctx.last_frame_url(job)) is not None:
                data["result"]["last_frame_url"] = frame  # inferred: beside the video's url
            data["usage"] = ctx.usage(job)  # inferred: beside status
        elif status == "failed":
            data["error"] = {"code": job.error_code or "generation_failed", "message": job.error_message or ""}
        return data

    async def get_generation(self, ctx: Context) -> Response:
        return json_response(self._task(ctx, ctx.state.job(ctx.account, ctx.request.path_params["task_id"])))

    def routes(self) -> list[BaseRoute]:
        e = self.endpoint
        return [
            Route("/v1/videos/generations", e(self.create_generation), methods=["POST"]),
            Route("/v1/videos/generations/{task_id}", e(self.get_generation), methods=["GET"]),
        ]
