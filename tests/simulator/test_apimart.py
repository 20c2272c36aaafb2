"""APIMart's contract (reference/providers.md §2), spoken with raw HTTP: no client code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from realavatar_nb.simulator.dialects.apimart import Apimart

from .conftest import FakeClock, press

A = "/apimart/v1/seedance2/real-avatar"
T = "/apimart/v1/tasks"
G = "/apimart/v1/videos/generations"
KEY = {"authorization": "Bearer apimart-key-1"}
OTHER = {"authorization": "Bearer apimart-key-2"}
CALLBACK = "https://example.com/callback"


def _host(http: TestClient, path: Path) -> str:
    """Put a local file on the emulator's file host (raw body, no multipart); return its URL."""
    r = http.post("/files", params={"name": path.name}, content=path.read_bytes(), headers=KEY)
    assert r.status_code == 201, r.text
    return str(r.json()["url"])


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"code", "data"} and body["code"] == 200
    return body["data"]


def _task(http: TestClient, task_id: str, headers: dict[str, str] = KEY) -> dict[str, Any]:
    data: dict[str, Any] = _ok(http.get(f"{T}/{task_id}", headers=headers))
    assert data["id"] == task_id
    return data


def _session(http: TestClient, headers: dict[str, str] = KEY) -> dict[str, Any]:
    """Step 1, then the task that carries the link: its result."""
    data = _ok(http.post(A, json={"callback_url": CALLBACK, "project_name": "default"}, headers=headers))
    assert set(data) == {"id", "status"} and data["status"] == "completed"
    task = _task(http, data["id"], headers)
    assert task["status"] == "completed"
    return task["result"]


def _ask_result(http: TestClient, token: str, headers: dict[str, str] = KEY) -> dict[str, Any]:
    """Step 2 answered as a task; return the task as polled."""
    data = _ok(http.post(A, json={"byted_token": token, "project_name": "default"}, headers=headers))
    return _task(http, data["id"], headers)


def _verified_group(http: TestClient, headers: dict[str, str] = KEY, person: str = "alice") -> str:
    result = _session(http, headers)
    press(http, result["byted_token"], person=person)
    task = _ask_result(http, result["byted_token"], headers)
    assert task["status"] == "completed"
    return str(task["result"]["group_id"])


def _submit(http: TestClient, group: str, urls: list[str], kind: str = "Image", headers: dict[str, str] = KEY) -> str:
    assets = [{"url": url, "name": f"avatar-{i}"} for i, url in enumerate(urls)]
    body = {"group_id": group, "project_name": "default", "asset_type": kind, "assets": assets}
    data = _ok(http.post(A, json=body, headers=headers))
    assert data["status"] == "processing" and data["id"].startswith("task_01K")
    return str(data["id"])


def _reviewed(http: TestClient, app: Starlette, clock: FakeClock, task_id: str) -> dict[str, Any]:
    app.state.sim.settle()
    clock.advance(3)
    return _task(http, task_id)


def _active_asset(http: TestClient, app: Starlette, clock: FakeClock, path: Path) -> str:
    task = _reviewed(http, app, clock, _submit(http, _verified_group(http), [_host(http, path)]))
    assert task["status"] == "completed"
    return str(task["result"]["usable_assets"][0]["asset_url"])


def _generate(http: TestClient, ref: str, **extra: Any) -> Any:
    body = {
        "model": "doubao-seedance-2.0-face",
        "prompt": "Generate a video using the reference portrait",
        "image_with_roles": [{"url": ref, "role": "reference_image"}],
        "size": "9:16",
        "resolution": "480p",
        "duration": 1,
        **extra,
    }
    return http.post(G, json=body, headers=KEY)


# -- verification ---------------------------------------------------------------------------


def test_session_task_result_carries_token_link_and_raw_response(http: TestClient) -> None:
    result = _session(http)
    assert set(result) == {"byted_token", "h5_link", "raw_response"}
    token = result["byted_token"]
    assert len(token) == 34 and token[:14].isdigit()
    assert result["h5_link"].startswith("http://sandbox.test/h5/") and token in result["h5_link"]


def test_session_task_has_the_documented_task_fields(http: TestClient, clock: FakeClock) -> None:
    data = _ok(http.post(A, json={"callback_url": CALLBACK}, headers=KEY))
    task = _task(http, data["id"])
    assert task["progress"] == 100 and task["created"] == int(clock.now) and task["completed"] == int(clock.now)
    assert {"estimated_time", "actual_time"} <= set(task) and "error" not in task


def test_result_is_processing_until_the_person_finishes_then_completed(http: TestClient) -> None:
    token = _session(http)["byted_token"]
    data = _ok(http.post(A, json={"byted_token": token}, headers=KEY))
    task = _task(http, data["id"])
    assert task["status"] == "processing" and "result" not in task and "completed" not in task
    press(http, token)
    task = _task(http, data["id"])
    assert task["status"] == "completed" and task["result"]["group_id"].startswith("group-")


def test_result_can_be_answered_synchronously(http: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Apimart, "step2", "sync")
    token = _session(http)["byted_token"]
    assert "group_id" not in _ok(http.post(A, json={"byted_token": token}, headers=KEY))
    press(http, token)
    assert _ok(http.post(A, json={"byted_token": token}, headers=KEY))["group_id"].startswith("group-")


def test_failed_and_expired_sessions_never_yield_a_group(http: TestClient, clock: FakeClock) -> None:
    failed = _session(http)["byted_token"]
    press(http, failed, outcome="fail")
    task = _ask_result(http, failed)
    assert task["status"] == "failed" and task["error"]["code"] and "group_id" not in task.get("result", {})

    late = _session(http)["byted_token"]
    clock.advance(120)
    page = http.post(f"/h5/{late}", data={"outcome": "pass", "person": "alice"}, follow_redirects=False)
    assert page.status_code == 410
    task = _ask_result(http, late)
    assert task["status"] == "failed" and "expired" in task["error"]["message"]
    assert "group_id" not in task.get("result", {})


# -- assets ---------------------------------------------------------------------------------


def test_a_batch_is_processing_then_completed_with_usable_asset_urls(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    group = _verified_group(http)
    task_id = _submit(http, group, [_host(http, media["image"]), _host(http, media["untagged"])])
    task = _task(http, task_id)
    assert task["status"] == "processing" and "result" not in task
    task = _reviewed(http, app, clock, task_id)
    assert task["status"] == "completed" and task["progress"] == 100 and "error" not in task
    result = task["result"]
    assert len(result["assets"]) == 2 and result["usable_assets"] == result["assets"] and result["failed_assets"] == []
    for item in result["assets"]:
        assert item["status"] == "Active" and item["asset_id"].startswith("asset-")
        assert item["asset_url"] == f"asset://{item['asset_id']}"


def test_one_bad_asset_fails_the_batch_but_leaves_the_good_ones_usable(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    group = _verified_group(http)
    task_id = _submit(http, group, [_host(http, media["image"]), _host(http, media["bob"]), _host(http, media["two"])])
    task = _reviewed(http, app, clock, task_id)
    assert task["status"] == "failed" and task["progress"] == 100
    assert task["error"] == {"code": "task_failed", "message": "Some assets failed review"}
    result = task["result"]
    assert [a["status"] for a in result["assets"]] == ["Active", "Failed", "Failed"]
    assert [a["asset_id"] for a in result["usable_assets"]] == [result["assets"][0]["asset_id"]]
    assert [a["error"]["code"] for a in result["failed_assets"]] == ["FaceMismatch", "MultipleFaces"]


def test_a_too_short_clip_fails_with_duration_too_short(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    group = _verified_group(http)
    body = {"group_id": group, "assets": [{"url": _host(http, media["short"]), "name": "clip"}]}  # Video by default
    task = _reviewed(http, app, clock, _ok(http.post(A, json=body, headers=KEY))["id"])
    assert task["status"] == "failed"
    assert task["result"]["failed_assets"][0]["error"]["code"] == "DurationTooShort"


def test_another_account_sees_nothing_of_this_one(http: TestClient, media: dict[str, Path]) -> None:
    result = _session(http)
    token = result["byted_token"]
    press(http, token)
    step2 = _ok(http.post(A, json={"byted_token": token}, headers=KEY))["id"]
    group = _task(http, step2)["result"]["group_id"]
    batch = _submit(http, group, [_host(http, media["image"])])
    for task_id in (step2, batch):
        r = http.get(f"{T}/{task_id}", headers=OTHER)
        assert r.status_code == 404 and r.json()["code"] == 404
    assert http.post(A, json={"byted_token": token}, headers=OTHER).status_code == 404
    body = {"group_id": group, "asset_type": "Image", "assets": [{"url": "https://x.example/a.png"}]}
    assert http.post(A, json=body, headers=OTHER).status_code == 404


# -- generation -----------------------------------------------------------------------------


def test_generation_is_submitted_pending_processing_completed_with_a_downloadable_mp4(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    ref = _active_asset(http, app, clock, media["image"])
    data = _ok(_generate(http, ref))
    assert isinstance(data, list) and len(data) == 1 and data[0]["status"] == "submitted"
    task_id = data[0]["task_id"]
    assert task_id.startswith("task_01K")
    assert _task(http, task_id)["status"] == "pending"
    clock.advance(1)
    assert _task(http, task_id)["status"] == "processing"
    app.state.sim.settle()
    clock.advance(3)
    task = _task(http, task_id)
    assert task["status"] == "completed" and task["progress"] == 100 and task["actual_time"] == 4
    video = task["result"]["videos"][0]
    assert video["expires_at"] > task["completed"]
    mp4 = http.get(video["url"][0])
    assert mp4.status_code == 200 and mp4.headers["content-type"] == "video/mp4" and len(mp4.content) > 1000
    thumb = http.get(task["result"]["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.content[:3] == b"\xff\xd8\xff"


def test_generation_refuses_a_failed_or_unknown_asset(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    task = _reviewed(http, app, clock, _submit(http, _verified_group(http), [_host(http, media["bob"])]))
    failed = task["result"]["failed_assets"][0]["asset_url"]
    r = _generate(http, failed)
    assert r.status_code == 400 and "Failed" in r.json()["message"]
    r = _generate(http, "asset://asset-20260318033332-zzzzz")
    assert r.status_code == 400 and "not found" in r.json()["message"]


def test_generation_refuses_1080p_on_a_fast_model_and_plain_url_faces(http: TestClient, media: dict[str, Path]) -> None:
    r = _generate(http, "asset://asset-x", model="doubao-seedance-2.0-fast-face", resolution="1080p")
    assert r.status_code == 400 and r.json()["error"]["code"] and "resolution" in r.json()["message"]
    r = _generate(http, _host(http, media["image"]))  # a plain URL to a file showing a real person
    assert r.status_code == 400 and "PrivacyInformation" in r.json()["error"]["code"]


# -- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer "}, {"authorization": "Basic apimart-key-1"},
                                     {"x-api-key": "apimart-key-1"}])  # fmt: skip
def test_a_missing_key_or_wrong_scheme_is_401(http: TestClient, headers: dict[str, str]) -> None:
    r = http.post(A, json={"callback_url": CALLBACK}, headers=headers)
    body = r.json()
    assert r.status_code == 401 and body["code"] == 401 and body["error"]["message"] and body["message"]
    assert http.get(f"{T}/task_01KNOPE", headers=headers).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "callback_url"),
        ({"callback_url": 7}, "callback_url"),
        ({"callback_url": "ftp://x"}, "callback_url"),
        ({"callback_url": CALLBACK, "project_name": ["x"]}, "project_name"),
        ({"byted_token": ""}, "byted_token"),
        ({"group_id": "g"}, "assets"),
        ({"group_id": "g", "assets": []}, "assets"),
        ({"assets": [{"url": "https://x/a.png"}]}, "group_id"),
        ({"group_id": "g", "asset_type": "video", "assets": [{"url": "https://x/a.png"}]}, "asset_type"),
        ({"group_id": "g", "assets": ["https://x/a.png"]}, "assets[0]"),
        ({"group_id": "g", "assets": [{"name": "a"}]}, "assets[0].url"),
        ({"group_id": "g", "assets": [{"url": "https://x/a.png", "name": 3}]}, "assets[0].name"),
        ({"group_id": "g", "assets": [{"url": f"https://x/{i}.png"} for i in range(21)]}, "assets"),
    ],
)
def test_an_invalid_real_avatar_body_is_400_naming_the_field(
    http: TestClient, body: dict[str, object], field: str
) -> None:
    r = http.post(A, json=body, headers=KEY)
    assert r.status_code == 400 and r.json()["code"] == 400 and field in r.json()["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "x"}, "model"),
        ({"model": "doubao-seedance-2-0", "prompt": "x"}, "model"),
        ({"model": "doubao-seedance-2.0"}, "prompt"),
        ({"model": "doubao-seedance-2.0", "prompt": "x", "duration": 5.5}, "duration"),
        ({"model": "doubao-seedance-2.0", "prompt": "x", "size": "2:1"}, "size"),
        ({"model": "doubao-seedance-2.0", "prompt": "x", "seed": "1"}, "seed"),
        ({"model": "doubao-seedance-2.0", "prompt": "x", "image_urls": [{"u": 1}]}, "image_urls"),
        (
            {"model": "doubao-seedance-2.0", "prompt": "x", "image_with_roles": [{"url": "asset://a", "role": []}]},
            "image_with_roles",
        ),
        ({"model": "doubao-seedance-2.0", "prompt": "x", "audio_urls": ["asset://a"]}, "audio_urls"),
    ],
)
def test_an_invalid_generation_body_is_400_naming_the_field(
    http: TestClient, body: dict[str, object], field: str
) -> None:
    r = http.post(G, json=body, headers=KEY)
    assert r.status_code == 400 and field in r.json()["message"]


def test_an_unknown_task_language_is_400(http: TestClient) -> None:
    data = _ok(http.post(A, json={"callback_url": CALLBACK}, headers=KEY))
    assert http.get(f"{T}/{data['id']}", params={"language": "ko"}, headers=KEY).status_code == 200
    r = http.get(f"{T}/{data['id']}", params={"language": "fr"}, headers=KEY)
    assert r.status_code == 400 and "language" in r.json()["message"]


@pytest.mark.parametrize("path", [A, G])
@pytest.mark.parametrize(
    "content", [b"{not json", b'"just a string"', b"\xff\xfe", b'{"a": "' + b"x" * 2_000_000 + b'"}']
)
def test_malformed_or_huge_bodies_are_4xx_never_500(http: TestClient, path: str, content: bytes) -> None:
    r = http.post(path, content=content, headers={**KEY, "content-type": "application/json"})
    assert 400 <= r.status_code < 500 and r.json()["code"] == r.status_code, r.text


def test_unknown_ids_and_routes_are_404_in_apimart_shape(http: TestClient) -> None:
    r = http.get(f"{T}/task_01KNOPE", headers=KEY)
    assert r.status_code == 404 and r.json()["code"] == 404 and r.json()["error"]["code"] == "not_found"
    assert http.get("/apimart/f/thumbnail/task_01KNOPE.jpg").status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "doubao-seedance-1.0", "prompt": "p"}, "model doubao-seedance-1.0 is not supported."),
        ({"model": "doubao-seedance-2.0"}, "prompt is required."),
        ({"model": "doubao-seedance-2.0", "prompt": "p", "duration": 0}, "duration must be between 1 and 15 seconds."),
        ({"model": "doubao-seedance-2.0", "prompt": "p", "duration": 16}, "duration must be between 1 and 15 seconds."),
    ],
)
def test_generation_refuses_an_unknown_model_a_missing_prompt_or_a_duration_outside_1_to_15(
    http: TestClient, body: dict[str, Any], message: str
) -> None:
    r = http.post(G, json=body, headers=KEY)
    assert r.status_code == 400
    assert r.json() == {"code": 400, "message": message, "error": {"code": "invalid", "message": message}}
