"""Anyfast (docs.anyfast.ai): Bearer; BytePlus actions in PascalCase with no envelope.

Every ``/volc/asset/<Action>`` is a POST with a JSON body (CreateAsset also takes a multipart
form or inline base64) answering upstream's bare ``Result``. Generation is Ark-native at
``/v1/video/generations``, polled through new-api's task envelope ``{code: "success", message, data}``
(reference/providers.md §5). What a client saw live (refusal shapes, GetAsset blind to real-person
assets, groups ListAssetGroups never shows, assets that never resolve) and its switches: ``anyfast_live``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, Final
from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..files import FileHost
from ..generation import Reference
from ..state import Group, SimError, State
from .anyfast_live import never_resolve, refusal, relayed_error, resolves, unresolved, upstream_envelope
from .base import MAX_INLINE_UPLOAD, STATUS_OF, Body, Context, Dialect, Handler, iso, json_response
from .upstream import (
    ASSET_TYPES,
    ark_content,
    ark_request,
    choice,
    listed_assets,
    multipart_upload,
    public_url,
    stamp,
    strings,
    upstream_asset,
    upstream_error_code,
    upstream_paging,
    within,
)

__all__ = ["Anyfast"]

A: Final = "/volc/asset"
MAX_UPLOAD: Final = 64 * 1024 * 1024  # upstream's request-body ceiling (reference/upstream.md §4.5)
_MODEL_TYPE: Final = {"volc-asset": "Image", "volc-asset-video": "Video", "volc-asset-audio": "Audio"}
_TYPE_MODEL: Final = {kind: model for model, kind in _MODEL_TYPE.items()}
# inferred: only `seedance-fast` is documented; the standard model's name and both upstream ids are guesses.
_UPSTREAM_MODEL: Final = {"seedance": "doubao-seedance-2-0-260128", "seedance-fast": "doubao-seedance-2-0-fast-260128"}
# inferred: NOT_START is never shown, as the emulator submits upstream at once; Ark's failed,
# cancelled and expired all read as FAILURE (the quota is refunded on each).
_TASK_STATUS: Final = {"queued": "QUEUED", "running": "IN_PROGRESS", "succeeded": "SUCCESS", "failed": "FAILURE",
                       "cancelled": "FAILURE", "expired": "FAILURE"}  # fmt: skip
# inferred: new-api's TaskError codes for the task routes.
_TASK_CODES: Final = {"invalid": "invalid_request", "not_found": "task_not_exist", "expired": "invalid_request",
                      "not_ready": "invalid_request", "rate_limited": "rate_limit_exceeded"}  # fmt: skip

# The action a /volc/asset request is for, so a refusal raised anywhere can name it; None on the task routes.
_ACTION: ContextVar[str | None] = ContextVar("anyfast_action", default=None)


class Anyfast(Dialect):
    name = "anyfast"

    def __init__(self, state: State, files: FileHost) -> None:
        super().__init__(state, files)
        self._by_form: set[str] = set()  # assets uploaded as multipart forms (``never_resolve: multipart``)

    def error(self, status: int, code: str, message: str, field: str | None = None) -> Response:
        action = _ACTION.get()
        shape = self.option("error_shape") or "reported"
        if action is None and not (shape == "reported" and code in ("unauthorized", "invalid")):
            return json_response({"code": _TASK_CODES.get(code, code), "message": message, "data": None}, status)
        upstream_code = upstream_error_code(code, message, field)
        if shape == "reported":
            return json_response(
                refusal(code, _TASK_CODES.get(code, code), upstream_code, message, field, action), status
            )
        # error_shape "upstream": upstream's own envelope, as the actions pass its Result through (inferred).
        request_id = self.state.ids.request_id(self.state.clock())
        return json_response(upstream_envelope(request_id, action or "", upstream_code, message), status)

    def refusal(self, exc: SimError) -> Response:
        if exc.code is not None and _ACTION.get() is None and (self.option("error_shape") or "reported") == "reported":
            # Upstream's refusal of a generation input, relayed as the gateway relays upstream's refusals.
            body = relayed_error(_TASK_CODES["invalid"], exc.code, exc.message, exc.field)
            return json_response(body, STATUS_OF.get(exc.kind, 400))
        return super().refusal(exc)

    def ok(self, data: Any) -> Response:
        return json_response({"code": "success", "message": "", "data": data})

    def _action(
        self, name: str | None, handler: Handler, *, parse_body: bool = True
    ) -> Callable[..., Awaitable[Response]]:
        inner = self.endpoint(handler, parse_body=parse_body)

        async def run(request: Request) -> Response:
            token = _ACTION.set(name or request.path_params.get("action", ""))
            try:
                return await inner(request)
            finally:
                _ACTION.reset(token)

        return run

    # -- liveness --------------------------------------------------------------------------

    async def create_session(self, ctx: Context) -> Response:
        if self.option("callback_required") is not False and ctx.body.data.get("CallbackURL") is None:
            # reported: OpenMontage tools/video/_anyfast.py (refused live, though the schema marks it optional;
            # the source masks the code as `***`: upstream's for a missing field stands in)
            raise SimError("invalid", "The required parameter CallbackURL is missing.", field="CallbackURL")
        callback = public_url(ctx.body, "CallbackURL")
        session = ctx.state.create_session(ctx.account, callback_url=callback)
        # inferred: with no CallbackURL the echo is empty and the H5 page ends on its own done page.
        data = {
            "BytedToken": session.token,
            "CallbackURL": callback or "",
            "H5Link": ctx.h5_link(session.token, session.lng),
        }
        return json_response(data)

    async def get_result(self, ctx: Context) -> Response:
        session = ctx.state.result(ctx.account, ctx.body.text("BytedToken", required=True))
        # inferred: a failed or expired session answers upstream's error shape with these messages.
        if session.state == "failed":
            message = f"Visual validation failed (resultCode {session.result_code}); create a new session."
            raise SimError("invalid", message, field="BytedToken")
        if session.state == "expired":
            message = "The H5 link expired before verification finished; create a new session."
            raise SimError("expired", message, field="BytedToken")
        # Not finished yet: an empty GroupId, as the guide says; query again.
        return json_response({"GroupId": session.group_id or ""})

    # -- groups ----------------------------------------------------------------------------

    async def create_group(self, ctx: Context) -> Response:
        b = ctx.body
        choice(b.text("model", default="volc-asset"), "model", tuple(_MODEL_TYPE))
        b.text("Name", required=True, max_len=64)
        b.text("Description", max_len=300)
        if b.text("GroupType", default="AIGC") != "AIGC":
            raise SimError("invalid", "GroupType must be one of [AIGC]", field="GroupType")
        # The state models only real-person groups (made by a passed liveness session, checked
        # against that person's face); a virtual AIGC group has neither, so it is refused plainly.
        return self.error(400, "UnsupportedOperation", "The emulator does not model AIGC (virtual) asset groups; "
                          "real-person groups come from GetVisualValidateResult.")  # fmt: skip

    async def list_groups(self, ctx: Context) -> Response:
        ctx.state.admit_list(ctx.account)
        b = ctx.body
        choice(b.text("model", required=True), "model", tuple(_MODEL_TYPE))
        f = b.obj("Filter", required=True)
        with within("Filter"):
            name, ids = f.text("Name", max_len=64), set(strings(f, "GroupIds", max_items=100))
            group_type = f.text("GroupType")
            choice(group_type or "AIGC", "GroupType", ("AIGC", "LivenessFace"))
        page_number, page_size = upstream_paging(b, default_size=10)
        choice(b.text("SortBy", default="CreateTime"), "SortBy", ("CreateTime", "UpdateTime"))
        descending = choice(b.text("SortOrder", default="Desc"), "SortOrder", ("Desc", "Asc")) == "Desc"
        groups = [
            g
            for g in list(ctx.state.groups.values())
            if g.account == ctx.account
            and (not ids or g.id in ids)
            and (not name or name in _group_name(g))
            and (group_type is None or g.group_type == group_type)
            # reported: OpenMontage tools/video/_anyfast.py (never shown, not even filtered by their own id)
            and g.group_type != "LivenessFace"
        ]
        # A group never changes once made, so UpdateTime sorts as CreateTime does.
        groups.sort(key=lambda g: (g.created_at, g.id), reverse=descending)
        start = (page_number - 1) * page_size
        items = [_group(g) for g in groups[start : start + page_size]]
        return json_response(
            {"Items": items, "TotalCount": len(groups), "PageNumber": page_number, "PageSize": page_size}
        )

    # -- assets ----------------------------------------------------------------------------

    async def upload_asset(self, ctx: Context) -> Response:
        kind = ctx.request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if kind == "multipart/form-data":
            body, upload = await multipart_upload(ctx.request, MAX_UPLOAD)
        else:
            body, upload = await self.body(ctx.request, limit=MAX_INLINE_UPLOAD), None
        model = choice(body.text("model", default="volc-asset"), "model", tuple(_MODEL_TYPE))
        group_id = body.text("GroupId", required=True)
        name = body.text("Name", max_len=64)
        asset_type = choice(body.text("AssetType", default=_MODEL_TYPE[model]), "AssetType", ASSET_TYPES)
        if asset_type != _MODEL_TYPE[model]:
            needed = _TYPE_MODEL[asset_type]
            message = f"model {model} uploads {_MODEL_TYPE[model]} assets; a {asset_type} asset needs model {needed}."
            raise SimError("invalid", message, field="model")
        ctx.state.group(ctx.account, group_id)  # refuse another account's group before keeping any file
        url = ctx.root + ctx.files.store(*upload)[1] if upload is not None else _hosted(ctx, body, name)
        asset = ctx.state.create_asset(ctx.account, group_id=group_id, url=url, asset_type=asset_type, name=name)
        if upload is not None:
            self._by_form.add(asset.id)
        return json_response({"Id": asset.id})  # inferred: like CreateAssetGroup's {"Id"}

    async def get_asset(self, ctx: Context) -> Response:
        asset = ctx.state.asset(ctx.account, ctx.body.text("Id", required=True))
        if not resolves(ctx.state, asset, never_resolve(self.option("never_resolve")), self._by_form):
            raise unresolved(ctx.state, asset)
        group = ctx.state.groups.get(asset.group_id)
        if getattr(group, "group_type", None) == "LivenessFace" and self.option("liveness_get_asset") != "found":
            # reported: OpenMontage tools/video/_anyfast.py (GetAsset resolves AIGC assets only)
            raise SimError("not_found", f"The specified asset {asset.id} is not found.", field="asset_id")
        # reported: ListAssets is the only read that carries Error (here for "found", the reverse note).
        return json_response(upstream_asset(ctx, asset, with_error=False))

    async def list_assets(self, ctx: Context) -> Response:
        b = ctx.body
        choice(b.text("model", default="volc-asset"), "model", tuple(_MODEL_TYPE))
        items, page_number, page_size = listed_assets(ctx)
        never = never_resolve(self.option("never_resolve"))
        items = [a for a in items if resolves(ctx.state, a, never, self._by_form)]
        start = (page_number - 1) * page_size
        page = [upstream_asset(ctx, a) for a in items[start : start + page_size]]
        return json_response(
            {"PageNumber": page_number, "PageSize": page_size, "TotalCount": len(items), "Items": page}
        )

    async def delete_asset(self, ctx: Context) -> Response:
        choice(ctx.body.text("model", default="volc-asset"), "model", tuple(_MODEL_TYPE))
        asset_id = ctx.body.text("Id", required=True)
        ctx.state.delete_asset(ctx.account, asset_id)
        return json_response({"Id": asset_id, "Deleted": True})

    async def unknown_action(self, ctx: Context) -> Response:
        action = ctx.request.path_params["action"]
        if action in self._handlers():
            return self.error(405, "InvalidMethod", f"{action} accepts POST only.")
        return self.error(404, "InvalidAction", f"The action {action} is not supported.")

    # -- generation ------------------------------------------------------------------------

    async def create_generation(self, ctx: Context) -> Response:
        b = ctx.body
        model = choice(b.text("model", required=True), "model", tuple(_UPSTREAM_MODEL))
        prompt, refs = ark_content(b.items("content", required=True, max_items=64))
        # inferred: beyond model, content, generate_audio, ratio and duration, the Ark fields pass through.
        request = ark_request(b, model, prompt, refs)
        job = await ctx.submit(request, job_id=ctx.state.ids.hex("asyntask_", 32))  # inferred: the id's tail
        job.extra.update(action=_action_of(refs), upstream_id=ctx.state.ids.dated("cgt", job.created_at))
        return self.ok({"task_id": job.id})  # inferred: the create response was not visible

    async def get_generation(self, ctx: Context) -> Response:
        job = ctx.state.job(ctx.account, ctx.request.path_params["task_id"])
        status = _TASK_STATUS[job.status]
        video = ctx.video_url(job) if status == "SUCCESS" else ""
        finished = status in ("SUCCESS", "FAILURE")
        upstream: dict[str, Any] = {
            "id": job.extra.get("upstream_id", ""),
            "model": _UPSTREAM_MODEL.get(job.model, job.model),
            "status": job.status,
            "created_at": int(job.created_at),
            "updated_at": int(
                job.done_at if finished else job.started_at if job.status == "running" else job.created_at
            ),
            "duration": job.duration,
            "ratio": job.ratio,
            "resolution": job.resolution,
            "generate_audio": job.extra.get("generate_audio", True),
        }
        if status == "SUCCESS":
            upstream["content"] = {"video_url": video}
            # inferred: Anyfast relays upstream's task whole, so last_frame_url and usage sit where Ark puts them.
            if (frame := ctx.last_frame_url(job)) is not None:
                upstream["content"]["last_frame_url"] = frame
            upstream["usage"] = ctx.usage(job)
        elif status == "FAILURE":
            upstream["error"] = {"code": job.error_code or "InternalServiceError", "message": job.error_message or ""}
        return self.ok(
            {
                "task_id": job.id,
                "action": job.extra.get("action", "generate"),
                "status": status,
                "result_url": video,
                "original_result_url": video,
                "fail_reason": (job.error_message or "") if status == "FAILURE" else "",
                "submit_time": int(job.created_at),
                "start_time": int(job.started_at) if job.status != "queued" else 0,
                "finish_time": int(job.done_at) if finished else 0,
                "progress": f"{job.progress}%",
                "request_id": stamp(job.created_at) + hashlib.sha256(job.id.encode()).hexdigest()[:20].upper(),
                "data": upstream,
            }
        )

    def _handlers(self) -> dict[str, tuple[Handler, bool]]:
        return {
            "CreateVisualValidateSession": (self.create_session, True),
            "GetVisualValidateResult": (self.get_result, True),
            "CreateAssetGroup": (self.create_group, True),
            "ListAssetGroups": (self.list_groups, True),
            "CreateAsset": (self.upload_asset, False),  # JSON or multipart: the handler reads the body
            "GetAsset": (self.get_asset, True),
            "ListAssets": (self.list_assets, True),
            "DeleteAsset": (self.delete_asset, True),
        }

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [
            Route(f"{A}/{name}", self._action(name, handler, parse_body=parse), methods=["POST"])
            for name, (handler, parse) in self._handlers().items()
        ]
        anything = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return [
            *routes,
            Route(f"{A}/{{action}}", self._action(None, self.unknown_action), methods=anything),
            Route("/v1/video/generations", self.endpoint(self.create_generation), methods=["POST"]),
            Route("/v1/video/generations/{task_id}", self.endpoint(self.get_generation), methods=["GET"]),
        ]


def _group_name(g: Group) -> str:
    return g.id  # inferred: a LivenessFace group's Name is not documented; the id stands in


def _group(g: Group) -> dict[str, Any]:
    name = _group_name(g)
    return {"Id": g.id, "Name": name, "Title": name, "Description": "", "GroupType": g.group_type,
            "ProjectName": g.project, "CreateTime": iso(g.created_at), "UpdateTime": iso(g.created_at)}  # fmt: skip


def _hosted(ctx: Context, body: Body, name: str | None) -> str:
    """Return the asset's URL: a public URL as given, inline data re-hosted on the file host."""
    url = body.text("URL", required=True, max_len=MAX_INLINE_UPLOAD)
    if url.startswith(("http://", "https://")):
        return str(public_url(body, "URL", required=True))
    try:
        if url.startswith("data:"):
            header, comma, payload = url.partition(",")
            if not comma:
                raise ValueError("no comma")
            data = base64.b64decode(payload, validate=True) if header.endswith(";base64") else unquote_to_bytes(payload)
        else:  # raw base64, taken as a PNG upstream; the file host names it by its content
            data = base64.b64decode("".join(url.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SimError(
            "invalid", "URL must be a public http(s) URL, a data: URI or base64 data.", field="URL"
        ) from None
    if not data:
        raise SimError("invalid", "URL holds no data.", field="URL")
    return ctx.root + ctx.files.store(data, name or "upload")[1]


def _action_of(refs: tuple[Reference, ...]) -> str:
    # inferred: which of Anyfast's documented actions each kind of request is filed under.
    if any(r.kind in ("video", "audio") for r in refs):
        return "omniGenerate"
    if any(r.role == "last_frame" for r in refs):
        return "firstTailGenerate"
    if any(r.role == "reference_image" for r in refs):
        return "referenceGenerate"
    return "generate"
