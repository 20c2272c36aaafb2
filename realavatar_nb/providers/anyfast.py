"""Anyfast (docs.anyfast.ai): Bearer; BytePlus asset actions in PascalCase with no envelope.

Every ``/volc/asset/<Action>`` is a POST with a JSON body answering upstream's ``Result`` bare
(an enveloped ``{ResponseMetadata, Result}`` is unwrapped too). Refusals come with real 4xx statuses
in a gateway's three shapes (``{error: {type, code, message}}``; ``{code, message, data: null}`` whose
message is the relayed upstream refusal as a JSON string; ``{code, message}``) or upstream's
``ResponseMetadata.Error``, all read by ``upstream.error_fields``. A real-person asset is read through
ListAssets (``reads_assets_by_list``): GetAsset answers ``[NotFound.asset_id]`` in a LivenessFace
group. CreateAsset also takes a multipart form (``build_upload_file``), an explicit choice only: such
assets were seen never to become usable live, while the same files sent by URL went Active.
Generation is Ark-native at ``/v1/video/generations``, polled through new-api's task envelope
``{code: "success", message, data}`` (reference/providers.md §5).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Final

import httpx

from .._exceptions import ConfigurationError, ProviderError
from .._models import GenerationJob, VerificationSession
from .._types import AssetStatus, JobStatus, VerificationStatus
from ..generation.request import GenerationRequest
from .base import NEW_API_JOB_STATUSES, ErrorFields, id_argument, path_segment
from .base import reason as _reason
from .base import sent_json as _sent_json
from .base import sent_text as _sent_text
from .upstream import ARK_JOB_STATUSES, UpstreamAdapter, ark_task, content_urls, error_fields

__all__ = ["Anyfast"]

A: Final = "/volc/asset"
GENERATIONS: Final = "/v1/video/generations"
MODEL_OF_TYPE: Final = {"Image": "volc-asset", "Video": "volc-asset-video", "Audio": "volc-asset-audio"}


class Anyfast(UpstreamAdapter):
    """Anyfast's ``/volc/asset`` actions (Byteplus-Direct token) and Seedance 2.0 generation."""

    name = "anyfast"
    default_base_url = "https://www.anyfast.ai"
    # No status field: a non-empty GroupId is verified; failed/expired arrive as errors (parse_get_verification).
    verification_statuses: ClassVar[Mapping[str, VerificationStatus]] = {}
    # The GetAsset schema lists Active/Inactive, the guides wait for Active and report FaceMismatch:
    # Inactive is "not usable yet" (processing), unless an Error rides along (then failed; see asset_from).
    asset_statuses: ClassVar[Mapping[str, AssetStatus]] = {
        "Processing": "processing",
        "Active": "active",
        "Failed": "failed",
        "Inactive": "processing",
    }
    # new-api's task spellings in the envelope; Ark's own lower-case ones if a bare Ark task arrives.
    job_statuses: ClassVar[Mapping[str, JobStatus]] = {**NEW_API_JOB_STATUSES, **ARK_JOB_STATUSES}
    default_model = "seedance"  # inferred: only `seedance-fast` is documented
    can_list_assets = True
    can_delete_asset = True
    can_upload_file = True  # multipart CreateAsset: build_upload_file
    # reported: OpenMontage tools/video/_anyfast.py (GetAsset resolves AIGC assets only; the list finds
    # a LivenessFace group's assets and alone carries their Error{Code, Message})
    reads_assets_by_list = True

    # -- errors ----------------------------------------------------------------------------

    def error_from(self, response: httpx.Response, body: Any) -> ProviderError | None:
        """Return the error in an answer: any 4xx/5xx, or an upstream ``Error`` / non-success code in a 200."""
        found, (code, message), request_id = error_fields(body)
        status = self.refusal_status(response, code, refused=found)
        if status is None:
            return None
        text = message or response.reason_phrase or "request refused"
        if code and code not in text:
            text = f"{code}: {text}"
        if code == "NotFound.group_id":
            # reported: OpenMontage tools/video/_anyfast.py (a duplicate Name answers 404 as if the group were missing)
            text += " If the group exists, the asset's Name may duplicate another in the group: use another name."
        return self.refusal(response, body, status=status, error=ErrorFields(code, text), request_id=request_id)

    # -- liveness --------------------------------------------------------------------------

    def build_create_verification(
        self, *, callback_url: str | None, biz_id: str | None, locale: str | None, project: str | None = None
    ) -> httpx.Request:
        # reported: OpenMontage tools/video/_anyfast.py (without CallbackURL the session is refused, though
        # the published schema marks it optional); the result is polled with the token either way.
        body = self.session_body(callback_url, project)
        return self.request("POST", f"{A}/CreateVisualValidateSession", json_body=body)

    def build_get_verification(self, session: VerificationSession, *, result_code: str | None) -> httpx.Request:
        # No result_code field: the answer alone says whether the session passed.
        body = {"BytedToken": session.byted_token.reveal()}
        return self.request("POST", f"{A}/GetVisualValidateResult", json_body=body, retry=True)

    # -- assets ----------------------------------------------------------------------------

    def build_upload(self, *, group_id: str, url: str, asset_type: str, name: str | None) -> httpx.Request:
        kind = _asset_type(asset_type)
        body = {"model": MODEL_OF_TYPE[kind], "GroupId": id_argument(group_id, "group_id")}
        if name:
            body["Name"] = name
        body |= {"AssetType": kind, "URL": url}
        return self.request("POST", f"{A}/CreateAsset", json_body=body)

    def build_upload_file(
        self,
        group_id: str,
        path_or_bytes: str | os.PathLike[str] | bytes,
        filename: str | None = None,
        asset_type: str = "Image",
        name: str | None = None,
    ) -> httpx.Request:
        """Return CreateAsset as a multipart form (``model``, ``file``, ``GroupId``, ``Name``) for a local file.

        The answer is parsed by ``parse_upload``. The file is read here, whole (uploads are capped at 64 MB).
        The client sends it only when asked (``upload="multipart"``): such assets were accepted with an
        Id but never became usable live, while the same files ingested by URL went Active.
        """
        kind = _asset_type(asset_type)
        fields = {"model": MODEL_OF_TYPE[kind], "GroupId": id_argument(group_id, "group_id"), "AssetType": kind}
        if isinstance(path_or_bytes, bytes):
            content, filename = path_or_bytes, filename or "upload"
        else:
            path = Path(path_or_bytes)
            content, filename = path.read_bytes(), filename or path.name
        if name:
            fields["Name"] = name
        return self.request("POST", f"{A}/CreateAsset", data=fields, files={"file": (filename, content)})

    def build_get_asset(self, asset_id: str) -> httpx.Request:
        body = {"Id": id_argument(asset_id, "asset_id")}
        return self.request("POST", f"{A}/GetAsset", json_body=body, retry=True)

    def build_list_assets(self, group_id: str, *, page: int = 1) -> httpx.Request:
        # reported: OpenMontage tools/video/_anyfast.py (the list finds a real-person asset filtered by its
        # group and GroupType LivenessFace; the client's groups all come from a verification)
        body = {"model": MODEL_OF_TYPE["Image"], "PageNumber": page, "PageSize": self.page_size,
                "Filter": {"GroupIds": [id_argument(group_id, "group_id")], "GroupType": "LivenessFace"}}  # fmt: skip
        return self.request("POST", f"{A}/ListAssets", json_body=body, retry=True)

    def build_delete_asset(self, asset_id: str) -> httpx.Request:
        # `model` defaults to volc-asset upstream; the asset's type is not known here.
        # Deleting twice deletes nothing more, so a delete may be retried (a lost answer then reads 404).
        body = {"Id": id_argument(asset_id, "asset_id"), "model": MODEL_OF_TYPE["Image"]}
        return self.request("POST", f"{A}/DeleteAsset", json_body=body, retry=True)

    # -- generation ------------------------------------------------------------------------

    def build_generate(self, request: GenerationRequest) -> httpx.Request:
        return self.request("POST", GENERATIONS, json_body=ark_task(request, self.model_for(request)))

    def parse_generate(self, response: httpx.Response) -> GenerationJob:
        body = self.fields(self.check(response), "")
        # inferred: the create answer was not visible; the task id is looked for where new-api
        # gateways put it: data.task_id, data.id, data itself (a string), task_id, id.
        if isinstance(body.get("data"), str):
            task, job_id = body, body.required("data")
        else:
            data = body.obj("data")
            task = body if body.has("task_id", "id") and not data.has("task_id", "id") else data
            job_id = task.required("task_id", "id")
        holder = task if task.get("status") else body
        sent = _sent_json(response)
        refs = content_urls(sent)
        status = self.status_or("job", holder, "status", "queued")
        return GenerationJob(id=job_id, status=status, model=_sent_text(sent.get("model")), references=refs,
                             provider=self.name)  # fmt: skip

    def build_get_job(self, job_id: str) -> httpx.Request:
        return self.request("GET", f"{GENERATIONS}/{path_segment(job_id, 'job_id')}", retry=True)

    def parse_get_job(self, response: httpx.Response) -> GenerationJob:
        body = self.fields(self.check(response), "")
        # The envelope's data (a bare Ark task is read as is); its own `data` is the upstream
        # Ark task (content.video_url, error, model).
        task = body.obj("data") or body
        job = self.ark_job(task.obj("data") or task, holder=task)
        video = task.link("result_url") or job.video_url
        message = _reason(task.get("fail_reason")) or job.error_message
        return replace(job, video_url=video, error_message=message)


def _asset_type(asset_type: str) -> str:
    kind = str(asset_type).capitalize()
    if kind not in MODEL_OF_TYPE:
        raise ConfigurationError(f"asset_type must be Image, Video or Audio, not {asset_type!r}.")
    return kind
