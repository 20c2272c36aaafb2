"""Crun (docs.crun.ai): ``x-api-key``, ``{code, message, data}``, PascalCase upstream passthrough.

Everything lives under ``/api/v1/client/job/``: the liveness session and its result, asset upload
and info, and Seedance 2.0 generation as ``CreateTask``/``TaskInfo`` (reference/providers.md §3).
The body's ``code`` is the status that counts: it may say 402 or 455 inside an HTTP 200.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, Final
from urllib.parse import quote, urlsplit

import httpx

from .._config import Secret
from .._exceptions import ConfigurationError, InvalidRequestError, ProviderError, ServerError
from .._models import Asset, GenerationJob, Verification, VerificationSession
from .._types import RESULT_CODE_PASSED
from .base import Adapter, error_for_status, parse_time
from .base import asset_kind as _kind
from .base import asset_kind_or_none as _kind_or_none
from .base import compact as _compact
from .base import obj as _obj
from .base import sent_json as _sent_json
from .base import text as _text

__all__ = ["Crun"]

P: Final = "/api/v1/client/job"
LINK_TTL: Final = timedelta(seconds=120)  # stated only in prose: the session names no expiry
R2V: Final = "bytedance/seedance2-0-r2v"
I2V: Final = "bytedance/seedance2-0-i2v"
KINDS: Final = ("Image", "Video", "Audio")
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
    asset_statuses: ClassVar[Mapping[str, str]] = {"Processing": "processing", "Active": "active", "Failed": "failed"}
    # inferred: TaskInfo shows only `running`; these are the spellings neighbouring gateways use.
    job_statuses: ClassVar[Mapping[str, str]] = {
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

    # -- errors ----------------------------------------------------------------------------

    def error_from(self, response: httpx.Response, body: Any) -> ProviderError | None:
        """Return the error in an answer: a body ``code`` other than 200 (whatever the HTTP status), or a 4xx/5xx."""
        body_code = _int(body.get("code")) if isinstance(body, dict) else None
        if response.status_code < 400 and body_code in (None, 200):
            return None
        # The body's code is the documented one; the HTTP status may or may not repeat it.
        status = body_code if body_code is not None and body_code != 200 else response.status_code
        message = (_text(body.get("message")) if isinstance(body, dict) else None) or response.reason_phrase
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
        self, *, callback_url: str | None, biz_id: str | None, locale: str | None, project: str | None
    ) -> httpx.Request:
        # The language is the H5 link's `lng`, replaced in the answer's link; it is sent too, for a
        # gateway that builds the link itself. Crun has no biz_id or project field.
        body = _compact({"callback_url": callback_url, "lng": _lng(locale) if locale else None})
        return self.request("POST", f"{P}/visual-validate-session", json_body=body)

    def parse_create_verification(self, response: httpx.Response, *, callback_url: str | None) -> VerificationSession:
        data = self.enveloped(response)
        token, link = _text(data.get("BytedToken")), _text(data.get("H5Link"))
        if not (token and link):
            raise ServerError(f"{self.name} opened a session without BytedToken/H5Link.", provider=self.name,
                              body={k: v for k, v in data.items() if k not in ("BytedToken", "H5Link")})  # fmt: skip
        now = datetime.now(timezone.utc)
        expires = parse_time(data.get("ExpiresAt") or data.get("expires_at"))
        if expires is None and isinstance(data.get("ExpiresIn"), (int, float)):  # one aggregator's extra field
            expires = now + timedelta(seconds=float(data["ExpiresIn"]))
        return VerificationSession(
            # No session id upstream, and the token is a secret: a digest of it names the session.
            id="vv-" + hashlib.sha256(token.encode()).hexdigest()[:16],
            provider=self.name,
            h5_link=Secret(_with_lng(link, _text(_sent_json(response).get("lng")))),
            byted_token=Secret(token),
            expires_at=expires or now + LINK_TTL,
            callback_url=_text(data.get("CallbackURL")) or callback_url,
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
        data = _obj(body.get("data")) if isinstance(body, dict) else {}  # `data: null` is an empty GroupId too
        group_id = _text(data.get("GroupId")) or _text(data.get("group_id"))
        if not group_id:  # upstream: an empty GroupId means the person has not finished; ask again
            return Verification(status="pending", session_id=session.id)
        # A group exists only after a passed check (resultCode 10000), which is why it was asked for.
        return Verification(status="verified", group_id=group_id, result_code=RESULT_CODE_PASSED,
                            session_id=session.id)  # fmt: skip

    # -- assets ----------------------------------------------------------------------------

    def build_upload(self, *, group_id: str, url: str, asset_type: str, name: str | None) -> httpx.Request:
        # inferred: name's required-ness is not shown; the file name stands in when none is given.
        name = name or _text(urlsplit(url).path.rsplit("/", 1)[-1][:64]) or "asset"
        body = {"name": name, "asset_type": _kind(asset_type), "asset_url": url, "group_id": group_id}
        return self.request("POST", f"{P}/asset-upload", json_body=body)

    def parse_upload(self, response: httpx.Response, *, group_id: str, source: str | None) -> list[Asset]:
        data = self.enveloped(response)
        asset_id = _text(data.get("AssetId"))
        if not asset_id:
            raise ServerError(f"{self.name} accepted an upload without an AssetId.", provider=self.name, body=data)
        sent = _sent_json(response)
        return [
            Asset(
                id=asset_id,
                group_id=group_id,
                status="processing",  # upload only queues the checks
                name=_text(sent.get("name")),
                asset_type=_kind_or_none(sent.get("asset_type")),
                source=source or _text(sent.get("asset_url")),
            )
        ]

    def build_get_asset(self, asset_id: str) -> httpx.Request:
        return self.request("GET", f"{P}/asset-info", params={"asset_id": asset_id}, retry=True)

    def parse_get_asset(self, response: httpx.Response) -> Asset:
        data = self.enveloped(response)
        asset_id = _text(data.get("AssetId")) or _text(data.get("Id"))
        if not asset_id:
            raise ServerError(f"{self.name} answered asset info without an AssetId.", provider=self.name, body=data)
        error = _obj(data.get("Error"))
        # CreateTime/UpdateTime come as ISO strings or Unix seconds (both seen); Asset keeps neither.
        return Asset(
            id=asset_id,
            group_id=_text(data.get("GroupId")),
            status=self.status("asset", data.get("Status")),
            name=_text(data.get("Name")),
            asset_type=_kind_or_none(data.get("AssetType")),
            error_code=_text(error.get("Code")),
            error_message=_text(error.get("Message")),
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
        model = model or self.default_model
        fields: dict[str, Any] = {"prompt": prompt, "resolution": resolution, "aspect_ratio": ratio,
                                  "duration": duration, "seed": seed}  # fmt: skip
        kinds = [_kind(a.asset_type or "Image") for a in references]
        if model == I2V:
            if any(kind != "Image" for kind in kinds):
                raise ConfigurationError(f"{I2V} takes only images; use {R2V} for video or audio references.")
            fields["img_urls"] = [a.uri for a in references]
        else:
            for asset, kind in zip(references, kinds, strict=True):
                fields.setdefault(f"reference_{kind.lower()}s", []).append(asset.uri)
        return self.request("POST", f"{P}/CreateTask", json_body={"model": model, "input": _compact(fields)})

    def parse_generate(self, response: httpx.Response) -> GenerationJob:
        data = self.enveloped(response)
        task_id = _text(data.get("task_id"))
        if not task_id:
            raise ServerError(f"{self.name} created a task without a task_id.", provider=self.name, body=data)
        sent = _sent_json(response)
        inputs = _obj(sent.get("input"))
        refs = [u for key in ("img_urls", "reference_images", "reference_videos", "reference_audios")
                for u in inputs.get(key) or [] if isinstance(u, str)]  # fmt: skip
        status = data.get("status")
        return GenerationJob(
            id=task_id,
            status=self.status("job", status) if status else "queued",
            model=_text(sent.get("model")),
            references=tuple(refs),
            provider=self.name,
        )

    def build_get_job(self, job_id: str) -> httpx.Request:
        return self.request("GET", f"{P}/TaskInfo", params={"task_id": job_id}, retry=True)

    def parse_get_job(self, response: httpx.Response) -> GenerationJob:
        data = self.enveloped(response)
        task_id = _text(data.get("task_id"))
        if not task_id:
            raise ServerError(f"{self.name} answered TaskInfo without a task_id.", provider=self.name, body=data)
        status = self.status("job", data.get("status"))
        result = data.get("result")
        code = message = None
        if status == "failed":
            # inferred: the failure's shape was not visible; a {code, message} result or a top-level reason.
            failure = _obj(result) or _obj(data.get("error"))
            code = _text(failure.get("code") or failure.get("Code"))
            message = _text(failure.get("message") or failure.get("Message") or data.get("fail_reason"))
        return GenerationJob(
            id=task_id,
            status=status,
            video_url=_video_url(result) if status == "succeeded" else None,
            model=_text(data.get("model_version")) or _text(data.get("model")),
            error_code=code,
            error_message=message,
            provider=self.name,
        )


def _session_outcome(message: Any) -> str | None:
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


def _video_url(result: Any) -> str | None:
    # inferred: the result shape was not visible; result.video_url, or the spellings gateways use.
    if isinstance(result, str):
        return result or None
    if isinstance(result, list):
        return next((u for u in map(_video_url, result) if u), None)
    if isinstance(result, dict):
        for key in ("video_url", "url", "videos", "video", "output"):
            url = _video_url(result.get(key))
            if url:
                return url
    return None


def _with_lng(link: str, lng: str | None) -> str:
    """Return the H5 link with upstream's ``lng`` replaced or appended (zh default, en, zh-Hant)."""
    link = link.replace("\\u0026", "&")
    if not lng:
        return link
    base, hash_, fragment = link.partition("#")
    path, _, query = base.partition("?")
    params = [p for p in query.split("&") if p and not p.startswith("lng=")] + [f"lng={quote(lng)}"]
    return f"{path}?{'&'.join(params)}{hash_}{fragment}"


def _lng(locale: str) -> str:
    tag = locale.replace("_", "-").lower()
    if tag.startswith(("zh-hant", "zh-tw", "zh-hk", "zh-mo")):
        return "zh-Hant"
    return tag.split("-", 1)[0] or "zh"


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.strip().isdigit() else None
