"""Crun (docs.crun.ai): ``x-api-key``, ``{code, message, data}``, PascalCase upstream passthrough.

Everything lives under ``/api/v1/client/job/``: the liveness session and its result, asset upload
and info, and Seedance 2.0 generation as ``CreateTask``/``TaskInfo`` (reference/providers.md §3).
The body's ``code`` is the status that counts: it may say 402 or 455 inside an HTTP 200.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Final
from urllib.parse import urlsplit

import httpx

from .._config import Secret
from .._exceptions import ConfigurationError, InvalidRequestError, ProviderError, ServerError
from .._models import Asset, GenerationJob, Verification, VerificationSession
from .._types import RESULT_CODE_PASSED, JobStatus, VerificationStatus
from ..generation.request import FRAME_ROLES, GenerationRequest
from .base import (
    LINK_TTL,
    UPSTREAM_ASSET_KEYS,
    UPSTREAM_ASSET_STATUSES,
    Adapter,
    Fields,
    asset_kind,
    asset_kind_or_none,
    body_code,
    compact,
    error_for_status,
    h5_language,
    id_argument,
    obj,
    reason,
    sent_json,
    sent_text,
    token_session_id,
    with_lng,
)
from .generation import ROLE_FEATURES, grouped_order, options, sent_references, usage_tokens

__all__ = ["Crun"]

P: Final = "/api/v1/client/job"
R2V: Final = "bytedance/seedance2-0-r2v"
I2V: Final = "bytedance/seedance2-0-i2v"
INPUT_OPTIONS: Final = ("generate_audio", "return_last_frame", "seed")  # seed: inferred, beside the documented two
# Not documented: how visual-validate-result refuses a token whose session ended. A 400/422 whose
# message names the session's end is an outcome, not an error (see parse_get_verification).
_EXPIRED: Final = re.compile(r"expire", re.I)
_FAILED: Final = re.compile(r"fail", re.I)
_ABOUT_SESSION: Final = re.compile(r"visual|liveness|valid|verif|resultcode|h5|link|token|session", re.I)
_ABOUT_REQUEST: Final = re.compile(r"param|required|field|missing|format", re.I)
_NOT_READY: Final = re.compile(r"not\s*ready|not (yet )?(finished|completed)|in progress", re.I)


class Crun(Adapter):
    """Crun's visual-validate session, asset upload/info, and seedance2-0 r2v/i2v tasks."""

    name = "crun"
    default_base_url = "https://api.crun.ai"
    auth_header = "x-api-key"
    asset_statuses = UPSTREAM_ASSET_STATUSES
    # Upstream's spellings, the id as AssetId or Id. CreateTime/UpdateTime come as ISO strings or Unix
    # seconds (both seen); Asset keeps neither.
    asset_keys = UPSTREAM_ASSET_KEYS._replace(id=("AssetId", "Id"))
    # inferred: TaskInfo shows only `running`; these are the spellings neighbouring gateways use.
    job_statuses: ClassVar[Mapping[str, JobStatus]] = {
        "pending": "queued",
        "queued": "queued",
        "running": "running",
        "processing": "running",
        "success": "succeeded",
        "succeeded": "succeeded",
        "completed": "succeeded",
        "failed": "failed",
        "cancelled": "cancelled",
        "canceled": "cancelled",
    }
    default_model = R2V
    generation_features = ROLE_FEATURES | {"plain_url", "callback_url", *INPUT_OPTIONS}

    # -- errors ----------------------------------------------------------------------------

    def error_from(self, response: httpx.Response, body: Any) -> ProviderError | None:
        """Return the error in an answer: a body ``code`` other than 200 (whatever the HTTP status), or a 4xx/5xx."""
        answered_code = body_code(body.get("code")) if isinstance(body, dict) else None
        if response.status_code < 400 and answered_code in (None, 200):
            return None
        # The body's code is the documented one; the HTTP status may or may not repeat it.
        status = answered_code if answered_code is not None and answered_code != 200 else response.status_code
        message = (reason(body.get("message")) if isinstance(body, dict) else None) or response.reason_phrase
        message = message or "request refused"
        kwargs: dict[str, Any] = {"provider": self.name, "status_code": status, "code": str(status), "body": body}
        if status == 455:
            return ServerError(f"{self.name} is under maintenance (455: {message}); try again later.", **kwargs)
        if status == 505:
            return ProviderError(f"{self.name} has this feature disabled (505: {message}); ask Crun to enable it "
                                 "for your account, or use another provider.", **kwargs)  # fmt: skip
        if status == 501:
            return ServerError(f"{self.name}: generation failed (501: {message}); submit the task again.", **kwargs)
        return error_for_status(status, message, provider=self.name, code=str(status), body=body, response=response)

    # -- liveness --------------------------------------------------------------------------

    def build_create_verification(
        self, *, callback_url: str | None, biz_id: str | None, locale: str | None, project: str | None = None
    ) -> httpx.Request:
        # The language is the H5 link's `lng`, replaced in the answer's link; it is sent too, for a
        # gateway that builds the link itself. Crun has no biz_id or project field.
        body = compact({"callback_url": callback_url, "lng": h5_language(locale) if locale else None})
        return self.request("POST", f"{P}/visual-validate-session", json_body=body)

    def parse_create_verification(self, response: httpx.Response, *, callback_url: str | None) -> VerificationSession:
        data = self.payload(response)
        token, link = data.required("BytedToken"), data.link("H5Link")
        if not link:
            raise data.malformed("H5Link", "is missing")
        now = datetime.now(UTC)
        expires = data.time("ExpiresAt") or data.time("expires_at")
        if expires is None:
            ttl = data.ttl("ExpiresIn")  # one aggregator's extra field
            expires = now + ttl if ttl else None
        return VerificationSession(
            # No session id upstream, and the token is a secret: its fingerprint names the session.
            id=token_session_id(token),
            provider=self.name,
            h5_link=Secret(with_lng(link, sent_text(sent_json(response).get("lng")))),
            byted_token=Secret(token),
            expires_at=expires or now + LINK_TTL,
            callback_url=data.link("CallbackURL") or callback_url,
            created_at=now,
        )

    def build_get_verification(self, session: VerificationSession, *, result_code: str | None) -> httpx.Request:
        # Crun takes no result_code: the caller asks after the callback's resultCode=10000.
        params = {"byted_token": session.byted_token.reveal()}
        return self.request("GET", f"{P}/visual-validate-result", params=params, retry=True)

    def parse_get_verification(self, response: httpx.Response, session: VerificationSession) -> Verification:
        """Return the outcome: a GroupId is verified, an empty one pending; a refusal naming the end is that end.

        Crun documents only ``GroupId``. Upstream refuses a token whose session did not pass with an
        error, so a 400/422 whose message is about the session (not a bad parameter) and says it
        expired reads ``expired``, says it failed reads ``failed``, or says it is not ready reads
        ``pending``. Anything else (401, 404 unknown token, 429, 5xx) is raised.
        """
        try:
            body = self.check(response)
        except InvalidRequestError as exc:
            outcome = _session_outcome(exc.body.get("message") if isinstance(exc.body, dict) else None)
            if outcome is None:
                raise
            return Verification(status=outcome, session_id=session.id)
        data = self.fields(body, "").obj("data")  # `data: null` is an empty GroupId too
        group_id = data.text("GroupId") or data.text("group_id")
        if not group_id:  # upstream: an empty GroupId means the person has not finished; ask again
            return Verification(status="pending", session_id=session.id)
        # A group exists only after a passed check (resultCode 10000), which is why it was asked for.
        return Verification(status="verified", group_id=group_id, result_code=RESULT_CODE_PASSED,
                            session_id=session.id)  # fmt: skip

    # -- assets ----------------------------------------------------------------------------

    def build_upload(self, *, group_id: str, url: str, asset_type: str, name: str | None) -> httpx.Request:
        # inferred: name's required-ness is not shown; the file name stands in when none is given.
        name = name or urlsplit(url).path.rsplit("/", 1)[-1][:64] or "asset"
        body = {"name": name, "asset_type": asset_kind(asset_type), "asset_url": url,
                "group_id": id_argument(group_id, "group_id")}  # fmt: skip
        return self.request("POST", f"{P}/asset-upload", json_body=body)

    def parse_upload(self, response: httpx.Response, *, group_id: str, source: str | None) -> list[Asset]:
        data = self.payload(response)
        asset_id = data.required("AssetId")
        sent = sent_json(response)
        return [
            Asset(
                id=asset_id,
                group_id=group_id,
                status="processing",  # upload only queues the checks
                name=sent_text(sent.get("name")),
                asset_type=asset_kind_or_none(sent.get("asset_type")),
                source=source or sent_text(sent.get("asset_url")),
            )
        ]

    def build_get_asset(self, asset_id: str) -> httpx.Request:
        params = {"asset_id": id_argument(asset_id, "asset_id")}
        return self.request("GET", f"{P}/asset-info", params=params, retry=True)

    # -- generation ------------------------------------------------------------------------

    def model_for(self, request: GenerationRequest) -> str:
        """Return the model named, else i2v for first/last frames and r2v for references."""
        frames = any(ref.effective_role in FRAME_ROLES for ref in request.references)
        return request.model or (I2V if frames else R2V)

    def build_generate(self, request: GenerationRequest) -> httpx.Request:
        model = self.model_for(request)
        fields: dict[str, Any] = {"prompt": request.prompt, "resolution": request.resolution,
                                  "aspect_ratio": request.ratio, "duration": request.duration}  # fmt: skip
        fields |= options(request, INPUT_OPTIONS, rename={"generate_audio": "audio"})
        sent = sent_references(request)
        if model == I2V:
            if any(kind != "Image" for _, kind, _ in sent):
                raise ConfigurationError(f"{I2V} takes only images; use {R2V} for video or audio references.")
            # inferred: img_urls in frame order (first, last); pictures given no role are frames in their order.
            framed = [uri for role in ("first_frame", "last_frame") for uri, _, r in sent if r == role]
            fields["img_urls"] = framed or [uri for uri, kind, _ in sent if kind == "Image"]
        else:
            for uri, kind, _ in sent:
                fields.setdefault(f"reference_{kind.lower()}s", []).append(uri)
        body = {"model": model, "input": fields} | options(request, ("callback_url",))
        return self.request("POST", f"{P}/CreateTask", json_body=body)

    def content_order(self, request: GenerationRequest) -> list[int | None]:
        return grouped_order(request)

    def parse_generate(self, response: httpx.Response) -> GenerationJob:
        data = self.payload(response)
        task_id = data.required("task_id")
        sent = sent_json(response)
        inputs = obj(sent.get("input"))
        refs = [u for key in ("img_urls", "reference_images", "reference_videos", "reference_audios")
                for u in inputs.get(key) or [] if isinstance(u, str)]  # fmt: skip
        return GenerationJob(
            id=task_id,
            status=self.status_or("job", data, "status", "queued"),
            model=sent_text(sent.get("model")),
            references=tuple(refs),
            provider=self.name,
        )

    def build_get_job(self, job_id: str) -> httpx.Request:
        params = {"task_id": id_argument(job_id, "job_id")}
        return self.request("GET", f"{P}/TaskInfo", params=params, retry=True)

    def parse_get_job(self, response: httpx.Response) -> GenerationJob:
        data = self.payload(response)
        task_id = data.required("task_id")
        status = self.status("job", data, "status")
        code = message = None
        if status == "failed":
            # inferred: the failure's shape was not visible; a {code, message} result or a top-level reason.
            result = data.get("result")
            failure = result if isinstance(result, dict) and result else obj(data.get("error"))
            code = reason(failure.get("code") or failure.get("Code"))
            message = reason(failure.get("message") or failure.get("Message") or data.get("fail_reason"))
        return GenerationJob(
            id=task_id,
            status=status,
            # inferred: the result shape was not visible; result.video_url, or the spellings gateways use.
            video_url=data.first_link("result") if status == "succeeded" else None,
            model=data.text("model_version") or data.text("model"),
            error_code=code,
            error_message=message,
            provider=self.name,
            # inferred: the last frame beside the video in `result`, usage beside the status (Ark's names).
            last_frame_url=_last_frame(data) if status == "succeeded" else None,
            tokens=usage_tokens(data),
        )


def _last_frame(data: Fields) -> str | None:
    # inferred: beside the video in an object `result`; a `result` that is the video's URL has none.
    return data.obj("result").link("last_frame_url") if isinstance(data.get("result"), dict) else None


def _session_outcome(message: Any) -> VerificationStatus | None:
    """Return the verification status a refusal's message reports, or ``None`` if it is a plain error."""
    if not isinstance(message, str) or not _ABOUT_SESSION.search(message) or _ABOUT_REQUEST.search(message):
        return None
    if _EXPIRED.search(message):
        return "expired"
    if _FAILED.search(message):
        return "failed"
    if _NOT_READY.search(message):
        return "pending"
    return None
