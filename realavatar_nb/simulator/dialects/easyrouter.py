"""EasyRouter (docs.easyrouter.io): Bearer, ``{success, message, data}``, snake_case fields.

Real-person management under ``/api/resource-channel/byteplus/visual-validate`` (sessions,
assets, the asset list, deletes), where the gateway keeps its own session rows beside the
upstream answer (``raw_response``); generation at ``/v1/video/generations`` answers bare
OpenAI-style video objects, as the new-api gateways it descends from do
(reference/providers.md §4).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..generation import GenerationRequest, family_of, numbered
from ..state import Asset, Job, Session, SimError
from .base import STATUS_OF, Body, Context, Dialect, iso, json_response
from .upstream import (
    ASSET_TYPES,
    STATUSES,
    bounded,
    choice,
    presigned_url,
    public_url,
    stamp,
    strings,
    within,
)

__all__ = ["EasyRouter"]

P: Final = "/api/resource-channel/byteplus/visual-validate"
MODELS: Final = ("dreamina-seedance-2-0", "dreamina-seedance-2-0-fast")
# inferred: new-api's OpenAI-video statuses; Ark's cancelled and expired have no spelling there but failed.
_JOB_STATUS: Final = {"queued": "queued", "running": "in_progress", "succeeded": "completed", "failed": "failed",
                      "cancelled": "failed", "expired": "failed"}  # fmt: skip
# inferred: the upload page says the call is asynchronous and adds a `warning`; its wording was not visible.
_WARNING: Final = "Asset processing is asynchronous: poll GET /assets/{asset_id} until status is Active before use."
# inferred: the gateway's upstream channel number; the examples show the field, the emulator has one channel.
CHANNEL_ID: Final = 1


class EasyRouter(Dialect):
    name = "easyrouter"

    def error(self, status: int, code: str, message: str, field: str | None = None) -> Response:
        # inferred: only the success envelope is documented; failures keep its shape with success false.
        text = f"{field}: {message}" if field and field not in message else message
        return json_response({"success": False, "message": text, "data": None}, status)

    def refusal(self, exc: SimError) -> Response:
        if exc.code is None:
            return super().refusal(exc)
        # inferred: upstream's refusal relayed with its code and message in new-api's error object, beside the envelope.
        text = f"{exc.field}: {exc.message}" if exc.field and exc.field not in exc.message else exc.message
        body = {"success": False, "message": text, "data": None, "error": {"code": exc.code, "message": exc.message}}
        return json_response(body, STATUS_OF.get(exc.kind, 400))

    def ok(self, data: Any, **extra: Any) -> Response:
        return json_response({"success": True, "message": "", "data": data, **extra})

    # -- sessions --------------------------------------------------------------------------

    async def create_session(self, ctx: Context) -> Response:
        # inferred: upstream needs a CallbackURL; without one the gateway uses its own /v1/callback,
        # the address the overview's callback example shows.
        callback = public_url(ctx.body, "callback_url") or f"{ctx.root}/{self.name}/v1/callback"
        session = ctx.state.create_session(ctx.account, callback_url=callback)
        return self.ok(self._session(ctx, session))

    async def get_result(self, ctx: Context) -> Response:
        code = ctx.query("result_code")
        if code is not None and not code.isdigit():
            raise SimError("invalid", "result_code must be the callback's numeric resultCode.", field="result_code")
        # The gateway keeps a row per session, so a verified session keeps answering after the
        # upstream token's lifetime: read the session, not the token.
        session = ctx.state.session(ctx.account, ctx.request.path_params["session_id"])
        return self.ok(self._session(ctx, session))

    def _session(self, ctx: Context, s: Session) -> dict[str, Any]:
        link = ctx.h5_link(s.token, s.lng)
        updated = s.finished_at if s.finished_at is not None else s.expires_at if s.state == "expired" else s.created_at
        return {
            "session_id": s.token,
            "byted_token": s.token,
            # The docs warn that h5_link carries `\u0026` escapes to undo before use: kept literally.
            "h5_link": link.replace("&", "\\u0026"),
            "callback_url": s.callback_url,
            "channel_id": CHANNEL_ID,
            "group_id": s.group_id or "",  # inferred: a Go row's zero value until verified
            "status": s.state,
            "result_code": s.result_code or "",
            "raw_response": _raw_response(s, link),
            # inferred: the session's times are cut from the example; ISO 8601 like the asset object's.
            "created_at": iso(s.created_at),
            "updated_at": iso(updated),
            "expires_at": iso(s.expires_at),
        }

    # -- assets ----------------------------------------------------------------------------

    async def upload_asset(self, ctx: Context) -> Response:
        b = ctx.body
        group_id = b.text("group_id", required=True)
        url = public_url(b, "url", required=True)
        kind = choice(b.text("asset_type", required=True), "asset_type", ASSET_TYPES)
        asset = ctx.state.create_asset(
            ctx.account, group_id=group_id, url=url, asset_type=kind, name=b.text("name", max_len=64)
        )
        return self.ok(self._asset(ctx, asset), warning=_WARNING)

    async def get_asset(self, ctx: Context) -> Response:
        return self.ok(self._asset(ctx, ctx.state.asset(ctx.account, ctx.request.path_params["asset_id"])))

    async def list_assets(self, ctx: Context) -> Response:
        ctx.state.admit_list(ctx.account)
        b = ctx.body
        group_ids = strings(b, "group_ids", max_items=100)
        statuses = [choice(s, "statuses", STATUSES) for s in strings(b, "statuses", max_items=len(STATUSES))]
        group_type = choice(b.text("group_type", default="LivenessFace"), "group_type", ("LivenessFace", "AIGC"))
        page_number = bounded(b.integer("page_number", default=1), "page_number", 1, 1_000_000)
        page_size = bounded(b.integer("page_size", default=20), "page_size", 1, 100)
        sort_by = choice(b.text("sort_by", default="CreateTime"), "sort_by", ("CreateTime", "UpdateTime", "GroupId"))
        sort_order = choice(b.text("sort_order", default="Desc"), "sort_order", ("Desc", "Asc"))
        items = ctx.state.list_assets(
            ctx.account,
            group_ids=group_ids or None,
            statuses=statuses or None,
            name=b.text("name", max_len=64),
            sort_by=sort_by,
            descending=sort_order == "Desc",
        )
        groups = ctx.state.groups
        items = [a for a in items if getattr(groups.get(a.group_id), "group_type", None) == group_type]
        start = (page_number - 1) * page_size
        return self.ok(
            {
                "items": [self._asset(ctx, a) for a in items[start : start + page_size]],
                "total_count": len(items),
                "page_number": page_number,
                "page_size": page_size,
            }
        )

    async def delete_asset(self, ctx: Context) -> Response:
        asset_id = ctx.request.path_params["asset_id"]
        ctx.state.delete_asset(ctx.account, asset_id)
        return self.ok({"asset_id": asset_id, "deleted": True})

    async def delete_group(self, ctx: Context) -> Response:
        group_id = ctx.request.path_params["group_id"]
        ctx.state.delete_group(ctx.account, group_id)
        return self.ok({"group_id": group_id, "deleted": True})

    def _asset(self, ctx: Context, a: Asset) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": a.id,
            "name": a.name,
            "url": presigned_url(ctx, a.url, a.id),
            "group_id": a.group_id,
            "asset_type": a.asset_type,
            "status": a.status,
        }
        if a.status == "Failed":
            data["error"] = {"code": a.error_code, "message": a.error_message}
        data["create_time"] = iso(a.created_at)
        data["update_time"] = iso(a.updated_at)
        return data

    # -- generation ------------------------------------------------------------------------

    async def create_generation(self, ctx: Context) -> Response:
        b = ctx.body
        model = choice(b.text("model", required=True), "model", MODELS)
        prompt = b.text("prompt", required=True, max_len=20_000)
        meta = b.obj("metadata")
        found: dict[str, list[tuple[str, str, object, str]]] = {"image": [], "video": [], "audio": []}
        if (image := b.text("image")) is not None:
            found["image"].append((image, "image", None, "image"))
        found["image"] += [(url, "image", None, "images") for url in strings(b, "images", max_items=9)]
        with within("metadata"):
            content = meta.items("content", max_items=64)
        for i, item in enumerate(content):
            for url, kind, role in _content_urls(item, f"metadata.content[{i}]"):
                found[kind].append((url, kind, role, "metadata.content"))
        seconds = b.text("seconds", max_len=8)
        if seconds is not None and not seconds.strip().lstrip("-").isdigit():
            raise SimError("invalid", "seconds must be a whole number of seconds, as a string.", field="seconds")
        duration = b.integer("duration", default=int(seconds) if seconds is not None else 5)
        request = GenerationRequest(
            model, prompt, numbered(prompt, found["image"], found["video"], found["audio"]), family_of(model),
            duration, wire={"resolution": "metadata.resolution", "ratio": "metadata.ratio", "seed": "metadata.seed"},
        )  # fmt: skip
        with within("metadata"):  # the documented place; the top level is read too
            _options(request, meta, b)
        job = await ctx.submit(request, job_id=ctx.state.ids.hex("task_", 32))  # inferred: new-api's task id form
        return json_response(self._video(ctx, job))

    async def get_generation(self, ctx: Context) -> Response:
        return json_response(self._video(ctx, ctx.state.job(ctx.account, ctx.request.path_params["task_id"])))

    def _video(self, ctx: Context, job: Job) -> dict[str, Any]:
        # inferred: the status page was not visible; new-api's video object, whose optional
        # fields are left out until they have a value (Go's omitempty).
        status = _JOB_STATUS[job.status]
        data: dict[str, Any] = {
            "id": job.id,
            "task_id": job.id,
            "object": "video",
            "model": job.model,
            "status": status,
            "progress": job.progress,
            "created_at": int(job.created_at),
        }
        if status in ("completed", "failed"):
            data["completed_at"] = int(max(job.done_at, job.created_at))
        if status == "completed":
            data["metadata"] = {"url": ctx.video_url(job)}
            # inferred: the last frame beside the video's url, usage beside status.
            if (frame := ctx.last_frame_url(job)) is not None:
                data["metadata"]["last_frame_url"] = frame
            data["usage"] = ctx.usage(job)
        elif status == "failed":
            data["error"] = {"code": job.error_code or "InternalServiceError", "message": job.error_message or ""}
        return data

    async def callback(self, request: Request) -> Response:
        """Where the H5 page lands when the caller gave no callback_url: a plain acknowledgement."""
        q = request.query_params
        data = {"byted_token": q.get("bytedToken", ""), "result_code": q.get("resultCode", "")}
        return self.ok(data)

    def routes(self) -> list[BaseRoute]:
        e = self.endpoint
        return [
            Route(f"{P}/sessions", e(self.create_session), methods=["POST"]),
            Route(f"{P}/sessions/{{session_id}}", e(self.get_result), methods=["GET"]),
            Route(f"{P}/assets", e(self.upload_asset), methods=["POST"]),
            Route(f"{P}/assets/list", e(self.list_assets), methods=["POST"]),
            Route(f"{P}/assets/{{asset_id}}", e(self.get_asset), methods=["GET"]),
            Route(f"{P}/assets/{{asset_id}}", e(self.delete_asset), methods=["DELETE"]),
            Route(f"{P}/asset-groups/{{group_id}}", e(self.delete_group), methods=["DELETE"]),
            Route("/v1/video/generations", e(self.create_generation), methods=["POST"]),
            Route("/v1/video/generations/{task_id}", e(self.get_generation), methods=["GET"]),
            Route("/v1/callback", self.callback, methods=["GET"]),
        ]


def _raw_response(s: Session, link: str) -> str:
    """Return the upstream answer the gateway stored, as Go would have encoded it."""
    # inferred: the row keeps CreateVisualValidateSession's answer until the result query
    # returns a GroupId, then GetVisualValidateResult's (reference/upstream.md §1.3).
    if s.group_id:
        action, at, result = "GetVisualValidateResult", s.finished_at or s.created_at, {"GroupId": s.group_id}
    else:
        action, at = "CreateVisualValidateSession", s.created_at
        result = {"BytedToken": s.token, "H5Link": link, "CallbackURL": s.callback_url or ""}
    request_id = stamp(at) + hashlib.sha256(f"{action}|{s.token}".encode()).hexdigest()[:20].upper()
    metadata = {"RequestId": request_id, "Action": action, "Version": "2024-01-01", "Service": "ark",
                "Region": "ap-southeast-1"}  # fmt: skip
    text = json.dumps({"ResponseMetadata": metadata, "Result": result}, separators=(",", ":"), ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _content_urls(item: Any, where: str) -> list[tuple[str, str, object]]:
    """Return ``(url, kind, role)`` of one ``{type, <type>: {url}, role}`` content item (none for text)."""
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise SimError("invalid", f"{where} must be an object with a type.", field="metadata.content")
    kind = item["type"]
    if kind == "text":
        return []
    if kind not in ("image_url", "video_url", "audio_url"):
        raise SimError(
            "invalid", f"{where}.type must be image_url, video_url, audio_url or text.", field="metadata.content"
        )
    inner = item.get(kind)
    if not isinstance(inner, dict) or not isinstance(inner.get("url"), str):
        raise SimError("invalid", f"{where}.{kind}.url must be a URL string.", field="metadata.content")
    # inferred: role on a content item, as Ark names it.
    return [(inner["url"], kind.removesuffix("_url"), item.get("role"))]


def _options(request: GenerationRequest, meta: Body, top: Body) -> None:
    """Read the options from ``metadata`` (the documented place), else the top level (Ark's names)."""
    request.ratio = meta.text("ratio") or top.text("ratio") or "16:9"
    request.resolution = meta.text("resolution") or top.text("resolution") or "720p"
    seed = meta.integer("seed")
    request.seed = seed if seed is not None else top.integer("seed")
    # inferred: Ark's names for the rest, under metadata as resolution and ratio are.
    for flag in ("generate_audio", "watermark", "camera_fixed", "return_last_frame"):
        value = meta.flag(flag)
        if value is not None:
            setattr(request, flag, value)
