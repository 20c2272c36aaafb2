"""Crun's adapter: requests as documented, answers parsed (reference/providers.md §3), and round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from realavatar_nb._config import Secret, fingerprint
from realavatar_nb._exceptions import (
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
from realavatar_nb._models import Asset, VerificationSession
from realavatar_nb.providers import get
from realavatar_nb.providers.crun import Crun
from realavatar_nb.samples import make_image
from realavatar_nb.simulator import SimConfig, create_app

from .conftest import Emulator, generation, respond, retryable, sent

BASE = "https://api.crun.ai"
P = f"{BASE}/api/v1/client/job"
KEY = "crun-secret-key-123"
TOKEN = "20260331171630CA67F03F8F85A1B2C3D4"
LINK = f"https://h5-v2.kych5.com?accessKeyId=AKTP1&secretAccessKey=s%2Bk&bytedToken={TOKEN}&lng=zh"
GROUP = "group-20260318033332-7vw4m"
ASSET = "asset-20260318035710-kctzf"
TASK_ID = "9f1c2b3a4d5e6f708192a3b4c5d6e7f8"


@pytest.fixture
def cr() -> Crun:
    return Crun(None, Secret(KEY))


def ok(data: Any) -> dict[str, Any]:
    return {"code": 200, "message": "success", "data": data}


def session(cr: Crun, locale: str | None = None, **data: Any) -> VerificationSession:
    request = cr.build_create_verification(callback_url="https://example.com/callback/seedance-visual-validation",
                                           biz_id=None, locale=locale, project=None)  # fmt: skip
    answer = ok({"BytedToken": TOKEN, "H5Link": LINK,
                 "CallbackURL": "https://example.com/callback/seedance-visual-validation", **data})  # fmt: skip
    return cr.parse_create_verification(respond(request, 200, answer), callback_url=None)


def info(**data: Any) -> dict[str, Any]:
    example = {"AssetId": ASSET, "Name": "front", "AssetType": "Image", "Status": "Active",
               "CreateTime": "2026-03-18T03:57:10Z", "UpdateTime": "2026-03-18T03:57:14Z"}  # fmt: skip
    return ok({**example, **data})


def ref(asset_id: str = ASSET, asset_type: str = "Image") -> Asset:
    return Asset(id=asset_id, group_id=GROUP, status="active", asset_type=asset_type)


# -- the class ----------------------------------------------------------------------------


def test_registry_names_the_class_and_it_lists_and_deletes_nothing(cr: Crun) -> None:
    assert get("crun") is Crun
    assert not (Crun.can_list_assets or Crun.can_delete_asset or Crun.can_delete_group)
    with pytest.raises(UnsupportedOperationError, match="crun has no endpoint to delete assets"):
        cr.build_delete_asset(ASSET)


def test_the_key_goes_only_into_the_x_api_key_header(cr: Crun) -> None:
    request = cr.build_get_asset(ASSET)
    assert request.headers["x-api-key"] == KEY and "authorization" not in request.headers


# -- liveness -----------------------------------------------------------------------------


def test_create_session_posts_the_callback_url_and_is_not_retryable(cr: Crun) -> None:
    request = cr.build_create_verification(callback_url="https://example.com/cb", biz_id="b", locale=None,
                                           project="p")  # fmt: skip
    assert (request.method, str(request.url)) == ("POST", f"{P}/visual-validate-session")
    assert sent(request) == {"callback_url": "https://example.com/cb"}
    assert not retryable(request)


def test_session_is_read_from_pascal_case_data_and_expires_120_s_from_now(cr: Crun) -> None:
    s = session(cr)
    assert (s.provider, s.callback_url) == ("crun", "https://example.com/callback/seedance-visual-validation")
    assert (s.h5_link.reveal(), s.byted_token.reveal()) == (LINK, TOKEN)
    assert timedelta(seconds=115) < s.expires_at - datetime.now(UTC) <= timedelta(seconds=120)


def test_session_id_names_the_session_without_showing_the_token(cr: Crun) -> None:
    s = session(cr)
    assert s.id == fingerprint(TOKEN) and TOKEN not in s.id and s.id == session(cr).id
    text = repr(s)
    assert TOKEN not in text and "kych5" not in text


def test_an_expiry_in_the_answer_is_used_unix_or_iso(cr: Crun) -> None:
    assert session(cr, ExpiresAt=1774977510).expires_at == datetime.fromtimestamp(1774977510, UTC)
    assert session(cr, ExpiresAt="2026-03-31T17:18:30Z").expires_at == datetime(2026, 3, 31, 17, 18, 30,
                                                                                 tzinfo=UTC)  # fmt: skip


def test_locale_is_sent_as_lng_and_replaces_the_links_lng(cr: Crun) -> None:
    request = cr.build_create_verification(callback_url="https://e.x/cb", biz_id=None, locale="en-US", project=None)
    assert sent(request) == {"callback_url": "https://e.x/cb", "lng": "en"}
    link = session(cr, locale="zh-Hant").h5_link.reveal()
    assert link.endswith(f"bytedToken={TOKEN}&lng=zh-Hant") and "secretAccessKey=s%2Bk" in link
    assert link.count("lng=") == 1


def test_get_result_queries_the_token_as_a_read(cr: Crun) -> None:
    request = cr.build_get_verification(session(cr), result_code="10000")
    assert (request.method, request.url.path) == ("GET", "/api/v1/client/job/visual-validate-result")
    assert dict(request.url.params) == {"byted_token": TOKEN}
    assert retryable(request)


def test_a_group_id_means_verified_and_an_empty_one_pending(cr: Crun) -> None:
    s = session(cr)
    request = cr.build_get_verification(s, result_code=None)
    v = cr.parse_get_verification(respond(request, 200, ok({"GroupId": GROUP})), s)
    assert (v.status, v.group_id, v.result_code, v.session_id) == ("verified", GROUP, "10000", s.id)
    for empty in ({"GroupId": ""}, {}, None):
        v = cr.parse_get_verification(respond(request, 200, ok(empty)), s)
        assert (v.status, v.group_id) == ("pending", None)


@pytest.mark.parametrize(
    ("message", "status"),
    [
        ("Visual validation failed (resultCode 60203); create a new session.", "failed"),
        ("The H5 link expired before validation finished; create a new session.", "expired"),
        ("BytedToken has expired.", "expired"),
        ("ValidateNotReady: the verification is not finished yet.", "pending"),
    ],
)
def test_a_refusal_that_names_the_sessions_end_is_that_outcome(cr: Crun, message: str, status: str) -> None:
    s = session(cr)
    answer = respond(cr.build_get_verification(s, result_code=None), 422, {"code": 422, "message": message,
                                                                             "data": None})  # fmt: skip
    v = cr.parse_get_verification(answer, s)
    assert (v.status, v.group_id) == (status, None)


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (422, "byted_token is required.", InvalidRequestError),
        (422, "The request parameters failed validation checks", InvalidRequestError),
        (404, "BytedToken '2026…' not found.", NotFoundError),
        (401, "Invalid API key (expired).", AuthenticationError),
        (500, "Verification service failed.", ServerError),
    ],
)
def test_other_refusals_of_the_result_are_raised(cr: Crun, status: int, message: str, error: type) -> None:
    s = session(cr)
    answer = respond(cr.build_get_verification(s, result_code=None), 200, {"code": status, "message": message})
    with pytest.raises(error):
        cr.parse_get_verification(answer, s)


# -- assets -------------------------------------------------------------------------------


def test_upload_posts_the_documented_json_and_answers_a_processing_asset(cr: Crun) -> None:
    request = cr.build_upload(group_id=GROUP, url="https://cdn.example/front.jpg", asset_type="image", name="front")
    assert (request.method, str(request.url), retryable(request)) == ("POST", f"{P}/asset-upload", False)
    assert sent(request) == {"name": "front", "asset_type": "Image", "asset_url": "https://cdn.example/front.jpg",
                             "group_id": GROUP}  # fmt: skip
    [asset] = cr.parse_upload(respond(request, 200, ok({"AssetId": ASSET})), group_id=GROUP, source="faces/front.jpg")
    assert (asset.id, asset.group_id, asset.status, asset.name, asset.asset_type, asset.source) == (
        ASSET, GROUP, "processing", "front", "Image", "faces/front.jpg")  # fmt: skip


def test_upload_without_a_name_sends_the_files_name(cr: Crun) -> None:
    request = cr.build_upload(group_id=GROUP, url="https://cdn.example/a/clip.mp4?sig=1", asset_type="Video", name=None)
    assert sent(request)["name"] == "clip.mp4"


def test_asset_info_is_a_read_of_the_asset_id(cr: Crun) -> None:
    request = cr.build_get_asset(ASSET)
    assert (request.method, request.url.path, dict(request.url.params)) == ("GET", "/api/v1/client/job/asset-info",
                                                                            {"asset_id": ASSET})  # fmt: skip
    assert retryable(request)
    asset = cr.parse_get_asset(respond(request, 200, info()))
    assert (asset.id, asset.status, asset.name, asset.asset_type, asset.error_code) == (ASSET, "active", "front",
                                                                                        "Image", None)  # fmt: skip


def test_asset_info_with_unix_times_and_a_group_reads_the_same(cr: Crun) -> None:
    answer = info(CreateTime=1773806230, UpdateTime=1773806234, GroupId=GROUP)
    asset = cr.parse_get_asset(respond(cr.build_get_asset(ASSET), 200, answer))
    assert (asset.id, asset.status, asset.group_id) == (ASSET, "active", GROUP)


def test_a_failed_asset_carries_its_upstream_error(cr: Crun) -> None:
    error = {"Code": "FaceMismatch", "Message": "Face consistency verification failed."}
    asset = cr.parse_get_asset(respond(cr.build_get_asset(ASSET), 200, info(Status="Failed", Error=error)))
    assert (asset.status, asset.error_code, asset.error_message) == ("failed", *error.values())


@pytest.mark.parametrize(("raw", "neutral"), [("Processing", "processing"), ("Active", "active"), ("Failed", "failed")])
def test_pascal_case_asset_statuses_map_to_neutral_ones(cr: Crun, raw: str, neutral: str) -> None:
    assert cr.parse_get_asset(respond(cr.build_get_asset(ASSET), 200, info(Status=raw))).status == neutral


def test_an_unknown_asset_status_stops_polling(cr: Crun) -> None:
    with pytest.raises(UnknownStatusError, match="'Inactive'"):
        cr.parse_get_asset(respond(cr.build_get_asset(ASSET), 200, info(Status="Inactive")))


# -- generation ---------------------------------------------------------------------------


def test_generate_defaults_to_r2v_with_references_by_kind(cr: Crun) -> None:
    refs = [ref(), ref("asset-v", "Video"), ref("asset-a", "Audio")]
    request = cr.build_generate(generation(*refs, prompt="wave"))
    assert (request.method, str(request.url), retryable(request)) == ("POST", f"{P}/CreateTask", False)
    assert sent(request) == {
        "model": "bytedance/seedance2-0-r2v",
        "input": {"prompt": "wave", "resolution": "720p", "aspect_ratio": "16:9", "duration": 5,
                  "reference_images": [f"asset://{ASSET}"], "reference_videos": ["asset://asset-v"],
                  "reference_audios": ["asset://asset-a"]},
    }  # fmt: skip


def test_generate_with_i2v_sends_img_urls_and_refuses_other_kinds(cr: Crun) -> None:
    request = cr.build_generate(generation(ref(), model="bytedance/seedance2-0-i2v", resolution="480p", seed=4))
    assert sent(request)["input"]["img_urls"] == [f"asset://{ASSET}"] and sent(request)["input"]["seed"] == 4
    with pytest.raises(ConfigurationError, match="takes only images"):
        cr.build_generate(generation(ref("v", "Video"), model="bytedance/seedance2-0-i2v", resolution="480p"))


def test_create_task_answers_a_queued_job_with_its_references(cr: Crun) -> None:
    request = cr.build_generate(generation(ref(), resolution="480p"))
    job = cr.parse_generate(respond(request, 200, ok({"task_id": TASK_ID})))
    assert (job.id, job.status, job.model, job.provider) == (TASK_ID, "queued", "bytedance/seedance2-0-r2v", "crun")
    assert job.references == (f"asset://{ASSET}",)


def task_info(status: str, **data: Any) -> dict[str, Any]:
    example = {"task_id": TASK_ID, "provider": "bytedance", "model_version": "bytedance/seedance2-0-r2v",
               "status": status, "param": {}, "create_at": 1774977600, "result": None, "duration_s": 5,
               "complete_at": None, "source": "api"}  # fmt: skip
    return ok({**example, **data})


def test_task_info_is_a_read_and_running_is_running(cr: Crun) -> None:
    request = cr.build_get_job(TASK_ID)
    assert (request.method, request.url.path, dict(request.url.params)) == ("GET", "/api/v1/client/job/TaskInfo",
                                                                            {"task_id": TASK_ID})  # fmt: skip
    assert retryable(request)
    job = cr.parse_get_job(respond(request, 200, task_info("running")))
    assert (job.status, job.model, job.video_url) == ("running", "bytedance/seedance2-0-r2v", None)


@pytest.mark.parametrize(
    "result",
    [{"video_url": "https://cdn.example/v.mp4"}, {"videos": ["https://cdn.example/v.mp4"]},
     {"url": "https://cdn.example/v.mp4"}, "https://cdn.example/v.mp4"],
)  # fmt: skip
def test_a_finished_task_has_its_video_url_wherever_it_is_put(cr: Crun, result: Any) -> None:
    job = cr.parse_get_job(respond(cr.build_get_job(TASK_ID), 200, task_info("success", result=result)))
    assert (job.status, job.video_url) == ("succeeded", "https://cdn.example/v.mp4")


def test_a_failed_task_carries_its_reason(cr: Crun) -> None:
    answer = task_info("failed", result={"code": 501, "message": "Generation failed."})
    job = cr.parse_get_job(respond(cr.build_get_job(TASK_ID), 200, answer))
    assert (job.status, job.error_code, job.error_message) == ("failed", "501", "Generation failed.")


@pytest.mark.parametrize(
    ("raw", "neutral"),
    [("pending", "queued"), ("queued", "queued"), ("running", "running"), ("processing", "running"),
     ("success", "succeeded"), ("succeeded", "succeeded"), ("completed", "succeeded"), ("failed", "failed"),
     ("cancelled", "cancelled"), ("canceled", "cancelled")],
)  # fmt: skip
def test_task_statuses_map_to_neutral_ones(cr: Crun, raw: str, neutral: str) -> None:
    assert cr.parse_get_job(respond(cr.build_get_job(TASK_ID), 200, task_info(raw))).status == neutral


def test_an_unknown_task_status_stops_polling(cr: Crun) -> None:
    with pytest.raises(UnknownStatusError):
        cr.parse_get_job(respond(cr.build_get_job(TASK_ID), 200, task_info("SUCCESS_WITH_WARNINGS")))


# -- errors: the body's code counts, whatever the HTTP status ---------------------------------


@pytest.mark.parametrize("http_status", [200, 0])
@pytest.mark.parametrize(
    ("code", "error", "words"),
    [
        (401, AuthenticationError, "refused the API key"),
        (402, InsufficientBalanceError, "Top up"),
        (404, NotFoundError, "unknown"),
        (422, InvalidRequestError, "rejected"),
        (429, RateLimitError, "rate limiting"),
        (455, ServerError, "maintenance"),
        (500, ServerError, "Try again later"),
        (501, ServerError, "generation failed"),
    ],
)
def test_body_codes_map_to_error_classes(cr: Crun, http_status: int, code: int, error: type, words: str) -> None:
    answer = respond(cr.build_get_job(TASK_ID), http_status or code, {"code": code, "message": "m", "data": None})
    with pytest.raises(error, match=words) as caught:
        cr.parse_get_job(answer)
    assert caught.value.status_code == code and caught.value.provider == "crun"


def test_505_says_the_feature_is_disabled_and_is_not_a_server_error(cr: Crun) -> None:
    answer = respond(cr.build_get_job(TASK_ID), 200, {"code": 505, "message": "Feature disabled", "data": None})
    with pytest.raises(ProviderError, match="feature disabled") as caught:
        cr.parse_get_job(answer)
    assert not isinstance(caught.value, ServerError) and caught.value.status_code == 505


def test_a_429_keeps_the_retry_after_hint(cr: Crun) -> None:
    answer = respond(cr.build_get_job(TASK_ID), 429, {"code": 429, "message": "slow"}, headers={"Retry-After": "4"})
    with pytest.raises(RateLimitError) as caught:
        cr.parse_get_job(answer)
    assert caught.value.retry_after == 4.0


def test_a_502_without_json_is_a_server_error(cr: Crun) -> None:
    with pytest.raises(ServerError):
        cr.parse_get_job(respond(cr.build_get_job(TASK_ID), 502, text="bad gateway"))


# -- round trips against the emulator -----------------------------------------------------


def test_round_trip_verify_upload_generate_download(emulator: Emulator, tmp_path: Path) -> None:
    cr = Crun("http://sandbox.test/crun", Secret("k"))
    http = emulator.http
    create = cr.build_create_verification(callback_url="https://app.example/cb", biz_id=None, locale="en",
                                          project=None)  # fmt: skip
    s = cr.parse_create_verification(http.send(create), callback_url="https://app.example/cb")
    assert s.h5_link.reveal().startswith("http://sandbox.test/h5/") and s.h5_link.reveal().endswith("&lng=en")

    v = cr.parse_get_verification(http.send(cr.build_get_verification(s, result_code="10000")), s)
    assert v.verified and v.group_id

    url = emulator.host(make_image(tmp_path / "me.jpg", width=600, height=800, person="autopilot"))
    request = cr.build_upload(group_id=v.group_id, url=url, asset_type="Image", name="front")
    [uploaded] = cr.parse_upload(http.send(request), group_id=v.group_id, source=url)
    assert uploaded.status == "processing"
    emulator.settle()
    asset = cr.parse_get_asset(http.send(cr.build_get_asset(uploaded.id)))
    assert (asset.id, asset.status, asset.group_id, asset.name) == (uploaded.id, "active", v.group_id, "front")

    request = cr.build_generate(generation(asset, prompt="a walk", duration=1, resolution="480p"))
    job = cr.parse_generate(http.send(request))
    assert job.references == (asset.uri,)
    emulator.settle()
    done = cr.parse_get_job(http.send(cr.build_get_job(job.id)))
    assert done.status == "succeeded" and done.video_url
    video = http.get(done.video_url)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"


def test_round_trip_another_persons_face_ends_failed_with_face_mismatch(emulator: Emulator, tmp_path: Path) -> None:
    cr = Crun("http://sandbox.test/crun", Secret("k"))
    http = emulator.http
    create = cr.build_create_verification(callback_url="https://app.example/cb", biz_id=None, locale=None,
                                          project=None)  # fmt: skip
    s = cr.parse_create_verification(http.send(create), callback_url=None)
    v = cr.parse_get_verification(http.send(cr.build_get_verification(s, result_code=None)), s)
    url = emulator.host(make_image(tmp_path / "bob.jpg", width=600, height=800, person="bob"))
    request = cr.build_upload(group_id=str(v.group_id), url=url, asset_type="Image", name=None)
    [uploaded] = cr.parse_upload(http.send(request), group_id=str(v.group_id), source=url)
    emulator.settle()
    asset = cr.parse_get_asset(http.send(cr.build_get_asset(uploaded.id)))
    assert (asset.status, asset.error_code) == ("failed", "FaceMismatch")


@pytest.mark.parametrize("outcome", ["pass", "fail"])
def test_round_trip_pending_then_the_persons_outcome(tmp_path: Path, outcome: str) -> None:
    app = create_app(SimConfig(processing_seconds=0, job_seconds=0, autopilot=None), workdir=str(tmp_path / "sim"))
    http = TestClient(app, base_url="http://sandbox.test")
    try:
        cr = Crun("http://sandbox.test/crun", Secret("k"))
        create = cr.build_create_verification(callback_url="https://app.example/cb", biz_id=None, locale=None,
                                              project=None)  # fmt: skip
        s = cr.parse_create_verification(http.send(create), callback_url=None)
        assert cr.parse_get_verification(http.send(cr.build_get_verification(s, result_code=None)), s).status == (
            "pending")  # fmt: skip
        pressed = http.post(f"/h5/{s.byted_token.reveal()}", data={"outcome": outcome, "person": "alice"},
                            follow_redirects=False)  # fmt: skip
        assert pressed.status_code in (200, 303)
        v = cr.parse_get_verification(http.send(cr.build_get_verification(s, result_code=None)), s)
        assert v.status == ("verified" if outcome == "pass" else "failed")
        assert bool(v.group_id) == (outcome == "pass")
    finally:
        app.state.sim.close()


@pytest.mark.parametrize(("code", "error"), [(402, InsufficientBalanceError), (455, ServerError),
                                             (505, ProviderError)])  # fmt: skip
def test_round_trip_the_emulators_forced_codes_raise_their_errors(tmp_path: Path, code: int, error: type) -> None:
    app = create_app(SimConfig(dialect_options={"crun": {"code": code}}), workdir=str(tmp_path / "sim"))
    http = TestClient(app, base_url="http://sandbox.test")
    try:
        cr = Crun("http://sandbox.test/crun", Secret("k"))
        create = cr.build_create_verification(callback_url="https://app.example/cb", biz_id=None, locale=None,
                                              project=None)  # fmt: skip
        with pytest.raises(error) as caught:
            cr.parse_create_verification(http.send(create), callback_url=None)
        assert caught.value.status_code == code
    finally:
        app.state.sim.close()
