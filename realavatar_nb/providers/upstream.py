"""Upstream's shapes wherever they arrive: in ``ark`` (upstream itself) and passed through by Anyfast.

Its refusals (``ResponseMetadata.Error``, Ark's OpenAI-style ``error``, a gateway's ``{code, message}``)
and the HTTP status each code stands for; how a result query says a liveness session ended; and Ark's
task body, whose ``content[]`` carries each reference's URL in its role (reference/upstream.md §3.13, §4).

A relaying gateway (Anyfast) adds two more: a refusal relayed whole, its upstream JSON document held
as a string in ``message`` (parsed here, so the error says the nested, actionable text), and a code
that only shows as a ``[NotFound.asset_id]`` prefix of the message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

import httpx

from .._config import Secret
from .._exceptions import InvalidRequestError, ProviderError
from .._models import Asset, GenerationJob, Verification, VerificationSession
from .._types import JobStatus, VerificationStatus
from ..generation.request import GenerationRequest
from .base import LINK_TTL, NEUTRAL_JOB_STATUSES, Adapter, another_page
from .fields import Fields, obj, reason
from .generation import ARK_FEATURES, ark_item, options, sent_references, usage_tokens
from .wire import (
    UPSTREAM_ASSET_KEYS,
    ErrorFields,
    asset_kind_or_none,
    sent_json,
    sent_text,
    token_session_id,
    upstream_error,
)

__all__ = [
    "ARK_OPTIONS",
    "NO_CALLBACK",
    "UpstreamAdapter",
    "ark_task",
    "content_urls",
    "ended_session",
    "error_fields",
    "status_of_code",
]

# Ark's task statuses (reference/upstream.md §4.6): its spellings are the neutral ones.
ARK_JOB_STATUSES: Final[Mapping[str, JobStatus]] = NEUTRAL_JOB_STATUSES
# The settings Ark's task body takes beside model, content, ratio, duration and resolution.
ARK_OPTIONS: Final = ("seed", "generate_audio", "watermark", "camera_fixed", "return_last_frame", "service_tier",
                      "callback_url")  # fmt: skip
_RESULT_CODE: Final = re.compile(r"resultCode\D{0,3}(\d+)", re.IGNORECASE)
# The CallbackURL sent when the caller names none: the result is read by polling with the token, never
# from the callback, but upstream (and Anyfast, as relayed) refuses a session without one.
NO_CALLBACK: Final = "https://example.com/realavatar/verified"
# An upstream code quoted at the head of a relayed message: "[NotFound.asset_id] The specified asset ...".
_BRACKETED: Final = re.compile(r"\s*\[([A-Za-z*][\w*]*(?:\.[\w*\[\]]+)*)\]\s*")
_NESTING: Final = 3  # how deep a message holding a JSON document is followed


def ark_task(request: GenerationRequest, model: str) -> dict[str, Any]:
    """Return Ark's task body: the prompt, then each reference as ``{type, <type>: {url}, role}``, then the settings."""
    content: list[dict[str, Any]] = [{"type": "text", "text": request.prompt}] if request.prompt else []
    content += [ark_item(uri, kind, role) for uri, kind, role in sent_references(request)]
    body: dict[str, Any] = {"model": model, "content": content, "ratio": request.ratio,
                            "duration": request.duration, "resolution": request.resolution}  # fmt: skip
    return body | options(request, ARK_OPTIONS)


def content_urls(sent: dict[str, Any]) -> tuple[str, ...]:
    """Return the URLs of the media items in a task body that was sent, in order."""
    return tuple(item[item["type"]]["url"] for item in sent.get("content") or [] if _is_media(item))


def status_of_code(code: str | None) -> int:
    """Return the HTTP status an upstream error code stands for (reference/upstream.md §3.13)."""
    c = (code or "").lower()
    if c.startswith(("notfound", "resourcenotfound", "task_not_exist")):
        return 404
    if c.startswith(("invalidaccesskeyid", "signaturedoesnotmatch", "authenticationerror", "invalid_api_key")):
        return 401
    if c.startswith(("accessdenied", "permissiondenied", "unauthorizedoperation", "subscriptionrequired")):
        return 403
    if c.startswith(("throttling", "ratelimitexceeded", "quotaexceeded", "quotawrite", "accountflowlimit",
                     "rate_limit")):  # fmt: skip
        return 429
    if c.startswith(("internalerror", "serviceunavailable", "internal_error")):
        return 500
    return 400


def error_fields(body: Any, _depth: int = 0) -> tuple[bool, ErrorFields, str | None]:
    """Return (is an error, its code and message, request id) from any refusal shape upstream or a gateway sends.

    Upstream's ``ResponseMetadata.Error``; OpenAI's and new-api's ``{"error": {type, code, message}}``;
    ``{code, message, data: null}`` whose message may be a JSON document of the relayed refusal (read
    instead, its code and message being the actionable ones); ``{code, message}``. A ``[Code]`` at the
    head of a message names the code where the body gives none, or only the gateway's generic one.
    """
    if not isinstance(body, dict):
        return False, ErrorFields(None, None), None
    upstream = upstream_error(body)
    if upstream is not None:
        return True, upstream, reason(obj(body.get("ResponseMetadata")).get("RequestId"))
    error = body.get("error")
    if isinstance(error, dict):
        code, message = _bracketed(reason(error.get("code")), reason(error.get("message")))
        return True, ErrorFields(code or reason(error.get("type")), message), None
    code = body.get("code")
    if isinstance(code, str) and code not in ("", "success") and not body.get("data"):
        relayed = _relayed(body.get("message"), _depth)
        if relayed is not None:
            return True, ErrorFields(relayed.code or reason(code), relayed.message), None
        bracket, message = _bracketed(None, reason(body.get("message")))
        return True, ErrorFields(bracket or reason(code), message), None
    return False, ErrorFields(None, reason(body.get("message")) or reason(error)), None


def _relayed(message: Any, depth: int) -> ErrorFields | None:
    """Return the refusal in a message that is itself a JSON document (a gateway relaying upstream), or ``None``."""
    # reported: OpenMontage tools/video/_anyfast.py (`{"code", "message": "<json string>", "data": null}`)
    if depth >= _NESTING or not isinstance(message, str) or not message.lstrip().startswith("{"):
        return None
    try:
        nested = json.loads(message)
    except (ValueError, RecursionError):
        return None
    found, fields, _ = error_fields(nested, depth + 1)
    return fields if found and (fields.code or fields.message) else None


def _bracketed(code: str | None, message: str | None) -> tuple[str | None, str | None]:
    """Return the code (a ``[Code]`` heading the message where ``code`` is none) and the message as given."""
    # reported: OpenMontage tools/video/_anyfast.py ("upstream_error: [NotFound.asset_id] The specified asset ...")
    if code or not message:
        return code, message
    found = _BRACKETED.match(message)
    return (found.group(1) if found else None), message


def ended_session(exc: ProviderError) -> tuple[VerificationStatus, str | None] | None:
    """Return (failed|expired|pending, result code) when a result query's refusal reports how the session ended.

    Upstream answers a failed or expired session with an error on the token, not a status:
    ``InvalidParameter.BytedToken`` (400) whose message says which; "expired" is checked first, as
    a message about a link that ran out may also say the verification did not finish.
    """
    _, (code, message), _ = error_fields(exc.body)
    if code == "ValidateNotReady":  # inferred: one aggregator's code for "not finished yet"
        return "pending", None
    if not isinstance(exc, InvalidRequestError) or not (code or "").startswith("InvalidParameter"):
        return None
    words = f"{code} {message or ''}".lower()
    if "bytedtoken" not in words:
        return None
    found = _RESULT_CODE.search(message or "")
    result_code = found.group(1) if found else None
    if "expire" in words:
        return "expired", result_code
    if any(word in words for word in ("fail", "reject", "not pass")):
        return "failed", result_code
    return None


def _is_media(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get(item.get("type")), dict) and "url" in item[item["type"]]


class UpstreamAdapter(Adapter):
    """An adapter whose answers are upstream's own ``Result`` objects, in PascalCase (Anyfast, upstream itself).

    The reads of a session, an asset and a page of assets are the same wherever upstream's answer
    arrives; each subclass builds its own requests (paths, auth, the fields it adds).
    """

    page_size: ClassVar[int] = 100  # upstream's maximum
    asset_keys = UPSTREAM_ASSET_KEYS
    job_statuses: ClassVar[Mapping[str, JobStatus]] = ARK_JOB_STATUSES
    generation_features = ARK_FEATURES

    def ark_job(self, task: Fields, *, holder: Fields | None = None) -> GenerationJob:
        """Return the job an Ark task object describes (``holder``: where a gateway keeps the status)."""
        error = task.obj("error")
        content = task.obj("content")
        return GenerationJob(
            id=(holder or task).required("task_id", "id"),
            status=self.status("job", holder or task, "status"),
            video_url=content.link("video_url"),
            model=task.text("model"),
            error_code=reason(error.get("code")),
            error_message=reason(error.get("message")),
            provider=self.name,
            last_frame_url=content.link("last_frame_url"),
            tokens=usage_tokens(task),
        )

    def refusal_status(self, response: httpx.Response, code: str | None, *, refused: bool) -> int | None:
        """Return the HTTP status an answer's refusal stands for, or ``None`` for a success.

        A 4xx/5xx stands for itself; a 200 that ``refused`` all the same (upstream's ``Error``, which
        some gateways relay with HTTP 200) stands for its upstream ``code`` (``status_of_code``).
        """
        if response.status_code >= 400:
            return response.status_code
        return status_of_code(code) if refused else None

    def session_body(self, callback_url: str | None, project: str | None) -> dict[str, Any]:
        """Return CreateVisualValidateSession's body: the callback (``NO_CALLBACK`` if none) and the project."""
        body: dict[str, Any] = {"CallbackURL": callback_url or NO_CALLBACK}
        if project:
            body["ProjectName"] = project  # upstream's field; the group is created in that project
        return body

    def payload(self, response: httpx.Response) -> Fields:
        """Return upstream's ``Result``, bare or in its ``{ResponseMetadata, Result}``, raising the error first."""
        body = self.fields(self.check(response), "")
        return body.obj("Result") if isinstance(body.get("Result"), dict) else body

    def parse_create_verification(self, response: httpx.Response, *, callback_url: str | None) -> VerificationSession:
        result = self.payload(response)
        token = result.required("BytedToken")
        link = result.link("H5Link")
        if not link:
            raise result.malformed("H5Link", "is missing")
        created = datetime.now(UTC)
        echoed = result.link("CallbackURL")
        return VerificationSession(
            # No session id but the token, a secret: its fingerprint names the session.
            id=token_session_id(token),
            provider=self.name,
            h5_link=Secret(link),
            byted_token=Secret(token),
            # inferred: one aggregator adds ExpiresIn (seconds); no official sample shows an expiry.
            expires_at=created + (result.ttl("ExpiresIn") or LINK_TTL),
            callback_url=callback_url or (None if echoed == NO_CALLBACK else echoed),
            created_at=created,
        )

    def parse_get_verification(self, response: httpx.Response, session: VerificationSession) -> Verification:
        try:
            result = self.payload(response)
        except ProviderError as exc:
            ended = ended_session(exc)
            if ended is None:
                raise
            return Verification(status=ended[0], result_code=ended[1], session_id=session.id)
        group = result.text("GroupId")
        return Verification(status="verified" if group else "pending", group_id=group, session_id=session.id)

    def parse_upload(self, response: httpx.Response, *, group_id: str, source: str | None) -> list[Asset]:
        asset_id = self.payload(response).required("Id")
        sent = sent_json(response)  # a multipart upload leaves type and name to get_asset
        return [Asset(id=asset_id, group_id=group_id, status="processing", name=sent_text(sent.get("Name")),
                      asset_type=asset_kind_or_none(sent.get("AssetType")), source=source)]  # fmt: skip

    def parse_list_assets(self, response: httpx.Response) -> tuple[list[Asset], bool]:
        result = self.payload(response)
        assets = [self.asset_from(item) for item in result.objects("Items")]
        return assets, another_page(result, response, len(assets), ("PageNumber", "PageSize", "TotalCount"),
                                    self.page_size)  # fmt: skip

    def asset_from(self, data: Fields, *, group_id: str | None = None, source: str | None = None) -> Asset:
        """Return the asset a GetAsset ``Result`` or a ListAssets item describes (``Error`` when it failed)."""
        asset = super().asset_from(data, group_id=group_id, source=source)
        if data.get("Status") == "Inactive" and asset.error_code:  # Anyfast's schema: Inactive with an Error fails
            return replace(asset, status="failed")
        return asset
