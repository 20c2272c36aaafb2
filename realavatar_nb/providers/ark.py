"""Upstream itself: BytePlus ModelArk (``byteplus``) and Volcengine Ark (``volcengine``), one adapter.

Two planes with two credentials (reference/upstream.md §1, §4):

* the asset library, ``POST <host>/?Action=<Action>&Version=2024-01-01`` with a PascalCase JSON body,
  signed with an access key pair (HMAC-SHA256, ``signing.sign``); answers come in
  ``{ResponseMetadata, Result}`` (a bare ``Result`` is read too), refusals as
  ``ResponseMetadata.Error{Code, Message}`` on a 4xx/5xx or on a 200;
* generation, Ark's ``/api/v3/contents/generations/tasks`` with ``Authorization: Bearer <Ark API key>``,
  refusals as ``{"error": {"code", "message", "type"}}``.

A missing credential is named where it is first needed, with where to get it. Every request carries
``ProjectName`` when a project is set: assets are isolated by project upstream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

import httpx

from .._config import Secret, Settings
from .._exceptions import AuthenticationError, MissingAPIKeyError, ProviderError
from .._models import GenerationJob, VerificationSession
from .._types import AssetStatus, VerificationStatus
from ..generation.request import GenerationRequest
from .base import (
    RETRY,
    UPSTREAM_ASSET_STATUSES,
    Adapter,
    ErrorFields,
    asset_kind,
    id_argument,
    path_segment,
    upstream_error,
)
from .base import reason as _reason
from .base import sent_json as _sent_json
from .signing import AccessKey, sign
from .upstream import UpstreamAdapter, ark_task, content_urls, error_fields

__all__ = ["Ark", "BytePlus", "Cloud", "Volcengine"]

VERSION: Final = "2024-01-01"
SERVICE: Final = "ark"
TASKS: Final = "/contents/generations/tasks"
# What to do about the refusals a signed call can meet (reference/upstream.md §3.13); {action}, {project}.
_ADVICE: Final = {
    "SignatureDoesNotMatch": "the signature did not match: check the secret key ({secret}) and this machine's "
    "clock (X-Date must be within 15 minutes of the server's).",
    # inferred: upstream's names for a stale X-Date are not documented; the emulator answers these.
    "RequestExpired": "the request's X-Date is too far from the server's time: set this machine's clock right "
    "(NTP); a request is valid 15 minutes.",
    "InvalidTimestamp": "the request's X-Date could not be read or is too far off: set this machine's clock right.",
    "InvalidAccessKeyId": "the access key id is unknown: check {access} (the pair comes from the console's "
    "IAM → Access keys).",
    "AccessDenied": "the key lacks ark:{action} on project {project!r}: grant it ArkFullAccess on that project "
    "(or a policy allowing ark:{action}) in the console's IAM.",
    "SubscriptionRequired": "the asset library is not activated on this account: activate it (Seedance 2.0 "
    "Advanced Creation Rights) in the ModelArk console.",
}


@dataclass(frozen=True)
class Cloud:
    """One upstream: where its two planes live and how requests to it are signed."""

    name: str
    region: str
    control_url: str
    data_url: str
    default_model: str
    console: str


BYTEPLUS: Final = Cloud("byteplus", "ap-southeast-1", "https://open.byteplusapi.com",
                        "https://ark.ap-southeast.bytepluses.com/api/v3", "dreamina-seedance-2-0-260128",
                        "console.byteplus.com")  # fmt: skip
VOLCENGINE: Final = Cloud("volcengine", "cn-beijing", "https://ark.cn-beijing.volcengineapi.com",
                          "https://ark.cn-beijing.volces.com/api/v3", "doubao-seedance-2-0-260128",
                          "console.volcengine.com")  # fmt: skip


class Ark(UpstreamAdapter):
    """Upstream's asset-library actions (signed) and Ark's generation tasks (Bearer)."""

    cloud: ClassVar[Cloud]
    verification_statuses: ClassVar[Mapping[str, VerificationStatus]] = {}  # a GroupId is the verdict
    asset_statuses: ClassVar[Mapping[str, AssetStatus]] = UPSTREAM_ASSET_STATUSES
    can_list_assets = True
    can_cancel_job = True
    can_list_jobs = True
    can_delete_asset = True
    can_delete_group = True
    reads_assets_by_list = True  # inferred: upstream's GetAsset may miss LivenessFace assets as Anyfast's does

    def __init__(
        self,
        base_url: str | None,
        api_key: Secret | None,
        *,
        access_key: AccessKey | None = None,
        project: str | None = None,
        data_url: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(base_url, api_key or Secret(""))
        self.access_key = access_key
        self.project = project
        self.data_url = (data_url or self.cloud.data_url).rstrip("/")
        self.clock = clock

    @classmethod
    def configured(cls, base_url: str | None, key: Secret | None, settings: Settings) -> Adapter:
        """Return the adapter for ``settings``: the access key pair, the project and Ark's root and key."""
        access = None
        if settings.access_key_id and settings.secret_key:
            access = AccessKey(settings.access_key_id, settings.secret_key, settings.session_token)
        return cls(base_url or settings.base_url, key or settings.api_key, access_key=access, project=settings.project,
                   data_url=settings.data_url)  # fmt: skip

    # -- requests and errors --------------------------------------------------------------

    def action(self, name: str, body: Mapping[str, Any], *, retry: bool = False) -> httpx.Request:
        """Return the signed ``POST /?Action=name&Version=2024-01-01`` with ``body`` (and the project)."""
        if self.access_key is None:
            upper = self.cloud.name.upper()
            raise MissingAPIKeyError(
                self.name, (f"REALAVATAR_{upper}_ACCESS_KEY", f"REALAVATAR_{upper}_SECRET_KEY"),
                credential="access key pair", argument="access_key=(id, secret) to ra.AsyncClient",
                where=f"the asset library signs with it; create one at {self.cloud.console}, IAM → Access keys",
            )  # fmt: skip
        payload = {**body, "ProjectName": self.project} if self.project else dict(body)
        request = httpx.Request("POST", f"{self.base_url}/", params={"Action": name, "Version": VERSION},
                                json=payload)  # fmt: skip
        request.extensions[RETRY] = retry
        return sign(request, self.access_key, region=self.cloud.region, service=SERVICE, now=self.clock())

    def task_request(self, method: str, path: str, *, json_body: Any = None, params: Any = None,
                     retry: bool = False) -> httpx.Request:  # fmt: skip
        """Return a request to Ark's generation API, with the Ark API key as a Bearer token."""
        if not self.api_key:
            upper = self.cloud.name.upper()
            raise MissingAPIKeyError(
                self.name, (f"REALAVATAR_{upper}_API_KEY",), credential="Ark API key",
                where=f"generation takes it, not the access key pair; create one at {self.cloud.console}, "
                f"ModelArk → API keys",
            )  # fmt: skip
        request = httpx.Request(method, self.data_url + path, params=params, json=json_body,
                                headers={"authorization": f"Bearer {self.api_key.reveal()}"})  # fmt: skip
        request.extensions[RETRY] = retry
        return request

    def error_from(self, response: httpx.Response, body: Any) -> ProviderError | None:
        """Return the error in an answer: any 4xx/5xx, or upstream's ``Error`` in a 200, with what to do."""
        _, (code, message), request_id = error_fields(body)
        # Only the control plane's ResponseMetadata.Error refuses in a 200: a task's own `error` is its failure.
        status = self.refusal_status(response, code, refused=upstream_error(body) is not None)
        if status is None:
            return None
        text = message or response.reason_phrase or "request refused"
        advice = self._advice(code, _request_of(response))
        if advice:
            text = f"{text}; {advice}"
        if code and code not in text:
            text = f"{code}: {text}"
        error = self.refusal(response, body, status=status, error=ErrorFields(code, text), request_id=request_id)
        if isinstance(error, AuthenticationError) and advice:
            error.args = (f"{self.name}: {text}",)  # not "refused the API key": the pair, a grant or a plan
        return error

    def _advice(self, code: str | None, request: httpx.Request | None) -> str | None:
        template = _ADVICE.get((code or "").split(".")[0])
        if template is None:
            return None
        upper = self.cloud.name.upper()
        action = request.url.params.get("Action") if request is not None else None
        return template.format(
            action=action or "<the action>", project=self.project or "default",
            access=f"REALAVATAR_{upper}_ACCESS_KEY", secret=f"REALAVATAR_{upper}_SECRET_KEY",
        )  # fmt: skip

    # -- liveness --------------------------------------------------------------------------

    def build_create_verification(
        self, *, callback_url: str | None, biz_id: str | None, locale: str | None, project: str | None = None
    ) -> httpx.Request:
        return self.action("CreateVisualValidateSession", self.session_body(callback_url, project))

    def build_get_verification(self, session: VerificationSession, *, result_code: str | None) -> httpx.Request:
        return self.action("GetVisualValidateResult", {"BytedToken": session.byted_token.reveal()}, retry=True)

    # -- assets ----------------------------------------------------------------------------

    def build_upload(self, *, group_id: str, url: str, asset_type: str, name: str | None) -> httpx.Request:
        body = {"GroupId": id_argument(group_id, "group_id"), "URL": url, "AssetType": asset_kind(asset_type)}
        if name:
            body["Name"] = name
        return self.action("CreateAsset", body)

    def build_get_asset(self, asset_id: str) -> httpx.Request:
        return self.action("GetAsset", {"Id": id_argument(asset_id, "asset_id")}, retry=True)

    def build_list_assets(self, group_id: str, *, page: int = 1) -> httpx.Request:
        body = {
            "Filter": {"GroupIds": [id_argument(group_id, "group_id")]},
            "PageNumber": page,
            "PageSize": self.page_size,
        }
        return self.action("ListAssets", body, retry=True)

    def build_delete_asset(self, asset_id: str) -> httpx.Request:
        # Deleting twice deletes nothing more: a lost answer may be sent again (it then reads NotFound).
        return self.action("DeleteAsset", {"Id": id_argument(asset_id, "asset_id")}, retry=True)

    def build_delete_group(self, group_id: str) -> httpx.Request:
        return self.action("DeleteAssetGroup", {"Id": id_argument(group_id, "group_id")}, retry=True)

    # -- generation ------------------------------------------------------------------------

    def build_generate(self, request: GenerationRequest) -> httpx.Request:
        return self.task_request("POST", TASKS, json_body=ark_task(request, self.model_for(request)))

    def parse_generate(self, response: httpx.Response) -> GenerationJob:
        job_id = self.fields(self.check(response), "").required("id")
        sent = _sent_json(response)
        return GenerationJob(id=job_id, status="queued", model=_reason(sent.get("model")),
                             references=content_urls(sent), provider=self.name)  # fmt: skip

    def build_get_job(self, job_id: str) -> httpx.Request:
        return self.task_request("GET", f"{TASKS}/{path_segment(job_id, 'job_id')}", retry=True)

    def parse_get_job(self, response: httpx.Response) -> GenerationJob:
        return self.ark_job(self.fields(self.check(response), ""))

    def build_cancel_job(self, job_id: str) -> httpx.Request:
        # DELETE cancels a queued task (and deletes a finished one's record): a lost answer may be sent again.
        return self.task_request("DELETE", f"{TASKS}/{path_segment(job_id, 'job_id')}", retry=True)

    def build_list_jobs(self, page: int, page_size: int, status: str | None, model: str | None) -> httpx.Request:
        params = {"page_num": page, "page_size": page_size, "filter.status": status, "filter.model": model}
        return self.task_request("GET", TASKS, params={k: v for k, v in params.items() if v is not None}, retry=True)

    def parse_list_jobs(self, response: httpx.Response) -> tuple[list[GenerationJob], int]:
        body = self.fields(self.check(response), "")
        total = body.get("total")
        jobs = [self.ark_job(task) for task in body.objects("items")]
        return jobs, total if isinstance(total, int) and not isinstance(total, bool) else len(jobs)


def _request_of(response: httpx.Response) -> httpx.Request | None:
    try:
        return response.request
    except RuntimeError:  # a response built by hand, with no request
        return None


class BytePlus(Ark):
    """BytePlus ModelArk (international): region ap-southeast-1."""

    name = "byteplus"
    cloud = BYTEPLUS
    default_base_url = BYTEPLUS.control_url
    default_model = BYTEPLUS.default_model


class Volcengine(Ark):
    """Volcengine Ark (China): region cn-beijing."""

    name = "volcengine"
    cloud = VOLCENGINE
    default_base_url = VOLCENGINE.control_url
    default_model = VOLCENGINE.default_model
