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

A new adapter imports everything it shares from here: the ``Adapter`` contract below (one
docstring per operation, in the order every adapter defines them), the answer readers of
``fields`` and the request and refusal pieces of ``wire`` (re-exported).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final, Generic, Literal, TypeAlias, TypeVar, overload

import httpx

from .._config import Secret, Settings
from .._exceptions import (
    MalformedResponseError,
    ProviderError,
    UnknownStatusError,
    UnsupportedOperationError,
)
from .._models import Asset, GenerationJob, Verification, VerificationSession
from .._types import AssetStatus, JobStatus, VerificationStatus
from ..generation.request import GenerationRequest
from . import wire
from .fields import Fields, describe, obj, parse_time, reason, unescape_link
from .statuses import (
    NEUTRAL_ASSET_STATUSES,
    NEUTRAL_JOB_STATUSES,
    NEUTRAL_VERIFICATION_STATUSES,
    NEW_API_JOB_STATUSES,
    TASK_VERIFICATION_STATUSES,
    UPSTREAM_ASSET_STATUSES,
)

# wire's pieces are re-exported whole (``__all__`` below): a new one is listed once, in ``wire.__all__``.
from .wire import *  # noqa: F403
from .wire import AssetKeys, ErrorFields, asset_kind_or_none, error_for_status

__all__ = [
    "LINK_TTL",
    "NEUTRAL_ASSET_STATUSES",
    "NEUTRAL_JOB_STATUSES",
    "NEUTRAL_VERIFICATION_STATUSES",
    "NEW_API_JOB_STATUSES",
    "RETRY",
    "TASK_VERIFICATION_STATUSES",
    "UPSTREAM_ASSET_STATUSES",
    "Adapter",
    "Fields",
    "Next",
    "Step",
    "obj",
    "parse_time",
    "reason",
    "unescape_link",
]
__all__ += wire.__all__

T = TypeVar("T")
RETRY = "realavatar_retry"  # request extension: safe to send again (a read, or an idempotent call)
LINK_TTL: Final = timedelta(seconds=120)  # upstream's H5 link life, for answers that name no expiry


@dataclass(frozen=True)
class Next(Generic[T]):
    """Another request an operation needs before it has its answer."""

    request: httpx.Request
    parse: Callable[[httpx.Response], Step[T]]


Step: TypeAlias = T | Next[T]


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
    verification_statuses: ClassVar[Mapping[str, VerificationStatus]] = {}
    asset_statuses: ClassVar[Mapping[str, AssetStatus]] = {}
    job_statuses: ClassVar[Mapping[str, JobStatus]] = {}
    default_model: ClassVar[str]
    # What the provider has beyond the common flow.
    can_list_assets: ClassVar[bool] = False
    can_delete_asset: ClassVar[bool] = False
    can_delete_group: ClassVar[bool] = False
    can_upload_file: ClassVar[bool] = False  # takes a local file itself (multipart), no URL needed
    asset_keys: ClassVar[AssetKeys | None] = None  # where an asset object keeps its fields (``asset_from``)
    # Real-person assets are read through the group's list (``build_list_assets``), GetAsset only the
    # fallback: where GetAsset resolves AIGC assets only and the list alone carries the Error (Anyfast).
    reads_assets_by_list: ClassVar[bool] = False
    # The generation features the seller's body has a field for (``generation.checks.features_of``);
    # a request using another is refused before sending. Cancel and list: ``can_cancel_job``/``can_list_jobs``.
    generation_features: ClassVar[frozenset[str]] = frozenset()
    can_cancel_job: ClassVar[bool] = False
    can_list_jobs: ClassVar[bool] = False

    def __init__(self, base_url: str | None, api_key: Secret) -> None:
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.api_key = api_key

    @classmethod
    def configured(cls, base_url: str | None, key: Secret | None, settings: Settings) -> Adapter:
        """Return the adapter for a client: ``key`` if given, else the settings' (``MissingAPIKeyError`` if none)."""
        return cls(base_url, key or settings.require_api_key())

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

    def refusal(
        self, response: httpx.Response, body: Any, *, status: int, error: ErrorFields, request_id: str | None = None
    ) -> ProviderError:
        """Return the error for a refused request: ``error``'s code and message, else the HTTP reason."""
        text = error.message or response.reason_phrase or "request refused"
        return error_for_status(status, text, provider=self.name, code=error.code, request_id=request_id, body=body,
                                response=response)  # fmt: skip

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

    def payload(self, response: httpx.Response) -> Fields:
        """Return the object an answer carries, its envelope unwrapped; the provider's error is raised first.

        Every adapter unwraps its answers through this one name: the ``data`` envelope here,
        refined where a provider answers otherwise (toapis' bare tasks, Anyfast's ``Result``).
        """
        return self.enveloped(response)

    def fields(self, raw: Any, at: str) -> Fields:
        """Return ``raw`` as the answer's object at ``at`` (``""`` for the body), or raise naming it."""
        return Fields(raw, at, provider=self.name)

    @overload
    def status(self, kind: Literal["verification"], fields: Fields, key: str) -> VerificationStatus: ...
    @overload
    def status(self, kind: Literal["asset"], fields: Fields, key: str) -> AssetStatus: ...
    @overload
    def status(self, kind: Literal["job"], fields: Fields, key: str) -> JobStatus: ...
    def status(self, kind: str, fields: Fields, key: str) -> str:
        """Return the neutral status in ``fields[key]``, or raise ``UnknownStatusError`` for an unknown spelling.

        A status that is missing or not a string is a malformed answer, not an unknown status.
        """
        raw = fields.get(key)
        if raw is None or raw == "":
            raise fields.malformed(key, "is missing")
        if not isinstance(raw, str):
            raise fields.malformed(key, f"is {describe(raw)}, not a status")
        table: Mapping[str, Mapping[str, str]] = {
            "verification": self.verification_statuses,
            "asset": self.asset_statuses,
            "job": self.job_statuses,
        }
        neutral = table[kind].get(raw)
        if neutral is None:
            raise UnknownStatusError(self.name, raw, kind)
        return neutral

    def status_or(self, kind: Literal["job"], fields: Fields, key: str, default: JobStatus) -> JobStatus:
        """Return the neutral status in ``fields[key]``, or ``default`` where the answer names none."""
        return self.status(kind, fields, key) if fields.get(key) else default

    def unknown_status(
        self, fields: Fields, status: str | None, kind: str = "task"
    ) -> MalformedResponseError | UnknownStatusError:
        """Return the error for a status no branch reads: a missing one is malformed, another one unknown."""
        if status is None:
            return fields.malformed("status", "is missing")
        return UnknownStatusError(self.name, status, kind)

    def unsupported(self, operation: str, instead: str) -> UnsupportedOperationError:
        """Return the error for an operation this provider has no endpoint for."""
        return UnsupportedOperationError(f"{self.name} has no endpoint to {operation}; {instead}")

    def model_for(self, request: GenerationRequest) -> str:
        """Return the model a generation request names, else this provider's ``default_model``."""
        return request.model or self.default_model

    def opened_session(
        self, data: Fields, session_id: str, link: str, token: str, *, callback_url: str | None
    ) -> VerificationSession:
        """Return the session an answer opened, with its snake_case ``created_at``, ``expires_at`` and ``callback_url``.

        A missing time is now, and the expiry ``LINK_TTL`` after it; a missing callback is the caller's.
        """
        created = data.time("created_at") or datetime.now(UTC)
        return VerificationSession(
            id=session_id,
            provider=self.name,
            h5_link=Secret(link),
            byted_token=Secret(token),
            expires_at=data.time("expires_at") or created + LINK_TTL,
            callback_url=data.link("callback_url") or callback_url,
            created_at=created,
        )

    # -- operations (subclasses implement) -------------------------------------------------

    def build_create_verification(
        self, *, callback_url: str | None, biz_id: str | None, locale: str | None, project: str | None = None
    ) -> httpx.Request:
        """Return the request that opens a liveness session.

        ``project`` is upstream's ProjectName (the group is created in it): Anyfast sends it, APIMart
        sends it instead of its own ``project``; the others have no such field and ignore it.
        """
        raise NotImplementedError

    def parse_create_verification(
        self, response: httpx.Response, *, callback_url: str | None
    ) -> Step[VerificationSession]:
        """Return the opened session (H5 link, byted token, expiry), or the request still needed for it."""
        raise NotImplementedError

    def build_get_verification(self, session: VerificationSession, *, result_code: str | None) -> httpx.Request:
        """Return the read of a session's outcome (a retryable read, whatever its method)."""
        raise NotImplementedError

    def parse_get_verification(self, response: httpx.Response, session: VerificationSession) -> Step[Verification]:
        """Return the session's outcome: pending, verified with its GroupId, failed or expired."""
        raise NotImplementedError

    def build_upload(self, *, group_id: str, url: str, asset_type: str, name: str | None) -> httpx.Request:
        """Return the request that adds the file at ``url`` to the group (a create: never retried)."""
        raise NotImplementedError

    def parse_upload(self, response: httpx.Response, *, group_id: str, source: str | None) -> Step[list[Asset]]:
        """Return the uploaded assets, ``processing`` until their checks end.

        Where the answer is the new asset's own object, as a read's is, ``asset_from`` reads it.
        """
        return [self.asset_from(self.payload(response), group_id=group_id, source=source)]

    def build_upload_file(
        self, group_id: str, path_or_bytes: str | bytes, filename: str | None = None, asset_type: str = "Image",
        name: str | None = None,
    ) -> httpx.Request:  # fmt: skip
        """Return a multipart upload of a local file (``parse_upload`` reads the answer), where ``can_upload_file``."""
        raise self.unsupported("upload a local file", "stage it at a public URL and upload the URL.")

    def build_get_asset(self, asset_id: str) -> httpx.Request:
        """Return the read of one asset by its id."""
        raise NotImplementedError

    def parse_get_asset(self, response: httpx.Response) -> Step[Asset]:
        """Return the asset with its neutral status and, when it failed, upstream's error code."""
        return self.asset_from(self.payload(response))

    def asset_from(self, data: Fields, *, group_id: str | None = None, source: str | None = None) -> Asset:
        """Return the asset an answer's object describes; ``group_id`` and ``source`` stand in where it names none."""
        keys = self.asset_keys
        if keys is None:
            raise NotImplementedError(f"{type(self).__name__} sets no asset_keys and reads assets its own way")
        error = data.obj(keys.error)
        return Asset(
            id=data.required(*keys.id),
            group_id=data.text(keys.group) or group_id,
            status=self.status("asset", data, keys.status),
            name=data.text(keys.name),
            asset_type=asset_kind_or_none(data.get(keys.kind)),
            error_code=reason(error.get(keys.code)),
            error_message=reason(error.get(keys.message)),
            source=source,
        )

    def build_list_assets(self, group_id: str, *, page: int = 1) -> httpx.Request:
        """Return the read of one page of a group's assets, where ``can_list_assets``."""
        raise self.unsupported("list assets", "read each asset with get_asset instead.")

    def parse_list_assets(self, response: httpx.Response) -> tuple[list[Asset], bool]:
        """Return the page's assets and whether another page follows."""
        raise NotImplementedError

    def build_delete_asset(self, asset_id: str) -> httpx.Request:
        """Return the delete of one asset, where ``can_delete_asset`` (the answer is only checked)."""
        raise self.unsupported("delete assets", "delete it in the provider's console.")

    def build_delete_group(self, group_id: str) -> httpx.Request:
        """Return the delete of a whole asset group, where ``can_delete_group`` (the answer is only checked)."""
        raise self.unsupported("delete asset groups", "delete it in the provider's console.")

    def build_generate(self, request: GenerationRequest) -> httpx.Request:
        """Return the request that starts the Seedance 2.x job ``request`` asks for (a create: never retried).

        Its references arrive resolved (``generation.sent_references``); a ``model`` of ``None`` is
        ``model_for``'s choice.
        """
        raise NotImplementedError

    def content_order(self, request: GenerationRequest) -> list[int | None]:
        """Return, for each index of upstream's ``content[]``, the reference it holds (``None``: the text).

        Upstream's refusals name ``content[N]``; this maps N back to what the caller passed.
        """
        # inferred for sellers that rebuild the body: the text first, then the references as sent.
        return [None, *range(len(request.references))] if request.prompt else list(range(len(request.references)))

    def parse_generate(self, response: httpx.Response) -> Step[GenerationJob]:
        """Return the started job (``queued`` unless the answer says more), with what was sent."""
        raise NotImplementedError

    def build_get_job(self, job_id: str) -> httpx.Request:
        """Return the read of one generation job by its id."""
        raise NotImplementedError

    def parse_get_job(self, response: httpx.Response) -> GenerationJob:
        """Return the job with its neutral status, its video URL once succeeded, or its error."""
        raise NotImplementedError

    def build_cancel_job(self, job_id: str) -> httpx.Request:
        """Return the cancel of a queued job, where ``can_cancel_job`` (the answer is only checked)."""
        raise self.unsupported("cancel generation jobs", "let it run, or cancel it in the provider's console.")

    def build_list_jobs(self, page: int, page_size: int, status: str | None, model: str | None) -> httpx.Request:
        """Return one page of the account's jobs, where ``can_list_jobs``, filtered by neutral status and model."""
        raise self.unsupported("list generation jobs", "read the ledger: client.ledger.frame('jobs').")

    def parse_list_jobs(self, response: httpx.Response) -> tuple[list[GenerationJob], int]:
        """Return (the page's jobs, the total across pages)."""
        raise NotImplementedError
