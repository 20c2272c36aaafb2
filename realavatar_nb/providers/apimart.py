"""APIMart (docs.apimart.ai): Bearer, ``{code: 200, data}``, and every step a task at ``/v1/tasks/{id}``.

One endpoint, ``POST /v1/seedance2/real-avatar``, does the three real-person steps, told apart by
the body: ``callback_url`` opens a session, ``byted_token`` asks for its result, ``group_id`` +
``assets[]`` submits a batch for review. Generation's ``data`` is an array (reference/providers.md §2).

Assets pending review. APIMart has no asset endpoint: an asset exists only as an item of its
review task, and gets its ``asset-…`` id when the review ends. So ``parse_upload`` answers, the
moment the task exists, one ``Asset(id="<task_id>#<index>", status="processing")`` per submitted
item (index = its place in ``assets[]``). That handle is what a ledger records: it is stable,
unique, and enough to find the item again after a restart. ``get_asset(handle)`` reads the task
and answers the item: the same handle while it is processing, then the reviewed asset under its
real id (``active`` or ``failed`` with the error code), which the ledger stores beside the
handle. The task does not echo group, name, type or source: a caller keeps those from the
handle's asset. ``build_get_review(task_id)`` reads the whole batch at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

import httpx

from .._config import Secret
from .._exceptions import ConfigurationError, InvalidArgumentError, ProviderError, ServerError
from .._models import Asset, GenerationJob, Verification, VerificationSession
from .._types import JobStatus
from ..generation.request import GenerationRequest
from .base import (
    LINK_TTL,
    TASK_VERIFICATION_STATUSES,
    UPSTREAM_ASSET_STATUSES,
    Adapter,
    ErrorFields,
    Fields,
    Next,
    Step,
    asset_kind,
    asset_kind_or_none,
    body_code,
    compact,
    h5_language,
    id_argument,
    nested_error,
    obj,
    path_segment,
    reason,
    sent_json,
    sent_text,
    verification_outcome,
    with_lng,
)
from .generation import ROLE_FEATURES, grouped_order, options, sent_references, usage_tokens

__all__ = ["Apimart"]

REAL_AVATAR: Final = "/v1/seedance2/real-avatar"
TASKS: Final = "/v1/tasks"
GENERATIONS: Final = "/v1/videos/generations"
OPTIONS: Final = ("seed", "generate_audio", "return_last_frame")  # the page's settings beside the ratio
HANDLE: Final = "realavatar_asset"  # request extension: the review handle a get_asset asked about
LOCALE: Final = "realavatar_locale"  # request extension: the H5 language asked for at create
# Task statuses (pending, processing, completed, failed, cancelled); `submitted` is the generation create's.
_WAITING: Final = frozenset({"submitted", "pending", "processing"})
_ENDED: Final = frozenset({"completed", "failed", "cancelled"})


class Apimart(Adapter):
    """APIMart's real-avatar endpoint, its tasks, and doubao-seedance-2.0(-face) generation."""

    name = "apimart"
    default_base_url = "https://api.apimart.ai"
    # inferred: Step 2's answer is not shown; a synchronous answer or a completed task's result
    # carries upstream's GroupId (snake_cased) and, maybe, a status in these spellings.
    verification_statuses = TASK_VERIFICATION_STATUSES
    asset_statuses = UPSTREAM_ASSET_STATUSES
    job_statuses: ClassVar[Mapping[str, JobStatus]] = {
        "submitted": "queued",
        "pending": "queued",
        "processing": "running",
        "completed": "succeeded",
        "failed": "failed",
        "cancelled": "cancelled",
    }
    default_model = "doubao-seedance-2.0-face"  # real-person assets are recommended with the -face models
    generation_features = ROLE_FEATURES | {"plain_url", *OPTIONS}
    batch_max: ClassVar[int] = 20  # inferred: private-avatar's documented per-request limit

    def __init__(self, base_url: str | None, api_key: Secret, *, project: str = "default") -> None:
        super().__init__(base_url, api_key)
        # Assets are isolated by project upstream, and steps 2 and 3 carry no session: every step
        # sends this one project_name (a create's own `project` is used for that create only).
        self.project = project

    # -- errors ----------------------------------------------------------------------------

    def error_from(self, response: httpx.Response, body: Any) -> ProviderError | None:
        """Return the error in an answer: any 4xx/5xx, or a body ``code`` other than 200."""
        answered_code = body_code(body.get("code")) if isinstance(body, dict) else None
        if response.status_code < 400 and answered_code in (None, 200):
            return None
        if response.status_code >= 400:
            status = response.status_code
        else:  # a 200 carrying the failure in the body
            status = answered_code if answered_code is not None and 400 <= answered_code <= 599 else 400
        request_id = response.headers.get("x-request-id")
        return self.refusal(response, body, status=status, error=_error_fields(body), request_id=request_id)

    def _task(self, response: httpx.Response) -> tuple[Fields, str]:
        """Return the task object of an answer and its id (``data``, or the first of generation's ``data[]``)."""
        body = self.fields(self.check(response), "")
        data = body.get("data")
        # generation answers an array of one
        task = self.fields(data[0], "data[0]") if isinstance(data, list) and data else self.fields(data, "data")
        return task, task.required("id", "task_id")

    def _get_task(self, task_id: str) -> httpx.Request:
        return self.request("GET", f"{TASKS}/{path_segment(task_id, 'task_id')}", retry=True)

    def _task_failed(self, task: Fields, what: str) -> ServerError:
        code, message = _error_fields(task.raw)
        status = task.get("status") if isinstance(task.get("status"), str) else "badly"
        return ServerError(f"{self.name}: {what} ended {status} ({message or 'no reason given'}).",
                           provider=self.name, code=code)  # fmt: skip

    # -- liveness --------------------------------------------------------------------------

    def build_create_verification(
        self, *, callback_url: str | None, biz_id: str | None, locale: str | None, project: str | None = None
    ) -> httpx.Request:
        # No locale or biz_id field: the language goes into the H5 link's `lng` once it is known.
        body = compact({"callback_url": callback_url, "project_name": project or self.project})
        request = self.request("POST", REAL_AVATAR, json_body=body)
        if locale:
            request.extensions[LOCALE] = locale
        return request

    def parse_create_verification(
        self, response: httpx.Response, *, callback_url: str | None
    ) -> Step[VerificationSession]:
        _, task_id = self._task(response)
        locale = response.request.extensions.get(LOCALE)

        def read_task(answer: httpx.Response) -> Step[VerificationSession]:
            task, _ = self._task(answer)
            result = task.obj("result")
            link, token = result.link("h5_link"), result.text("byted_token")
            if link and token:
                created = task.time("created") or datetime.now(UTC)
                expires = result.time("expires_at") or task.time("expires_at")
                return VerificationSession(
                    id=task_id,
                    provider=self.name,
                    h5_link=Secret(with_lng(link, h5_language(locale) if isinstance(locale, str) and locale else None)),
                    byted_token=Secret(token),
                    expires_at=expires or created + LINK_TTL,
                    callback_url=callback_url,
                    created_at=created,
                )
            status = task.text("status")
            if status in _WAITING:
                return Next(self._get_task(task_id), read_task)
            if status == "completed":  # "session created", yet no link to open
                raise result.malformed("h5_link", "is missing from a completed session task (or its byted_token is)")
            if status in _ENDED:
                raise self._task_failed(task, "the verification session task")
            raise self.unknown_status(task, status)

        # `completed` here means "session created": the link and token are in the task.
        return Next(self._get_task(task_id), read_task)

    def build_get_verification(self, session: VerificationSession, *, result_code: str | None) -> httpx.Request:
        # Step 2: a POST, but a read (asking twice changes nothing), so it may be retried.
        body = {"byted_token": session.byted_token.reveal(), "project_name": self.project}
        return self.request("POST", REAL_AVATAR, json_body=body, retry=True)

    def parse_get_verification(self, response: httpx.Response, session: VerificationSession) -> Step[Verification]:
        data = self.payload(response)
        if data.has("group_id", "GroupId", "byted_token"):
            return self._verification(data, session)  # answered synchronously
        return self._verification_task(data, session)

    def _verification_task(self, task: Fields, session: VerificationSession) -> Step[Verification]:
        status = task.text("status")
        if status in _WAITING:

            def read_task(answer: httpx.Response) -> Step[Verification]:
                return self._verification_task(self._task(answer)[0], session)

            return Next(self._get_task(task.required("id", "task_id")), read_task)
        result = task.obj("result")
        if status == "completed" or (status == "failed" and result):
            return self._verification(result, session)
        if status in ("failed", "cancelled"):
            # No result to read: the error says why (an expired link or token reads as expired).
            code, message = _error_fields(task.raw)
            expired = "expire" in f"{code} {message}".lower()
            return Verification(status="expired" if expired else "failed", session_id=session.id)
        raise self.unknown_status(task, status)

    def _verification(self, data: Fields, session: VerificationSession) -> Verification:
        group_id = data.text("group_id") or data.text("GroupId")
        key = "status" if data.has("status") else "verify_status"
        # Upstream's rule when no status is given: a GroupId means verified, an empty one "not yet".
        status = self.status("verification", data, key) if data.get(key) is not None else (
            "verified" if group_id else "pending")  # fmt: skip
        return verification_outcome(status, group_id, result_code=data.code("result_code"), session=session)

    # -- assets ----------------------------------------------------------------------------

    def build_upload(self, *, group_id: str, url: str, asset_type: str, name: str | None) -> httpx.Request:
        return self.build_upload_batch(group_id, [(url, name)], asset_type)

    def parse_upload(self, response: httpx.Response, *, group_id: str, source: str | None) -> list[Asset]:
        """Return one asset per submitted item: review handles while the task runs (see the module doc)."""
        task, task_id = self._task(response)
        sent = sent_json(response)
        items = [obj(i) for i in sent.get("assets") or []]
        sources = [source] if source and len(items) == 1 else [sent_text(i.get("url")) for i in items]
        placeholders = [
            Asset(id=f"{task_id}#{i}", group_id=group_id, status="processing", name=sent_text(item.get("name")),
                  asset_type=asset_kind_or_none(sent.get("asset_type")), source=sources[i])
            for i, item in enumerate(items)
        ]  # fmt: skip
        return self._review(task, placeholders)

    def build_upload_batch(self, group_id: str, items: list[tuple[str, str | None]], asset_type: str) -> httpx.Request:
        """Return Step 3 for several files of one type: one review task for the batch."""
        if not items:
            raise ConfigurationError("An upload batch needs at least one (url, name) item.")
        if len(items) > self.batch_max:
            raise ConfigurationError(f"{self.name} takes at most {self.batch_max} assets per batch; split it.")
        body = {
            "group_id": id_argument(group_id, "group_id"),
            "project_name": self.project,
            "asset_type": asset_kind(asset_type),
            "assets": [compact({"url": url, "name": name}) for url, name in items],
        }
        return self.request("POST", REAL_AVATAR, json_body=body)

    def build_get_asset(self, asset_id: str) -> httpx.Request:
        task_id, _ = self._handle(id_argument(asset_id, "asset_id"))
        request = self._get_task(task_id)
        request.extensions[HANDLE] = asset_id
        return request

    def parse_get_asset(self, response: httpx.Response) -> Asset:
        handle = response.request.extensions.get(HANDLE)
        if not isinstance(handle, str):
            raise ConfigurationError("parse_get_asset needs the response to a request from build_get_asset.")
        task_id, index = self._handle(handle)
        placeholders = [Asset(id=f"{task_id}#{i}", group_id=None, status="processing") for i in range(index + 1)]
        return self._review(self._task(response)[0], placeholders)[index]

    def _handle(self, asset_id: str) -> tuple[str, int]:
        """Return a review handle's task id and index, or raise: APIMart cannot read an asset by its id."""
        task_id, sep, index = asset_id.rpartition("#")
        if not (sep and task_id and index.isascii() and index.isdigit()):
            raise self.unsupported(
                "read an asset by id",
                "an asset's state lives in its review task: poll the '<task_id>#<index>' handle upload returned.",
            )
        if int(index) >= self.batch_max:  # no batch holds more: the handle was not made by parse_upload
            raise InvalidArgumentError(f"asset_id {asset_id!r} points past the {self.batch_max} items a batch holds.")
        return task_id, int(index)

    def build_get_review(self, task_id: str) -> httpx.Request:
        """Return the read of a whole batch's review task (``task_id`` is a handle's part before ``#``)."""
        return self._get_task(task_id)

    def parse_review(self, response: httpx.Response) -> Step[list[Asset]]:
        """Return every reviewed asset of the batch, or the task to read again while it still runs."""
        task, task_id = self._task(response)
        if task.text("status") in _WAITING:
            return Next(self._get_task(task_id), self.parse_review)
        count = len(_items(task.obj("result")))
        placeholders = [Asset(id=f"{task_id}#{i}", group_id=None, status="processing") for i in range(count)]
        return self._review(task, placeholders)

    def _review(self, task: Fields, placeholders: list[Asset]) -> list[Asset]:
        """Return the placeholders as the review task shows them: processing, or reviewed one by one."""
        status = task.text("status")
        if status in _WAITING:
            return placeholders
        if status not in _ENDED:
            raise self.unknown_status(task, status)
        items = _items(task.obj("result"))
        task_code, task_message = _error_fields(task.raw)
        if status == "cancelled":
            task_code, task_message = task_code or "cancelled", task_message or "The review task was cancelled."
        reviewed = []
        for i, held in enumerate(placeholders):
            item = items[i] if i < len(items) else None
            asset_id = None
            if item is not None:
                asset_id = item.text("asset_id") or (item.text("asset_url") or "").removeprefix("asset://")
            if item is None or not asset_id:  # the task ended without reviewing this one
                missing = task_message or "The review task has no result for it."
                reviewed.append(replace(held, status="failed", error_code=task_code or "ReviewMissing",
                                        error_message=missing))  # fmt: skip
                continue
            asset_status = self.status("asset", item, "status")
            if asset_status == "processing":  # still under review: keep the handle, the only way back to it
                reviewed.append(held)
                continue
            code, message = _error_fields(item.raw) if item.get("error") else (None, None)
            if asset_status == "failed" and not code:  # the documented partial failure names no per-asset reason
                code, message = task_code, task_message
            reviewed.append(replace(held, id=asset_id, status=asset_status, error_code=code, error_message=message))
        return reviewed

    # -- generation ------------------------------------------------------------------------

    def build_generate(self, request: GenerationRequest) -> httpx.Request:
        body: dict[str, Any] = {"model": self.model_for(request), "prompt": request.prompt,
                                "duration": request.duration, "size": request.ratio,  # APIMart's name for the ratio
                                "resolution": request.resolution} | options(request, OPTIONS)  # fmt: skip
        for uri, kind, role in sent_references(request):
            if kind == "Image":
                body.setdefault("image_with_roles", []).append({"url": uri, "role": role})
            else:  # videos and audios go by URL alone; their role is the kind's reference role
                body.setdefault(f"{kind.lower()}_urls", []).append(uri)
        return self.request("POST", GENERATIONS, json_body=body)

    def content_order(self, request: GenerationRequest) -> list[int | None]:
        return grouped_order(request)

    def parse_generate(self, response: httpx.Response) -> GenerationJob:
        task, _ = self._task(response)  # data: [{status: "submitted", task_id}]
        sent = sent_json(response)
        refs = [obj(i).get("url") for i in sent.get("image_with_roles") or []]
        refs += [u for key in ("image_urls", "video_urls", "audio_urls") for u in sent.get(key) or []]
        return GenerationJob(
            id=task.required("task_id", "id"),
            status=self.status("job", task, "status") if task.get("status") is not None else "queued",
            model=sent_text(sent.get("model")),
            references=tuple(r for r in refs if isinstance(r, str)),
            provider=self.name,
        )

    def build_get_job(self, job_id: str) -> httpx.Request:
        return self.request("GET", f"{TASKS}/{path_segment(job_id, 'job_id')}", retry=True)

    def parse_get_job(self, response: httpx.Response) -> GenerationJob:
        task, task_id = self._task(response)
        code, message = _error_fields(task.raw) if task.get("error") else (None, None)
        return GenerationJob(
            id=task_id,
            status=self.status("job", task, "status"),
            video_url=_video_url(task.obj("result")),
            model=task.text("model"),
            error_code=code,
            error_message=message,
            provider=self.name,
            # inferred: the last frame beside the video in `result`, usage beside the status (Ark's names).
            last_frame_url=task.obj("result").first_link("last_frame_url"),
            tokens=usage_tokens(task),
        )


def _items(result: Fields) -> list[Fields]:
    """Return the review's per-asset entries in submission order (``assets``, else usable + failed)."""
    if result.get("assets") is not None:
        return result.objects("assets")
    return result.objects("usable_assets") + result.objects("failed_assets")


def _video_url(result: Fields) -> str | None:
    # [3P] result.videos[0].url, where url is an array of strings (as image results are) or a string.
    return result.first_link("videos") or result.link("video_url") or result.link("url")


def _error_fields(body: Any) -> ErrorFields:
    """Return the code and message of ``{code, message|msg, error: {code, message}}``."""
    if not isinstance(body, dict):
        return ErrorFields(None, None)
    code, message = nested_error(body)
    if code is None and body.get("code") not in (None, 200, "200"):
        code = reason(body.get("code"))
    return ErrorFields(code, message or reason(body.get("message")) or reason(body.get("msg")))
