"""Crun (docs.crun.ai): ``x-api-key``, ``{code, message, data}``, PascalCase upstream passthrough.

Paths under ``/api/v1/client/job/``: visual-validate-session, visual-validate-result,
asset-upload, asset-info, CreateTask, TaskInfo (reference/providers.md §3).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..generation import GenerationRequest, family_of, numbered
from ..jobs import EXPIRED_CODE
from ..state import SimError
from .base import Context, Dialect, iso, json_response, url_items

# inferred: Crun documents its body codes but not whether the HTTP status matches; it does here.
_CODES = {"unauthorized": 401, "not_found": 404, "invalid": 422, "not_ready": 422, "expired": 422, "conflict": 422,
          "rate_limited": 429, "quota": 400}  # fmt: skip
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
I2V, R2V = "bytedance/seedance2-0-i2v", "bytedance/seedance2-0-r2v"
_FRAME_ROLES = ("first_frame", "last_frame")


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
        if exc.code is not None:
            # inferred: Crun's body has no slot for upstream's code; it heads the message, as gateways relay it.
            return self.error(_CODES.get(exc.kind, 400), exc.kind, f"[{exc.code}] {exc.message}")
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
        if model not in (I2V, R2V):
            raise SimError("invalid", f"model {model} is not supported.", field="model")
        inp = b.obj("input", required=True)
        prompt = inp.text("prompt", required=True)
        frames = url_items(inp.items("img_urls", max_items=2), "input.img_urls")
        lists = {kind: url_items(inp.items(f"reference_{kind}s", max_items=64), f"input.reference_{kind}s")
                 for kind in ("image", "video", "audio")}  # fmt: skip
        if (model == I2V and any(lists.values())) or (model == R2V and frames):
            wanted = "img_urls (first and last frame)" if model == I2V else "reference_images/videos/audios"
            raise SimError("invalid", f"{model} takes {wanted} only.", field="input")
        # inferred: img_urls in frame order, the first frame then the last.
        images = [(url, "image", role, "input.img_urls") for (url, _), role in zip(frames, _FRAME_ROLES, strict=False)]
        groups = [[(url, kind, f"reference_{kind}", f"input.reference_{kind}s") for url, _ in lists[kind]]
                  for kind in ("image", "video", "audio")]  # fmt: skip
        request = GenerationRequest(
            model, prompt, numbered(prompt, images + groups[0], groups[1], groups[2]), family_of(model),
            inp.integer("duration", default=5), inp.text("aspect_ratio", default="16:9"),
            inp.text("resolution", default="720p"), inp.integer("seed"),  # inferred: seed
            generate_audio=inp.flag("audio", True), return_last_frame=inp.flag("return_last_frame", False),
            callback_url=b.text("callback_url"), shortest=1,
            wire={"ratio": "input.aspect_ratio", "resolution": "input.resolution", "duration": "input.duration"},
        )  # fmt: skip
        job = await ctx.submit(request, job_id=ctx.state.ids.hex("", 32))
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
            if (frame := ctx.last_frame_url(job)) is not None:
                data["result"]["last_frame_url"] = frame  # inferred: beside the video's URL
            data["usage"] = ctx.usage(job)  # inferred: beside status
            data["complete_at"] = int(job.done_at)
        elif _JOB_STATUS[status] == "failed":
            # inferred: an expired upstream task keeps upstream's code; every other failure is Crun's 501.
            code = EXPIRED_CODE if status == "expired" else 501
            data["result"] = {"code": code, "message": job.error_message or _FORCED[501]}
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
