"""The shape every provider adapter shares: sans-IO, data plus two small functions per operation.

An adapter builds ``httpx.Request`` objects and parses ``httpx.Response`` objects into the neutral
models of ``_models`` and the statuses of ``_types``; it never sends anything. An operation whose
answer needs another request first (toapis' verify task → task detail, APIMart's tasks) returns
``Next(request, parse)``: the caller sends ``request`` and hands the response to ``parse``, which
answers the model or another ``Next``.

Reads carry ``request.extensions["realavatar_retry"] = True``: the transport may retry them on
429/5xx/transport errors. Creates never carry it, whatever their HTTP method.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar, Final, Generic, TypeAlias, TypeVar

import httpx

from .._config import Secret
from .._exceptions import (
    AuthenticationError,
    ConfigurationError,
    InsufficientBalanceError,
    InvalidRequestError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    ServerError,
    UnknownStatusError,
    UnsupportedOperationError,
)
from .._models import Asset, GenerationJob, Verification, VerificationSession

__all__ = [
    "ASSET_KINDS",
    "RETRY",
    "Adapter",
    "Next",
    "Step",
    "asset_kind",
    "asset_kind_or_none",
    "compact",
    "error_for_status",
    "obj",
    "parse_time",
    "retry_after",
    "sent_json",
    "text",
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
        return max(0.0, float(raw))
    except ValueError:
        pass
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


def parse_time(value: Any) -> datetime | None:
    """Return an aware datetime from Unix seconds (int/float/digit string) or ISO 8601, else ``None``."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value) / (1000 if value > 10**11 else 1)  # milliseconds, as some gateways send
        return datetime.fromtimestamp(seconds, timezone.utc)
    if isinstance(value, str):
        if value.strip().lstrip("-").isdigit():
            return parse_time(int(value))
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


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
        message = body.get("message") if isinstance(body, dict) else None
        return error_for_status(response.status_code, str(message or response.reason_phrase), provider=self.name,
                                body=body, response=response)  # fmt: skip

    def check(self, response: httpx.Response) -> Any:
        """Return the response's JSON body, or raise the provider's error (never a bare traceback)."""
        try:
            body: Any = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            body = None
        error = self.error_from(response, body)
        if error is not None:
            raise error
        if body is None:
            raise ServerError(
                f"{self.name} answered {response.status_code} without JSON; try again later.",
                provider=self.name,
                status_code=response.status_code,
            )
        return body

    def enveloped(self, response: httpx.Response) -> dict[str, Any]:
        """Return the ``data`` object of a ``{..., data: {...}}`` envelope, raising the provider's error first."""
        body = self.check(response)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise ServerError(
                f"{self.name} answered without a data object; try again later.",
                provider=self.name,
                status_code=response.status_code,
                body=body,
            )
        return data

    def status(self, kind: str, raw: Any) -> str:
        """Return the neutral status for a provider spelling, or raise ``UnknownStatusError``."""
        table = {"verification": self.verification_statuses, "asset": self.asset_statuses, "job": self.job_statuses}
        neutral = table[kind].get(raw) if isinstance(raw, str) else None
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


# -- field helpers every adapter reads responses with ---------------------------------------

_ESCAPED: Final = re.compile(r"\\u([0-9a-fA-F]{4})")


def text(value: Any) -> str | None:
    """Return ``value`` as a string, or ``None`` for a missing or empty one."""
    if value is None or value == "":
        return None
    return str(value)


def obj(value: Any) -> dict[str, Any]:
    """Return ``value`` if it is a JSON object, else ``{}``."""
    return value if isinstance(value, dict) else {}


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


def unescape_link(link: str) -> str:
    """Return an H5 link with literal ``\\u0026``-style escapes (some providers send them) undone."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), link)


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
