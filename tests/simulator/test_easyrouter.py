"""EasyRouter's contract (reference/providers.md §4), spoken with raw HTTP: no client code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from realavatar_nb.simulator.checks import MULTIPLE_FACES

from .conftest import FakeClock, host, press

P = "/easyrouter/api/resource-channel/byteplus/visual-validate"
GEN = "/easyrouter/v1/video/generations"
KEY = {"authorization": "Bearer sk-easyrouter-1"}
OTHER = {"authorization": "Bearer sk-easyrouter-2"}


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["success"], body["message"]) == (True, "")
    return body["data"]


def _refused(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["data"] is None
    return str(body["message"])


def _session(http: TestClient, headers: dict[str, str] = KEY, **body: Any) -> dict[str, Any]:
    body.setdefault("callback_url", "https://app.example/cb")
    return _ok(http.post(f"{P}/sessions", json=body, headers=headers))


def _get_session(http: TestClient, session_id: str, headers: dict[str, str] = KEY) -> dict[str, Any]:
    return _ok(http.get(f"{P}/sessions/{session_id}", params={"result_code": "10000"}, headers=headers))


def _verified_group(http: TestClient, headers: dict[str, str] = KEY, person: str = "alice") -> str:
    session = _session(http, headers)
    press(http, session["byted_token"], person=person)
    return str(_get_session(http, session["session_id"], headers)["group_id"])


def _upload(
    http: TestClient, group: str, url: str, kind: str = "Image", name: str = "front", headers: dict[str, str] = KEY
) -> str:
    body = {"group_id": group, "url": url, "name": name, "asset_type": kind}
    return str(_ok(http.post(f"{P}/assets", json=body, headers=headers))["id"])


def _asset(http: TestClient, asset_id: str, headers: dict[str, str] = KEY) -> dict[str, Any]:
    return _ok(http.get(f"{P}/assets/{asset_id}", headers=headers))


def _processed(app: Starlette, clock: FakeClock) -> None:
    app.state.sim.settle()
    clock.advance(3)


# -- sessions --------------------------------------------------------------------------------


def test_session_answers_the_documented_fields_with_session_id_equal_to_byted_token(http: TestClient) -> None:
    data = _session(http)
    documented = {"session_id", "byted_token", "h5_link", "callback_url", "channel_id", "status", "raw_response",
                  "created_at", "updated_at", "expires_at"}  # fmt: skip
    assert documented <= set(data)
    assert data["session_id"] == data["byted_token"] and len(data["byted_token"]) == 34
    assert data["status"] == "pending" and data["callback_url"] == "https://app.example/cb"
    assert data["created_at"].endswith("Z") and data["expires_at"] > data["created_at"]


def test_h5_link_carries_the_literal_u0026_escapes_the_docs_warn_about(http: TestClient) -> None:
    response = http.post(f"{P}/sessions", json={}, headers=KEY)
    assert "\\\\u0026" in response.text  # in the JSON text: an escaped backslash, then u0026
    link = response.json()["data"]["h5_link"]
    assert "\\u0026" in link and "&" not in link
    usable = link.replace("\\u0026", "&")
    assert f"bytedToken={response.json()['data']['byted_token']}&lng=" in usable
    assert http.get(usable).status_code == 200


def test_raw_response_is_the_upstream_answer_as_a_json_string(http: TestClient) -> None:
    data = _session(http)
    raw = json.loads(data["raw_response"])
    assert raw["ResponseMetadata"]["Action"] == "CreateVisualValidateSession"
    assert raw["ResponseMetadata"]["Region"] == "ap-southeast-1"
    assert raw["Result"]["BytedToken"] == data["byted_token"]
    assert "&" in raw["Result"]["H5Link"] and "&" not in data["raw_response"]  # Go-escaped text


def test_without_a_callback_url_the_page_lands_on_easyrouters_own_callback(http: TestClient) -> None:
    data = _ok(http.post(f"{P}/sessions", json={}, headers=KEY))
    assert data["callback_url"].endswith("/easyrouter/v1/callback")
    page = http.post(f"/h5/{data['byted_token']}", data={"outcome": "pass", "person": "alice"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith(data["callback_url"] + "?")
    landed = _ok(http.get(page.headers["location"]))
    assert landed == {"byted_token": data["byted_token"], "result_code": "10000"}


def test_session_is_pending_with_no_group_until_the_person_passes(http: TestClient) -> None:
    session = _session(http)
    pending = _get_session(http, session["session_id"])
    assert pending["status"] == "pending" and pending["group_id"] == ""
    press(http, session["byted_token"])
    verified = _get_session(http, session["session_id"])
    assert verified["status"] == "verified" and verified["result_code"] == "10000"
    assert verified["group_id"].startswith("group-") and len(verified["group_id"]) == len("group-20260318033332-7vw4m")
    assert json.loads(verified["raw_response"])["Result"] == {"GroupId": verified["group_id"]}


def test_failed_and_expired_sessions_never_yield_a_group(http: TestClient, clock: FakeClock) -> None:
    failed = _session(http)
    press(http, failed["byted_token"], outcome="fail")
    data = _get_session(http, failed["session_id"])
    assert data["status"] == "failed" and data["group_id"] == "" and data["result_code"] != "10000"

    late = _session(http)
    clock.advance(120)
    page = http.post(f"/h5/{late['byted_token']}", data={"outcome": "pass", "person": "alice"}, follow_redirects=False)
    assert page.status_code == 410
    data = _get_session(http, late["session_id"])
    assert data["status"] == "expired" and data["group_id"] == ""


def test_a_non_numeric_result_code_is_refused_naming_it(http: TestClient) -> None:
    session = _session(http)
    r = http.get(f"{P}/sessions/{session['session_id']}", params={"result_code": "ok"}, headers=KEY)
    assert "result_code" in _refused(r, 400)


# -- assets ----------------------------------------------------------------------------------


def test_upload_is_processing_with_a_warning_then_active(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    group = _verified_group(http)
    body = {"group_id": group, "url": host(http, media["image"]), "name": "front", "asset_type": "Image"}
    response = http.post(f"{P}/assets", json=body, headers=KEY)
    created = _ok(response)
    assert isinstance(response.json()["warning"], str) and response.json()["warning"]
    assert created["status"] == "Processing" and created["id"].startswith("asset-")
    assert (created["group_id"], created["asset_type"], created["name"]) == (group, "Image", "front")
    _processed(app, clock)
    asset = _asset(http, created["id"])
    assert list(asset) == ["id", "name", "url", "group_id", "asset_type", "status", "create_time", "update_time"]
    assert asset["status"] == "Active" and asset["update_time"] > asset["create_time"]
    assert "X-Tos-Expires=43200" in asset["url"] and "X-Tos-Signature=" in asset["url"]
    stored = http.get(asset["url"])
    assert stored.status_code == 200 and stored.content == media["image"].read_bytes()


@pytest.mark.parametrize(
    ("name", "kind", "code"),
    [("bob", "Image", "FaceMismatch"), ("two", "Image", MULTIPLE_FACES[0]), ("short", "Video", "DurationTooShort")],
)
def test_a_bad_upload_fails_with_the_upstream_code(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path], name: str, kind: str, code: str
) -> None:
    group = _verified_group(http)
    asset_id = _upload(http, group, host(http, media[name]), kind=kind)
    _processed(app, clock)
    asset = _asset(http, asset_id)
    assert asset["status"] == "Failed"
    assert asset["error"]["code"] == code and asset["error"]["message"]


def test_list_filters_by_status_group_and_name_and_pages(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    first, second = _verified_group(http), _verified_group(http)
    front = _upload(http, first, host(http, media["image"]), name="alice-front")
    clock.advance(1)
    clip = _upload(http, first, host(http, media["video"]), kind="Video", name="alice-clip")
    clock.advance(1)
    wrong = _upload(http, first, host(http, media["bob"]), name="bob-front")
    clock.advance(1)
    elsewhere = _upload(http, second, host(http, media["untagged"]), name="plain")
    _processed(app, clock)

    def ids(**body: Any) -> list[str]:
        data = _ok(http.post(f"{P}/assets/list", json=body, headers=KEY))
        return [item["id"] for item in data["items"]]

    assert ids() == [elsewhere, wrong, clip, front]  # newest first by default
    assert ids(sort_order="Asc") == [front, clip, wrong, elsewhere]
    assert ids(group_ids=[first], statuses=["Active"]) == [clip, front]
    assert ids(statuses=["Failed"]) == [wrong]
    assert ids(name="alice") == [clip, front]
    assert ids(group_type="AIGC") == []
    page = _ok(http.post(f"{P}/assets/list", json={"page_size": 3, "page_number": 2}, headers=KEY))
    assert (page["total_count"], page["page_number"], page["page_size"]) == (4, 2, 3)
    assert [item["id"] for item in page["items"]] == [front]
    assert _ok(http.post(f"{P}/assets/list", json={}, headers=KEY))["page_size"] == 20


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"page_size": 101}, "page_size"),
        ({"page_number": 0}, "page_number"),
        ({"statuses": ["Done"]}, "statuses"),
        ({"group_ids": [f"group-{i}" for i in range(101)]}, "group_ids"),
        ({"group_ids": "group-1"}, "group_ids"),
        ({"sort_by": "Name"}, "sort_by"),
    ],
)
def test_list_refuses_bad_filters_naming_the_field(http: TestClient, body: dict[str, Any], field: str) -> None:
    assert field in _refused(http.post(f"{P}/assets/list", json=body, headers=KEY), 400)


def test_deleting_an_asset_makes_it_404(http: TestClient, media: dict[str, Path]) -> None:
    asset_id = _upload(http, _verified_group(http), host(http, media["image"]))
    assert _ok(http.delete(f"{P}/assets/{asset_id}", headers=KEY)) == {"asset_id": asset_id, "deleted": True}
    _refused(http.get(f"{P}/assets/{asset_id}", headers=KEY), 404)
    _refused(http.delete(f"{P}/assets/{asset_id}", headers=KEY), 404)


def test_deleting_a_group_deletes_its_assets(http: TestClient, media: dict[str, Path]) -> None:
    group, kept_group = _verified_group(http), _verified_group(http)
    gone = [_upload(http, group, host(http, media["image"])), _upload(http, group, host(http, media["untagged"]))]
    kept = _upload(http, kept_group, host(http, media["image"]))
    assert _ok(http.delete(f"{P}/asset-groups/{group}", headers=KEY)) == {"group_id": group, "deleted": True}
    for asset_id in gone:
        _refused(http.get(f"{P}/assets/{asset_id}", headers=KEY), 404)
    assert _asset(http, kept)["id"] == kept
    body = {"group_id": group, "url": host(http, media["image"]), "asset_type": "Image"}
    assert "not found" in _refused(http.post(f"{P}/assets", json=body, headers=KEY), 404)
    _refused(http.delete(f"{P}/asset-groups/{group}", headers=KEY), 404)


def test_another_account_sees_nothing_of_this_one(http: TestClient, media: dict[str, Path]) -> None:
    session = _session(http)
    press(http, session["byted_token"])
    group = _get_session(http, session["session_id"])["group_id"]
    asset_id = _upload(http, group, host(http, media["image"]))
    _refused(http.get(f"{P}/sessions/{session['session_id']}", headers=OTHER), 404)
    _refused(http.get(f"{P}/assets/{asset_id}", headers=OTHER), 404)
    _refused(http.delete(f"{P}/assets/{asset_id}", headers=OTHER), 404)
    _refused(http.delete(f"{P}/asset-groups/{group}", headers=OTHER), 404)
    body = {"group_id": group, "url": host(http, media["image"]), "asset_type": "Image"}
    _refused(http.post(f"{P}/assets", json=body, headers=OTHER), 404)
    assert _ok(http.post(f"{P}/assets/list", json={"group_ids": [group]}, headers=OTHER))["total_count"] == 0
    assert _asset(http, asset_id)["status"] == "Processing"  # untouched for its owner


# -- auth and bad requests -------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer "}, {"authorization": "Basic sk-easyrouter-1"}, {"x-api-key": "sk-easyrouter-1"}],
)
def test_a_missing_bearer_key_is_401_in_easyrouter_shape(http: TestClient, headers: dict[str, str]) -> None:
    _refused(http.post(f"{P}/sessions", json={}, headers=headers), 401)
    _refused(http.get(f"{GEN}/task_x", headers=headers), 401)


def test_an_unknown_key_is_401_when_keys_are_configured(http: TestClient, app: Starlette) -> None:
    app.state.sim.config.api_keys = frozenset({"sk-easyrouter-1"})
    _refused(http.post(f"{P}/sessions", json={}, headers=OTHER), 401)
    assert http.post(f"{P}/sessions", json={}, headers=KEY).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://a/x.jpg", "asset_type": "Image"}, "group_id"),
        ({"group_id": "group-1", "asset_type": "Image"}, "url"),
        ({"group_id": "group-1", "url": "ftp://a/x.jpg", "asset_type": "Image"}, "url"),
        ({"group_id": "group-1", "url": 7, "asset_type": "Image"}, "url"),
        ({"group_id": "group-1", "url": "https://a/x.jpg", "asset_type": "image"}, "asset_type"),
        ({"group_id": "group-1", "url": "https://a/x.jpg", "asset_type": "Image", "name": "n" * 65}, "name"),
    ],
)
def test_an_invalid_upload_is_400_naming_the_field(http: TestClient, body: dict[str, Any], field: str) -> None:
    assert field in _refused(http.post(f"{P}/assets", json=body, headers=KEY), 400)


def test_an_invalid_callback_url_is_400_naming_it(http: TestClient) -> None:
    for bad in ("not a url", "javascript:alert(1)", 12, "http://[::1"):
        assert "callback_url" in _refused(http.post(f"{P}/sessions", json={"callback_url": bad}, headers=KEY), 400)


@pytest.mark.parametrize(
    "content", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"callback_url": "' + b"x" * 2_000_000 + b'"}']
)
def test_malformed_or_huge_bodies_are_400_not_500(http: TestClient, content: bytes) -> None:
    headers = {**KEY, "content-type": "application/json"}
    _refused(http.post(f"{P}/sessions", content=content, headers=headers), 400)
    _refused(http.post(f"{P}/assets/list", content=content, headers=headers), 400)


def test_unknown_fields_are_ignored(http: TestClient) -> None:
    data = _ok(http.post(f"{P}/sessions", json={"callback_url": "https://a/cb", "colour": {"x": [1]}}, headers=KEY))
    assert data["status"] == "pending"


def test_an_unknown_path_is_404_in_easyrouter_shape(http: TestClient) -> None:
    _refused(http.get(f"{P}/nothing-here", headers=KEY), 404)
    _refused(http.get(f"{P}/sessions/{'0' * 34}", headers=KEY), 404)


# -- generation ------------------------------------------------------------------------------


def _active_asset(http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]) -> str:
    asset_id = _upload(http, _verified_group(http), host(http, media["image"]))
    _processed(app, clock)
    return asset_id


def test_generation_renders_a_downloadable_mp4_from_active_assets(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    asset_id = _active_asset(http, app, clock, media)
    body = {
        "model": "dreamina-seedance-2-0-fast",
        "prompt": "a slow smile",
        "duration": 4,
        "metadata": {"content": [{"type": "image_url", "image_url": {"url": f"asset://{asset_id}"}}],
                     "resolution": "480p", "ratio": "9:16", "seed": 42},
    }  # fmt: skip
    r = http.post(GEN, json=body, headers=KEY)
    assert r.status_code == 200, r.text
    created = r.json()
    assert set(created) == {"id", "task_id", "object", "model", "status", "progress", "created_at"}
    assert created["id"] == created["task_id"] and created["object"] == "video"
    assert (created["model"], created["status"], created["progress"]) == ("dreamina-seedance-2-0-fast", "queued", 0)
    assert isinstance(created["created_at"], int)
    task = created["task_id"]
    clock.advance(1)
    assert http.get(f"{GEN}/{task}", headers=KEY).json()["status"] == "in_progress"
    app.state.sim.settle()
    clock.advance(3)
    done = http.get(f"{GEN}/{task}", headers=KEY).json()
    assert done["status"] == "completed" and done["progress"] == 100 and done["completed_at"] >= done["created_at"]
    video = http.get(done["metadata"]["url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4" and len(video.content) > 1000
    assert "error" not in done


def test_generation_accepts_the_image_and_images_shorthands(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    asset_id = _active_asset(http, app, clock, media)
    body = {"model": "dreamina-seedance-2-0", "prompt": "x", "image": f"asset://{asset_id}",
            "images": [f"asset://{asset_id}"], "seconds": "4", "metadata": {"resolution": "480p"}}  # fmt: skip
    r = http.post(GEN, json=body, headers=KEY)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model": "doubao-seedance-2-0"}, "model"),
        ({"prompt": None}, "prompt"),
        ({"duration": 2}, "duration"),
        ({"metadata": {"resolution": "1080p"}}, "resolution"),
        ({"metadata": {"ratio": "2:1"}}, "ratio"),
        ({"metadata": {"content": [{"type": "image_url", "image_url": "asset://x"}]}}, "metadata.content"),
        ({"metadata": {"content": "asset://x"}}, "metadata.content"),
        ({"metadata": {"seed": "42"}}, "metadata.seed"),
        ({"images": ["https://a/face.jpg"]}, "could not be downloaded"),
    ],
)
def test_an_invalid_generation_is_400_naming_the_field(http: TestClient, change: dict[str, Any], field: str) -> None:
    body = {"model": "dreamina-seedance-2-0-fast", "prompt": "x", **change}
    assert field in _refused(http.post(GEN, json=body, headers=KEY), 400)


def test_generation_refuses_an_asset_that_is_not_active(http: TestClient, media: dict[str, Path]) -> None:
    asset_id = _upload(http, _verified_group(http), host(http, media["image"]))
    body = {"model": "dreamina-seedance-2-0", "prompt": "x", "image": f"asset://{asset_id}"}
    assert "Processing" in _refused(http.post(GEN, json=body, headers=KEY), 400)


def test_a_task_is_404_for_another_account_or_an_unknown_id(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    asset_id = _active_asset(http, app, clock, media)
    body = {"model": "dreamina-seedance-2-0", "prompt": "x", "image": f"asset://{asset_id}", "duration": 4}
    task = http.post(GEN, json=body, headers=KEY).json()["task_id"]
    _refused(http.get(f"{GEN}/{task}", headers=OTHER), 404)
    _refused(http.get(f"{GEN}/task_unknown", headers=KEY), 404)
    body["image"] = f"asset://{asset_id}"
    assert "not found" in _refused(http.post(GEN, json=body, headers=OTHER), 400)
