"""Anyfast's contract (reference/providers.md §5), spoken with raw HTTP: no client code."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from realavatar_nb.simulator.checks import MULTIPLE_FACES

from .conftest import FakeClock, host, press

A = "/anyfast/volc/asset"
GEN = "/anyfast/v1/video/generations"
KEY = {"authorization": "Bearer af-key-1"}
OTHER = {"authorization": "Bearer af-key-2"}


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "ResponseMetadata" not in body  # actions answer upstream's Result bare
    return body


def _refused(response: Any, status: int, action: str) -> dict[str, str]:
    """Return upstream's code and message from a refusal in the gateway's ``{code, message}`` shape.

    ``action`` names the call, for the reader: the reported shape no longer carries it.
    """
    assert response.status_code == status, (action, response.text)
    body = response.json()
    assert set(body) == {"code", "message"} and body["code"] == "upstream_error", body
    found = re.match(r"\[([^\]]+)\] (.*)", body["message"], re.DOTALL)
    assert found, body
    return {"Code": found.group(1), "Message": found.group(2)}


def _call(http: TestClient, action: str, body: dict[str, Any] | None = None, headers: dict[str, str] = KEY) -> Any:
    return http.post(f"{A}/{action}", json=body if body is not None else {}, headers=headers)


def _session(http: TestClient, headers: dict[str, str] = KEY) -> dict[str, str]:
    return _ok(_call(http, "CreateVisualValidateSession", {"CallbackURL": "https://app.example/cb"}, headers))


def _verified_group(http: TestClient, headers: dict[str, str] = KEY, person: str = "alice") -> str:
    token = _session(http, headers)["BytedToken"]
    press(http, token, person=person)
    return str(_ok(_call(http, "GetVisualValidateResult", {"BytedToken": token}, headers))["GroupId"])


def _upload(
    http: TestClient, group: str, url: str, kind: str = "Image", name: str = "front", headers: dict[str, str] = KEY
) -> str:
    model = {"Image": "volc-asset", "Video": "volc-asset-video", "Audio": "volc-asset-audio"}[kind]
    body = {"model": model, "GroupId": group, "Name": name, "AssetType": kind, "URL": url}
    return str(_ok(_call(http, "CreateAsset", body, headers))["Id"])


def _asset(http: TestClient, asset_id: str, headers: dict[str, str] = KEY) -> dict[str, Any]:
    """Return the asset as ListAssets shows it: GetAsset answers not-found in a LivenessFace group."""
    items = _ok(_call(http, "ListAssets", {"model": "volc-asset", "PageSize": 100}, headers))["Items"]
    [found] = [a for a in items if a["Id"] == asset_id]
    return dict(found)


def _processed(app: Starlette, clock: FakeClock) -> None:
    app.state.sim.settle()
    clock.advance(3)


# -- liveness --------------------------------------------------------------------------------


def test_session_answers_upstream_fields(http: TestClient) -> None:
    data = _session(http)
    assert set(data) == {"BytedToken", "CallbackURL", "H5Link"}
    assert len(data["BytedToken"]) == 34 and data["CallbackURL"] == "https://app.example/cb"
    assert f"/h5/{data['BytedToken']}" in data["H5Link"] and "&" in data["H5Link"]


def test_result_is_an_empty_group_id_until_the_person_passes(http: TestClient) -> None:
    token = _session(http)["BytedToken"]
    assert _ok(_call(http, "GetVisualValidateResult", {"BytedToken": token})) == {"GroupId": ""}
    press(http, token)
    group = _ok(_call(http, "GetVisualValidateResult", {"BytedToken": token}))["GroupId"]
    assert group.startswith("group-") and len(group) == len("group-20260318033332-7vw4m")


def test_failed_and_expired_sessions_never_yield_a_group(http: TestClient, clock: FakeClock) -> None:
    failed = _session(http)["BytedToken"]
    press(http, failed, outcome="fail")
    error = _refused(_call(http, "GetVisualValidateResult", {"BytedToken": failed}), 400, "GetVisualValidateResult")
    assert error["Code"] == "InvalidParameter.BytedToken" and "failed" in error["Message"]

    late = _session(http)["BytedToken"]
    clock.advance(120)
    page = http.post(f"/h5/{late}", data={"outcome": "pass", "person": "alice"}, follow_redirects=False)
    assert page.status_code == 410
    error = _refused(_call(http, "GetVisualValidateResult", {"BytedToken": late}), 400, "GetVisualValidateResult")
    assert "expired" in error["Message"]


def test_another_account_gets_the_asset_group_not_found_family(http: TestClient, media: dict[str, Path]) -> None:
    token = _session(http)["BytedToken"]
    press(http, token)
    error = _refused(
        _call(http, "GetVisualValidateResult", {"BytedToken": token}, OTHER), 404, "GetVisualValidateResult"
    )
    assert error["Code"].startswith("NotFound.")
    group = _ok(_call(http, "GetVisualValidateResult", {"BytedToken": token}))["GroupId"]
    body = {"GroupId": group, "AssetType": "Image", "URL": host(http, media["image"])}
    error = _refused(_call(http, "CreateAsset", body, OTHER), 404, "CreateAsset")
    assert error["Code"] == "NotFound.group_id" and f"asset group {group} not found" in error["Message"]


# -- uploads ---------------------------------------------------------------------------------


def test_json_upload_is_processing_then_active(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    group = _verified_group(http)
    asset_id = _upload(http, group, host(http, media["image"]))
    assert asset_id.startswith("asset-")
    assert _asset(http, asset_id)["Status"] == "Processing"
    _processed(app, clock)
    asset = _asset(http, asset_id)
    fields = ["Id", "Name", "URL", "AssetType", "GroupId", "Status", "ProjectName", "CreateTime", "UpdateTime"]
    assert list(asset) == fields
    assert (asset["Status"], asset["AssetType"], asset["GroupId"], asset["ProjectName"]) == (
        "Active", "Image", group, "default"
    )  # fmt: skip
    assert asset["CreateTime"].endswith("Z") and "X-Tos-Expires=43200" in asset["URL"]
    assert http.get(asset["URL"]).content == media["image"].read_bytes()


@pytest.mark.parametrize(("name", "model"), [("image", "volc-asset"), ("video", "volc-asset-video")])
def test_multipart_upload_stores_the_file_and_types_it_by_model(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path], name: str, model: str
) -> None:
    group = _verified_group(http)
    path = media[name]
    with open(path, "rb") as fh:
        form = {"model": model, "GroupId": group, "Name": "upload-1"}
        r = http.post(f"{A}/CreateAsset", data=form, files={"file": (path.name, fh)}, headers=KEY)
    asset_id = _ok(r)["Id"]
    _processed(app, clock)
    asset = _asset(http, asset_id)
    assert (asset["Status"], asset["Name"]) == ("Active", "upload-1")
    assert asset["AssetType"] == {"volc-asset": "Image", "volc-asset-video": "Video"}[model]
    assert http.get(asset["URL"]).content == path.read_bytes()


@pytest.mark.parametrize("inline", ["data-uri", "raw-base64"])
def test_inline_base64_is_rehosted_and_checked(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path], inline: str
) -> None:
    group = _verified_group(http)
    payload = base64.b64encode(media["untagged"].read_bytes()).decode()
    url = f"data:image/png;base64,{payload}" if inline == "data-uri" else payload
    asset_id = _upload(http, group, url)
    _processed(app, clock)
    asset = _asset(http, asset_id)
    assert asset["Status"] == "Active" and "/files/" in asset["URL"] and payload not in asset["URL"]
    assert http.get(asset["URL"]).content == media["untagged"].read_bytes()


def test_an_inline_file_larger_than_a_json_body_cap_is_accepted(
    http: TestClient, app: Starlette, clock: FakeClock, tmp_path: Path
) -> None:
    import random

    from PIL import Image

    noise = Image.frombytes("RGB", (700, 700), random.Random(1).randbytes(700 * 700 * 3))
    noise.save(tmp_path / "noise.png")
    payload = base64.b64encode((tmp_path / "noise.png").read_bytes()).decode()
    assert len(payload) > 1024 * 1024
    asset_id = _upload(http, _verified_group(http), f"data:image/png;base64,{payload}")
    _processed(app, clock)
    assert _asset(http, asset_id)["Status"] == "Active"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"model": "volc-asset", "AssetType": "Video"}, "InvalidParameter.model"),
        ({"model": "volc-asset-video", "AssetType": "Image"}, "InvalidParameter.model"),
        ({"AssetType": "Audio"}, "InvalidParameter.model"),  # the default model is for images
        ({"model": "volc-asset-3d", "AssetType": "Image"}, "InvalidParameter.model"),
        ({"model": "volc-asset", "AssetType": "image"}, "InvalidParameter.AssetType"),
    ],
)
def test_a_model_that_does_not_match_the_asset_type_is_refused(
    http: TestClient, media: dict[str, Path], body: dict[str, Any], code: str
) -> None:
    group = _verified_group(http)
    body = {"GroupId": group, "URL": host(http, media["image"]), **body}
    assert _refused(_call(http, "CreateAsset", body), 400, "CreateAsset")["Code"] == code


def test_an_audio_asset_needs_the_audio_model(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    asset_id = _upload(http, _verified_group(http), host(http, media["audio"]), kind="Audio")
    _processed(app, clock)
    assert _asset(http, asset_id)["AssetType"] == "Audio" and _asset(http, asset_id)["Status"] == "Active"


@pytest.mark.parametrize(
    ("name", "kind", "code"),
    [("bob", "Image", "FaceMismatch"), ("two", "Image", MULTIPLE_FACES[0]), ("short", "Video", "DurationTooShort")],
)
def test_a_bad_upload_fails_with_the_upstream_code(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path], name: str, kind: str, code: str
) -> None:
    asset_id = _upload(http, _verified_group(http), host(http, media[name]), kind=kind)
    _processed(app, clock)
    asset = _asset(http, asset_id)
    assert asset["Status"] == "Failed" and asset["Error"]["Code"] == code and asset["Error"]["Message"]


@pytest.mark.parametrize(
    ("form", "file", "code"),
    [
        ({"GroupId": "G"}, None, "MissingParameter.file"),
        ({"GroupId": "G"}, b"", "InvalidParameter.file"),
        ({}, b"\x89PNG", "MissingParameter.GroupId"),
    ],
)
def test_a_bad_multipart_form_is_400_naming_the_field(
    http: TestClient, form: dict[str, str], file: bytes | None, code: str
) -> None:
    form = {k: _verified_group(http) if v == "G" else v for k, v in form.items()}
    files = {"file": ("x.png", file)} if file is not None else {"other": ("x.txt", b"x")}
    r = http.post(f"{A}/CreateAsset", data=form, files=files, headers=KEY)
    assert _refused(r, 400, "CreateAsset")["Code"] == code


def test_a_broken_multipart_body_is_400_not_500(http: TestClient) -> None:
    headers = {**KEY, "content-type": "multipart/form-data; boundary=xyz"}
    r = http.post(f"{A}/CreateAsset", content=b"--xyz\r\nContent-Disposition: form-data\r\n\r\n", headers=headers)
    assert _refused(r, 400, "CreateAsset")["Code"] == "InvalidParameter"


# -- listing and deleting --------------------------------------------------------------------


def test_list_assets_filters_by_status_group_and_name_and_pages(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    first, second = _verified_group(http), _verified_group(http)
    front = _upload(http, first, host(http, media["image"]), name="alice-front")
    clock.advance(1)
    wrong = _upload(http, first, host(http, media["bob"]), name="bob-front")
    clock.advance(1)
    elsewhere = _upload(http, second, host(http, media["untagged"]), name="plain")
    _processed(app, clock)

    def ids(**body: Any) -> list[str]:
        return [item["Id"] for item in _ok(_call(http, "ListAssets", {"model": "volc-asset", **body}))["Items"]]

    assert ids() == [elsewhere, wrong, front]
    assert ids(Filter={"GroupIds": [first]}) == [wrong, front]
    assert ids(Filter={"Statuses": ["Failed"]}) == [wrong]
    assert ids(Filter={"Name": "front", "GroupType": "LivenessFace"}) == [wrong, front]
    assert ids(Filter={"GroupType": "AIGC"}) == []
    assert ids(SortOrder="Asc") == [front, wrong, elsewhere]
    page = _ok(_call(http, "ListAssets", {"PageNumber": 2, "PageSize": 2}))
    assert (page["PageNumber"], page["PageSize"], page["TotalCount"]) == (2, 2, 3)
    assert [item["Id"] for item in page["Items"]] == [front] and page["Items"][0]["Status"] == "Active"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"PageSize": 101}, "InvalidParameter.PageSize"),
        ({"Filter": {"Statuses": ["Done"]}}, "InvalidParameter.Filter.Statuses"),
        ({"Filter": {"GroupIds": "group-1"}}, "InvalidParameter.Filter.GroupIds"),
        ({"Filter": []}, "InvalidParameter.Filter"),
    ],
)
def test_list_assets_refuses_bad_filters(http: TestClient, body: dict[str, Any], code: str) -> None:
    assert _refused(_call(http, "ListAssets", body), 400, "ListAssets")["Code"] == code


def test_delete_asset_answers_deleted_and_then_404(http: TestClient, media: dict[str, Path]) -> None:
    asset_id = _upload(http, _verified_group(http), host(http, media["image"]))
    assert (
        _refused(_call(http, "DeleteAsset", {"Id": asset_id}, OTHER), 404, "DeleteAsset")["Code"] == "NotFound.asset_id"
    )
    assert _ok(_call(http, "DeleteAsset", {"Id": asset_id, "model": "volc-asset"})) == {"Id": asset_id, "Deleted": True}
    error = _refused(_call(http, "DeleteAsset", {"Id": asset_id}), 404, "DeleteAsset")
    assert error["Code"] == "NotFound.asset_id"


@pytest.mark.parametrize(
    ("body", "code"),
    [({"Filter": {}}, "MissingParameter.model"), ({"model": "volc-asset"}, "MissingParameter.Filter")],
)
def test_list_asset_groups_needs_model_and_filter(http: TestClient, body: dict[str, Any], code: str) -> None:
    assert _refused(_call(http, "ListAssetGroups", body), 400, "ListAssetGroups")["Code"] == code


def test_create_asset_group_refuses_liveness_groups_and_says_aigc_is_not_emulated(http: TestClient) -> None:
    body = {"model": "volc-asset", "Name": "cast", "GroupType": "LivenessFace"}
    error = _refused(_call(http, "CreateAssetGroup", body), 400, "CreateAssetGroup")
    assert error["Message"] == "GroupType must be one of [AIGC]"
    error = _refused(_call(http, "CreateAssetGroup", {"model": "volc-asset", "Name": "cast"}), 400, "CreateAssetGroup")
    assert error["Code"] == "UnsupportedOperation" and "AIGC" in error["Message"]
    error = _refused(_call(http, "CreateAssetGroup", {"model": "volc-asset"}), 400, "CreateAssetGroup")
    assert error["Code"] == "MissingParameter.Name"


# -- auth and bad requests -------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer  "}, {"authorization": "Token af-key-1"}])
def test_a_missing_bearer_key_is_401_in_the_gateways_own_shape(http: TestClient, headers: dict[str, str]) -> None:
    r = _call(http, "GetAsset", {"Id": "asset-x"}, headers)
    assert r.status_code == 401 and set(r.json()) == {"error"}
    assert set(r.json()["error"]) == {"type", "code", "message"} and r.json()["error"]["type"] == "new_api_error"


def test_an_unknown_key_is_401_when_keys_are_configured(http: TestClient, app: Starlette) -> None:
    app.state.sim.config.api_keys = frozenset({"af-key-1"})
    assert _call(http, "CreateVisualValidateSession", {}, OTHER).json()["error"]["type"] == "new_api_error"
    r = http.get(f"{GEN}/asyntask_x", headers=OTHER)
    assert r.status_code == 401 and r.json()["error"]["type"] == "new_api_error"


@pytest.mark.parametrize(
    ("action", "body", "code"),
    [
        ("GetAsset", {}, "MissingParameter.Id"),
        ("GetAsset", {"Id": 7}, "InvalidParameter.Id"),
        ("GetVisualValidateResult", {}, "MissingParameter.BytedToken"),
        ("CreateVisualValidateSession", {"CallbackURL": "not a url"}, "InvalidParameter.CallbackURL"),
        ("CreateAsset", {"GroupId": "g", "URL": "ftp://host/x.jpg"}, "InvalidParameter.URL"),
        ("CreateAsset", {"GroupId": "g", "URL": "data:image/png;base64,@@@"}, "InvalidParameter.URL"),
        ("CreateAsset", {"GroupId": "g"}, "MissingParameter.URL"),
        ("DeleteAsset", {"Id": ["asset-x"]}, "InvalidParameter.Id"),
    ],
)
def test_an_invalid_body_is_400_naming_the_field(
    http: TestClient, action: str, body: dict[str, Any], code: str
) -> None:
    if body.get("GroupId") == "g":
        body = {**body, "GroupId": _verified_group(http)}
    assert _refused(_call(http, action, body), 400, action)["Code"] == code


@pytest.mark.parametrize("content", [b"{not json", b"[1]", b"\xff", b'{"Id": "' + b"x" * 2_000_000 + b'"}'])
def test_malformed_or_huge_json_is_400_not_500(http: TestClient, content: bytes) -> None:
    headers = {**KEY, "content-type": "application/json"}
    # CreateAsset takes up to 64 MB (a base64 file inline), so only the other action finds 2 MB huge.
    actions = ("GetAsset",) if len(content) > 1024 * 1024 else ("GetAsset", "CreateAsset")
    for action in actions:
        error = _refused(http.post(f"{A}/{action}", content=content, headers=headers), 400, action)
        assert error["Code"] == "InvalidParameter"


def test_unknown_actions_and_methods_answer_in_upstream_shape(http: TestClient) -> None:
    assert _refused(_call(http, "DeleteEverything"), 404, "DeleteEverything")["Code"] == "InvalidAction"
    assert _refused(http.get(f"{A}/GetAsset", headers=KEY), 405, "GetAsset")["Code"] == "InvalidMethod"


# -- generation ------------------------------------------------------------------------------


def _active_asset(http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]) -> str:
    asset_id = _upload(http, _verified_group(http), host(http, media["image"]))
    _processed(app, clock)
    return asset_id


def _generation(asset_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "seedance-fast",
        "content": [{"type": "text", "text": "a slow smile"},
                    {"type": "image_url", "image_url": {"url": f"asset://{asset_id}"}, "role": "reference_image"}],
        "ratio": "9:16", "duration": 4, "resolution": "480p", **extra,
    }  # fmt: skip


def test_generation_renders_a_downloadable_mp4_through_the_task_envelope(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    asset_id = _active_asset(http, app, clock, media)
    r = http.post(GEN, json=_generation(asset_id), headers=KEY)
    assert r.status_code == 200, r.text
    assert (r.json()["code"], r.json()["message"]) == ("success", "")
    task = r.json()["data"]["task_id"]
    assert task.startswith("asyntask_")

    def look() -> dict[str, Any]:
        body = http.get(f"{GEN}/{task}", headers=KEY).json()
        assert body["code"] == "success"
        return body["data"]

    queued = look()
    assert (queued["status"], queued["progress"], queued["result_url"], queued["finish_time"]) == (
        "QUEUED",
        "0%",
        "",
        0,
    )
    clock.advance(1)
    assert look()["status"] == "IN_PROGRESS"
    app.state.sim.settle()
    clock.advance(3)
    done = look()
    assert (done["status"], done["progress"], done["action"], done["fail_reason"]) == (
        "SUCCESS", "100%", "referenceGenerate", ""
    )  # fmt: skip
    assert done["submit_time"] <= done["start_time"] <= done["finish_time"]
    inner = done["data"]
    assert inner["status"] == "succeeded" and inner["content"]["video_url"] == done["result_url"]
    assert (inner["duration"], inner["ratio"], inner["resolution"]) == (4, "9:16", "480p")
    assert inner["model"].startswith("doubao-seedance-2-0-fast") and inner["usage"]["total_tokens"] > 0
    video = http.get(done["result_url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4" and len(video.content) > 1000


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"model": "dreamina-seedance-2-0"}, "model"),
        ({"resolution": "1080p"}, "resolution"),
        ({"duration": 16}, "duration"),
        ({"content": [{"type": "image_url", "image_url": {"url": "https://a/face.jpg"}}]}, "could not be downloaded"),
        ({"content": [{"type": "image_url", "image_url": {"url": "asset://x"}, "role": "reference_video"}]}, "role"),
        ({"content": [{"type": "sticker"}]}, "type"),
        ({"content": "a slow smile"}, "content"),
    ],
)
def test_an_invalid_generation_is_400_in_the_task_envelope(http: TestClient, change: dict[str, Any], word: str) -> None:
    r = http.post(GEN, json=_generation("asset-x", **change), headers=KEY)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_request" and word in r.json()["message"] and r.json()["data"] is None


def test_generation_refuses_first_frames_mixed_with_references(http: TestClient) -> None:
    content = [{"type": "image_url", "image_url": {"url": f"asset://a{i}"}, "role": role}
               for i, role in enumerate(["first_frame", "reference_image"])]  # fmt: skip
    r = http.post(GEN, json={"model": "seedance", "content": content}, headers=KEY)
    assert r.status_code == 400 and "First/last-frame" in r.json()["message"]


def test_a_task_is_404_for_another_account_or_an_unknown_id(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    asset_id = _active_asset(http, app, clock, media)
    task = http.post(GEN, json=_generation(asset_id), headers=KEY).json()["data"]["task_id"]
    for headers, task_id in ((OTHER, task), (KEY, "asyntask_unknown")):
        r = http.get(f"{GEN}/{task_id}", headers=headers)
        assert r.status_code == 404 and r.json()["code"] == "task_not_exist"
    r = http.post(GEN, json=_generation(asset_id), headers=OTHER)
    assert r.status_code == 400 and "not found" in r.json()["message"]
