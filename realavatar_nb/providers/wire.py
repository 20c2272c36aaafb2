"""The pieces of a request and of an answer that every adapter shares (re-exported by ``base``).

Ids checked and quoted before they reach a URL, asset kinds (a generation reference's too), optional
fields, what a request sent, body status codes, the H5 link's language, and refusals: the one shape
of their code and message, the error class an HTTP status stands for, and the ``Retry-After`` hint.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple
from urllib.parse import quote

import httpx

from .._config import fingerprint
from .._exceptions import (
    AuthenticationError,
    ConfigurationError,
    InsufficientBalanceError,
    InvalidArgumentError,
    InvalidRequestError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    ServerError,
)
from .._models import Asset, Verification, VerificationSession
from .._types import VerificationStatus
from .fields import Fields, describe, reason

__all__ = [
    "ASSET_KINDS",
    "SNAKE_ASSET_KEYS",
    "UPSTREAM_ASSET_KEYS",
    "AssetKeys",
    "ErrorFields",
    "another_page",
    "asset_kind",
    "asset_kind_or_none",
    "body_code",
    "compact",
    "error_for_status",
    "h5_language",
    "id_argument",
    "nested_error",
    "path_segment",
    "reference_kind",
    "retry_after",
    "sent_count",
    "sent_json",
    "sent_text",
    "token_session_id",
    "upstream_error",
    "verification_outcome",
    "with_lng",
]


def id_argument(value: Any, argument: str) -> str:
    """Return ``value`` if it is a non-blank string, else raise ``InvalidArgumentError`` naming ``argument``.

    An empty id would read another resource (``/assets/`` is the collection) or none at all: it is
    refused before anything is built.
    """
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{argument} must be a non-empty string, not {describe(value)}.")
    if not value.strip():
        raise InvalidArgumentError(f"{argument} must be a non-empty string.")
    return value


def path_segment(value: Any, argument: str) -> str:
    """Return ``value`` quoted as exactly one URL path segment (``/``, ``?``, ``#``, ``%`` escaped).

    ``.`` and ``..`` are refused: a client or proxy resolves them to the parent path, whatever the quoting.
    """
    segment = id_argument(value, argument)
    if segment in (".", ".."):
        raise InvalidArgumentError(f"{argument} must be an id, not {segment!r}.")
    return quote(segment, safe="")


def token_session_id(token: str) -> str:
    """Return the session id of a provider whose session is named by its byted token: the token's fingerprint.

    The token fetches the person's group, so it stays a ``Secret``; the id shows in reprs, widgets and
    the ledger, so it must not be the token. Anyfast and EasyRouter name the session by it, Crun has none.
    """
    return fingerprint(token)


def compact(fields: dict[str, Any]) -> dict[str, Any]:
    """Return ``fields`` without the ``None`` values (optional request fields left out)."""
    return {k: v for k, v in fields.items() if v is not None}


def sent_json(response: httpx.Response) -> dict[str, Any]:
    """Return the JSON object the response answers, or ``{}`` (no request, not JSON, or multipart)."""
    try:
        request = response.request
        if not request.headers.get("content-type", "").startswith("application/json"):
            return {}
        sent = json.loads(request.content or b"null")
    except (RuntimeError, httpx.RequestNotRead, ValueError):
        return {}
    return sent if isinstance(sent, dict) else {}


def sent_text(value: Any) -> str | None:
    """Return a value of ``sent_json`` that is a non-empty string (a name, a URL, the model), else ``None``."""
    return value if isinstance(value, str) and value else None


def sent_count(value: Any, default: int) -> int:
    """Return a value of ``sent_json`` that is a whole number above 0 (a page number or size), else ``default``."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def body_code(value: Any) -> int | None:
    """Return a body's status ``code`` (``200``, ``"429"``) as a number, else ``None`` (``"success"``, ``"²"``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    digits = value.strip() if isinstance(value, str) else ""
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 6 else None


ASSET_KINDS: Final = ("Image", "Video", "Audio")


def asset_kind_or_none(value: Any) -> str | None:
    """Return ``Image``/``Video``/``Audio`` for any casing of one, else ``None``."""
    kind = value.capitalize() if isinstance(value, str) else None
    return kind if kind in ASSET_KINDS else None


def asset_kind(value: Any) -> str:
    """Return ``Image``/``Video``/``Audio`` for any casing of one, or raise ``ConfigurationError``."""
    kind = asset_kind_or_none(value)
    if kind is None:
        raise ConfigurationError(f"asset_type must be image, video or audio, not {value!r}.")
    return kind


def reference_kind(asset: Asset) -> str:
    """Return a generation reference's ``Image``/``Video``/``Audio`` (``Image`` when the asset names no type).

    Raises ``ConfigurationError`` for another type, as ``asset_kind`` does.
    """
    return asset_kind(asset.asset_type or "Image")


def h5_language(locale: str) -> str:
    """Return upstream's H5 ``lng`` for a locale: ``zh-Hant`` for traditional Chinese, else its language."""
    tag = locale.replace("_", "-").lower()
    if tag.startswith(("zh-hant", "zh-tw", "zh-hk", "zh-mo")):
        return "zh-Hant"
    return tag.split("-", 1)[0] or "zh"


def with_lng(link: str, lng: str | None) -> str:
    """Return the H5 link with upstream's ``lng`` replaced or appended (the link unchanged without one)."""
    if not lng:
        return link
    base, hash_, fragment = link.partition("#")
    path, _, query = base.partition("?")
    params = [p for p in query.split("&") if p and not p.startswith("lng=")] + [f"lng={quote(lng)}"]
    return f"{path}?{'&'.join(params)}{hash_}{fragment}"


class AssetKeys(NamedTuple):
    """Where an answer's asset object keeps each field (``Adapter.asset_keys``); ``id``: the names tried in turn."""

    id: tuple[str, ...]
    group: str
    status: str
    name: str
    kind: str
    error: str  # an object holding the two below, present when the asset failed
    code: str
    message: str


UPSTREAM_ASSET_KEYS: Final = AssetKeys(("Id",), "GroupId", "Status", "Name", "AssetType", "Error", "Code", "Message")
SNAKE_ASSET_KEYS: Final = AssetKeys(("id",), "group_id", "status", "name", "asset_type", "error", "code", "message")


class ErrorFields(NamedTuple):
    """What a refusal names: upstream's or the gateway's code and its message."""

    code: str | None
    message: str | None


def nested_error(body: Any) -> ErrorFields:
    """Return the code and message of a body's ``error`` (an object ``{code, message}`` or a bare string)."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return ErrorFields(reason(error.get("code")), reason(error.get("message")))
    if isinstance(error, str):
        return ErrorFields(None, reason(error))
    return ErrorFields(None, None)


def upstream_error(body: Any) -> ErrorFields | None:
    """Return upstream's ``ResponseMetadata.Error{Code, Message}`` passed through, or ``None`` where there is none."""
    metadata = body.get("ResponseMetadata") if isinstance(body, dict) else None
    error = metadata.get("Error") if isinstance(metadata, dict) else None
    return ErrorFields(reason(error.get("Code")), reason(error.get("Message"))) if isinstance(error, dict) else None


def retry_after(response: httpx.Response) -> float | None:
    """Return the ``Retry-After`` hint in seconds (numeric or HTTP-date), or ``None``."""
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        pass
    else:  # "inf" or "nan" is no hint: a wait of forever, or of nothing
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(raw)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def error_for_status(
    status: int,
    message: str,
    *,
    provider: str,
    code: str | None = None,
    request_id: str | None = None,
    body: Any = None,
    response: httpx.Response | None = None,
) -> ProviderError:
    """Return the ``ProviderError`` subclass for an HTTP (or body) status, with a what-to-do message."""
    kwargs: dict[str, Any] = {"provider": provider, "status_code": status, "code": code, "request_id": request_id,
                              "body": body}  # fmt: skip
    if status in (401, 403):
        return AuthenticationError(f"{provider} refused the API key ({status}: {message}). Check the key.", **kwargs)
    if status == 402:
        return InsufficientBalanceError(f"{provider}: {message} Top up the account and try again.", **kwargs)
    if status == 404:
        return NotFoundError(f"{provider}: {message} (the id is unknown, or belongs to another account).", **kwargs)
    if status == 429:
        hint = retry_after(response) if response is not None else None
        return RateLimitError(f"{provider} is rate limiting: {message}", retry_after=hint, **kwargs)
    if status >= 500:
        return ServerError(f"{provider} failed ({status}): {message}. Try again later.", **kwargs)
    return InvalidRequestError(f"{provider} rejected the request ({status}): {message}", **kwargs)


def verification_outcome(
    status: VerificationStatus, group_id: str | None, *, result_code: str | None, session: VerificationSession
) -> Verification:
    """Return a session's outcome: ``verified`` only with its GroupId (upstream's rule), else still ``pending``."""
    if status == "verified" and not group_id:
        status = "pending"
    group = group_id if status == "verified" else None
    return Verification(status=status, group_id=group, result_code=result_code, session_id=session.id)


def another_page(
    page: Fields, response: httpx.Response, count: int, keys: tuple[str, str, str], page_size: int
) -> bool:
    """Return whether a page of ``count`` assets has another after it: its number × size is short of the total.

    ``keys`` are the answer's page number, page size and total (the request names the first two
    alike); where the answer leaves its number or size out, the request's stand in, else 1 and ``page_size``.
    """
    number, size, total = keys
    sent = sent_json(response)
    page_number = page.count(number) or sent_count(sent.get(number), 1)
    size_of_page = page.count(size) or sent_count(sent.get(size), page_size)
    return count > 0 and page_number * size_of_page < (page.count(total) or 0)
