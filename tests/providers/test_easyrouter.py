"""EasyRouter's adapter: requests as documented, answers parsed (reference/providers.md §4), and a round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from realavatar_nb._config import Secret, fingerprint
from realavatar_nb._exceptions import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    UnknownStatusError,
)
from realavatar_nb._models import Asset, VerificationSession
from realavatar_nb.providers import get
from realavatar_nb.providers.easyrouter import EasyRouter
from realavatar_nb.samples import make_image

from .conftest import Emulator, drive, generation, respond, retryable, sent

BASE = "https://easyrouter.io"
P = f"{BASE}/api/resource-channel/byteplus/visual-validate"
KEY = "sk-easyrouter-secret-123"
TOKEN = "20260331144916" + "8C23BA26A1B2C3D4E5F6"
GROUP = "group-20260318033332-7vw4m"
ASSET = "asset-20260520153701-pgxsl"


@pytest.fixture
def er() -> EasyRouter:
    return EasyRouter(None, Secret(KEY))


def ok(data: Any, **extra: Any) -> dict[str, Any]:
    return {"success": True, "message": "", "data": data, **extra}


def session(er: EasyRouter, **data: Any) -> VerificationSession:
    """Return the session parsed from a create-session answer with ``data`` over the documented example."""
    example = {
        "session_id": TOKEN,
        "byted_token": TOKEN,
        "h5_link": f"https://kyc.byteintl.com/?accessKeyId=AKTP1\\u0026configId=c1\\u0026bytedToken={TOKEN}",
        "callback_url": "https://app.example/cb",
        "channel_id": 7,
        "status": "pending",
        "raw_response": '{"Result":{"BytedToken":"..."}}',
        "created_at": "2026-03-31T14:49:16Z",
        "updated_at": "2026-03-31T14:49:16Z",
    }
    request = er.build_create_verification(callback_url="https://app.example/cb", biz_id=None, locale=None,
                                           project=None)  # fmt: skip
    return er.parse_create_verification(respond(request, 200, ok({**example, **data})), callback_url=None)


def asset_data(**data: Any) -> dict[str, Any]:
    example = {
        "id": ASSET,
        "name": "front",
        "url": "https://ark-media-asset.tos-ap-southeast-1.volces.com/a.jpg?X-Tos-Expires=43200",
        "group_id": GROUP,
        "asset_type": "Image",
        "status": "Active",
        "create_time": "2026-05-20T15:37:01Z",
        "update_time": "2026-05-20T15:37:05Z",
    }
    return {**example, **data}


def ref(asset_id: str = ASSET, asset_type: str = "Image") -> Asset:
    return Asset(id=asset_id, group_id=GROUP, status="active", asset_type=asset_type)


# -- the class ----------------------------------------------------------------------------


def test_registry_names_the_class_and_its_capabilities() -> None:
    assert get("easyrouter") is EasyRouter
    assert (EasyRouter.can_list_assets, EasyRouter.can_delete_asset, EasyRouter.can_delete_group) == (True,) * 3
    assert EasyRouter.default_model == "dreamina-seedance-2-0"


def test_the_key_goes_only_into_the_bearer_header(er: EasyRouter) -> None:
    request = er.build_get_asset(ASSET)
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in repr(er.api_key) and KEY not in str(er.api_key) and KEY not in repr(vars(er))


# -- sessions -----------------------------------------------------------------------------


def test_create_session_posts_the_callback_url_and_is_not_retryable(er: EasyRouter) -> None:
    request = er.build_create_verification(callback_url="https://app.example/cb", biz_id="b", locale="en",
                                           project=None)  # fmt: skip
    assert (request.method, str(request.url)) == ("POST", f"{P}/sessions")
    assert sent(request) == {"callback_url": "https://app.example/cb"}
    assert not retryable(request)
    bare = er.build_create_verification(callback_url=None, biz_id=None, locale=None, project=None)
    assert sent(bare) == {}


def test_session_link_has_its_escaped_ampersands_undone(er: EasyRouter) -> None:
    s = session(er)
    link = s.h5_link.reveal()
    assert "\\u0026" not in link and link.count("&") == 2
    assert link == f"https://kyc.byteintl.com/?accessKeyId=AKTP1&configId=c1&bytedToken={TOKEN}"
    assert (s.id, s.byted_token.reveal(), s.provider) == (fingerprint(TOKEN), TOKEN, "easyrouter")
    assert s.callback_url == "https://app.example/cb"


def test_session_without_expires_at_expires_120_s_after_it_was_created(er: EasyRouter) -> None:
    s = session(er)
    created = datetime(2026, 3, 31, 14, 49, 16, tzinfo=UTC)
    assert s.created_at == created
    assert s.expires_at == created + timedelta(seconds=120)


def test_session_expires_at_is_read_as_iso_or_unix_seconds(er: EasyRouter) -> None:
    expected = datetime(2026, 3, 31, 14, 51, 16, tzinfo=UTC)
    iso = session(er, expires_at="2026-03-31T14:51:16Z")
    unix = session(er, expires_at=int(expected.timestamp()))
    assert iso.expires_at == expected and unix.expires_at == expected


def test_session_without_created_at_counts_120_s_from_now(er: EasyRouter) -> None:
    before = datetime.now(UTC)
    s = session(er, created_at=None)
    assert before + timedelta(seconds=119) <= s.expires_at <= datetime.now(UTC) + timedelta(seconds=120)


def test_session_repr_shows_neither_the_link_nor_the_token_field(er: EasyRouter) -> None:
    text = repr(session(er))
    assert "kyc.byteintl.com" not in text and "AKTP1" not in text
    assert "h5_link=Secret('**********')" in text and "byted_token=Secret('**********')" in text


def test_session_id_is_the_tokens_fingerprint_not_the_token(er: EasyRouter) -> None:
    s = session(er)
    assert s.id == fingerprint(TOKEN) and TOKEN not in s.id
    assert TOKEN not in repr(s) and TOKEN not in s._repr_html_()


def test_get_session_passes_the_result_code_and_is_a_read(er: EasyRouter) -> None:
    s = session(er)  # the path needs the token itself, which the session's id only fingerprints
    request = er.build_get_verification(s, result_code="10000")
    assert (request.method, str(request.url)) == ("GET", f"{P}/sessions/{TOKEN}?result_code=10000")
    assert retryable(request)
    assert str(er.build_get_verification(s, result_code=None).url) == f"{P}/sessions/{TOKEN}"


@pytest.mark.parametrize(
    ("status", "group", "code", "expected"),
    [
        ("verified", GROUP, "10000", ("verified", GROUP, "10000")),
        ("pending", "", "", ("pending", None, None)),
        ("failed", "", "10001", ("failed", None, "10001")),
        ("expired", "", "", ("expired", None, None)),
    ],
)
def test_get_session_maps_status_group_and_result_code(
    er: EasyRouter, status: str, group: str, code: str, expected: tuple[Any, ...]
) -> None:
    s = session(er)
    request = er.build_get_verification(s, result_code="10000")
    data = {"session_id": TOKEN, "byted_token": TOKEN, "group_id": group, "status": status, "result_code": code}
    v = er.parse_get_verification(respond(request, 200, ok(data)), s)
    assert (v.status, v.group_id, v.result_code) == expected
    assert v.session_id == s.id == fingerprint(TOKEN) and v.verified == (status == "verified")


def test_an_unknown_session_status_stops_polling(er: EasyRouter) -> None:
    s = session(er)
    request = er.build_get_verification(s, result_code=None)
    with pytest.raises(UnknownStatusError) as caught:
        er.parse_get_verification(respond(request, 200, ok({"status": "reviewing"})), s)
    assert (caught.value.status, caught.value.kind) == ("reviewing", "verification")


# -- assets -------------------------------------------------------------------------------


def test_upload_posts_the_documented_json_and_answers_a_processing_asset(er: EasyRouter) -> None:
    request = er.build_upload(group_id=GROUP, url="https://cdn.example/me.jpg", asset_type="Image", name="front")
    assert (request.method, str(request.url)) == ("POST", f"{P}/assets")
    assert sent(request) == {"group_id": GROUP, "url": "https://cdn.example/me.jpg", "asset_type": "Image",
                             "name": "front"}  # fmt: skip
    assert not retryable(request)
    answer = ok(asset_data(status="Processing"), warning="Asset processing is asynchronous; poll until Active.")
    [asset] = er.parse_upload(respond(request, 200, answer), group_id=GROUP, source="faces/me.jpg")
    assert (asset.id, asset.status, asset.group_id, asset.source) == (ASSET, "processing", GROUP, "faces/me.jpg")
    assert (asset.name, asset.asset_type, asset.uri) == ("front", "Image", f"asset://{ASSET}")


def test_upload_without_a_name_leaves_it_out(er: EasyRouter) -> None:
    request = er.build_upload(group_id=GROUP, url="https://cdn.example/v.mp4", asset_type="Video", name=None)
    assert sent(request) == {"group_id": GROUP, "url": "https://cdn.example/v.mp4", "asset_type": "Video"}


def test_get_asset_is_a_read_and_reports_a_face_mismatch(er: EasyRouter) -> None:
    request = er.build_get_asset(ASSET)
    assert (request.method, str(request.url), retryable(request)) == ("GET", f"{P}/assets/{ASSET}", True)
    error = {"code": "FaceMismatch", "message": "Face consistency verification failed."}
    asset = er.parse_get_asset(respond(request, 200, ok(asset_data(status="Failed", error=error))))
    assert (asset.status, asset.error_code, asset.error_message) == (
        "failed",
        "FaceMismatch",
        "Face consistency verification failed.",
    )


@pytest.mark.parametrize(("raw", "neutral"), [("Processing", "processing"), ("Active", "active"), ("Failed", "failed")])
def test_asset_statuses_map_to_neutral_ones(er: EasyRouter, raw: str, neutral: str) -> None:
    request = er.build_get_asset(ASSET)
    assert er.parse_get_asset(respond(request, 200, ok(asset_data(status=raw)))).status == neutral


def test_an_unknown_asset_status_stops_polling(er: EasyRouter) -> None:
    request = er.build_get_asset(ASSET)
    with pytest.raises(UnknownStatusError):
        er.parse_get_asset(respond(request, 200, ok(asset_data(status="Archived"))))


def test_list_assets_posts_the_group_and_pages_by_total_count(er: EasyRouter) -> None:
    first = er.build_list_assets(GROUP)
    assert (first.method, str(first.url), retryable(first)) == ("POST", f"{P}/assets/list", True)
    assert sent(first) == {"group_ids": [GROUP], "page_number": 1, "page_size": 100}
    items = [asset_data(id=f"asset-20260520153701-{i:05d}") for i in range(100)]
    page = {"items": items, "total_count": 150, "page_number": 1, "page_size": 100}
    assets, more = er.parse_list_assets(respond(first, 200, ok(page)))
    assert len(assets) == 100 and more and assets[0].status == "active"
    second = er.build_list_assets(GROUP, page=2)
    assert sent(second)["page_number"] == 2
    page = {"items": items[:50], "total_count": 150, "page_number": 2, "page_size": 100}
    assert er.parse_list_assets(respond(second, 200, ok(page)))[1] is False


def test_list_assets_without_paging_fields_reads_them_from_the_request(er: EasyRouter) -> None:
    request = er.build_list_assets(GROUP, page=1)  # asks for 100 a page
    assets, more = er.parse_list_assets(respond(request, 200, ok({"items": [asset_data()], "total_count": 101})))
    assert [a.id for a in assets] == [ASSET] and more
    assert er.parse_list_assets(respond(request, 200, ok({"items": [], "total_count": 0}))) == ([], False)


def test_deletes_use_the_documented_paths(er: EasyRouter) -> None:
    asset = er.build_delete_asset(ASSET)
    group = er.build_delete_group(GROUP)
    assert (asset.method, str(asset.url)) == ("DELETE", f"{P}/assets/{ASSET}")
    assert (group.method, str(group.url)) == ("DELETE", f"{P}/asset-groups/{GROUP}")
    assert retryable(asset) and retryable(group)  # deleting twice changes nothing more
    assert er.check(respond(asset, 200, ok({"asset_id": ASSET, "deleted": True})))["data"]["deleted"] is True


# -- generation ---------------------------------------------------------------------------


def test_generate_sends_the_seed_example_body(er: EasyRouter) -> None:
    prompt = "图片中的我,穿着宇航服在月球表面漫步,背景是璀璨的星空"
    request = er.build_generate(generation(ref(), prompt=prompt, seed=42))
    assert (request.method, str(request.url), retryable(request)) == ("POST", f"{BASE}/v1/video/generations", False)
    assert sent(request) == {
        "model": "dreamina-seedance-2-0",
        "prompt": prompt,
        "duration": 5,
        "metadata": {
            "content": [{"type": "image_url", "image_url": {"url": f"asset://{ASSET}"}}],
            "resolution": "720p",
            "ratio": "16:9",
            "seed": 42,
        },
    }


def test_generate_puts_video_and_audio_references_in_their_own_items(er: EasyRouter) -> None:
    refs = [ref("asset-1"), ref("asset-2", "Video"), ref("asset-3", "Audio")]
    request = er.build_generate(
        generation(*refs, model="dreamina-seedance-2-0-fast", duration=4, ratio="9:16", resolution="480p")
    )
    body = sent(request)
    assert body["model"] == "dreamina-seedance-2-0-fast" and "seed" not in body["metadata"]
    assert body["metadata"]["content"] == [
        {"type": "image_url", "image_url": {"url": "asset://asset-1"}},
        {"type": "video_url", "video_url": {"url": "asset://asset-2"}},
        {"type": "audio_url", "audio_url": {"url": "asset://asset-3"}},
    ]


def test_generate_answer_is_a_queued_job_with_its_references(er: EasyRouter) -> None:
    request = er.build_generate(generation(ref()))
    answer = {"id": "task_abc", "task_id": "task_abc", "object": "video", "model": "dreamina-seedance-2-0",
              "status": "queued", "progress": 0, "created_at": 1779291421}  # fmt: skip
    job = er.parse_generate(respond(request, 200, answer))
    assert (job.id, job.status, job.model, job.provider) == ("task_abc", "queued", "dreamina-seedance-2-0",
                                                             "easyrouter")  # fmt: skip
    assert job.references == (f"asset://{ASSET}",)


def test_get_job_is_a_read_of_the_task(er: EasyRouter) -> None:
    request = er.build_get_job("task_abc")
    assert (request.method, str(request.url), retryable(request)) == (
        "GET",
        f"{BASE}/v1/video/generations/task_abc",
        True,
    )


@pytest.mark.parametrize(
    "answer",
    [
        {"id": "task_abc", "status": "completed", "metadata": {"url": "https://cdn.example/v.mp4"}},
        {"id": "task_abc", "status": "completed", "url": "https://cdn.example/v.mp4"},
        {"id": "task_abc", "status": "completed", "video_url": "https://cdn.example/v.mp4"},
        {
            "code": "success",
            "data": {"task_id": "task_abc", "status": "SUCCESS", "result_url": "https://cdn.example/v.mp4"},
        },
    ],
    ids=["metadata.url", "url", "video_url", "new-api-envelope"],
)
def test_a_completed_job_carries_its_video_url_wherever_it_is_put(er: EasyRouter, answer: dict[str, Any]) -> None:
    job = er.parse_get_job(respond(er.build_get_job("task_abc"), 200, answer))
    assert (job.id, job.status, job.video_url) == ("task_abc", "succeeded", "https://cdn.example/v.mp4")


@pytest.mark.parametrize(("raw", "neutral"), [("queued", "queued"), ("in_progress", "running"), ("failed", "failed")])
def test_job_statuses_map_to_neutral_ones(er: EasyRouter, raw: str, neutral: str) -> None:
    answer = {"id": "task_abc", "status": raw, "progress": 30}
    if raw == "failed":
        answer["error"] = {"code": "OutputVideoSensitiveContentDetected", "message": "blocked"}
    job = er.parse_get_job(respond(er.build_get_job("task_abc"), 200, answer))
    assert job.status == neutral and job.video_url is None
    if raw == "failed":
        assert (job.error_code, job.error_message) == ("OutputVideoSensitiveContentDetected", "blocked")


def test_an_unknown_job_status_stops_polling(er: EasyRouter) -> None:
    with pytest.raises(UnknownStatusError):
        er.parse_get_job(respond(er.build_get_job("task_abc"), 200, {"id": "task_abc", "status": "paused"}))


# -- errors -------------------------------------------------------------------------------


def refusal(message: str) -> dict[str, Any]:
    return {"success": False, "message": message, "data": None}


def test_a_401_is_an_authentication_error(er: EasyRouter) -> None:
    with pytest.raises(AuthenticationError) as caught:
        er.check(respond(er.build_get_asset(ASSET), 401, refusal("invalid token")))
    assert caught.value.status_code == 401 and "invalid token" in str(caught.value)


def test_a_404_is_not_found(er: EasyRouter) -> None:
    with pytest.raises(NotFoundError):
        er.parse_get_asset(respond(er.build_get_asset(ASSET), 404, refusal(f"asset {ASSET} not found")))


def test_a_429_is_a_rate_limit_with_the_retry_after_hint(er: EasyRouter) -> None:
    response = respond(er.build_get_asset(ASSET), 429, refusal("slow down"), headers={"Retry-After": "7"})
    with pytest.raises(RateLimitError) as caught:
        er.parse_get_asset(response)
    assert caught.value.retry_after == 7.0


def test_a_400_is_an_invalid_request_with_its_message(er: EasyRouter) -> None:
    request = er.build_upload(group_id=GROUP, url="ftp://x", asset_type="Image", name=None)
    with pytest.raises(InvalidRequestError) as caught:
        er.parse_upload(respond(request, 400, refusal("url must be a public http(s) URL.")), group_id=GROUP,
                        source=None)  # fmt: skip
    assert "url must be a public" in str(caught.value)


def test_success_false_in_a_200_is_still_an_error(er: EasyRouter) -> None:
    with pytest.raises(InvalidRequestError):
        er.parse_get_asset(respond(er.build_get_asset(ASSET), 200, refusal("feature not approved")))


def test_a_generation_error_object_carries_its_code(er: EasyRouter) -> None:
    request = er.build_generate(generation(ref()))
    body = {"error": {"code": "InvalidParameter", "message": "asset is Processing", "type": "invalid_request_error"}}
    with pytest.raises(InvalidRequestError) as caught:
        er.parse_generate(respond(request, 400, body))
    assert caught.value.code == "InvalidParameter"


def test_an_upstream_error_passed_through_carries_its_code(er: EasyRouter) -> None:
    body = {"success": False, "message": "", "ResponseMetadata": {"Error": {"Code": "NotFound.asset_id",
                                                                            "Message": "asset not found"}}}  # fmt: skip
    with pytest.raises(NotFoundError) as caught:
        er.parse_get_asset(respond(er.build_get_asset(ASSET), 404, body))
    assert caught.value.code == "NotFound.asset_id" and "asset not found" in str(caught.value)


def test_a_502_without_json_is_a_server_error(er: EasyRouter) -> None:
    with pytest.raises(ServerError):
        er.parse_get_asset(respond(er.build_get_asset(ASSET), 502, text="<html>bad gateway</html>"))


# -- round trip against the emulator ------------------------------------------------------


def test_round_trip_verify_upload_list_generate_delete(emulator: Emulator, tmp_path: Path) -> None:
    er = EasyRouter("http://sandbox.test/easyrouter", Secret("k"))
    http = emulator.http
    request = er.build_create_verification(callback_url=None, biz_id=None, locale=None, project=None)
    s = drive(er.parse_create_verification(http.send(request), callback_url=None), http)
    assert s.h5_link.reveal().startswith("http://sandbox.test/h5/") and "\\u0026" not in s.h5_link.reveal()
    assert timedelta(seconds=100) < s.expires_at - datetime.now(UTC) <= timedelta(seconds=120)

    v = er.parse_get_verification(http.send(er.build_get_verification(s, result_code=None)), s)
    assert v.verified and v.group_id and v.result_code == "10000"

    url = emulator.host(make_image(tmp_path / "me.jpg", width=600, height=800))
    request = er.build_upload(group_id=v.group_id, url=url, asset_type="Image", name="front")
    [uploaded] = er.parse_upload(http.send(request), group_id=v.group_id, source=url)
    assert uploaded.status == "processing"
    emulator.settle()
    asset = er.parse_get_asset(http.send(er.build_get_asset(uploaded.id)))
    assert (asset.status, asset.group_id, asset.name, asset.asset_type) == ("active", v.group_id, "front", "Image")

    listed, more = er.parse_list_assets(http.send(er.build_list_assets(v.group_id)))
    assert [a.id for a in listed] == [asset.id] and not more

    request = er.build_generate(generation(asset, prompt="a walk on the moon", duration=4, resolution="480p", seed=1))
    job = er.parse_generate(http.send(request))
    assert job.status == "queued" and job.references == (asset.uri,)
    emulator.settle()
    done = er.parse_get_job(http.send(er.build_get_job(job.id)))
    assert done.status == "succeeded" and done.video_url
    video = http.get(done.video_url)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"

    er.check(http.send(er.build_delete_asset(asset.id)))
    with pytest.raises(NotFoundError):
        er.parse_get_asset(http.send(er.build_get_asset(asset.id)))
    er.check(http.send(er.build_delete_group(v.group_id)))
    with pytest.raises(NotFoundError):
        er.check(http.send(er.build_delete_group(v.group_id)))


def test_round_trip_another_persons_face_ends_failed_with_face_mismatch(emulator: Emulator, tmp_path: Path) -> None:
    er = EasyRouter("http://sandbox.test/easyrouter", Secret("k"))
    http = emulator.http
    request = er.build_create_verification(callback_url="https://app.example/cb", biz_id=None, locale=None,
                                           project=None)  # fmt: skip
    s = er.parse_create_verification(http.send(request), callback_url="https://app.example/cb")
    v = er.parse_get_verification(http.send(er.build_get_verification(s, result_code="10000")), s)
    assert v.group_id
    url = emulator.host(make_image(tmp_path / "bob.jpg", width=600, height=800, person="bob"))
    request = er.build_upload(group_id=v.group_id, url=url, asset_type="Image", name=None)
    [uploaded] = er.parse_upload(http.send(request), group_id=v.group_id, source=url)
    emulator.settle()
    asset = er.parse_get_asset(http.send(er.build_get_asset(uploaded.id)))
    assert (asset.status, asset.error_code) == ("failed", "FaceMismatch")


def test_another_key_cannot_see_the_asset(emulator: Emulator, tmp_path: Path) -> None:
    mine, theirs = (EasyRouter("http://sandbox.test/easyrouter", Secret(k)) for k in ("k1", "k2"))
    http = emulator.http
    request = mine.build_create_verification(callback_url=None, biz_id=None, locale=None, project=None)
    s = mine.parse_create_verification(http.send(request), callback_url=None)
    v = mine.parse_get_verification(http.send(mine.build_get_verification(s, result_code=None)), s)
    url = emulator.host(make_image(tmp_path / "me.jpg", width=600, height=800))
    request = mine.build_upload(group_id=str(v.group_id), url=url, asset_type="Image", name=None)
    [asset] = mine.parse_upload(http.send(request), group_id=str(v.group_id), source=None)
    with pytest.raises(NotFoundError):
        theirs.parse_get_asset(http.send(theirs.build_get_asset(asset.id)))
