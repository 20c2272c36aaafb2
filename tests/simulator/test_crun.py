"""Crun's contract (reference/providers.md §3), spoken with raw HTTP: no client code."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from .conftest import FakeClock, host, press

P = "/crun/api/v1/client/job"
KEY = {"x-api-key": "crun-key-1"}


def _session(http: TestClient, headers: dict[str, str] = KEY) -> dict[str, str]:
    r = http.post(f"{P}/visual-validate-session", json={"callback_url": "https://app.example/cb"}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["code"], body["message"]) == (200, "success")
    return body["data"]  # type: ignore[no-any-return]


def _verified_group(http: TestClient, headers: dict[str, str] = KEY, person: str = "alice") -> str:
    data = _session(http, headers)
    press(http, data["BytedToken"], person=person)
    r = http.get(f"{P}/visual-validate-result", params={"byted_token": data["BytedToken"]}, headers=headers)
    return str(r.json()["data"]["GroupId"])


def _upload(http: TestClient, group: str, url: str, kind: str = "Image", headers: dict[str, str] = KEY) -> str:
    body = {"name": "front", "asset_type": kind, "asset_url": url, "group_id": group}
    r = http.post(f"{P}/asset-upload", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return str(r.json()["data"]["AssetId"])


def _info(http: TestClient, asset_id: str, headers: dict[str, str] = KEY) -> dict[str, object]:
    r = http.get(f"{P}/asset-info", params={"asset_id": asset_id}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["data"]  # type: ignore[no-any-return]


def test_session_returns_upstream_pascal_case_fields(http: TestClient) -> None:
    data = _session(http)
    assert set(data) == {"BytedToken", "H5Link", "CallbackURL"}
    assert len(data["BytedToken"]) == 34 and data["BytedToken"][:14].isdigit()
    assert f"/h5/{data['BytedToken']}" in data["H5Link"] and "lng=zh" in data["H5Link"]
    assert data["CallbackURL"] == "https://app.example/cb"


def test_result_before_the_person_finishes_is_an_empty_group_id(http: TestClient) -> None:
    data = _session(http)
    r = http.get(f"{P}/visual-validate-result", params={"byted_token": data["BytedToken"]}, headers=KEY)
    assert r.status_code == 200 and r.json()["data"] == {"GroupId": ""}


def test_pass_yields_a_group_with_the_upstream_id_format(http: TestClient) -> None:
    group = _verified_group(http)
    assert group.startswith("group-") and len(group) == len("group-20260318033332-7vw4m")


def test_failed_or_expired_sessions_never_yield_a_group(http: TestClient, clock: FakeClock) -> None:
    failed = _session(http)
    press(http, failed["BytedToken"], outcome="fail")
    r = http.get(f"{P}/visual-validate-result", params={"byted_token": failed["BytedToken"]}, headers=KEY)
    assert r.status_code == 422 and r.json()["code"] == 422 and "failed" in r.json()["message"]

    late = _session(http)
    clock.advance(120)
    page = http.post(f"/h5/{late['BytedToken']}", data={"outcome": "pass", "person": "alice"}, follow_redirects=False)
    assert page.status_code == 410
    r = http.get(f"{P}/visual-validate-result", params={"byted_token": late["BytedToken"]}, headers=KEY)
    assert r.status_code == 422 and "expired" in r.json()["message"]


def test_upload_is_processing_then_active(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    group = _verified_group(http)
    asset = _upload(http, group, host(http, media["image"]))
    assert asset.startswith("asset-")
    assert _info(http, asset)["Status"] == "Processing"
    app.state.sim.settle()
    clock.advance(3)
    info = _info(http, asset)
    assert info["Status"] == "Active" and info["AssetType"] == "Image" and "Error" not in info


@pytest.mark.parametrize(
    ("name", "kind", "code"),
    [("bob", "Image", "FaceMismatch"), ("short", "Video", "DurationTooShort"), ("image", "Video", "TypeMismatch")],
)
def test_a_bad_upload_fails_with_the_upstream_code(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path], name: str, kind: str, code: str
) -> None:
    group = _verified_group(http)
    asset = _upload(http, group, host(http, media[name]), kind=kind)
    app.state.sim.settle()
    clock.advance(3)
    info = _info(http, asset)
    assert info["Status"] == "Failed"
    assert info["Error"]["Code"] == code  # type: ignore[index]


def test_another_account_sees_nothing_of_this_one(http: TestClient, media: dict[str, Path]) -> None:
    group = _verified_group(http)
    asset = _upload(http, group, host(http, media["image"]))
    other = {"x-api-key": "crun-key-2"}
    r = http.get(f"{P}/asset-info", params={"asset_id": asset}, headers=other)
    assert r.status_code == 404 and r.json()["code"] == 404
    body = {"name": "x", "asset_type": "Image", "asset_url": "https://x/y.jpg", "group_id": group}
    assert http.post(f"{P}/asset-upload", json=body, headers=other).status_code == 404


@pytest.mark.parametrize("headers", [{}, {"x-api-key": ""}, {"authorization": "Bearer crun-key-1"}])
def test_a_missing_key_is_401_in_crun_shape(http: TestClient, headers: dict[str, str]) -> None:
    r = http.post(f"{P}/visual-validate-session", json={"callback_url": "https://a/cb"}, headers=headers)
    assert r.status_code == 401 and r.json()["code"] == 401 and r.json()["data"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "callback_url"), ({"callback_url": 7}, "callback_url"), ({"callback_url": ""}, "callback_url")],
)
def test_an_invalid_body_is_422_naming_the_field(http: TestClient, body: dict[str, object], field: str) -> None:
    r = http.post(f"{P}/visual-validate-session", json=body, headers=KEY)
    assert r.status_code == 422 and field in r.json()["message"]


def test_malformed_json_is_a_422_not_a_500(http: TestClient) -> None:
    headers = {**KEY, "content-type": "application/json"}
    r = http.post(f"{P}/visual-validate-session", content=b"{not json", headers=headers)
    assert r.status_code == 422 and r.json()["code"] == 422


def test_generation_renders_a_video_from_active_assets(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    group = _verified_group(http)
    asset = _upload(http, group, host(http, media["image"]))
    app.state.sim.settle()
    clock.advance(3)
    body = {
        "model": "bytedance/seedance2-0-i2v",
        "input": {"prompt": "a slow smile", "img_urls": [f"asset://{asset}"], "duration": 2, "aspect_ratio": "9:16",
                  "resolution": "480p"},
    }  # fmt: skip
    r = http.post(f"{P}/CreateTask", json=body, headers=KEY)
    assert r.status_code == 200, r.text
    task = r.json()["data"]["task_id"]
    info = http.get(f"{P}/TaskInfo", params={"task_id": task}, headers=KEY).json()["data"]
    assert info["status"] == "pending"
    clock.advance(1)
    assert http.get(f"{P}/TaskInfo", params={"task_id": task}, headers=KEY).json()["data"]["status"] == "running"
    app.state.sim.settle()
    clock.advance(3)
    info = http.get(f"{P}/TaskInfo", params={"task_id": task}, headers=KEY).json()["data"]
    assert info["status"] == "success"
    video = http.get(info["result"]["video_url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4" and len(video.content) > 1000


def test_generation_refuses_an_asset_that_is_not_active(http: TestClient, media: dict[str, Path]) -> None:
    group = _verified_group(http)
    asset = _upload(http, group, host(http, media["image"]))
    body = {"model": "bytedance/seedance2-0-i2v", "input": {"prompt": "x", "img_urls": [f"asset://{asset}"]}}
    r = http.post(f"{P}/CreateTask", json=body, headers=KEY)
    assert r.status_code == 422 and "Processing" in r.json()["message"]


@pytest.mark.parametrize("code", [402, 455, 505])
def test_configured_crun_codes_are_answered(http: TestClient, app: Starlette, code: int) -> None:
    app.state.sim.config.dialect_options["crun"] = {"code": code}
    r = http.post(f"{P}/visual-validate-session", json={"callback_url": "https://a/cb"}, headers=KEY)
    assert r.status_code == code and r.json()["code"] == code


def test_configured_501_fails_generation(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    group = _verified_group(http)
    asset = _upload(http, group, host(http, media["image"]))
    app.state.sim.settle()
    clock.advance(3)
    app.state.sim.config.dialect_options["crun"] = {"code": 501}
    body = {"model": "bytedance/seedance2-0-r2v", "input": {"prompt": "x", "reference_images": [f"asset://{asset}"],
                                                             "duration": 1, "resolution": "480p"}}  # fmt: skip
    task = http.post(f"{P}/CreateTask", json=body, headers=KEY).json()["data"]["task_id"]
    app.state.sim.settle()
    clock.advance(5)
    info = http.get(f"{P}/TaskInfo", params={"task_id": task}, headers=KEY).json()["data"]
    assert info["status"] == "failed" and info["result"]["code"] == 501


def test_over_the_rate_limit_is_429_with_retry_after(http: TestClient, app: Starlette, clock: FakeClock) -> None:
    app.state.sim.config.rate_limit = 2.0
    body = {"callback_url": "https://a/cb"}
    statuses = [http.post(f"{P}/visual-validate-session", json=body, headers=KEY).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    r = http.post(f"{P}/visual-validate-session", json=body, headers=KEY)
    assert r.status_code == 429 and r.json()["code"] == 429 and int(r.headers["retry-after"]) >= 1
    assert http.post(f"{P}/visual-validate-session", json=body, headers={"x-api-key": "other"}).status_code == 200
    clock.advance(1)
    assert http.post(f"{P}/visual-validate-session", json=body, headers=KEY).status_code == 200
