"""APIMart's adapter: requests as documented, answers parsed (reference/providers.md §2), and round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from realavatar_nb._config import Secret
from realavatar_nb._exceptions import (
    AuthenticationError,
    ConfigurationError,
    InsufficientBalanceError,
    InvalidRequestError,
    RateLimitError,
    ServerError,
    UnknownStatusError,
    UnsupportedOperationError,
)
from realavatar_nb._models import Asset, Verification, VerificationSession
from realavatar_nb.providers import get
from realavatar_nb.providers.apimart import Apimart
from realavatar_nb.providers.base import Next
from realavatar_nb.samples import make_image
from realavatar_nb.simulator import SimConfig, create_app
from realavatar_nb.simulator.dialects.apimart import Apimart as ApimartDialect

from .conftest import Emulator, drive, generation, respond, retryable, sent

BASE = "https://api.apimart.ai"
REAL_AVATAR = f"{BASE}/v1/seedance2/real-avatar"
KEY = "sk-apimart-secret-123"
TASK = "task_01K8ZQ3J5V6W7X8Y9Z0A1B2C3D"
TOKEN = "20260331171630CA67F03F8F85A1B2C3D4"
LINK = f"https://h5-v2.kych5.com?accessKeyId=AKTP1&configId=c1&bytedToken={TOKEN}&lng=zh"
GROUP = "group-20260318033332-7vw4m"


@pytest.fixture
def am() -> Apimart:
    return Apimart(None, Secret(KEY))


def ok(data: Any) -> dict[str, Any]:
    return {"code": 200, "data": data}


def session_task(**result: Any) -> dict[str, Any]:
    """The seed's GET /v1/tasks answer for a session, with ``result`` over its fields."""
    fields = {"byted_token": TOKEN, "h5_link": LINK, "raw_response": {}, **result}
    return ok({"id": TASK, "status": "completed", "result": fields, "created": 1774977390})


def session(am: Apimart, locale: str | None = None, **result: Any) -> VerificationSession:
    request = am.build_create_verification(callback_url="https://example.com/callback", biz_id=None, locale=locale,
                                           project=None)  # fmt: skip
    step = am.parse_create_verification(respond(request, 200, ok({"id": TASK, "status": "completed"})),
                                        callback_url="https://example.com/callback")  # fmt: skip
    assert isinstance(step, Next)
    answer = step.parse(respond(step.request, 200, session_task(**result)))
    assert isinstance(answer, VerificationSession)
    return answer


def review(status: str, assets: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A review task as GET /v1/tasks shows it (the seed's shapes)."""
    result = {
        "assets": assets,
        "usable_assets": [a for a in assets if a["status"] == "Active"],
        "failed_assets": [a for a in assets if a["status"] == "Failed"],
    }
    return ok({"id": TASK, "status": status, "progress": 100, "result": result, **extra})


def item(asset_id: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"asset_id": asset_id, "asset_url": f"asset://{asset_id}", "status": status, **extra}


# The seed's partial-failure example, verbatim.
PARTIAL = review("failed", [item("asset_a", "Active"), item("asset_b", "Failed")],
                 error={"code": "task_failed", "message": "Some assets failed review"})  # fmt: skip


def batch(am: Apimart) -> list[Asset]:
    """Submit the seed's two-asset batch; return the review handles."""
    request = am.build_upload_batch(GROUP, [("https://example.com/avatar-a.png", "avatar-a"),
                                            ("https://example.com/avatar-b.png", "avatar-b")], "image")  # fmt: skip
    answer = ok({"id": TASK, "object": "seedance.avatar.asset.task", "status": "processing", "progress": 10,
                 "model": "doubao-seedance-2.0"})  # fmt: skip
    return am.parse_upload(respond(request, 200, answer), group_id=GROUP, source=None)


# -- the class ----------------------------------------------------------------------------


def test_registry_names_the_class_and_it_lists_and_deletes_nothing(am: Apimart) -> None:
    assert get("apimart") is Apimart
    assert not (Apimart.can_list_assets or Apimart.can_delete_asset or Apimart.can_delete_group)
    with pytest.raises(UnsupportedOperationError, match="apimart has no endpoint to list assets"):
        am.build_list_assets(GROUP)


def test_the_key_goes_only_into_the_bearer_header(am: Apimart) -> None:
    request = am.build_get_job(TASK)
    assert request.headers["authorization"] == f"Bearer {KEY}" and "x-api-key" not in request.headers


# -- liveness -----------------------------------------------------------------------------


def test_step_1_posts_callback_and_project_and_is_not_retryable(am: Apimart) -> None:
    request = am.build_create_verification(callback_url="https://example.com/callback", biz_id="b", locale=None,
                                           project=None)  # fmt: skip
    assert (request.method, str(request.url)) == ("POST", REAL_AVATAR)
    assert sent(request) == {"callback_url": "https://example.com/callback", "project_name": "default"}
    assert not retryable(request)
    other = Apimart(None, Secret(KEY), project="study-12")
    assert sent(other.build_create_verification(callback_url="https://e.x/cb", biz_id=None, locale=None,
                                                project=None))["project_name"] == "study-12"  # fmt: skip


def test_step_1_task_is_read_at_the_tasks_endpoint(am: Apimart) -> None:
    request = am.build_create_verification(callback_url="https://e.x/cb", biz_id=None, locale=None, project=None)
    step = am.parse_create_verification(respond(request, 200, ok({"id": TASK, "status": "completed"})),
                                        callback_url=None)  # fmt: skip
    assert isinstance(step, Next)
    assert (step.request.method, str(step.request.url), retryable(step.request)) == ("GET", f"{BASE}/v1/tasks/{TASK}",
                                                                                     True)  # fmt: skip


def test_session_comes_from_the_task_result_and_expires_120_s_after_the_task(am: Apimart) -> None:
    s = session(am)
    assert (s.id, s.provider, s.callback_url) == (TASK, "apimart", "https://example.com/callback")
    assert (s.h5_link.reveal(), s.byted_token.reveal()) == (LINK, TOKEN)
    assert s.expires_at == datetime.fromtimestamp(1774977390, UTC) + timedelta(seconds=120)


def test_session_expires_at_is_used_when_present_unix_or_iso(am: Apimart) -> None:
    assert session(am, expires_at=1774977500).expires_at == datetime.fromtimestamp(1774977500, UTC)
    assert session(am, expires_at="2026-03-31T17:18:20Z").expires_at == datetime(2026, 3, 31, 17, 18, 20,
                                                                                  tzinfo=UTC)  # fmt: skip


def test_locale_replaces_the_links_lng(am: Apimart) -> None:
    assert session(am, locale="en").h5_link.reveal().endswith(f"bytedToken={TOKEN}&lng=en")
    assert session(am, locale="zh-TW").h5_link.reveal().endswith("&lng=zh-Hant")


def test_a_pending_session_task_is_read_again_and_a_failed_one_raises(am: Apimart) -> None:
    request = am.build_create_verification(callback_url="https://e.x/cb", biz_id=None, locale=None, project=None)
    step = am.parse_create_verification(respond(request, 200, ok({"id": TASK, "status": "completed"})),
                                        callback_url=None)  # fmt: skip
    assert isinstance(step, Next)
    again = step.parse(respond(step.request, 200, ok({"id": TASK, "status": "processing"})))
    assert isinstance(again, Next) and str(again.request.url) == f"{BASE}/v1/tasks/{TASK}"
    failed = ok({"id": TASK, "status": "failed", "error": {"code": "upstream_error", "message": "no quota"}})
    with pytest.raises(ServerError, match="no quota"):
        again.parse(respond(again.request, 200, failed))
    with pytest.raises(UnknownStatusError):
        again.parse(respond(again.request, 200, ok({"id": TASK, "status": "paused"})))


def test_session_repr_hides_the_link_and_the_token(am: Apimart) -> None:
    text = repr(session(am))
    assert TOKEN not in text and "kych5" not in text


def test_step_2_posts_token_and_project_and_is_a_retryable_read(am: Apimart) -> None:
    request = am.build_get_verification(session(am), result_code="10000")
    assert (request.method, str(request.url)) == ("POST", REAL_AVATAR)
    assert sent(request) == {"byted_token": TOKEN, "project_name": "default"}
    assert retryable(request)


def test_step_2_as_a_task_is_polled_until_it_ends(am: Apimart) -> None:
    s = session(am)
    request = am.build_get_verification(s, result_code=None)
    step = am.parse_get_verification(respond(request, 200, ok({"id": "task_r", "status": "processing"})), s)
    assert isinstance(step, Next) and str(step.request.url) == f"{BASE}/v1/tasks/task_r"
    step = step.parse(respond(step.request, 200, ok({"id": "task_r", "status": "processing", "progress": 50})))
    assert isinstance(step, Next)
    done = ok({"id": "task_r", "status": "completed", "result": {"group_id": GROUP, "status": "verified",
                                                                 "result_code": "10000"}})  # fmt: skip
    v = step.parse(respond(step.request, 200, done))
    assert v == Verification(status="verified", group_id=GROUP, result_code="10000", session_id=TASK)


@pytest.mark.parametrize(
    ("task", "status"),
    [
        ({"status": "failed", "result": {"status": "failed", "result_code": "60203"},
          "error": {"code": "verification_failed", "message": "Verification failed"}}, "failed"),
        ({"status": "failed", "result": {"status": "expired"}, "error": {"code": "verification_expired"}}, "expired"),
        ({"status": "failed", "error": {"code": "token_expired", "message": "BytedToken has expired."}}, "expired"),
        ({"status": "cancelled"}, "failed"),
    ],
)  # fmt: skip
def test_step_2_task_that_ends_badly_is_an_outcome_not_an_error(am: Apimart, task: dict[str, Any], status: str) -> None:
    s = session(am)
    v = am.parse_get_verification(respond(am.build_get_verification(s, result_code=None), 200,
                                          ok({"id": "task_r", **task})), s)  # fmt: skip
    assert isinstance(v, Verification) and (v.status, v.group_id) == (status, None)


@pytest.mark.parametrize(
    ("data", "status", "group"),
    [
        ({"byted_token": TOKEN, "status": "verified", "group_id": GROUP}, "verified", GROUP),
        ({"byted_token": TOKEN, "status": "pending"}, "pending", None),
        ({"group_id": GROUP}, "verified", GROUP),  # no status: a GroupId means verified
        ({"group_id": ""}, "pending", None),  # upstream: an empty GroupId means not yet
    ],
)
def test_step_2_answered_synchronously(am: Apimart, data: dict[str, Any], status: str, group: str | None) -> None:
    s = session(am)
    v = am.parse_get_verification(respond(am.build_get_verification(s, result_code=None), 200, ok(data)), s)
    assert isinstance(v, Verification) and (v.status, v.group_id) == (status, group)


# -- assets -------------------------------------------------------------------------------


def test_step_3_posts_the_seed_batch_and_is_not_retryable(am: Apimart) -> None:
    request = am.build_upload_batch(GROUP, [("https://example.com/avatar-a.png", "avatar-a"),
                                            ("https://example.com/avatar-b.png", None)], "image")  # fmt: skip
    assert (request.method, str(request.url), retryable(request)) == ("POST", REAL_AVATAR, False)
    assert sent(request) == {
        "group_id": GROUP,
        "project_name": "default",
        "asset_type": "Image",
        "assets": [{"url": "https://example.com/avatar-a.png", "name": "avatar-a"},
                   {"url": "https://example.com/avatar-b.png"}],
    }  # fmt: skip


def test_a_single_upload_is_a_batch_of_one(am: Apimart) -> None:
    request = am.build_upload(group_id=GROUP, url="https://e.x/v.mp4", asset_type="Video", name="clip")
    assert sent(request)["assets"] == [{"url": "https://e.x/v.mp4", "name": "clip"}]
    assert sent(request)["asset_type"] == "Video"


def test_a_batch_over_the_limit_or_empty_is_refused_before_sending(am: Apimart) -> None:
    with pytest.raises(ConfigurationError, match="at most 20"):
        am.build_upload_batch(GROUP, [(f"https://e.x/{i}.png", None) for i in range(21)], "Image")
    with pytest.raises(ConfigurationError):
        am.build_upload_batch(GROUP, [], "Image")


def test_upload_answers_a_review_handle_per_item(am: Apimart) -> None:
    handles = batch(am)
    assert [(a.id, a.status, a.name, a.group_id, a.asset_type) for a in handles] == [
        (f"{TASK}#0", "processing", "avatar-a", GROUP, "Image"),
        (f"{TASK}#1", "processing", "avatar-b", GROUP, "Image"),
    ]
    assert handles[1].source == "https://example.com/avatar-b.png"


def test_a_handle_is_read_at_its_task_and_answers_the_reviewed_asset(am: Apimart) -> None:
    handle = batch(am)[1]
    request = am.build_get_asset(handle.id)
    assert (request.method, str(request.url), retryable(request)) == ("GET", f"{BASE}/v1/tasks/{TASK}", True)
    still = am.parse_get_asset(respond(request, 200, ok({"id": TASK, "status": "processing", "progress": 55})))
    assert (still.id, still.status) == (handle.id, "processing")
    asset = am.parse_get_asset(respond(request, 200, PARTIAL))
    assert (asset.id, asset.status, asset.uri) == ("asset_b", "failed", "asset://asset_b")
    assert (asset.error_code, asset.error_message) == ("task_failed", "Some assets failed review")


def test_partial_failure_keeps_the_approved_asset_active(am: Apimart) -> None:
    first = am.parse_get_asset(respond(am.build_get_asset(f"{TASK}#0"), 200, PARTIAL))
    assert (first.id, first.status, first.error_code) == ("asset_a", "active", None)


def test_a_per_asset_error_wins_over_the_tasks(am: Apimart) -> None:
    mismatch = {"code": "FaceMismatch", "message": "Face consistency verification failed."}
    answer = review("failed", [item("asset_a", "Active"), item("asset_b", "Failed", error=mismatch)],
                    error={"code": "task_failed", "message": "Some assets failed review"})  # fmt: skip
    asset = am.parse_get_asset(respond(am.build_get_asset(f"{TASK}#1"), 200, answer))
    assert (asset.error_code, asset.error_message) == ("FaceMismatch", "Face consistency verification failed.")


def test_a_real_asset_id_cannot_be_read_back(am: Apimart) -> None:
    with pytest.raises(UnsupportedOperationError, match="review task"):
        am.build_get_asset("asset-20260318035710-kctzf")


def test_the_review_of_a_batch_is_polled_until_it_ends(am: Apimart) -> None:
    request = am.build_get_review(TASK)
    assert (request.method, str(request.url), retryable(request)) == ("GET", f"{BASE}/v1/tasks/{TASK}", True)
    step = am.parse_review(respond(request, 200, ok({"id": TASK, "status": "processing", "progress": 10})))
    assert isinstance(step, Next) and str(step.request.url) == f"{BASE}/v1/tasks/{TASK}"
    assets = step.parse(respond(step.request, 200, PARTIAL))
    assert isinstance(assets, list)
    assert [(a.id, a.status) for a in assets] == [("asset_a", "active"), ("asset_b", "failed")]


def test_an_all_approved_review_is_active_throughout(am: Apimart) -> None:
    answer = review("completed", [item("asset_a", "Active"), item("asset_b", "Active")])
    assets = am.parse_review(respond(am.build_get_review(TASK), 200, answer))
    assert isinstance(assets, list) and [a.status for a in assets] == ["active", "active"]


def test_an_unknown_review_status_stops_polling(am: Apimart) -> None:
    with pytest.raises(UnknownStatusError):
        am.parse_get_asset(respond(am.build_get_asset(f"{TASK}#0"), 200, ok({"id": TASK, "status": "queued-ish"})))
    with pytest.raises(UnknownStatusError):
        am.parse_get_asset(respond(am.build_get_asset(f"{TASK}#0"), 200, review("completed", [item("a", "Inactive")])))


# -- generation ---------------------------------------------------------------------------


def test_generate_sends_size_resolution_and_the_face_model_by_default(am: Apimart) -> None:
    refs = [Asset(id="asset_a", group_id=GROUP, status="active", asset_type="Image"),
            Asset(id="asset_v", group_id=GROUP, status="active", asset_type="Video"),
            Asset(id="asset_s", group_id=GROUP, status="active", asset_type="Audio")]  # fmt: skip
    request = am.build_generate(generation(*refs, prompt="Generate a video using the reference portrait", ratio="9:16"))
    assert (request.method, str(request.url), retryable(request)) == ("POST", f"{BASE}/v1/videos/generations", False)
    assert sent(request) == {
        "model": "doubao-seedance-2.0-face",
        "prompt": "Generate a video using the reference portrait",
        "duration": 5,
        "size": "9:16",
        "resolution": "720p",
        "image_with_roles": [{"url": "asset://asset_a", "role": "reference_image"}],
        "video_urls": ["asset://asset_v"],
        "audio_urls": ["asset://asset_s"],
    }


def test_generate_answer_is_an_array_of_one_submitted_task(am: Apimart) -> None:
    image = Asset(id="asset_a", group_id=GROUP, status="active", asset_type="Image")
    request = am.build_generate(generation(image, resolution="480p", seed=9))
    job = am.parse_generate(respond(request, 200, ok([{"status": "submitted", "task_id": "task_01KG"}])))
    assert (job.id, job.status, job.model, job.provider) == ("task_01KG", "queued", "doubao-seedance-2.0-face",
                                                             "apimart")  # fmt: skip
    assert job.references == ("asset://asset_a",)


@pytest.mark.parametrize("url", [["https://cdn.example/v.mp4"], "https://cdn.example/v.mp4"])
def test_a_completed_job_has_its_video_url_as_array_or_string(am: Apimart, url: Any) -> None:
    request = am.build_get_job("task_01KG")
    assert (request.method, str(request.url), retryable(request)) == ("GET", f"{BASE}/v1/tasks/task_01KG", True)
    result = {"videos": [{"url": url, "expires_at": 1775064100}], "thumbnail_url": "https://t"}
    done = ok({"id": "task_01KG", "status": "completed", "progress": 100, "result": result})
    job = am.parse_get_job(respond(request, 200, done))
    assert (job.status, job.video_url) == ("succeeded", "https://cdn.example/v.mp4")


def test_a_failed_job_carries_the_task_error(am: Apimart) -> None:
    failed = ok({"id": "t", "status": "failed", "error": {"code": "generation_failed", "message": "blocked"}})
    job = am.parse_get_job(respond(am.build_get_job("t"), 200, failed))
    assert (job.status, job.error_code, job.error_message) == ("failed", "generation_failed", "blocked")


@pytest.mark.parametrize(
    ("raw", "neutral"),
    [("pending", "queued"), ("processing", "running"), ("completed", "succeeded"), ("failed", "failed"),
     ("cancelled", "cancelled")],
)  # fmt: skip
def test_job_statuses_map_to_neutral_ones(am: Apimart, raw: str, neutral: str) -> None:
    assert am.parse_get_job(respond(am.build_get_job("t"), 200, ok({"id": "t", "status": raw}))).status == neutral


def test_an_unknown_job_status_stops_polling(am: Apimart) -> None:
    with pytest.raises(UnknownStatusError):
        am.parse_get_job(respond(am.build_get_job("t"), 200, ok({"id": "t", "status": "queued"})))


# -- errors -------------------------------------------------------------------------------


def test_an_error_envelope_maps_by_status_and_keeps_its_code(am: Apimart) -> None:
    body = {"code": 400, "message": "callback_url: callback_url is required.",
            "error": {"code": "invalid", "message": "callback_url: callback_url is required."}}  # fmt: skip
    request = am.build_create_verification(callback_url=None, biz_id=None, locale=None, project=None)
    with pytest.raises(InvalidRequestError, match="callback_url is required") as caught:
        am.parse_create_verification(respond(request, 400, body), callback_url=None)
    assert caught.value.code == "invalid"


def test_a_body_code_in_a_200_is_an_error_and_msg_is_read(am: Apimart) -> None:
    with pytest.raises(InsufficientBalanceError, match="balance too low"):
        am.parse_get_job(respond(am.build_get_job("t"), 200, {"code": 402, "msg": "balance too low"}))
    with pytest.raises(AuthenticationError):
        am.parse_get_job(respond(am.build_get_job("t"), 401, {"code": 401, "message": "Invalid API key."}))


def test_a_429_is_a_rate_limit_with_the_retry_after_hint(am: Apimart) -> None:
    answer = respond(am.build_get_job("t"), 429, {"code": 429, "message": "slow down"}, headers={"Retry-After": "2"})
    with pytest.raises(RateLimitError) as caught:
        am.parse_get_job(answer)
    assert caught.value.retry_after == 2.0


def test_a_500_without_json_is_a_server_error(am: Apimart) -> None:
    with pytest.raises(ServerError):
        am.parse_get_job(respond(am.build_get_job("t"), 500, text="oops"))


# -- round trips against the emulator -----------------------------------------------------


def verified(am: Apimart, emulator: Emulator) -> tuple[VerificationSession, Verification]:
    http = emulator.http
    create = am.build_create_verification(callback_url="https://app.example/cb", biz_id=None, locale="en",
                                          project=None)  # fmt: skip
    s = drive(am.parse_create_verification(http.send(create), callback_url="https://app.example/cb"), http)
    assert s.id.startswith("task_") and s.h5_link.reveal().endswith("&lng=en")
    v = drive(am.parse_get_verification(http.send(am.build_get_verification(s, result_code="10000")), s), http)
    assert v.verified and v.group_id
    return s, v


@pytest.mark.parametrize("step2", ["task", "sync"])
def test_round_trip_verify_upload_generate_download(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step2: str
) -> None:
    monkeypatch.setattr(ApimartDialect, "step2", step2)
    am = Apimart("http://sandbox.test/apimart", Secret("k"))
    http = emulator.http
    _, v = verified(am, emulator)
    group = str(v.group_id)

    url = emulator.host(make_image(tmp_path / "me.jpg", width=600, height=800, person="autopilot"))
    [handle] = am.parse_upload(http.send(am.build_upload(group_id=group, url=url, asset_type="Image", name="front")),
                               group_id=group, source=url)  # fmt: skip
    assert handle.status == "processing" and handle.id.endswith("#0")
    emulator.settle()
    asset = am.parse_get_asset(http.send(am.build_get_asset(handle.id)))
    assert asset.status == "active" and asset.id.startswith("asset-")

    request = am.build_generate(generation(asset, prompt="a walk", duration=1, resolution="480p"))
    job = am.parse_generate(http.send(request))
    assert job.status == "queued" and job.references == (asset.uri,)
    emulator.settle()
    done = am.parse_get_job(http.send(am.build_get_job(job.id)))
    assert done.status == "succeeded" and done.video_url
    video = http.get(done.video_url)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"


def test_round_trip_a_batch_with_another_persons_face_fails_only_that_one(emulator: Emulator, tmp_path: Path) -> None:
    am = Apimart("http://sandbox.test/apimart", Secret("k"))
    http = emulator.http
    _, v = verified(am, emulator)
    mine = emulator.host(make_image(tmp_path / "me.jpg", width=600, height=800))
    bob = emulator.host(make_image(tmp_path / "bob.jpg", width=600, height=800, person="bob"))
    request = am.build_upload_batch(str(v.group_id), [(mine, "me"), (bob, "bob")], "Image")
    handles = am.parse_upload(http.send(request), group_id=str(v.group_id), source=None)
    assert [h.status for h in handles] == ["processing", "processing"]
    emulator.settle()
    assets = drive(am.parse_review(http.send(am.build_get_review(handles[0].id.partition("#")[0]))), http)
    assert [(a.status, a.error_code) for a in assets] == [("active", None), ("failed", "FaceMismatch")]
    one = am.parse_get_asset(http.send(am.build_get_asset(handles[1].id)))
    assert (one.id, one.status, one.error_code) == (assets[1].id, "failed", "FaceMismatch")


def test_round_trip_step_2_task_is_polled_while_the_person_is_on_the_h5_page(tmp_path: Path) -> None:
    app = create_app(SimConfig(processing_seconds=0, job_seconds=0, autopilot=None), workdir=str(tmp_path / "sim"))
    http = TestClient(app, base_url="http://sandbox.test")
    try:
        am = Apimart("http://sandbox.test/apimart", Secret("k"))
        create = am.build_create_verification(callback_url="https://app.example/cb", biz_id=None, locale=None,
                                              project=None)  # fmt: skip
        s = drive(am.parse_create_verification(http.send(create), callback_url=None), http)
        step = am.parse_get_verification(http.send(am.build_get_verification(s, result_code=None)), s)
        assert isinstance(step, Next)  # the person has not finished: the result task is processing
        step = step.parse(http.send(step.request))
        assert isinstance(step, Next)
        pressed = http.post(f"/h5/{s.byted_token.reveal()}", data={"outcome": "fail", "person": "alice"},
                            follow_redirects=False)  # fmt: skip
        assert pressed.status_code in (200, 303)
        v = step.parse(http.send(step.request))
        assert isinstance(v, Verification) and (v.status, v.group_id) == ("failed", None)
    finally:
        app.state.sim.close()
