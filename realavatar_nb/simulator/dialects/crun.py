"""Crun (docs.crun.ai): ``x-api-key``, ``{code, message, data}``, PascalCase upstream passthrough.

Paths under ``/api/v1/client/job/``: visual-validate-session, visual-validate-result,
asset-upload, asset-info, CreateTask, TaskInfo (reference/providers.md §3).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..state import SimError
from .base import Context, Dialect, asset_refs, iso, json_response

# inferred: Crun documents its body codes but not whether the HTTP status matches; it does here.
_CODES = {"unauthorized": 401, "not_found": 404, "invalid": 422, "not_ready": 422, "expired": 422, "conflict": 422,
          "rate_limited": 429}  # fmt: skip
# inferred: TaskInfo shows only "running"; the rest follow the neighbouring gateways' spelling.
_JOB_STATUS = {"queued": "pending", "running": "running", "succeeded": "success", "failed": "failed",
               "cancelled": "cancelled", "expired": "failed"}  # fmt: skip
_FORCED = {
    402: "Insufficient credits.",
    455: "The service is under maintenance.",
    501: "Generation failed.",
    505: "This feature is disabled for your account.",
}
P = "/api/v1/client/job"


class Crun(Dialect):
    """Crun's dialect. ``SimConfig.dialect_options["crun"]["code"]`` answers every request with that body
    code (402, 455, 505), or, for 501, lets tasks be created and then fail."""

    name = "crun"
    auth = "x-api-key"

    def error(self, status: int, code: str, message: str, field: str | None = None) -> Response:
        status = _CODES.get(code, status)
        text = f"{field}: {message}" if field and field not in message else message
        return json_response({"code": status, "message": text, "data": None}, status)

    def refusal(self, exc: SimError) -> Response:
        return self.error(_CODES.get(exc.kind, 400), exc.kind, exc.message, exc.field)

    def ok(self, data: Any) -> Response:
        return json_response({"code": 200, "message": "success", "data": data})

    def _forced(self, generation: bool = False) -> Response | None:
        code = self.option("code")
        if code is None or (code == 501 and not generation):
            return None
        return self.error(code, "forced", _FORCED.get(code, "Error."))

    async def create_session(self, ctx: Context) -> Response:
        if forced := self._forced():
            return forced
        callback = ctx.body.text("callback_url", required=True)
        lng = ctx.body.text("lng", default="zh")
        session = ctx.state.create_session(ctx.account, callback_url=callback, lng=lng)
        return self.ok(
            {"BytedToken": session.token, "H5Link": ctx.h5_link(session.token, lng), "CallbackURL": callback}
        )

    async def get_result(self, ctx: Context) -> Response:
        if forced := self._forced():
            return forced
        session = ctx.state.result(ctx.account, ctx.query("byted_token", required=True) or "")
        if session.state == "failed":
            code = session.result_code
            raise SimError("invalid", f"Visual validation failed (resultCode {code}); create a new session.")
        if session.state == "expired":
            raise SimError("expired", "The H5 link expired before validation finished; create a new session.")
        # Not finished yet: an empty GroupId, as upstream; query again after the callback.
        return self.ok({"GroupId": session.group_id or ""})

    async def upload_asset(self, ctx: Context) -> Response:
        if forced := self._forced():
            return forced
        b = ctx.body
        asset = ctx.state.create_asset(
            ctx.account,
            group_id=b.text("group_id", required=True),
            url=b.text("asset_url", required=True),
            asset_type=b.text("asset_type", required=True),
            name=b.text("name", max_len=64),
        )
        return self.ok({"AssetId": asset.id})

    async def get_asset(self, ctx: Context) -> Response:
        if forced := self._forced():
            return forced
        a = ctx.state.asset(ctx.account, ctx.query("asset_id", required=True) or "")
        data: dict[str, Any] = {
            "AssetId": a.id,
            "Name": a.name,
            "AssetType": a.asset_type,
            "GroupId": a.group_id,
            "Status": a.status,
            "CreateTime": iso(a.created_at),
            "UpdateTime": iso(a.updated_at),
        }
        if a.status == "Failed":
            data["Error"] = {"Code": a.error_code, "Message": a.error_message}  # inferred: upstream's GetAsset
        return self.ok(data)

    async def create_generation(self, ctx: Context) -> Response:
        if forced := self._forced():
            return forced
        b = ctx.body
        model = b.text("model", required=True)
        if model not in ("bytedance/seedance2-0-i2v", "bytedance/seedance2-0-r2v"):
            raise SimError("invalid", f"model {model} is not supported.", field="model")
        inp = b.obj("input", required=True)
        refs = []
        for key in ("img_urls", "reference_images", "reference_videos", "reference_audios"):
            refs += asset_refs(inp.items(key))
        job = ctx.state.create_job(
            ctx.account,
            model=model,
            prompt=inp.text("prompt", required=True),
            references=refs,
            duration=inp.integer("duration", default=5),
            ratio=inp.text("aspect_ratio", default="16:9"),
            resolution=inp.text("resolution", default="720p"),
            job_id=ctx.state.ids.hex("", 32),
        )
        job.extra["param"] = ctx.body.data
        if self.option("code") == 501:
            job.extra["forced_failure"] = True
        return self.ok({"task_id": job.id})

    async def get_generation(self, ctx: Context) -> Response:
        if forced := self._forced():
            return forced
        job = ctx.state.job(ctx.account, ctx.query("task_id", required=True) or "")
        status = "failed" if job.extra.get("forced_failure") and job.status == "succeeded" else job.status
        data: dict[str, Any] = {
            "task_id": job.id,
            "provider": "bytedance",
            "model_version": job.model,
            "status": _JOB_STATUS[status],
            "param": job.extra.get("param", {}),
            "create_at": int(job.created_at),
            "result": None,
            "duration_s": job.duration,
            "complete_at": None,
            "source": "api",
        }
        if status == "succeeded":
            data["result"] = {"video_url": ctx.video_url(job)}  # inferred: the result shape was not visible
            data["complete_at"] = int(job.done_at)
        elif status == "failed":
            data["result"] = {"code": 501, "message": job.error_message or _FORCED[501]}
        return self.ok(data)

    def routes(self) -> list[BaseRoute]:
        e = self.endpoint
        return [
            Route(f"{P}/visual-validate-session", e(self.create_session), methods=["POST"]),
            Route(f"{P}/visual-validate-result", e(self.get_result), methods=["GET"]),
            Route(f"{P}/asset-upload", e(self.upload_asset), methods=["POST"]),
            Route(f"{P}/asset-info", e(self.get_asset), methods=["GET"]),
            Route(f"{P}/CreateTask", e(self.create_generation), methods=["POST"]),
            Route(f"{P}/TaskInfo", e(self.get_generation), methods=["GET"]),
        ]
