"""toapis's contract (reference/providers.md §1), spoken with raw HTTP: no client code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from .conftest import FakeClock, press

P = "/toapis/v1/videos/doubao-seedance-2-0/real-avatar"
G = "/toapis/v1/videos/generations"
KEY = {"authorization": "Bearer toapis-key-1"}
OTHER = {"authorization": "Bearer toapis-key-2"}
CALLBACK = "https://app.example/doubao/callback"


def _host(http: TestClient, path: Path) -> str:
    """Put a local file on the emulator's file host (raw body, no multipart); return its URL."""
    r = http.post("/files", params={"name": path.name}, content=path.read_bytes(), headers=KEY)
    assert r.status_code == 201, r.text
    return str(r.json()["url"])


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["message"] == ""
    return body["data"]


def _verify_task(http: TestClient, headers: dict[str, str] = KEY) -> str:
    body = {"callback_url": CALLBACK, "locale": "zh", "biz_id": "user-123"}
    data = _ok(http.post(f"{P}/verify-tasks", json=body, headers=headers))
    assert data["status"] == "completed"  # the session exists, nobody has verified yet
    return str(data["task_id"])


def _detail(http: TestClient, task_id: str, headers: dict[str, str] = KEY) -> dict[str, Any]:
    return _ok(http.get(f"{P}/verify-tasks/{task_id}", headers=headers))


def _result(http: TestClient, task_id: str, headers: dict[str, str] = KEY, **query: str) -> dict[str, Any]:
    return _ok(http.get(f"{P}/verify-results", params={"task_id": task_id, **query}, headers=headers))


def _verified_group(http: TestClient, headers: dict[str, str] = KEY, person: str = "alice") -> str:
    task_id = _verify_task(http, headers)
    press(http, _detail(http, task_id, headers)["byted_token"], person=person)
    data = _result(http, task_id, headers, result_code="10000")
    assert data["verify_status"] == "verified"
    return str(data["group_id"])


def _upload(http: TestClient, group: str, url: str, kind: str = "image", headers: dict[str, str] = KEY) -> str:
    body = {"group_id": group, "asset_type": kind, "source_url": url, "name": "front"}
    data = _ok(http.post(f"{P}/assets", json=body, headers=headers))
    assert data["status"] == "processing"
    return str(data["asset_id"])


def _asset(http: TestClient, asset_id: str, headers: dict[str, str] = KEY) -> dict[str, Any]:
    return _ok(http.get(f"{P}/assets/{asset_id}", headers=headers))


def _active_asset(http: TestClient, app: Starlette, clock: FakeClock, path: Path) -> str:
    asset = _upload(http, _verified_group(http), _host(http, path))
    app.state.sim.settle()
    clock.advance(3)
    assert _asset(http, asset)["status"] == "active"
    return asset


def _generate(http: TestClient, asset: str, **extra: Any) -> Any:
    body = {
        "model": "doubao-seedance-2-0",
        "prompt": "Image 1 smiles slowly",
        "image_with_roles": [{"url": f"asset://{asset}", "role": "reference_image"}],
        "duration": 1,
        "aspect_ratio": "9:16",
        "metadata": {"resolution": "480p"},
        **extra,
    }
    return http.post(G, json=body, headers=KEY)


# -- verification ---------------------------------------------------------------------------


def test_verify_task_id_looks_like_the_documented_tsk_dav_ulid(http: TestClient) -> None:
    task_id = _verify_task(http)
    assert task_id.startswith("tsk_dav_01K") and len(task_id) == len("tsk_dav_") + 26


def test_task_detail_gives_h5_link_token_and_a_120_second_expiry(http: TestClient, clock: FakeClock) -> None:
    task_id = _verify_task(http)
    data = _detail(http, task_id)
    assert data["status"] == "completed"
    token = data["byted_token"]
    assert len(token) == 34 and token[:14].isdigit()
    assert data["h5_link"].startswith("http://sandbox.test/h5/") and token in data["h5_link"]
    assert data["expires_at"] == int(clock.now) + 120


def test_result_is_pending_until_the_person_finishes(http: TestClient) -> None:
    task_id = _verify_task(http)
    data = _result(http, task_id)
    assert data["verify_status"] == "pending" and "group_id" not in data


def test_pass_yields_a_group_by_task_id_or_by_byted_token(http: TestClient) -> None:
    task_id = _verify_task(http)
    token = _detail(http, task_id)["byted_token"]
    press(http, token)
    by_task = _result(http, task_id, result_code="10000")
    by_token = _ok(http.get(f"{P}/verify-results", params={"byted_token": token}, headers=KEY))
    assert by_task["verify_status"] == by_token["verify_status"] == "verified"
    assert by_task["group_id"] == by_token["group_id"]
    assert by_task["group_id"].startswith("group-") and len(by_task["group_id"]) == len("group-20260318033332-7vw4m")


def test_failed_and_expired_sessions_never_yield_a_group(http: TestClient, clock: FakeClock) -> None:
    failed = _verify_task(http)
    press(http, _detail(http, failed)["byted_token"], outcome="fail")
    data = _result(http, failed)
    assert data["verify_status"] == "failed" and "group_id" not in data

    late = _verify_task(http)
    token = _detail(http, late)["byted_token"]
    clock.advance(120)
    page = http.post(f"/h5/{token}", data={"outcome": "pass", "person": "alice"}, follow_redirects=False)
    assert page.status_code == 410
    data = _result(http, late, result_code="10000")
    assert data["verify_status"] == "expired" and "group_id" not in data


def test_a_byted_token_from_another_task_is_refused(http: TestClient) -> None:
    first, second = _verify_task(http), _verify_task(http)
    token = _detail(http, second)["byted_token"]
    r = http.get(f"{P}/verify-results", params={"task_id": first, "byted_token": token}, headers=KEY)
    assert r.status_code == 400 and r.json()["success"] is False and "byted_token" in r.json()["message"]


def test_verify_results_needs_a_task_id_or_a_token(http: TestClient) -> None:
    r = http.get(f"{P}/verify-results", headers=KEY)
    assert r.status_code == 400 and "task_id" in r.json()["message"]


# -- assets ---------------------------------------------------------------------------------


def test_upload_is_processing_then_active_in_lowercase(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    group = _verified_group(http)
    asset = _upload(http, group, _host(http, media["image"]))
    assert asset.startswith("asset-")
    data = _asset(http, asset)
    assert data["status"] == "processing" and data["group_id"] == group and data["asset_type"] == "image"
    app.state.sim.settle()
    clock.advance(3)
    data = _asset(http, asset)
    assert data["status"] == "active" and "error" not in data


@pytest.mark.parametrize(
    ("name", "kind", "code"),
    [("bob", "image", "FaceMismatch"), ("two", "image", "MultipleFaces"), ("short", "video", "DurationTooShort")],
)
def test_a_bad_upload_fails_with_the_upstream_code(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path], name: str, kind: str, code: str
) -> None:
    group = _verified_group(http)
    asset = _upload(http, group, _host(http, media[name]), kind=kind)
    app.state.sim.settle()
    clock.advance(3)
    data = _asset(http, asset)
    assert data["status"] == "failed" and data["error"]["code"] == code and data["error"]["message"]


def test_a_group_that_was_never_verified_is_refused(http: TestClient) -> None:
    body = {"group_id": "group-20260318033332-7vw4m", "asset_type": "image", "source_url": "https://x.example/a.jpg"}
    r = http.post(f"{P}/assets", json=body, headers=KEY)
    assert r.status_code == 404 and r.json() == {"success": False, "message": r.json()["message"], "data": None}


def test_another_account_sees_nothing_of_this_one(http: TestClient, media: dict[str, Path]) -> None:
    task_id = _verify_task(http)
    press(http, _detail(http, task_id)["byted_token"])
    group = _result(http, task_id)["group_id"]
    asset = _upload(http, group, _host(http, media["image"]))
    assert http.get(f"{P}/verify-tasks/{task_id}", headers=OTHER).status_code == 404
    assert http.get(f"{P}/verify-results", params={"task_id": task_id}, headers=OTHER).status_code == 404
    assert http.get(f"{P}/assets/{asset}", headers=OTHER).status_code == 404
    body = {"group_id": group, "asset_type": "image", "source_url": "https://x.example/a.jpg"}
    assert http.post(f"{P}/assets", json=body, headers=OTHER).status_code == 404


# -- generation -----------------------------------------------------------------------------


def test_generation_goes_queued_in_progress_completed_with_a_downloadable_mp4(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    asset = _active_asset(http, app, clock, media["image"])
    r = _generate(http, asset)
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["object"] == "generation.task" and job["status"] == "queued" and job["progress"] == 0
    assert job["model"] == "doubao-seedance-2-0" and job["metadata"]["resolution"] == "480p"
    assert job["id"].startswith("task_01K") and isinstance(job["created_at"], int)
    assert "result" not in job and "completed_at" not in job

    clock.advance(1)
    assert http.get(f"{G}/{job['id']}", headers=KEY).json()["status"] == "in_progress"
    app.state.sim.settle()
    clock.advance(3)
    done = http.get(f"{G}/{job['id']}", headers=KEY).json()
    assert done["status"] == "completed" and done["progress"] == 100
    assert done["expires_at"] == done["completed_at"] + 24 * 3600
    assert done["result"]["type"] == "video"
    video = http.get(done["result"]["url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4" and len(video.content) > 1000


def test_generation_refuses_an_asset_that_is_not_active(http: TestClient, media: dict[str, Path]) -> None:
    asset = _upload(http, _verified_group(http), _host(http, media["image"]))
    r = _generate(http, asset)
    err = r.json()["error"]
    assert r.status_code == 400 and "Processing" in err["message"] and err["param"] == "image_with_roles"


def test_generation_refuses_a_plain_url_face_and_a_1080p_fast_job(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    face = _host(http, media["image"])  # a plain URL to a file that shows a real person (person=alice)
    body = {"prompt": "x", "image_with_roles": [{"url": face, "role": "reference_image"}]}
    r = http.post(G, json=body, headers=KEY)
    assert r.status_code == 400 and r.json()["error"]["code"] == "InputImageSensitiveContentDetected.PrivacyInformation"
    asset = _active_asset(http, app, clock, media["image"])
    r = _generate(http, asset, model="doubao-seedance-2-0-fast", metadata={"resolution": "1080p"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "metadata.resolution"


def test_another_accounts_generation_is_not_found(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    asset = _active_asset(http, app, clock, media["image"])
    job = _generate(http, asset).json()
    r = http.get(f"{G}/{job['id']}", headers=OTHER)
    assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error"
    r = http.post(G, json={"prompt": "x", "image_with_roles": [{"url": f"asset://{asset}"}]}, headers=OTHER)
    assert r.status_code == 400 and "not found" in r.json()["error"]["message"]


# -- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer "}, {"authorization": "Token toapis-key-1"},
                                     {"x-api-key": "toapis-key-1"}])  # fmt: skip
def test_a_missing_key_or_wrong_scheme_is_401_in_each_shape(http: TestClient, headers: dict[str, str]) -> None:
    r = http.post(f"{P}/verify-tasks", json={"callback_url": CALLBACK}, headers=headers)
    assert r.status_code == 401 and r.json()["success"] is False and r.json()["data"] is None
    r = http.get(f"{G}/task_01K0000000000000000000000", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "callback_url"),
        ({"callback_url": 7}, "callback_url"),
        ({"callback_url": "javascript:alert(1)"}, "callback_url"),
        ({"callback_url": CALLBACK, "locale": "zh&x=1"}, "locale"),
        ({"callback_url": CALLBACK, "biz_id": ["a"]}, "biz_id"),
    ],
)
def test_an_invalid_verify_task_body_is_400_naming_the_field(
    http: TestClient, body: dict[str, object], field: str
) -> None:
    r = http.post(f"{P}/verify-tasks", json=body, headers=KEY)
    assert r.status_code == 400 and field in r.json()["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"asset_type": "image", "source_url": "https://x/a.jpg"}, "group_id"),
        ({"group_id": "g", "asset_type": "Photo", "source_url": "https://x/a.jpg"}, "asset_type"),
        ({"group_id": "g", "asset_type": "image", "source_url": "file:///etc/passwd"}, "source_url"),
        ({"group_id": "g", "asset_type": "image"}, "source_url"),
    ],
)
def test_an_invalid_asset_body_is_400_naming_the_field(http: TestClient, body: dict[str, object], field: str) -> None:
    r = http.post(f"{P}/assets", json=body, headers=KEY)
    assert r.status_code == 400 and field in r.json()["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "prompt"),
        ({"prompt": "x", "model": "sora-2"}, "model"),
        ({"prompt": "x", "duration": "5"}, "duration"),
        ({"prompt": "x", "duration": 60}, "duration"),
        ({"prompt": "x", "aspect_ratio": "2:1"}, "aspect_ratio"),
        ({"prompt": "x", "metadata": {"resolution": ["720p"]}}, "metadata.resolution"),
        ({"prompt": "x", "image_with_roles": [{"url": "asset://a", "role": "hero"}]}, "image_with_roles"),
        ({"prompt": "x", "image_with_roles": "asset://a"}, "image_with_roles"),
        ({"prompt": "x", "image_with_roles": [{"url": "asset://a", "role": ["first_frame"]}]}, "image_with_roles"),
        ({"prompt": "x", "audio_with_roles": [{"url": "asset://a", "role": "reference_audio"}]}, "audio_with_roles"),
    ],
)
def test_an_invalid_generation_body_is_400_naming_the_param(
    http: TestClient, body: dict[str, object], param: str
) -> None:
    r = http.post(G, json=body, headers=KEY)
    assert r.status_code == 400 and r.json()["error"]["param"] == param and param in r.json()["error"]["message"]


@pytest.mark.parametrize("path", [f"{P}/verify-tasks", f"{P}/assets", G])
@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe", b'{"a": ' + b"1" * 2_000_000 + b"}"])
def test_malformed_or_huge_bodies_are_4xx_never_500(http: TestClient, path: str, content: bytes) -> None:
    r = http.post(path, content=content, headers={**KEY, "content-type": "application/json"})
    assert 400 <= r.status_code < 500, r.text


def test_unknown_fields_are_ignored(http: TestClient) -> None:
    body = {"callback_url": CALLBACK, "surprise": {"deep": [1, 2, 3]}}
    assert http.post(f"{P}/verify-tasks", json=body, headers=KEY).status_code == 200


def test_unknown_ids_are_404_in_the_routes_own_shape(http: TestClient) -> None:
    r = http.get(f"{P}/verify-tasks/tsk_dav_01KNOPE", headers=KEY)
    assert r.status_code == 404 and r.json()["success"] is False
    r = http.get(f"{P}/assets/asset-20260318033332-zzzzz", headers=KEY)
    assert r.status_code == 404 and r.json()["success"] is False
    r = http.get(f"{G}/task_01KNOPE", headers=KEY)
    assert r.status_code == 404 and "error" in r.json()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"model": "seedance-1", "prompt": "p"}, "model", "model seedance-1 is not supported."),
        ({}, "prompt", "prompt is required."),
        ({"prompt": "p", "duration": 0}, "duration", "duration must be between 1 and 15 seconds."),
        ({"prompt": "p", "duration": 16}, "duration", "duration must be between 1 and 15 seconds."),
    ],
)
def test_generation_refuses_an_unknown_model_a_missing_prompt_or_a_duration_outside_1_to_15(
    http: TestClient, body: dict[str, Any], field: str, message: str
) -> None:
    r = http.post(G, json=body, headers=KEY)
    assert r.status_code == 400
    error = {"code": "invalid_parameter", "message": message, "type": "invalid_request_error", "param": field}
    assert r.json() == {"error": error}
