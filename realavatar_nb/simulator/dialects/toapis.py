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
from ..state import Asset, Job, SimError, State
from .base import Context, Dialect, asset_refs, generation_fields, json_response

P: Final = "/v1/videos/doubao-seedance-2-0/real-avatar"
_LOCALE: Final = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}")
_VIDEO_URL_TTL: Final = 24 * 3600  # upstream's content.video_url lives 24 h (reference/upstream.md §4.6)

# The seedance-2 mirror page names the same models without the doubao- prefix.
_MODELS: Final = {"doubao-seedance-2-0", "doubao-seedance-2-0-fast", "seedance-2", "seedance-2-fast"}
_RATIOS: Final = {"16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "adaptive"}
_RESOLUTIONS: Final = {"480p", "720p", "1080p"}
# Reference roles and per-kind counts are upstream's Seedance 2.0 limits (reference/upstream.md §4.4-4.5).
_REFERENCES: Final = {
    "image_with_roles": ("Image", {"first_frame", "last_frame", "reference_image"}, 9),
    "video_with_roles": ("Video", {"reference_video"}, 3),
    "audio_with_roles": ("Audio", {"reference_audio"}, 3),
}
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

    def _references(self, ctx: Context) -> dict[str, list[str]]:
        """Return each reference list's ``asset://`` URLs, checked against its roles and limits."""
        found: dict[str, list[str]] = {}
        for name, (_, roles, limit) in _REFERENCES.items():
            items = ctx.body.items(name, max_items=limit)
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    raise SimError("invalid", f"{name}[{i}] must be an object with url and role.", field=name)
                role = item.get("role")
                if role is not None and (not isinstance(role, str) or role not in roles):
                    allowed = ", ".join(sorted(roles))
                    raise SimError("invalid", f"{name}[{i}].role must be one of {allowed}.", field=name)
            try:
                found[name] = asset_refs(items)
            except SimError as exc:
                raise SimError(exc.kind, exc.message, field=name) from None
        roles_used = {item.get("role") for name in _REFERENCES for item in ctx.body.items(name)}
        if roles_used & {"first_frame", "last_frame"} and roles_used & {"reference_image", "reference_video"}:
            raise SimError("invalid", "first/last-frame images cannot be mixed with reference media.",
                           field="image_with_roles")  # fmt: skip
        if found["audio_with_roles"] and not (found["image_with_roles"] or found["video_with_roles"]):
            raise SimError("invalid", "audio references need at least one image or video.", field="audio_with_roles")
        for name, refs in found.items():
            _check_kind(ctx, name, _REFERENCES[name][0], refs)
        return found

    async def create_generation(self, ctx: Context) -> Response:
        b = ctx.body
        model = b.text("model", default="doubao-seedance-2-0")
        # inferred: prompt's required-ness is not shown; required, so a client that omits it fails here first.
        prompt, duration = generation_fields(b, model, _MODELS)
        ratio = b.text("aspect_ratio", default="16:9")
        if ratio not in _RATIOS:
            raise SimError(
                "invalid", f"aspect_ratio must be one of {', '.join(sorted(_RATIOS))}.", field="aspect_ratio"
            )
        metadata = dict(b.obj("metadata").data)
        resolution = metadata.setdefault("resolution", "720p")
        fast = model.endswith("-fast")
        if not isinstance(resolution, str) or resolution not in _RESOLUTIONS or (fast and resolution == "1080p"):
            allowed = "480p, 720p" if fast else "480p, 720p, 1080p"
            raise SimError("invalid", f"resolution must be one of {allowed} for {model}.", field="metadata.resolution")
        seed = metadata.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise SimError("invalid", "seed must be a whole number.", field="metadata.seed")
        refs = self._references(ctx)
        try:
            job = ctx.state.create_job(
                ctx.account,
                model=model,
                prompt=prompt,
                references=[r for urls in refs.values() for r in urls],
                duration=duration,
                ratio=ratio,
                resolution=resolution,
                seed=seed,
                job_id=ctx.state.ids.ulid_like("task_"),
            )
        except SimError as exc:
            name = next(
                (n for n, urls in refs.items() if any(u.removeprefix("asset://") in exc.message for u in urls)),
                exc.field,
            )
            raise SimError(exc.kind, exc.message, field=name) from None
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


def _check_kind(ctx: Context, name: str, kind: str, refs: list[str]) -> None:
    """Refuse an asset of the wrong kind in a reference list (a missing one is create_job's to report)."""
    for ref in refs:
        try:
            asset = ctx.state.asset(ctx.account, ref.removeprefix("asset://"))
        except SimError:
            continue
        if asset.asset_type != kind:
            raise SimError("invalid", f"{ref} is a {asset.asset_type} asset; {name} takes {kind} assets.", field=name)
