"""EasyRouter (docs.easyrouter.io): Bearer, ``{success, message, data}``, snake_case fields.

Real-person management lives under ``/api/resource-channel/byteplus/visual-validate`` (sessions,
assets, the asset list, deletes); generation at ``/v1/video/generations`` answers bare new-api
video objects (reference/providers.md §4). The status page of a generation was not visible in
the docs, so its reader also takes new-api's task envelope, the neighbour it descends from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

import httpx

from .._exceptions import ProviderError
from .._models import Asset, GenerationJob, Verification, VerificationSession
from .._types import JobStatus
from ..generation.request import FRAME_ROLES, GenerationRequest
from .base import (
    NEUTRAL_JOB_STATUSES,
    NEUTRAL_VERIFICATION_STATUSES,
    NEW_API_JOB_STATUSES,
    SNAKE_ASSET_KEYS,
    UPSTREAM_ASSET_STATUSES,
    Adapter,
    ErrorFields,
    Fields,
    another_page,
    id_argument,
    nested_error,
    path_segment,
    token_session_id,
    upstream_error,
)
from .base import obj as _obj
from .base import reason as _reason
from .base import sent_json as _sent_json
from .generation import ROLE_FEATURES, ark_item, options, sent_references, usage_tokens

__all__ = ["EasyRouter"]

P: Final = "/api/resource-channel/byteplus/visual-validate"
GENERATIONS: Final = "/v1/video/generations"
PAGE_SIZE: Final = 100  # the list's documented maximum
PAGE_KEYS: Final = ("page_number", "page_size", "total_count")  # a list page's number, size and total
METADATA: Final = ("seed", "generate_audio", "watermark", "camera_fixed", "return_last_frame")


class EasyRouter(Adapter):
    """EasyRouter's real-person sessions, assets and Dreamina Seedance 2.0 generation."""

    name = "easyrouter"
    default_base_url = "https://easyrouter.io"
    verification_statuses = NEUTRAL_VERIFICATION_STATUSES
    asset_statuses = UPSTREAM_ASSET_STATUSES
    # An upload's top-level `warning` only repeats that processing is asynchronous: the asset's status
    # (Processing) already says so, and the waiter polls it.
    asset_keys = SNAKE_ASSET_KEYS
    # The documented create answer says `queued`; the rest are new-api's OpenAI-video spellings
    # (queued, in_progress, completed, failed) and its task spellings (NOT_START … FAILURE).
    job_statuses: ClassVar[Mapping[str, JobStatus]] = {
        **NEUTRAL_JOB_STATUSES,
        "pending": "queued",
        "in_progress": "running",
        "completed": "succeeded",
        **NEW_API_JOB_STATUSES,
    }
    default_model = "dreamina-seedance-2-0"
    generation_features = ROLE_FEATURES | {"plain_url", *METADATA}
    can_list_assets = True
    can_delete_asset = True
    can_delete_group = True

    # -- errors ----------------------------------------------------------------------------

    def error_from(self, response: httpx.Response, body: Any) -> ProviderError | None:
        """Return the error in an answer: any 4xx/5xx, or ``success: false`` whatever the HTTP status."""
        refused = isinstance(body, dict) and body.get("success") is False
        if response.status_code < 400 and not refused:
            return None
        # inferred: a 200 with success false is the gateway refusing the request itself.
        status = response.status_code if response.status_code >= 400 else 400
        return self.refusal(response, body, status=status, error=_error_fields(body))

    # -- liveness --------------------------------------------------------------------------

    def build_create_verification(
        self, *, callback_url: str | None, biz_id: str | None, locale: str | None, project: str | None = None
    ) -> httpx.Request:
        # EasyRouter takes only callback_url; biz_id, locale and project have no field here.
        body = {"callback_url": callback_url} if callback_url else {}
        return self.request("POST", f"{P}/sessions", json_body=body)

    def parse_create_verification(self, response: httpx.Response, *, callback_url: str | None) -> VerificationSession:
        data = self.payload(response)
        token = data.required("byted_token", "session_id")
        session_id = data.text("session_id")
        link = data.link("h5_link")
        if not link:
            raise data.malformed("h5_link", "is missing")
        # session_id equals byted_token in every example: then its fingerprint names the session, since the
        # id shows where the token must not. inferred: a session_id of its own would be no secret.
        named = token_session_id(token) if session_id in (None, token) else session_id
        return self.opened_session(data, named, link, token, callback_url=callback_url)

    def build_get_verification(self, session: VerificationSession, *, result_code: str | None) -> httpx.Request:
        # The path's session_id is the byted token, which the session's id fingerprints (or, inferred, a
        # session_id of the gateway's own, kept as the id).
        token = session.byted_token.reveal()
        session_id = token if session.id == token_session_id(token) else session.id
        segment = path_segment(session_id, "session_id")
        return self.request("GET", f"{P}/sessions/{segment}", params={"result_code": result_code}, retry=True)

    def parse_get_verification(self, response: httpx.Response, session: VerificationSession) -> Verification:
        data = self.payload(response)
        return Verification(
            status=self.status("verification", data, "status"),
            group_id=data.text("group_id"),  # "" until verified
            result_code=data.code("result_code"),
            session_id=session.id,
        )

    # -- assets ----------------------------------------------------------------------------

    def build_upload(self, *, group_id: str, url: str, asset_type: str, name: str | None) -> httpx.Request:
        body = {"group_id": id_argument(group_id, "group_id"), "url": url, "asset_type": asset_type}
        if name:
            body["name"] = name
        return self.request("POST", f"{P}/assets", json_body=body)

    def build_get_asset(self, asset_id: str) -> httpx.Request:
        return self.request("GET", f"{P}/assets/{path_segment(asset_id, 'asset_id')}", retry=True)

    def build_list_assets(self, group_id: str, *, page: int = 1) -> httpx.Request:
        body = {"group_ids": [id_argument(group_id, "group_id")], "page_number": page, "page_size": PAGE_SIZE}
        return self.request("POST", f"{P}/assets/list", json_body=body, retry=True)  # a read, though a POST

    def parse_list_assets(self, response: httpx.Response) -> tuple[list[Asset], bool]:
        data = self.payload(response)
        assets = [self.asset_from(item) for item in data.objects("items")]
        return assets, another_page(data, response, len(assets), PAGE_KEYS, PAGE_SIZE)

    def build_delete_asset(self, asset_id: str) -> httpx.Request:
        # Deleting twice deletes nothing more, so a delete may be retried (a lost answer then reads 404).
        return self.request("DELETE", f"{P}/assets/{path_segment(asset_id, 'asset_id')}", retry=True)

    def build_delete_group(self, group_id: str) -> httpx.Request:
        return self.request("DELETE", f"{P}/asset-groups/{path_segment(group_id, 'group_id')}", retry=True)

    # -- generation ------------------------------------------------------------------------

    def build_generate(self, request: GenerationRequest) -> httpx.Request:
        # inferred: each content item carries its role as Ark's does; the settings beside resolution
        # and ratio under Ark's names, as the page's "..." leaves them.
        content = [_item(uri, kind, role) for uri, kind, role in sent_references(request)]
        metadata = {"content": content, "resolution": request.resolution, "ratio": request.ratio}
        body = {"model": self.model_for(request), "prompt": request.prompt, "duration": request.duration,
                "metadata": metadata | options(request, METADATA)}  # fmt: skip
        return self.request("POST", GENERATIONS, json_body=body)

    def parse_generate(self, response: httpx.Response) -> GenerationJob:
        return self._job(self.check(response), references=_references(_sent_json(response)))

    def build_get_job(self, job_id: str) -> httpx.Request:
        return self.request("GET", f"{GENERATIONS}/{path_segment(job_id, 'job_id')}", retry=True)

    def parse_get_job(self, response: httpx.Response) -> GenerationJob:
        return self._job(self.check(response))

    def _job(self, answer: Any, *, references: tuple[str, ...] = ()) -> GenerationJob:
        # inferred: a bare video object as documented, or new-api's {code, data} task envelope.
        body = self.fields(answer, "")
        task = body if body.has("status") else self.fields(body.get("data"), "data")
        error = task.obj("error")
        return GenerationJob(
            id=task.required("task_id", "id"),
            status=self.status("job", task, "status"),
            video_url=_video_url(task),
            model=task.text("model"),
            error_code=_reason(error.get("code")),
            error_message=_reason(error.get("message")) or _reason(task.get("fail_reason")),
            references=references,
            provider=self.name,
            # inferred: the last frame beside the video (metadata, or Ark's content), usage beside the status.
            last_frame_url=task.obj("metadata").link("last_frame_url") or task.obj("content").link("last_frame_url"),
            tokens=usage_tokens(task),
        )


def _video_url(task: Fields) -> str | None:
    # inferred: the status page was not visible; metadata.url is what sibling gateways answer,
    # the others are new-api's flat spellings and Ark's content.video_url.
    return (task.obj("metadata").link("url") or task.link("url") or task.link("video_url")
            or task.link("result_url") or task.obj("content").link("video_url"))  # fmt: skip


def _item(uri: str, kind: str, role: str) -> dict[str, Any]:
    """Return one content item as the page's example has it; a frame role is added (inferred: Ark's key)."""
    item = ark_item(uri, kind, role)
    if role not in FRAME_ROLES:
        del item["role"]  # the page's example sends a reference with no role: the kind's reference role
    return item


def _references(sent: dict[str, Any]) -> tuple[str, ...]:
    metadata = _obj(sent.get("metadata"))
    refs = []
    for item in metadata.get("content") or []:
        inner = item.get(item.get("type")) if isinstance(item, dict) else None
        if isinstance(inner, dict) and isinstance(inner.get("url"), str):
            refs.append(inner["url"])
    return tuple(refs)


def _error_fields(body: Any) -> ErrorFields:
    """Return the code and message of the envelope, a new-api ``error`` object or an upstream ``Error``."""
    if not isinstance(body, dict):
        return ErrorFields(None, None)
    code, message = nested_error(body)
    upstream = upstream_error(body)
    if upstream is not None:
        code, message = upstream.code or code, upstream.message or message
    if code is None and isinstance(body.get("code"), str) and body["code"] not in ("", "success"):
        code = _reason(body["code"])
    return ErrorFields(code, _reason(body.get("message")) or message)
