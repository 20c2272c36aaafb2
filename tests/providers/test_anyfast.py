"""Anyfast's adapter: requests as documented, answers parsed (reference/providers.md §5), and a round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from realavatar_nb._config import Secret, fingerprint
from realavatar_nb._exceptions import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    ServerError,
    UnknownStatusError,
    UnsupportedOperationError,
)
from realavatar_nb._models import Asset, VerificationSession
from realavatar_nb.providers import get
from realavatar_nb.providers.anyfast import Anyfast
from realavatar_nb.providers.upstream import NO_CALLBACK
from realavatar_nb.samples import make_image
from realavatar_nb.simulator import SimConfig, create_app

from .conftest import SANDBOX, Emulator, drive, form, generation, respond, retryable, sent

BASE = "https://www.anyfast.ai"
A = f"{BASE}/volc/asset"
KEY = "af-secret-key-456"
TOKEN = "2026070222152680501D985EA34A3BE3D8"
GROUP = "group-20260702221642-5czvq"
ASSET = "asset-20260702223855-bdv2r"
TASK = "asyntask_0123456789abcdef0123456789abcdef"
H5 = f"https://www.byteplus.com/en/liveness-face-manage/authorization?pl=abc&bytedToken={TOKEN}"


@pytest.fixture
def af() -> Anyfast:
    return Anyfast(None, Secret(KEY))


def upstream_error(code: str, message: str, action: str = "GetAsset") -> dict[str, Any]:
    """Return upstream's refusal: ``ResponseMetadata.Error`` and no ``Result``."""
    metadata = {"RequestId": "20260521162915DFB89755D1A21AAE8036", "Action": action, "Version": "2024-01-01",
                "Service": "ark", "Region": "ap-southeast-1", "Error": {"Code": code, "Message": message}}  # fmt: skip
    return {"ResponseMetadata": metadata}


def session(af: Anyfast) -> VerificationSession:
    request = af.build_create_verification(callback_url="https://example.com/callback", biz_id=None, locale=None,
                                           project=None)  # fmt: skip
    answer = {"BytedToken": TOKEN, "CallbackURL": "https://example.com/callback", "H5Link": H5}
    return af.parse_create_verification(respond(request, 200, answer), callback_url=None)


def asset_data(**data: Any) -> dict[str, Any]:
    example = {"Id": ASSET, "Name": "portrait-front", "URL": "https://ark-media-asset.tos-cn-beijing.volces.com/x.jpg",
               "AssetType": "Image", "GroupId": GROUP, "Status": "Active", "ProjectName": "default",
               "CreateTime": "2026-07-02T22:38:55Z", "UpdateTime": "2026-07-02T22:38:59Z"}  # fmt: skip
    return {**example, **data}


def ref(asset_id: str = ASSET, asset_type: str = "Image") -> Asset:
    return Asset(id=asset_id, group_id=GROUP, status="active", asset_type=asset_type)


def verification_after(af: Anyfast, status: int, body: Any) -> tuple[str, str | None, str | None]:
    s = session(af)
    v = af.parse_get_verification(respond(af.build_get_verification(s, result_code=None), status, body), s)
    return v.status, v.group_id, v.result_code


# -- the class ----------------------------------------------------------------------------


def test_registry_names_the_class_and_its_capabilities() -> None:
    assert get("anyfast") is Anyfast
    assert (Anyfast.can_list_assets, Anyfast.can_delete_asset, Anyfast.can_delete_group) == (True, True, False)
    assert Anyfast.default_model == "seedance"


def test_there_is_no_group_delete(af: Anyfast) -> None:
    with pytest.raises(UnsupportedOperationError):
        af.build_delete_group(GROUP)


def test_the_key_goes_only_into_the_bearer_header(af: Anyfast) -> None:
    request = af.build_get_asset(ASSET)
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in repr(af.api_key) and KEY not in f"{af.api_key}" and KEY not in repr(vars(af))


# -- liveness -----------------------------------------------------------------------------


def test_create_session_posts_the_pascal_case_callback_and_is_not_retryable(af: Anyfast) -> None:
    request = af.build_create_verification(callback_url="https://example.com/callback", biz_id=None, locale=None,
                                           project=None)  # fmt: skip
    assert (request.method, str(request.url)) == ("POST", f"{A}/CreateVisualValidateSession")
    assert sent(request) == {"CallbackURL": "https://example.com/callback"}
    assert not retryable(request)
    # Refused live without one: a neutral callback goes when the caller names none, and is not echoed back.
    neutral = af.build_create_verification(callback_url=None, biz_id=None, locale=None, project=None)
    assert sent(neutral) == {"CallbackURL": NO_CALLBACK}
    answer = {"BytedToken": TOKEN, "CallbackURL": NO_CALLBACK, "H5Link": H5}
    assert af.parse_create_verification(respond(neutral, 200, answer), callback_url=None).callback_url is None


def test_session_is_named_by_the_tokens_fingerprint_and_expires_120_s_after_creation(af: Anyfast) -> None:
    before = datetime.now(UTC)
    s = session(af)
    assert (s.id, s.byted_token.reveal(), s.h5_link.reveal(), s.provider) == (fingerprint(TOKEN), TOKEN, H5, "anyfast")
    assert TOKEN not in s.id and TOKEN not in repr(s)
    assert s.callback_url == "https://example.com/callback"
    assert s.expires_at - s.created_at == timedelta(seconds=120) and s.created_at >= before
    assert "byteplus.com" not in repr(s) and "bytedToken" not in repr(s)


def test_session_in_upstreams_full_envelope_and_escaped_link_is_read_too(af: Anyfast) -> None:
    request = af.build_create_verification(callback_url=None, biz_id=None, locale=None, project=None)
    answer = {"ResponseMetadata": {"RequestId": "r", "Action": "CreateVisualValidateSession"},
              "Result": {"BytedToken": TOKEN, "H5Link": H5.replace("&", "\\u0026"), "CallbackURL": ""}}  # fmt: skip
    s = af.parse_create_verification(respond(request, 200, answer), callback_url="https://mine.example/cb")
    assert s.id == fingerprint(TOKEN) and s.h5_link.reveal() == H5 and s.callback_url == "https://mine.example/cb"


def test_result_query_posts_the_token_and_is_a_read(af: Anyfast) -> None:
    request = af.build_get_verification(session(af), result_code="10000")
    assert (request.method, str(request.url)) == ("POST", f"{A}/GetVisualValidateResult")
    assert sent(request) == {"BytedToken": TOKEN}
    assert retryable(request)


def test_a_group_id_means_verified_and_an_empty_one_pending(af: Anyfast) -> None:
    assert verification_after(af, 200, {"GroupId": GROUP}) == ("verified", GROUP, None)
    assert verification_after(af, 200, {"GroupId": ""}) == ("pending", None, None)
    assert verification_after(af, 200, {"Result": {"GroupId": GROUP}}) == ("verified", GROUP, None)


def test_a_token_refusal_saying_failed_is_a_failed_verification(af: Anyfast) -> None:
    body = upstream_error("InvalidParameter.BytedToken",
                          "Visual validation failed (resultCode 10001); create a new session.",
                          "GetVisualValidateResult")  # fmt: skip
    assert verification_after(af, 400, body) == ("failed", None, "10001")


def test_a_token_refusal_saying_expired_is_an_expired_verification(af: Anyfast) -> None:
    body = upstream_error("InvalidParameter.BytedToken",
                          "The H5 link expired before verification finished; create a new session.",
                          "GetVisualValidateResult")  # fmt: skip
    assert verification_after(af, 400, body) == ("expired", None, None)


def test_other_token_refusals_are_raised(af: Anyfast) -> None:
    body = upstream_error("MissingParameter.BytedToken", "BytedToken is required.", "GetVisualValidateResult")
    with pytest.raises(InvalidRequestError) as caught:
        verification_after(af, 400, body)
    assert caught.value.code == "MissingParameter.BytedToken"
    body = upstream_error("InvalidParameter.BytedToken", "BytedToken is malformed.", "GetVisualValidateResult")
    with pytest.raises(InvalidRequestError):
        verification_after(af, 400, body)
    with pytest.raises(NotFoundError):
        verification_after(af, 404, upstream_error("NotFound.byted_token", "not found", "GetVisualValidateResult"))


# -- assets -------------------------------------------------------------------------------


def test_create_asset_sends_the_guide_example_body(af: Anyfast) -> None:
    request = af.build_upload(group_id=GROUP, url="https://example.com/portrait.jpg", asset_type="Image",
                              name="portrait-front")  # fmt: skip
    assert (request.method, str(request.url)) == ("POST", f"{A}/CreateAsset")
    assert sent(request) == {"model": "volc-asset", "GroupId": GROUP, "Name": "portrait-front", "AssetType": "Image",
                             "URL": "https://example.com/portrait.jpg"}  # fmt: skip
    assert list(sent(request)) == ["model", "GroupId", "Name", "AssetType", "URL"]
    assert not retryable(request)


@pytest.mark.parametrize(("kind", "model"), [("Video", "volc-asset-video"), ("Audio", "volc-asset-audio")])
def test_create_asset_picks_the_model_by_type(af: Anyfast, kind: str, model: str) -> None:
    request = af.build_upload(group_id=GROUP, url="https://example.com/f", asset_type=kind, name=None)
    assert sent(request) == {"model": model, "GroupId": GROUP, "AssetType": kind, "URL": "https://example.com/f"}


def test_create_asset_refuses_an_unknown_type_before_sending(af: Anyfast) -> None:
    with pytest.raises(ConfigurationError):
        af.build_upload(group_id=GROUP, url="https://example.com/f", asset_type="Document", name=None)


def test_create_asset_answer_is_a_processing_asset(af: Anyfast) -> None:
    request = af.build_upload(group_id=GROUP, url="https://example.com/p.jpg", asset_type="Image", name="front")
    [asset] = af.parse_upload(respond(request, 200, {"Id": ASSET}), group_id=GROUP, source="faces/p.jpg")
    assert (asset.id, asset.group_id, asset.status, asset.source) == (ASSET, GROUP, "processing", "faces/p.jpg")
    assert (asset.name, asset.asset_type) == ("front", "Image")


def test_multipart_upload_carries_model_file_group_and_name(af: Anyfast, tmp_path: Path) -> None:
    request = af.build_upload_file(GROUP, b"\x89PNG-bytes", filename="me.png", asset_type="Image", name="front")
    assert (request.method, str(request.url), retryable(request)) == ("POST", f"{A}/CreateAsset", False)
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert form(request) == {
        "model": (None, b"volc-asset"),
        "GroupId": (None, GROUP.encode()),
        "AssetType": (None, b"Image"),
        "Name": (None, b"front"),
        "file": ("me.png", b"\x89PNG-bytes"),
    }
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    parts = form(af.build_upload_file(GROUP, clip, asset_type="Video"))
    assert parts["model"] == (None, b"volc-asset-video") and parts["file"] == ("clip.mp4", clip.read_bytes())
    assert "Name" not in parts
    [asset] = af.parse_upload(respond(request, 200, {"Id": ASSET}), group_id=GROUP, source=str(clip))
    assert (asset.id, asset.status) == (ASSET, "processing")


def test_get_asset_posts_the_id_and_is_a_read(af: Anyfast) -> None:
    request = af.build_get_asset(ASSET)
    assert (request.method, str(request.url), sent(request), retryable(request)) == (
        "POST",
        f"{A}/GetAsset",
        {"Id": ASSET},
        True,
    )
    asset = af.parse_get_asset(respond(request, 200, asset_data()))
    assert (asset.id, asset.group_id, asset.status, asset.name, asset.asset_type) == (
        ASSET,
        GROUP,
        "active",
        "portrait-front",
        "Image",
    )


@pytest.mark.parametrize(
    ("raw", "error", "neutral"),
    [
        ("Processing", None, "processing"),
        ("Active", None, "active"),
        ("Failed", {"Code": "FaceMismatch", "Message": "Face consistency verification failed."}, "failed"),
        ("Inactive", None, "processing"),
        ("Inactive", {"Code": "FaceMismatch", "Message": "Face consistency verification failed."}, "failed"),
    ],
)
def test_asset_statuses_map_with_inactive_read_as_not_yet_usable(
    af: Anyfast, raw: str, error: dict[str, str] | None, neutral: str
) -> None:
    data = asset_data(Status=raw, **({"Error": error} if error else {}))
    asset = af.parse_get_asset(respond(af.build_get_asset(ASSET), 200, data))
    assert asset.status == neutral
    assert asset.error_code == (error or {}).get("Code")


def test_an_unknown_asset_status_stops_polling(af: Anyfast) -> None:
    with pytest.raises(UnknownStatusError) as caught:
        af.parse_get_asset(respond(af.build_get_asset(ASSET), 200, asset_data(Status="Archived")))
    assert caught.value.kind == "asset"


def test_list_assets_filters_by_group_and_pages_by_total_count(af: Anyfast) -> None:
    request = af.build_list_assets(GROUP)
    assert (request.method, str(request.url), retryable(request)) == ("POST", f"{A}/ListAssets", True)
    assert sent(request) == {"model": "volc-asset", "PageNumber": 1, "PageSize": 100,
                             "Filter": {"GroupIds": [GROUP], "GroupType": "LivenessFace"}}  # fmt: skip
    items = [asset_data(Id=f"asset-20260702223855-{i:05d}") for i in range(100)]
    answer = {"PageNumber": 1, "PageSize": 100, "TotalCount": 230, "Items": items}
    assets, more = af.parse_list_assets(respond(request, 200, answer))
    assert len(assets) == 100 and more
    last = af.build_list_assets(GROUP, page=3)
    assert sent(last)["PageNumber"] == 3
    answer = {"PageNumber": 3, "PageSize": 100, "TotalCount": 230, "Items": items[:30]}
    assert af.parse_list_assets(respond(last, 200, answer))[1] is False


def test_delete_asset_posts_id_and_model(af: Anyfast) -> None:
    request = af.build_delete_asset(ASSET)
    assert (request.method, str(request.url), retryable(request)) == ("POST", f"{A}/DeleteAsset", True)
    assert sent(request) == {"Id": ASSET, "model": "volc-asset"}
    assert af.check(respond(request, 200, {"Id": ASSET, "Deleted": True})) == {"Id": ASSET, "Deleted": True}


# -- generation ---------------------------------------------------------------------------


def test_generate_sends_an_ark_native_body_with_roles(af: Anyfast) -> None:
    refs = [ref(), ref("asset-v", "Video"), ref("asset-a", "Audio")]
    request = af.build_generate(generation(*refs, prompt="Image 1 walks on the moon"))
    assert (request.method, str(request.url), retryable(request)) == ("POST", f"{BASE}/v1/video/generations", False)
    assert sent(request) == {
        "model": "seedance",
        "content": [
            {"type": "text", "text": "Image 1 walks on the moon"},
            {"type": "image_url", "image_url": {"url": f"asset://{ASSET}"}, "role": "reference_image"},
            {"type": "video_url", "video_url": {"url": "asset://asset-v"}, "role": "reference_video"},
            {"type": "audio_url", "audio_url": {"url": "asset://asset-a"}, "role": "reference_audio"},
        ],
        "ratio": "16:9",
        "duration": 5,
        "resolution": "720p",
    }
    fast = af.build_generate(
        generation(ref(), model="seedance-fast", duration=4, ratio="9:16", resolution="480p", seed=7)
    )
    assert (sent(fast)["model"], sent(fast)["seed"]) == ("seedance-fast", 7)


@pytest.mark.parametrize(
    "answer",
    [
        {"code": "success", "message": "", "data": {"task_id": TASK}},
        {"code": "success", "data": {"id": TASK, "status": "QUEUED"}},
        {"code": "success", "data": TASK},
        {"task_id": TASK},
        {"id": TASK, "status": "queued"},
    ],
    ids=["data.task_id", "data.id", "data-string", "task_id", "id"],
)
def test_generate_answer_yields_the_task_id_wherever_it_is(af: Anyfast, answer: dict[str, Any]) -> None:
    request = af.build_generate(generation(ref()))
    job = af.parse_generate(respond(request, 200, answer))
    assert (job.id, job.status, job.model, job.references) == (TASK, "queued", "seedance", (f"asset://{ASSET}",))


def test_generate_answer_without_a_task_id_is_malformed_naming_it(af: Anyfast) -> None:
    request = af.build_generate(generation())
    with pytest.raises(MalformedResponseError) as caught:
        af.parse_generate(respond(request, 200, {"code": "success", "data": {}}))
    assert caught.value.field == "data.task_id"


def task(status: str, **data: Any) -> dict[str, Any]:
    """Return the task-query envelope from providers.md §5 with ``status``."""
    video = "https://cdn.anyfast.ai/v/1.mp4?sig=1"
    done = status == "SUCCESS"
    inner = {"id": "cgt-20260702224000-abcde", "model": "doubao-seedance-2-0-260128",
             "status": {"SUCCESS": "succeeded", "FAILURE": "failed"}.get(status, "running"),
             "duration": 5, "ratio": "16:9", "resolution": "720p"}  # fmt: skip
    if done:
        inner["content"] = {"video_url": video}
    body = {"task_id": TASK, "action": "referenceGenerate", "status": status, "result_url": video if done else "",
            "original_result_url": video if done else "", "fail_reason": "", "submit_time": 1782000000,
            "start_time": 1782000001, "finish_time": 1782000060 if done else 0, "progress": "100%" if done else "30%",
            "request_id": "20260702224000ABCDEF0123456789ABCDEF", "data": inner}  # fmt: skip
    return {"code": "success", "message": "", "data": {**body, **data}}


def test_get_job_is_a_read(af: Anyfast) -> None:
    request = af.build_get_job(TASK)
    assert (request.method, str(request.url), retryable(request)) == (
        "GET",
        f"{BASE}/v1/video/generations/{TASK}",
        True,
    )


@pytest.mark.parametrize(
    ("raw", "neutral"),
    [("NOT_START", "queued"), ("QUEUED", "queued"), ("IN_PROGRESS", "running"), ("SUCCESS", "succeeded")],
)
def test_task_statuses_map_to_neutral_ones(af: Anyfast, raw: str, neutral: str) -> None:
    job = af.parse_get_job(respond(af.build_get_job(TASK), 200, task(raw)))
    assert (job.id, job.status, job.provider) == (TASK, neutral, "anyfast")
    assert (job.video_url is not None) == (raw == "SUCCESS")


def test_a_succeeded_task_reads_result_url_then_the_upstream_content(af: Anyfast) -> None:
    job = af.parse_get_job(respond(af.build_get_job(TASK), 200, task("SUCCESS")))
    assert job.video_url == "https://cdn.anyfast.ai/v/1.mp4?sig=1" and job.model == "doubao-seedance-2-0-260128"
    body = task("SUCCESS", result_url="")
    body["data"]["data"]["content"] = {"video_url": "https://ark.example/upstream.mp4"}
    assert af.parse_get_job(respond(af.build_get_job(TASK), 200, body)).video_url == "https://ark.example/upstream.mp4"


def test_a_failed_task_carries_its_reason(af: Anyfast) -> None:
    body = task("FAILURE", fail_reason="OutputVideoSensitiveContentDetected: blocked")
    body["data"]["data"]["error"] = {"code": "OutputVideoSensitiveContentDetected", "message": "blocked"}
    job = af.parse_get_job(respond(af.build_get_job(TASK), 200, body))
    assert (job.status, job.video_url, job.error_code) == ("failed", None, "OutputVideoSensitiveContentDetected")
    assert job.error_message == "OutputVideoSensitiveContentDetected: blocked"


def test_an_unknown_task_status_stops_polling(af: Anyfast) -> None:
    with pytest.raises(UnknownStatusError) as caught:
        af.parse_get_job(respond(af.build_get_job(TASK), 200, task("UNKNOWN")))
    assert (caught.value.status, caught.value.kind) == ("UNKNOWN", "job")


# -- errors -------------------------------------------------------------------------------


def test_upstream_401_is_an_authentication_error(af: Anyfast) -> None:
    with pytest.raises(AuthenticationError) as caught:
        af.parse_get_asset(respond(af.build_get_asset(ASSET), 401, upstream_error("AuthenticationError", "bad key")))
    assert caught.value.request_id == "20260521162915DFB89755D1A21AAE8036"


def test_upstream_404_is_not_found_with_its_code(af: Anyfast) -> None:
    response = respond(af.build_get_asset(ASSET), 404, upstream_error("NotFound.asset_id", f"asset {ASSET} not found"))
    with pytest.raises(NotFoundError) as caught:
        af.parse_get_asset(response)
    assert caught.value.code == "NotFound.asset_id"


def test_upstream_429_is_a_rate_limit_with_the_retry_after_hint(af: Anyfast) -> None:
    response = respond(af.build_list_assets(GROUP), 429, upstream_error("RateLimitExceeded", "Too many requests"),
                       headers={"Retry-After": "3"})  # fmt: skip
    with pytest.raises(RateLimitError) as caught:
        af.parse_list_assets(response)
    assert (caught.value.retry_after, caught.value.code) == (3.0, "RateLimitExceeded")


def test_upstream_400_is_an_invalid_request_carrying_the_code(af: Anyfast) -> None:
    request = af.build_upload(group_id=GROUP, url="https://x.example/a.jpg", asset_type="Image", name=None)
    body = upstream_error("InvalidParameter.GroupType", "GroupType must be one of [AIGC]", "CreateAsset")
    with pytest.raises(InvalidRequestError) as caught:
        af.parse_upload(respond(request, 400, body), group_id=GROUP, source=None)
    assert caught.value.code == "InvalidParameter.GroupType" and "GroupType must be one of [AIGC]" in str(caught.value)


def test_an_upstream_error_inside_a_200_is_still_an_error(af: Anyfast) -> None:
    with pytest.raises(NotFoundError):
        af.parse_get_asset(respond(af.build_get_asset(ASSET), 200, upstream_error("NotFound.asset_id", "gone")))
    with pytest.raises(RateLimitError):
        af.parse_get_asset(respond(af.build_get_asset(ASSET), 200, upstream_error("Throttling", "slow down")))


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, {"error": {"code": "InvalidParameter", "message": "bad ratio", "type": "invalid_request_error"}},
         InvalidRequestError),
        (401, {"message": "invalid token"}, AuthenticationError),
        (500, {"message": "upstream unavailable"}, ServerError),
        (404, {"code": "task_not_exist", "message": "task not found", "data": None}, NotFoundError),
        (200, {"code": "task_not_exist", "message": "task not found", "data": None}, NotFoundError),
    ],
    ids=["openai-error", "plain-401", "plain-500", "task-envelope-404", "task-envelope-200"],
)  # fmt: skip
def test_plain_and_task_error_bodies_map_by_status(
    af: Anyfast, status: int, body: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        af.parse_get_job(respond(af.build_get_job(TASK), status, body))


# reported: OpenMontage tools/video/_anyfast.py (three shapes in circulation, with real 4xx statuses)
RELAYED = json.dumps({"error": {"code": "InvalidParameter", "type": "BadRequest", "param": "content[1].image_url.url",
                                "message": "The parameter `content[1].image_url.url` specified in the request is not "
                                           "valid: unsupported URL."}})  # fmt: skip
NOT_FOUND = "[NotFound.asset_id] The specified asset asset-9 is not found."


@pytest.mark.parametrize(
    ("status", "body", "error", "code", "words"),
    [
        (401, {"error": {"type": "new_api_error", "code": "", "message": "Invalid token"}}, AuthenticationError,
         "new_api_error", "Invalid token"),
        (404, {"error": {"type": "upstream_error", "code": "", "message": NOT_FOUND}}, NotFoundError,
         "NotFound.asset_id", "asset-9 is not found"),
        (400, {"code": "invalid_request", "message": RELAYED, "data": None}, InvalidRequestError, "InvalidParameter",
         "`content[1].image_url.url` specified in the request is not valid"),
        (404, {"code": "upstream_error", "message": NOT_FOUND}, NotFoundError, "NotFound.asset_id",
         "asset-9 is not found"),
    ],
    ids=["gateway", "gateway-bracketed", "relayed-json-string", "code-and-message"],
)  # fmt: skip
def test_the_gateways_three_refusal_shapes_raise_with_the_actionable_text(
    af: Anyfast, status: int, body: dict[str, Any], error: type[ProviderError], code: str, words: str
) -> None:
    with pytest.raises(error) as caught:
        af.parse_get_asset(respond(af.build_get_asset(ASSET), status, body))
    assert caught.value.code == code and words in str(caught.value) and caught.value.status_code == status
    assert '{"error"' not in str(caught.value)  # the nested document is read, not quoted


def test_a_relayed_message_that_is_not_json_is_kept_as_text(af: Anyfast) -> None:
    body = {"code": "invalid_request", "message": "{not json: content[1]", "data": None}
    with pytest.raises(InvalidRequestError, match=r"content\[1\]") as caught:
        af.parse_get_job(respond(af.build_get_job(TASK), 400, body))
    assert caught.value.code == "invalid_request"


def test_real_person_assets_are_read_through_the_list() -> None:
    # reported: GetAsset resolves AIGC assets only; upstream may behave the same (inferred).
    assert Anyfast.reads_assets_by_list and get("byteplus").reads_assets_by_list
    assert not get("toapis").reads_assets_by_list


def test_a_never_resolved_create_reads_as_not_found_for_the_client_to_time(af: Anyfast) -> None:
    # reported: a face-consistency failure or a duplicate Name leaves GetAsset answering 404 for good
    duplicate = {
        "code": "upstream_error",
        "message": f"[NotFound.group_id] The specified asset group {GROUP} is not found.",
    }
    for body in ({"code": "upstream_error", "message": NOT_FOUND}, duplicate):
        with pytest.raises(NotFoundError) as caught:
            af.parse_get_asset(respond(af.build_get_asset(ASSET), 404, body))
    assert "duplicate" in str(caught.value)  # the 404 names its likely cause


def test_a_502_without_json_is_a_server_error(af: Anyfast) -> None:
    with pytest.raises(ServerError):
        af.parse_get_asset(respond(af.build_get_asset(ASSET), 502, text="bad gateway"))


# -- round trip against the emulator ------------------------------------------------------


def test_round_trip_verify_upload_both_ways_list_generate_delete(emulator: Emulator, tmp_path: Path) -> None:
    af = Anyfast("http://sandbox.test/anyfast", Secret("k"))
    http = emulator.http
    request = af.build_create_verification(callback_url=None, biz_id=None, locale=None, project=None)
    s = drive(af.parse_create_verification(http.send(request), callback_url=None), http)
    token = s.byted_token.reveal()
    assert f"/h5/{token}" in s.h5_link.reveal() and s.id == fingerprint(token) and token not in s.id

    v = af.parse_get_verification(http.send(af.build_get_verification(s, result_code=None)), s)
    assert v.verified and v.group_id
    group = v.group_id

    image = make_image(tmp_path / "me.jpg", width=600, height=800)
    request = af.build_upload(group_id=group, url=emulator.host(image), asset_type="Image", name="by-url")
    [by_url] = af.parse_upload(http.send(request), group_id=group, source=str(image))
    request = af.build_upload_file(group, image, asset_type="Image", name="by-form")
    [by_form] = af.parse_upload(http.send(request), group_id=group, source=str(image))
    assert by_url.status == by_form.status == "processing"
    emulator.settle()
    with pytest.raises(NotFoundError, match=r"NotFound\.asset_id"):  # GetAsset resolves AIGC assets only
        af.parse_get_asset(http.send(af.build_get_asset(by_url.id)))
    listed, more = af.parse_list_assets(http.send(af.build_list_assets(group)))
    got = sorted(listed, key=lambda a: a.name or "", reverse=True)
    assert [(a.status, a.name, a.group_id) for a in got] == [("active", "by-url", group), ("active", "by-form", group)]
    assert {a.id for a in listed} == {by_url.id, by_form.id} and not more

    request = af.build_generate(generation(got[0], prompt="Image 1 on the moon", duration=4, resolution="480p", seed=1))
    job = af.parse_generate(http.send(request))
    assert job.id.startswith("asyntask_") and job.status == "queued"
    emulator.settle()
    done = af.parse_get_job(http.send(af.build_get_job(job.id)))
    assert done.status == "succeeded" and done.video_url
    video = http.get(done.video_url)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"

    af.check(http.send(af.build_delete_asset(by_url.id)))
    with pytest.raises(NotFoundError):
        af.check(http.send(af.build_delete_asset(by_url.id)))
    assert [a.id for a in af.parse_list_assets(http.send(af.build_list_assets(group)))[0]] == [by_form.id]


def test_round_trip_a_group_list_asset_groups_never_shows_still_takes_uploads(
    emulator: Emulator, tmp_path: Path
) -> None:
    af = Anyfast("http://sandbox.test/anyfast", Secret("k"))
    http = emulator.http
    # No callback given: the adapter sends a neutral one, which the emulator (like the live API) requires.
    s = af.parse_create_verification(
        http.send(af.build_create_verification(callback_url=None, biz_id=None, locale=None, project=None)),
        callback_url=None,
    )
    group = str(af.parse_get_verification(http.send(af.build_get_verification(s, result_code=None)), s).group_id)
    body = {"model": "volc-asset", "Filter": {"GroupIds": [group]}}
    listed = af.check(http.send(af.request("POST", "/volc/asset/ListAssetGroups", json_body=body)))
    assert listed["Items"] == []  # reported: never listed, not even by its own id
    image = make_image(tmp_path / "me.jpg", width=600, height=800)
    request = af.build_upload(group_id=group, url=emulator.host(image), asset_type="Image", name="front")
    [asset] = af.parse_upload(http.send(request), group_id=group, source=str(image))
    assert asset.status == "processing" and asset.group_id == group


def test_round_trip_another_persons_face_ends_failed_with_face_mismatch(emulator: Emulator, tmp_path: Path) -> None:
    af = Anyfast("http://sandbox.test/anyfast", Secret("k"))
    http = emulator.http
    request = af.build_create_verification(callback_url="https://app.example/cb", biz_id=None, locale=None,
                                           project=None)  # fmt: skip
    s = af.parse_create_verification(http.send(request), callback_url="https://app.example/cb")
    v = af.parse_get_verification(http.send(af.build_get_verification(s, result_code=None)), s)
    bob = make_image(tmp_path / "bob.jpg", width=600, height=800, person="bob")
    [uploaded] = af.parse_upload(http.send(af.build_upload_file(str(v.group_id), bob)), group_id=str(v.group_id),
                                 source=str(bob))  # fmt: skip
    emulator.settle()
    [asset] = af.parse_list_assets(http.send(af.build_list_assets(str(v.group_id))))[0]  # the list carries Error
    assert (asset.id, asset.status, asset.error_code) == (uploaded.id, "failed", "FaceMismatch")


def test_round_trip_an_unknown_token_is_not_found(emulator: Emulator) -> None:
    af = Anyfast("http://sandbox.test/anyfast", Secret("k"))
    ghost = VerificationSession(id="nope", provider="anyfast", h5_link=Secret(""), byted_token=Secret("nope"),
                                expires_at=datetime.now(UTC))  # fmt: skip
    with pytest.raises(NotFoundError):
        af.parse_get_verification(emulator.http.send(af.build_get_verification(ghost, result_code=None)), ghost)


def test_round_trip_a_failed_and_an_expired_session_read_as_such(tmp_path: Path) -> None:
    now = [1_790_000_000.0]
    app = create_app(SimConfig(autopilot=None, link_ttl=120.0), clock=lambda: now[0], workdir=str(tmp_path / "sb"))
    http = TestClient(app, base_url=SANDBOX)
    af = Anyfast(f"{SANDBOX}/anyfast", Secret("k"))

    def new_session() -> VerificationSession:
        request = af.build_create_verification(callback_url=None, biz_id=None, locale=None, project=None)
        return af.parse_create_verification(http.send(request), callback_url=None)

    def look(s: VerificationSession) -> tuple[str, str | None]:
        v = af.parse_get_verification(http.send(af.build_get_verification(s, result_code=None)), s)
        return v.status, v.result_code

    try:
        failing, lapsing = new_session(), new_session()
        assert look(failing) == ("pending", None)
        outcome = {"outcome": "fail", "person": "alice"}
        pressed = http.post(f"/h5/{failing.byted_token.reveal()}", data=outcome, follow_redirects=False)
        assert pressed.status_code in (200, 303), pressed.text
        status, code = look(failing)
        assert status == "failed" and code and code != "10000"
        now[0] += 121
        assert look(lapsing) == ("expired", None)
    finally:
        app.state.sim.close()
