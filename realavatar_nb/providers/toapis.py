"""toapis (docs.toapis.com): Bearer, ``{success, message, data}`` avatar routes, bare generation tasks.

Verification is task-shaped ("follows an APIMart-style task flow"): the verify task is
``completed`` as soon as the session exists, not when the person passed; its detail carries
``h5_link``, ``byted_token`` and ``expires_at``; ``verify-results`` says whether the person
passed. Assets are one URL per request with lowercase statuses; generation answers bare
OpenAI-style task objects (reference/providers.md §1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

import httpx

from .._exceptions import ProviderError, ServerError
from .._models import Asset, GenerationJob, Verification, VerificationSession
from .._types import JobStatus
from ..generation.request import GenerationRequest
from .base import (
    NEUTRAL_ASSET_STATUSES,
    TASK_VERIFICATION_STATUSES,
    Adapter,
    ErrorFields,
    Fields,
    Next,
    Step,
    id_argument,
    nested_error,
    path_segment,
    verification_outcome,
)
from .base import asset_kind as _kind
from .base import asset_kind_or_none as _kind_or_none
from .base import compact as _compact
from .base import reason as _reason
from .base import sent_json as _sent_json
from .generation import ROLE_FEATURES, grouped_order, options, sent_references, usage_tokens

__all__ = ["Toapis"]

P: Final = "/v1/videos/doubao-seedance-2-0/real-avatar"
GENERATIONS: Final = "/v1/videos/generations"
# A reference's list by kind (the generation page's *_with_roles, each item {url, role}).
WITH_ROLES: Final = {"Image": "image_with_roles", "Video": "video_with_roles", "Audio": "audio_with_roles"}
METADATA: Final = ("generate_audio", "seed", "watermark", "camera_fixed", "return_last_frame")
# inferred: a verify task is shown only `completed`; these are the task spellings toapis uses elsewhere.
_TASK_WAITING: Final = frozenset({"submitted", "pending", "queued", "processing", "in_progress"})


class Toapis(Adapter):
    """toapis' real-avatar verify tasks, assets and doubao-seedance-2-0 generation."""

    name = "toapis"
    default_base_url = "https://toapis.com"
    # Only `verified` is documented; the others are the neutral spellings the page implies.
    verification_statuses = TASK_VERIFICATION_STATUSES
    asset_statuses = NEUTRAL_ASSET_STATUSES
    generation_features = ROLE_FEATURES | {"plain_url", *METADATA}
    # The status page's table (submitted, queued, in_progress, completed, failed), plus upstream's
    # cancelled/expired in case toapis passes them through.
    job_statuses: ClassVar[Mapping[str, JobStatus]] = {
        "submitted": "queued",
        "queued": "queued",
        "in_progress": "running",
        "completed": "succeeded",
        "failed": "failed",
        "cancelled": "cancelled",
        "expired": "expired",
    }
    default_model = "doubao-seedance-2-0"

    # -- errors ----------------------------------------------------------------------------

    def error_from(self, response: httpx.Response, body: Any) -> ProviderError | None:
        """Return the error in an answer: any 4xx/5xx, ``success: false``, or a bare ``{error: {...}}``."""
        refused = isinstance(body, dict) and (
            body.get("success") is False
            # a generation error is `{error: {...}}`; a failed generation task also has `error`, but beside a status
            or (isinstance(body.get("error"), dict) and "status" not in body and "id" not in body)
        )
        if response.status_code < 400 and not refused:
            return None
        status = response.status_code if response.status_code >= 400 else 400
        request_id = response.headers.get("x-request-id")
        return self.refusal(response, body, status=status, error=_error_fields(body), request_id=request_id)

    def payload(self, response: httpx.Response) -> Fields:
        """Return the avatar envelope's ``data`` (or a bare object), raising the provider's error first."""
        body = self.fields(self.check(response), "")
        return self.fields(body.get("data"), "data") if body.has("success") else body

    # -- liveness --------------------------------------------------------------------------

    def build_create_verification(
        self, *, callback_url: str | None, biz_id: str | None, locale: str | None, project: str | None = None
    ) -> httpx.Request:
        # toapis has no project; locale is the H5 page's language (e.g. "zh"), biz_id the caller's own label.
        body = _compact({"callback_url": callback_url, "locale": locale, "biz_id": biz_id})
        return self.request("POST", f"{P}/verify-tasks", json_body=body)

    def parse_create_verification(
        self, response: httpx.Response, *, callback_url: str | None
    ) -> Step[VerificationSession]:
        data = self.payload(response)
        task_id = data.required("task_id", "id")
        return self._verify_task(data, task_id, callback_url, detail=False)

    def _verify_task(
        self, data: Fields, task_id: str, callback_url: str | None, *, detail: bool
    ) -> Step[VerificationSession]:
        """Return the session once the task shows its link, else the task detail to read (again)."""
        link, token = data.link("h5_link"), data.text("byted_token")
        if link and token:
            return self.opened_session(data, task_id, link, token, callback_url=callback_url)
        status = data.text("status")
        if status in _TASK_WAITING or (status == "completed" and not detail):
            # `completed` means "session created": its link is in the task detail.

            def read_detail(response: httpx.Response) -> Step[VerificationSession]:
                return self._verify_task(self.payload(response), task_id, callback_url, detail=True)

            return Next(self.request("GET", f"{P}/verify-tasks/{path_segment(task_id, 'task_id')}", retry=True),
                        read_detail)  # fmt: skip
        if status == "failed":
            code, message = _error_fields(data.raw)
            raise ServerError(f"{self.name} could not open a verification session ({message or 'no reason given'}); "
                              "create a new one.", provider=self.name, code=code)  # fmt: skip
        if status == "completed":
            raise data.malformed("h5_link", "is missing from a completed verify task (or its byted_token is)")
        raise self.unknown_status(data, status, "verify task")

    def build_get_verification(self, session: VerificationSession, *, result_code: str | None) -> httpx.Request:
        params = {"task_id": id_argument(session.id, "session.id"), "byted_token": session.byted_token.reveal(),
                  "result_code": result_code}  # fmt: skip
        return self.request("GET", f"{P}/verify-results", params=params, retry=True)

    def parse_get_verification(self, response: httpx.Response, session: VerificationSession) -> Verification:
        data = self.payload(response)
        status = self.status("verification", data, "verify_status" if data.has("verify_status") else "status")
        # the page: continue only when verify_status=verified *and* group_id is present
        return verification_outcome(
            status, data.text("group_id"), result_code=data.code("result_code"), session=session
        )

    # -- assets ----------------------------------------------------------------------------

    def build_upload(self, *, group_id: str, url: str, asset_type: str, name: str | None) -> httpx.Request:
        # inferred: the real-avatar body is not shown; private-avatar's upload fields, lowercase asset_type.
        body = _compact({"group_id": id_argument(group_id, "group_id"), "asset_type": _kind(asset_type).lower(),
                         "source_url": url, "name": name})  # fmt: skip
        return self.request("POST", f"{P}/assets", json_body=body)

    def build_get_asset(self, asset_id: str) -> httpx.Request:
        return self.request("GET", f"{P}/assets/{path_segment(asset_id, 'asset_id')}", retry=True)

    def asset_from(self, data: Fields, *, group_id: str | None = None, source: str | None = None) -> Asset:
        asset_id = data.required("asset_id", "id")
        code, message = _error_fields(data.raw) if data.get("error") else (None, None)
        return Asset(
            id=asset_id,
            group_id=data.text("group_id") or group_id,
            status=self.status("asset", data, "status"),
            name=data.text("name"),
            asset_type=_kind_or_none(data.get("asset_type")),
            error_code=code,
            error_message=message,
            source=source or data.link("source_url"),
        )

    # -- generation ------------------------------------------------------------------------

    def build_generate(self, request: GenerationRequest) -> httpx.Request:
        body: dict[str, Any] = {"model": self.model_for(request), "prompt": request.prompt,
                                "duration": request.duration, "aspect_ratio": request.ratio}  # fmt: skip
        for uri, kind, role in sent_references(request):
            body.setdefault(WITH_ROLES[kind], []).append({"url": uri, "role": role})
        # Extra options live under metadata: resolution and generate_audio are documented there;
        # inferred: the other settings beside them, under Ark's names.
        body["metadata"] = {"resolution": request.resolution} | options(request, METADATA)
        return self.request("POST", GENERATIONS, json_body=body)

    def content_order(self, request: GenerationRequest) -> list[int | None]:
        return grouped_order(request)

    def parse_generate(self, response: httpx.Response) -> GenerationJob:
        sent = _sent_json(response)
        refs = tuple(item["url"] for field in WITH_ROLES.values() for item in sent.get(field) or []
                     if isinstance(item, dict) and isinstance(item.get("url"), str))  # fmt: skip
        model = sent.get("model") if isinstance(sent.get("model"), str) else None
        return self._job(self.payload(response), model=model, references=refs)

    def build_get_job(self, job_id: str) -> httpx.Request:
        return self.request("GET", f"{GENERATIONS}/{path_segment(job_id, 'job_id')}", retry=True)

    def parse_get_job(self, response: httpx.Response) -> GenerationJob:
        return self._job(self.payload(response))

    def _job(self, task: Fields, *, model: str | None = None, references: tuple[str, ...] = ()) -> GenerationJob:
        job_id = task.required("id", "task_id")
        code, message = _error_fields(task.raw) if task.get("error") else (None, None)
        return GenerationJob(
            id=job_id,
            status=self.status("job", task, "status"),
            video_url=_video_url(task),
            model=task.text("model") or model,
            error_code=code,
            error_message=message,
            references=references,
            provider=self.name,
            # inferred: the last frame beside the video, usage beside the status (Ark's names).
            last_frame_url=task.obj("result").link("last_frame_url") or task.link("last_frame_url"),
            tokens=usage_tokens(task),
        )


def _video_url(task: Fields) -> str | None:
    # inferred: the page says "read the url field" of `result` (type video) without its nesting;
    # result.url first, then the array forms APIMart-style tasks use, then Ark's content.video_url.
    for holder in (task.obj("result"), task.obj("content"), task):
        for key in ("url", "video_url", "videos"):
            url = holder.first_link(key)
            if url:
                return url
    return None


def _error_fields(body: Any) -> ErrorFields:
    """Return the code and message of ``{success: false, message}`` or ``{error: {code, message}}``."""
    if not isinstance(body, dict):
        return ErrorFields(None, None)
    code, message = nested_error(body)
    if code is None and isinstance(body.get("code"), str):
        code = _reason(body["code"])
    return ErrorFields(code, message or _reason(body.get("message")))
