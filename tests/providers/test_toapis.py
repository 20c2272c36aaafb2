"""toapis' adapter: requests as documented, answers parsed (reference/providers.md §1), and a round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from realavatar_nb._config import Secret
from realavatar_nb._exceptions import (
    AuthenticationError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    UnknownStatusError,
    UnsupportedOperationError,
)
from realavatar_nb._models import Asset, VerificationSession
from realavatar_nb.providers import get
from realavatar_nb.providers.base import Next
from realavatar_nb.providers.toapis import Toapis
from realavatar_nb.samples import make_image

from .conftest import Emulator, drive, generation, respond, retryable, sent

BASE = "https://toapis.com"
P = f"{BASE}/v1/videos/doubao-seedance-2-0/real-avatar"
KEY = "sk-toapis-secret-123"
TASK = "tsk_dav_01K8ZQ3J5V6W7X8Y9Z0A1B2C3D"
TOKEN = "20260331171630CA67F03F8F85A1B2C3D4"
LINK = f"https://h5-v2.kych5.com?accessKeyId=AKTP1&configId=c1&bytedToken={TOKEN}&lng=zh"
GROUP = "group-20260318033332-7vw4m"
ASSET = "asset-20260318071009-kctzf"


@pytest.fixture
def ta() -> Toapis:
    return Toapis(None, Secret(KEY))


def ok(data: Any) -> dict[str, Any]:
    return {"success": True, "message": "", "data": data}


def task_detail(**data: Any) -> dict[str, Any]:
    example = {"id": TASK, "task_id": TASK, "status": "completed", "h5_link": LINK, "byted_token": TOKEN,
               "expires_at": 1774977510, "created_at": 1774977390}  # fmt: skip
    return ok({**example, **data})


def session(ta: Toapis, **data: Any) -> VerificationSession:
    """Return the session read from the create answer and the task detail with ``data`` over the example."""
    request = ta.build_create_verification(callback_url="https://app.example/cb", biz_id=None, locale=None,
                                           project=None)  # fmt: skip
    step = ta.parse_create_verification(respond(request, 200, ok({"id": TASK, "status": "completed"})),
                                        callback_url="https://app.example/cb")  # fmt: skip
    assert isinstance(step, Next)
    answer = step.parse(respond(step.request, 200, task_detail(**data)))
    assert isinstance(answer, VerificationSession)
    return answer


def asset_data(**data: Any) -> dict[str, Any]:
    example = {"asset_id": ASSET, "group_id": GROUP, "name": "front", "asset_type": "image",
               "source_url": "https://cdn.example/front.jpg", "status": "active", "created_at": 1774977400,
               "updated_at": 1774977404}  # fmt: skip
    return {**example, **data}


def ref(asset_id: str = ASSET, asset_type: str = "Image") -> Asset:
    return Asset(id=asset_id, group_id=GROUP, status="active", asset_type=asset_type)


# -- the class ----------------------------------------------------------------------------


def test_registry_names_the_class_and_it_lists_and_deletes_nothing(ta: Toapis) -> None:
    assert get("toapis") is Toapis
    assert not (Toapis.can_list_assets or Toapis.can_delete_asset or Toapis.can_delete_group)
    for build in (lambda: ta.build_list_assets(GROUP), lambda: ta.build_delete_asset(ASSET),
                  lambda: ta.build_delete_group(GROUP)):  # fmt: skip
        with pytest.raises(UnsupportedOperationError, match="toapis has no endpoint"):
            build()


def test_the_key_goes_only_into_the_bearer_header(ta: Toapis) -> None:
    request = ta.build_get_asset(ASSET)
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert "x-api-key" not in request.headers


# -- liveness -----------------------------------------------------------------------------


def test_create_verify_task_posts_the_seed_body_and_is_not_retryable(ta: Toapis) -> None:
    request = ta.build_create_verification(callback_url="https://your-app.example.com/doubao/callback",
                                           biz_id="user-123", locale="zh", project="ignored")  # fmt: skip
    assert (request.method, str(request.url)) == ("POST", f"{P}/verify-tasks")
    assert sent(request) == {"callback_url": "https://your-app.example.com/doubao/callback", "locale": "zh",
                             "biz_id": "user-123"}  # fmt: skip
    assert not retryable(request)


def test_create_answers_a_read_of_the_task_detail(ta: Toapis) -> None:
    request = ta.build_create_verification(callback_url="https://app.example/cb", biz_id=None, locale=None,
                                           project=None)  # fmt: skip
    assert sent(request) == {"callback_url": "https://app.example/cb"}
    step = ta.parse_create_verification(respond(request, 200, ok({"task_id": TASK, "status": "completed"})),
                                        callback_url=None)  # fmt: skip
    assert isinstance(step, Next)
    assert (step.request.method, str(step.request.url)) == ("GET", f"{P}/verify-tasks/{TASK}")
    assert retryable(step.request)


def test_session_is_the_task_with_its_link_token_and_unix_expiry(ta: Toapis) -> None:
    s = session(ta)
    assert (s.id, s.provider, s.callback_url) == (TASK, "toapis", "https://app.example/cb")
    assert (s.h5_link.reveal(), s.byted_token.reveal()) == (LINK, TOKEN)
    assert s.expires_at == datetime.fromtimestamp(1774977510, UTC)


def test_session_expiry_is_read_as_iso_too(ta: Toapis) -> None:
    assert session(ta, expires_at="2026-03-31T17:18:30Z").expires_at == datetime(2026, 3, 31, 17, 18, 30,
                                                                                   tzinfo=UTC)  # fmt: skip


def test_session_without_expires_at_expires_120_s_after_creation(ta: Toapis) -> None:
    s = session(ta, expires_at=None)
    assert s.expires_at == datetime.fromtimestamp(1774977390, UTC) + timedelta(seconds=120)
    s = session(ta, expires_at=None, created_at=None)
    assert timedelta(seconds=115) < s.expires_at - datetime.now(UTC) <= timedelta(seconds=120)


def test_a_pending_verify_task_is_read_again(ta: Toapis) -> None:
    step = ta.parse_create_verification(respond(ta.build_create_verification(
        callback_url="https://a.example/cb", biz_id=None, locale=None, project=None), 200,
        ok({"id": TASK, "status": "processing"})), callback_url=None)  # fmt: skip
    assert isinstance(step, Next)
    again = step.parse(respond(step.request, 200, ok({"id": TASK, "status": "processing"})))
    assert isinstance(again, Next) and str(again.request.url) == f"{P}/verify-tasks/{TASK}"


def test_a_completed_task_detail_without_a_link_is_an_error_not_a_loop(ta: Toapis) -> None:
    step = ta.parse_create_verification(respond(ta.build_create_verification(
        callback_url="https://a.example/cb", biz_id=None, locale=None, project=None), 200,
        ok({"id": TASK, "status": "completed"})), callback_url=None)  # fmt: skip
    assert isinstance(step, Next)
    with pytest.raises(MalformedResponseError, match="h5_link") as caught:
        step.parse(respond(step.request, 200, ok({"id": TASK, "status": "completed"})))
    assert caught.value.field == "data.h5_link"


def test_an_unknown_verify_task_status_stops(ta: Toapis) -> None:
    request = ta.build_create_verification(callback_url="https://a.example/cb", biz_id=None, locale=None,
                                           project=None)  # fmt: skip
    with pytest.raises(UnknownStatusError, match="'mystery'"):
        ta.parse_create_verification(respond(request, 200, ok({"id": TASK, "status": "mystery"})), callback_url=None)


def test_session_repr_hides_the_link_and_the_token(ta: Toapis) -> None:
    text = repr(session(ta))
    assert TOKEN not in text and "kych5" not in text and "**********" in text


def test_get_verification_queries_task_token_and_result_code_as_a_read(ta: Toapis) -> None:
    request = ta.build_get_verification(session(ta), result_code="10000")
    assert (request.method, request.url.path) == ("GET", "/v1/videos/doubao-seedance-2-0/real-avatar/verify-results")
    assert dict(request.url.params) == {"task_id": TASK, "byted_token": TOKEN, "result_code": "10000"}
    assert retryable(request)
    assert "result_code" not in ta.build_get_verification(session(ta), result_code=None).url.params


@pytest.mark.parametrize(
    ("data", "status", "group"),
    [
        ({"verify_status": "verified", "group_id": GROUP, "result_code": "10000"}, "verified", GROUP),
        ({"verify_status": "verified", "group_id": ""}, "pending", None),  # verified without a group: not yet
        ({"verify_status": "pending"}, "pending", None),
        ({"verify_status": "failed", "result_code": "60203"}, "failed", None),
        ({"verify_status": "expired"}, "expired", None),
    ],
)
def test_verify_results_map_to_neutral_statuses(ta: Toapis, data: dict[str, Any], status: str, group: str) -> None:
    s = session(ta)
    v = ta.parse_get_verification(respond(ta.build_get_verification(s, result_code=None), 200, ok(data)), s)
    assert (v.status, v.group_id, v.session_id) == (status, group, TASK)
    assert v.result_code == data.get("result_code")


def test_an_unknown_verify_status_stops_polling(ta: Toapis) -> None:
    s = session(ta)
    with pytest.raises(UnknownStatusError):
        ta.parse_get_verification(respond(ta.build_get_verification(s, result_code=None), 200,
                                          ok({"verify_status": "reviewing"})), s)  # fmt: skip


# -- assets -------------------------------------------------------------------------------


def test_upload_posts_one_url_with_a_lowercase_type_and_is_not_retryable(ta: Toapis) -> None:
    request = ta.build_upload(group_id=GROUP, url="https://cdn.example/front.jpg", asset_type="Image", name="front")
    assert (request.method, str(request.url)) == ("POST", f"{P}/assets")
    assert sent(request) == {"group_id": GROUP, "asset_type": "image", "source_url": "https://cdn.example/front.jpg",
                             "name": "front"}  # fmt: skip
    assert not retryable(request)
    answer = respond(request, 200, ok(asset_data(status="processing")))
    [asset] = ta.parse_upload(answer, group_id=GROUP, source="faces/front.jpg")
    assert (asset.id, asset.status, asset.asset_type, asset.source) == (ASSET, "processing", "Image", "faces/front.jpg")


def test_get_asset_is_a_read_and_reports_a_face_mismatch(ta: Toapis) -> None:
    request = ta.build_get_asset(ASSET)
    assert (request.method, str(request.url), retryable(request)) == ("GET", f"{P}/assets/{ASSET}", True)
    error = {"code": "FaceMismatch", "message": "Face consistency verification failed."}
    asset = ta.parse_get_asset(respond(request, 200, ok(asset_data(status="failed", error=error))))
    assert (asset.status, asset.error_code, asset.error_message) == ("failed", *error.values())
    assert asset.group_id == GROUP and asset.name == "front"


@pytest.mark.parametrize(("raw", "neutral"), [("processing", "processing"), ("active", "active"), ("failed", "failed")])
def test_lowercase_asset_statuses_map_to_neutral_ones(ta: Toapis, raw: str, neutral: str) -> None:
    assert ta.parse_get_asset(respond(ta.build_get_asset(ASSET), 200, ok(asset_data(status=raw)))).status == neutral


def test_an_unknown_asset_status_stops_polling(ta: Toapis) -> None:
    with pytest.raises(UnknownStatusError):
        ta.parse_get_asset(respond(ta.build_get_asset(ASSET), 200, ok(asset_data(status="Inactive"))))


# -- generation ---------------------------------------------------------------------------


def test_generate_puts_each_reference_in_its_roles_list(ta: Toapis) -> None:
    refs = [ref(), ref("asset-v", "Video"), ref("asset-a", "Audio")]
    request = ta.build_generate(generation(*refs, prompt="wave", ratio="9:16", seed=7))
    assert (request.method, str(request.url), retryable(request)) == ("POST", f"{BASE}/v1/videos/generations", False)
    assert sent(request) == {
        "model": "doubao-seedance-2-0",
        "prompt": "wave",
        "duration": 5,
        "aspect_ratio": "9:16",
        "metadata": {"resolution": "720p", "seed": 7},
        "image_with_roles": [{"url": f"asset://{ASSET}", "role": "reference_image"}],
        "video_with_roles": [{"url": "asset://asset-v", "role": "reference_video"}],
        "audio_with_roles": [{"url": "asset://asset-a", "role": "reference_audio"}],
    }


def test_generate_answer_is_a_bare_task_with_its_references(ta: Toapis) -> None:
    request = ta.build_generate(generation(ref(), prompt="wave", model="doubao-seedance-2-0-fast", resolution="480p"))
    assert "seed" not in sent(request)["metadata"]
    bare = {"id": "task_01K9", "object": "generation.task", "model": "doubao-seedance-2-0-fast", "status": "queued",
            "progress": 0, "created_at": 1774977600, "metadata": {"resolution": "480p"}}  # fmt: skip
    job = ta.parse_generate(respond(request, 200, bare))
    assert (job.id, job.status, job.model, job.provider) == (
        "task_01K9",
        "queued",
        "doubao-seedance-2-0-fast",
        "toapis",
    )
    assert job.references == (f"asset://{ASSET}",)


def test_a_completed_job_has_its_video_url(ta: Toapis) -> None:
    request = ta.build_get_job("task_01K9")
    assert (request.method, str(request.url), retryable(request)) == ("GET", f"{BASE}/v1/videos/generations/task_01K9",
                                                                      True)  # fmt: skip
    done = {"id": "task_01K9", "object": "generation.task", "status": "completed", "progress": 100,
            "completed_at": 1774977700, "expires_at": 1775064100,
            "result": {"type": "video", "url": "https://cdn.example/v.mp4"}}  # fmt: skip
    job = ta.parse_get_job(respond(request, 200, done))
    assert (job.status, job.video_url) == ("succeeded", "https://cdn.example/v.mp4")


@pytest.mark.parametrize(
    "result", [{"videos": [{"url": ["https://cdn.example/v.mp4"]}]}, {"video_url": "https://cdn.example/v.mp4"}]
)
def test_the_video_url_is_found_in_the_other_nestings(ta: Toapis, result: dict[str, Any]) -> None:
    job = ta.parse_get_job(respond(ta.build_get_job("t"), 200, {"id": "t", "status": "completed", "result": result}))
    assert job.video_url == "https://cdn.example/v.mp4"


def test_a_failed_job_carries_its_error_and_is_not_a_request_error(ta: Toapis) -> None:
    failed = {"id": "t", "status": "failed", "error": {"code": "OutputVideoSensitive", "message": "blocked"}}
    job = ta.parse_get_job(respond(ta.build_get_job("t"), 200, failed))
    assert (job.status, job.error_code, job.error_message, job.video_url) == ("failed", "OutputVideoSensitive",
                                                                              "blocked", None)  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "neutral"),
    [("submitted", "queued"), ("queued", "queued"), ("in_progress", "running"), ("completed", "succeeded"),
     ("failed", "failed")],
)  # fmt: skip
def test_job_statuses_map_to_neutral_ones(ta: Toapis, raw: str, neutral: str) -> None:
    assert ta.parse_get_job(respond(ta.build_get_job("t"), 200, {"id": "t", "status": raw})).status == neutral


def test_an_unknown_job_status_stops_polling(ta: Toapis) -> None:
    with pytest.raises(UnknownStatusError):
        ta.parse_get_job(respond(ta.build_get_job("t"), 200, {"id": "t", "status": "rendering"}))


# -- errors -------------------------------------------------------------------------------


def test_success_false_is_an_error_even_in_a_200(ta: Toapis) -> None:
    with pytest.raises(InvalidRequestError, match="group_id: asset group not found"):
        refused = {"success": False, "message": "group_id: asset group not found", "data": None}
        ta.parse_get_asset(respond(ta.build_get_asset(ASSET), 200, refused))


def test_envelope_errors_map_by_http_status(ta: Toapis) -> None:
    request = ta.build_get_asset(ASSET)
    with pytest.raises(NotFoundError, match=r"asset .* not found"):
        ta.parse_get_asset(respond(request, 404, {"success": False, "message": "asset x not found", "data": None}))
    with pytest.raises(AuthenticationError):
        ta.parse_get_asset(respond(request, 401, {"success": False, "message": "Invalid API key.", "data": None}))


def test_openai_style_generation_errors_carry_their_code(ta: Toapis) -> None:
    error = {"code": "invalid_parameter", "message": "model x is not supported.", "type": "invalid_request_error"}
    request = ta.build_generate(generation(model="x"))
    with pytest.raises(InvalidRequestError, match="not supported") as caught:
        ta.parse_generate(respond(request, 400, {"error": {**error, "param": "model"}}))
    assert caught.value.code == "invalid_parameter" and caught.value.status_code == 400


def test_a_429_is_a_rate_limit_with_the_retry_after_hint(ta: Toapis) -> None:
    answer = respond(ta.build_get_job("t"), 429, {"error": {"code": "rate_limited", "message": "slow down"}},
                     headers={"Retry-After": "3"})  # fmt: skip
    with pytest.raises(RateLimitError) as caught:
        ta.parse_get_job(answer)
    assert caught.value.retry_after == 3.0


def test_a_502_without_json_is_a_server_error(ta: Toapis) -> None:
    with pytest.raises(ServerError):
        ta.parse_get_job(respond(ta.build_get_job("t"), 502, text="<html>bad gateway</html>"))


# -- round trip against the emulator ------------------------------------------------------


def test_round_trip_verify_upload_generate_download(emulator: Emulator, tmp_path: Path) -> None:
    ta = Toapis("http://sandbox.test/toapis", Secret("k"))
    http = emulator.http
    create = ta.build_create_verification(callback_url="https://app.example/cb", biz_id="user-1", locale="en",
                                          project=None)  # fmt: skip
    s = drive(ta.parse_create_verification(http.send(create), callback_url="https://app.example/cb"), http)
    assert s.id.startswith("tsk_dav_") and "lng=en" in s.h5_link.reveal()
    assert timedelta(seconds=100) < s.expires_at - datetime.now(UTC) <= timedelta(seconds=121)

    v = ta.parse_get_verification(http.send(ta.build_get_verification(s, result_code="10000")), s)
    assert v.verified and v.group_id and v.result_code == "10000"

    url = emulator.host(make_image(tmp_path / "me.jpg", width=600, height=800, person="autopilot"))
    request = ta.build_upload(group_id=v.group_id, url=url, asset_type="image", name="front")
    [uploaded] = ta.parse_upload(http.send(request), group_id=v.group_id, source=url)
    assert (uploaded.status, uploaded.group_id) == ("processing", v.group_id)
    emulator.settle()
    asset = ta.parse_get_asset(http.send(ta.build_get_asset(uploaded.id)))
    assert (asset.id, asset.status, asset.name, asset.asset_type) == (uploaded.id, "active", "front", "Image")

    request = ta.build_generate(generation(asset, prompt="a walk", duration=1, resolution="480p", seed=3))
    job = ta.parse_generate(http.send(request))
    assert job.references == (asset.uri,) and job.status in ("queued", "running")
    emulator.settle()
    done = ta.parse_get_job(http.send(ta.build_get_job(job.id)))
    assert done.status == "succeeded" and done.video_url
    video = http.get(done.video_url)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"


def test_round_trip_another_persons_face_ends_failed_with_face_mismatch(emulator: Emulator, tmp_path: Path) -> None:
    ta = Toapis("http://sandbox.test/toapis", Secret("k"))
    http = emulator.http
    create = ta.build_create_verification(callback_url="https://app.example/cb", biz_id=None, locale=None,
                                          project=None)  # fmt: skip
    s = drive(ta.parse_create_verification(http.send(create), callback_url=None), http)
    v = ta.parse_get_verification(http.send(ta.build_get_verification(s, result_code=None)), s)
    url = emulator.host(make_image(tmp_path / "bob.jpg", width=600, height=800, person="bob"))
    request = ta.build_upload(group_id=str(v.group_id), url=url, asset_type="Image", name=None)
    [uploaded] = ta.parse_upload(http.send(request), group_id=str(v.group_id), source=url)
    emulator.settle()
    asset = ta.parse_get_asset(http.send(ta.build_get_asset(uploaded.id)))
    assert (asset.status, asset.error_code) == ("failed", "FaceMismatch")


def test_round_trip_an_unverified_group_is_refused_by_the_provider(emulator: Emulator) -> None:
    ta = Toapis("http://sandbox.test/toapis", Secret("k"))
    request = ta.build_upload(group_id=GROUP, url="https://cdn.example/a.jpg", asset_type="Image", name=None)
    with pytest.raises(NotFoundError, match="not found"):
        ta.parse_upload(emulator.http.send(request), group_id=GROUP, source=None)
