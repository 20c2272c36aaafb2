"""toapis (docs.toapis.com): Bearer, ``{success, message, data}`` avatar routes, bare generation tasks.

Verification is task-shaped ("follows an APIMart-style task flow"): the verify task is
``completed`` as soon as the session exists, not when the person passed; its detail carries
``h5_link``, ``byted_token`` and ``expires_at``; ``verify-results`` says whether the person
passed. Assets are one URL per request with lowercase statuses; generation answers bare
OpenAI-style task objects (reference/providers.md §1).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, Final
from urllib.parse import quote

import httpx

from .._config import Secret
from .._exceptions import ProviderError, ServerError, UnknownStatusError
from .._models import Asset, GenerationJob, Verification, VerificationSession
from .base import Adapter, Next, Step, error_for_status, parse_time
from .base import asset_kind as _kind
from .base import asset_kind_or_none as _kind_or_none
from .base import compact as _compact
from .base import sent_json as _sent_json
from .base import text as _text

__all__ = ["Toapis"]

P: Final = "/v1/videos/doubao-seedance-2-0/real-avatar"
GENERATIONS: Final = "/v1/videos/generations"
LINK_TTL: Final = timedelta(seconds=120)  # upstream's H5 link life, when the task names no expires_at
# A reference's list and role by asset type (the generation page's *_with_roles).
ROLES: Final = {
    "Image": ("image_with_roles", "reference_image"),
    "Video": ("video_with_roles", "reference_video"),
    "Audio": ("audio_with_roles", "reference_audio"),
}
# inferred: a verify task is shown only `completed`; these are the task spellings toapis uses elsewhere.
_TASK_WAITING: Final = frozenset({"submitted", "pending", "queued", "processing", "in_progress"})


class Toapis(Adapter):
    """toapis' real-avatar verify tasks, assets and doubao-seedance-2-0 generation."""

    name = "toapis"
    default_base_url = "https://toapis.com"
    # Only `verified` is documented; the others are the neutral spellings the page implies.
    verification_statuses: ClassVar[Mapping[str, str]] = {
        "pending": "pending",
        "processing": "pending",
        "verified": "verified",
        "failed": "failed",
        "expired": "expired",
    }
    asset_statuses: ClassVar[Mapping[str, str]] = {"processing": "processing", "active": "active", "failed": "failed"}
    # The status page's table (submitted, queued, in_progress, completed, failed), plus upstream's
    # cancelled/expired in case toapis passes them through.
    job_statuses: ClassVar[Mapping[str, str]] = {
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
        code, message = _error_fields(body)
        status = response.status_code if response.status_code >= 400 else 400
        text = message or response.reason_phrase or "request refused"
        return error_for_status(status, text, provider=self.name, code=code,
                                request_id=response.headers.get("x-request-id"), body=body,
                                response=response)  # fmt: skip

    def _data(self, response: httpx.Response) -> dict[str, Any]:
        """Return the avatar envelope's ``data`` (or a bare object), raising the provider's error first."""
        body = self.check(response)
        data = body.get("data") if isinstance(body, dict) and "success" in body else body
        if not isinstance(data, dict):
            raise ServerError(f"{self.name} answered without a data object; try again later.", provider=self.name,
                              status_code=response.status_code, body=body)  # fmt: skip
        return data

    # -- liveness --------------------------------------------------------------------------

    def build_create_verification(
        self, *, callback_url: str | None, biz_id: str | None, locale: str | None, project: str | None
    ) -> httpx.Request:
        # toapis has no project; locale is the H5 page's language (e.g. "zh"), biz_id the caller's own label.
        body = _compact({"callback_url": callback_url, "locale": locale, "biz_id": biz_id})
        return self.request("POST", f"{P}/verify-tasks", json_body=body)

    def parse_create_verification(
        self, response: httpx.Response, *, callback_url: str | None
    ) -> Step[VerificationSession]:
        data = self._data(response)
        task_id = _text(data.get("task_id")) or _text(data.get("id"))
        if not task_id:
            raise ServerError(f"{self.name} created a verify task without an id.", provider=self.name, body=data)
        return self._verify_task(data, task_id, callback_url, detail=False)

    def _verify_task(
        self, data: dict[str, Any], task_id: str, callback_url: str | None, *, detail: bool
    ) -> Step[VerificationSession]:
        """Return the session once the task shows its link, else the task detail to read (again)."""
        link, token = _text(data.get("h5_link")), _text(data.get("byted_token"))
        if link and token:
            created = parse_time(data.get("created_at")) or datetime.now(timezone.utc)
            return VerificationSession(
                id=task_id,
                provider=self.name,
                h5_link=Secret(link.replace("\\u0026", "&")),
                byted_token=Secret(token),
                expires_at=parse_time(data.get("expires_at")) or created + LINK_TTL,
                callback_url=_text(data.get("callback_url")) or callback_url,
                created_at=created,
            )
        status = data.get("status")
        if status in _TASK_WAITING or (status == "completed" and not detail):
            # `completed` means "session created": its link is in the task detail.

            def read_detail(response: httpx.Response) -> Step[VerificationSession]:
                return self._verify_task(self._data(response), task_id, callback_url, detail=True)

            return Next(self.request("GET", f"{P}/verify-tasks/{_seg(task_id)}", retry=True), read_detail)
        if status == "failed":
            code, message = _error_fields(data)
            raise ServerError(f"{self.name} could not open a verification session ({message or 'no reason given'}); "
                              "create a new one.", provider=self.name, code=code, body=data)  # fmt: skip
        if status == "completed":
            raise ServerError(f"{self.name}'s verify task {task_id} is completed but shows no h5_link/byted_token; "
                              "try again later.", provider=self.name, body=data)  # fmt: skip
        raise UnknownStatusError(self.name, status, "verify task")

    def build_get_verification(self, session: VerificationSession, *, result_code: str | None) -> httpx.Request:
        params = {"task_id": session.id, "byted_token": session.byted_token.reveal(), "result_code": result_code}
        return self.request("GET", f"{P}/verify-results", params=params, retry=True)

    def parse_get_verification(self, response: httpx.Response, session: VerificationSession) -> Verification:
        data = self._data(response)
        status = self.status("verification", data.get("verify_status", data.get("status")))
        group_id = _text(data.get("group_id"))
        if status == "verified" and not group_id:
            status = "pending"  # the page: continue only when verify_status=verified *and* group_id is present
        return Verification(
            status=status,
            group_id=group_id if status == "verified" else None,
            result_code=_text(data.get("result_code")),
            session_id=session.id,
        )

    # -- assets ----------------------------------------------------------------------------

    def build_upload(self, *, group_id: str, url: str, asset_type: str, name: str | None) -> httpx.Request:
        # inferred: the real-avatar body is not shown; private-avatar's upload fields, lowercase asset_type.
        body = _compact({"group_id": group_id, "asset_type": _kind(asset_type).lower(), "source_url": url,
                         "name": name})  # fmt: skip
        return self.request("POST", f"{P}/assets", json_body=body)

    def parse_upload(self, response: httpx.Response, *, group_id: str, source: str | None) -> list[Asset]:
        return [self._asset(self._data(response), group_id=group_id, source=source)]

    def build_get_asset(self, asset_id: str) -> httpx.Request:
        return self.request("GET", f"{P}/assets/{_seg(asset_id)}", retry=True)

    def parse_get_asset(self, response: httpx.Response) -> Asset:
        return self._asset(self._data(response))

    def _asset(self, data: dict[str, Any], *, group_id: str | None = None, source: str | None = None) -> Asset:
        asset_id = _text(data.get("asset_id")) or _text(data.get("id"))
        if not asset_id:
            raise ServerError(f"{self.name} answered an asset without an asset_id.", provider=self.name, body=data)
        code, message = _error_fields(data) if data.get("error") else (None, None)
        return Asset(
            id=asset_id,
            group_id=_text(data.get("group_id")) or group_id,
            status=self.status("asset", data.get("status")),
            name=_text(data.get("name")),
            asset_type=_kind_or_none(data.get("asset_type")),
            error_code=code,
            error_message=message,
            source=source or _text(data.get("source_url")),
        )

    # -- generation ------------------------------------------------------------------------

    def build_generate(
        self,
        *,
        prompt: str,
        references: list[Asset],
        model: str | None,
        duration: int,
        ratio: str,
        resolution: str,
        seed: int | None,
    ) -> httpx.Request:
        body: dict[str, Any] = {
            "model": model or self.default_model,
            "prompt": prompt,
            "duration": duration,
            "aspect_ratio": ratio,
            "metadata": _compact({"resolution": resolution, "seed": seed}),  # extra options live under metadata
        }
        for asset in references:
            field, role = ROLES[_kind(asset.asset_type or "Image")]
            body.setdefault(field, []).append({"url": asset.uri, "role": role})
        return self.request("POST", GENERATIONS, json_body=body)

    def parse_generate(self, response: httpx.Response) -> GenerationJob:
        sent = _sent_json(response)
        refs = tuple(item["url"] for field, _ in ROLES.values() for item in sent.get(field) or []
                     if isinstance(item, dict) and isinstance(item.get("url"), str))  # fmt: skip
        return self._job(self._data(response), model=_text(sent.get("model")), references=refs)

    def build_get_job(self, job_id: str) -> httpx.Request:
        return self.request("GET", f"{GENERATIONS}/{_seg(job_id)}", retry=True)

    def parse_get_job(self, response: httpx.Response) -> GenerationJob:
        return self._job(self._data(response))

    def _job(
        self, task: dict[str, Any], *, model: str | None = None, references: tuple[str, ...] = ()
    ) -> GenerationJob:
        job_id = _text(task.get("id")) or _text(task.get("task_id"))
        if not job_id:
            raise ServerError(f"{self.name} answered a generation without an id.", provider=self.name, body=task)
        code, message = _error_fields(task) if task.get("error") else (None, None)
        return GenerationJob(
            id=job_id,
            status=self.status("job", task.get("status")),
            video_url=_video_url(task),
            model=_text(task.get("model")) or model,
            error_code=code,
            error_message=message,
            references=references,
            provider=self.name,
        )


def _video_url(task: dict[str, Any]) -> str | None:
    # inferred: the page says "read the url field" of `result` (type video) without its nesting;
    # result.url first, then the array forms APIMart-style tasks use, then Ark's content.video_url.
    for holder in (task.get("result"), task.get("content"), task):
        if isinstance(holder, dict):
            for key in ("url", "video_url", "videos"):
                url = _first_url(holder.get(key))
                if url:
                    return url
    return None


def _first_url(value: Any) -> str | None:
    """Return the first URL in a string, a list of them, or ``{url: ...}`` objects."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, list):
        return next((u for u in map(_first_url, value) if u), None)
    if isinstance(value, dict):
        return _first_url(value.get("url")) or _first_url(value.get("video_url"))
    return None


def _error_fields(body: Any) -> tuple[str | None, str | None]:
    """Return (code, message) from ``{success: false, message}`` or ``{error: {code, message}}``."""
    if not isinstance(body, dict):
        return None, None
    code = message = None
    error = body.get("error")
    if isinstance(error, dict):
        code, message = _text(error.get("code")), _text(error.get("message"))
    elif isinstance(error, str):
        message = error
    if code is None and isinstance(body.get("code"), str):
        code = _text(body["code"])
    return code, message or _text(body.get("message"))


def _seg(value: str) -> str:
    return quote(value, safe="")
