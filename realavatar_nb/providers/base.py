"""The shape every provider adapter shares: sans-IO, data plus two small functions per operation.

An adapter builds ``httpx.Request`` objects and parses ``httpx.Response`` objects into the neutral
models of ``_models`` and the statuses of ``_types``; it never sends anything. An operation whose
answer needs another request first (toapis' verify task → task detail, APIMart's tasks) returns
``Next(request, parse)``: the caller sends ``request`` and hands the response to ``parse``, which
answers the model or another ``Next``.

Reads carry ``request.extensions["realavatar_retry"] = True``: the transport may retry them on
429/5xx/transport errors. Creates never carry it, whatever their HTTP method.

Answers are read through ``Fields``: a field of the wrong type, an unreadable time, a link that is
not http(s) or a missing id raises ``MalformedResponseError`` naming the field (``data.h5_link``),
never a bare ``ValueError`` or a ``str()`` of whatever came. Ids a caller passes in are checked and
quoted before they reach a URL (``id_argument``, ``path_segment``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar, Final, Generic, TypeAlias, TypeVar
from urllib.parse import quote

import httpx

from .._config import Secret, fingerprint
from .._exceptions import (
    AuthenticationError,
    ConfigurationError,
    InsufficientBalanceError,
    InvalidArgumentError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    ServerError,
    UnknownStatusError,
    UnsupportedOperationError,
)
from .._models import Asset, GenerationJob, Verification, VerificationSession
from .fields import Fields, describe, obj, parse_time, reason, unescape_link

__all__ = [
    "ASSET_KINDS",
    "RETRY",
    "Adapter",
    "Fields",
    "Next",
    "Step",
    "asset_kind",
    "asset_kind_or_none",
    "body_code",
    "compact",
    "error_for_status",
    "id_argument",
    "obj",
    "parse_time",
    "path_segment",
    "reason",
    "retry_after",
    "sent_count",
    "sent_json",
    "sent_text",
    "token_session_id",
    "unescape_link",
]

T = TypeVar("T")
RETRY = "realavatar_retry"  # request extension: safe to send again (a read, or an idempotent call)


@dataclass(frozen=True)
class Next(Generic[T]):
    """Another request an operation needs before it has its answer."""

    request: httpx.Request
    parse: Callable[[httpx.Response], Step[T]]


Step: TypeAlias = T | Next[T]


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
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
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


class Adapter:
    """One provider's HTTP contract. Subclasses set the class data and implement the operations.

    Every ``build_*`` returns an ``httpx.Request``; every ``parse_*`` takes the response to it and
    returns a model (or a ``Next``). ``check(response)`` raises the provider's error, parsed in
    exactly one place per adapter (``error_from``).
    """

    name: ClassVar[str]
    default_base_url: ClassVar[str]
    auth_header: ClassVar[str] = "authorization"  # or "x-api-key"
    # Provider spellings -> neutral statuses; anything else raises UnknownStatusError.
    verification_statuses: ClassVar[Mapping[str, str]] = {}
    asset_statuses: ClassVar[Mapping[str, str]] = {}
    job_statuses: ClassVar[Mapping[str, str]] = {}
    default_model: ClassVar[str]
    # What the provider has beyond the common flow.
    can_list_assets: ClassVar[bool] = False
    can_delete_asset: ClassVar[bool] = False
    can_delete_group: ClassVar[bool] = False
    can_upload_file: ClassVar[bool] = False  # takes a local file itself (multipart), no URL needed

    def __init__(self, base_url: str | None, api_key: Secret) -> None:
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.api_key = api_key

    # -- requests and errors --------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        retry: bool = False,
        files: Any = None,
        data: Any = None,
    ) -> httpx.Request:
        """Return a request to ``path`` under the base URL, authenticated; ``retry`` marks a read."""
        key = self.api_key.reveal()
        headers = {"x-api-key": key} if self.auth_header == "x-api-key" else {"authorization": f"Bearer {key}"}
        query = {k: v for k, v in (params or {}).items() if v is not None}
        request = httpx.Request(
            method, self.base_url + path, params=query, json=json_body, headers=headers, files=files, data=data
        )
        request.extensions[RETRY] = retry
        return request

    def error_from(self, response: httpx.Response, body: Any) -> ProviderError | None:
        """Return the provider's error in this response, or ``None`` for a success (subclasses refine)."""
        if response.status_code < 400:
            return None
        message = reason(body.get("message")) if isinstance(body, dict) else None
        return error_for_status(response.status_code, message or response.reason_phrase or "request refused",
                                provider=self.name, body=body, response=response)  # fmt: skip

    def check(self, response: httpx.Response) -> Any:
        """Return the response's JSON body, or raise the provider's error (never a bare traceback)."""
        try:
            body: Any = response.json()
        except (ValueError, RecursionError):  # not JSON, not UTF-8, over 4300 digits, or nested past the stack
            body = None
        error = self.error_from(response, body)
        if error is not None:
            raise error
        if body is None:
            raise MalformedResponseError(
                f"{self.name} answered {response.status_code} without a JSON body; try again later, and report "
                f"it if it persists.",
                field="body",
                provider=self.name,
                status_code=response.status_code,
            )
        return body

    def enveloped(self, response: httpx.Response) -> Fields:
        """Return the ``data`` object of a ``{..., data: {...}}`` envelope, raising the provider's error first."""
        body = self.fields(self.check(response), "")
        return self.fields(body.get("data"), "data")

    def fields(self, raw: Any, at: str) -> Fields:
        """Return ``raw`` as the answer's object at ``at`` (``""`` for the body), or raise naming it."""
        return Fields(raw, at, provider=self.name)

    def status(self, kind: str, fields: Fields, key: str) -> str:
        """Return the neutral status in ``fields[key]``, or raise ``UnknownStatusError`` for an unknown spelling.

        A status that is missing or not a string is a malformed answer, not an unknown status.
        """
        raw = fields.get(key)
        if raw is None or raw == "":
            raise fields.malformed(key, "is missing")
        if not isinstance(raw, str):
            raise fields.malformed(key, f"is {describe(raw)}, not a status")
        table = {"verification": self.verification_statuses, "asset": self.asset_statuses, "job": self.job_statuses}
        neutral = table[kind].get(raw)
        if neutral is None:
            raise UnknownStatusError(self.name, raw, kind)
        return neutral

    def unsupported(self, operation: str, instead: str) -> UnsupportedOperationError:
        """Return the error for an operation this provider has no endpoint for."""
        return UnsupportedOperationError(f"{self.name} has no endpoint to {operation}; {instead}")

    # -- operations (subclasses implement) -------------------------------------------------

    def build_create_verification(
        self, *, callback_url: str | None, biz_id: str | None, locale: str | None, project: str | None
    ) -> httpx.Request:
        raise NotImplementedError

    def parse_create_verification(
        self, response: httpx.Response, *, callback_url: str | None
    ) -> Step[VerificationSession]:
        raise NotImplementedError

    def build_get_verification(self, session: VerificationSession, *, result_code: str | None) -> httpx.Request:
        raise NotImplementedError

    def parse_get_verification(self, response: httpx.Response, session: VerificationSession) -> Step[Verification]:
        raise NotImplementedError

    def build_upload(self, *, group_id: str, url: str, asset_type: str, name: str | None) -> httpx.Request:
        raise NotImplementedError

    def parse_upload(self, response: httpx.Response, *, group_id: str, source: str | None) -> Step[list[Asset]]:
        raise NotImplementedError

    def build_upload_file(
        self, group_id: str, path_or_bytes: str | bytes, filename: str | None = None, asset_type: str = "Image",
        name: str | None = None,
    ) -> httpx.Request:  # fmt: skip
        raise self.unsupported("upload a local file", "stage it at a public URL and upload the URL.")

    def build_get_asset(self, asset_id: str) -> httpx.Request:
        raise NotImplementedError

    def parse_get_asset(self, response: httpx.Response) -> Step[Asset]:
        raise NotImplementedError

    def build_list_assets(self, group_id: str, *, page: int = 1) -> httpx.Request:
        raise self.unsupported("list assets", "read each asset with get_asset instead.")

    def parse_list_assets(self, response: httpx.Response) -> tuple[list[Asset], bool]:
        """Return the page's assets and whether another page follows."""
        raise NotImplementedError

    def build_delete_asset(self, asset_id: str) -> httpx.Request:
        raise self.unsupported("delete assets", "delete it in the provider's console.")

    def build_delete_group(self, group_id: str) -> httpx.Request:
        raise self.unsupported("delete asset groups", "delete it in the provider's console.")

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
        raise NotImplementedError

    def parse_generate(self, response: httpx.Response) -> Step[GenerationJob]:
        raise NotImplementedError

    def build_get_job(self, job_id: str) -> httpx.Request:
        raise NotImplementedError

    def parse_get_job(self, response: httpx.Response) -> GenerationJob:
        raise NotImplementedError


# -- what goes into a request --------------------------------------------------------------


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
