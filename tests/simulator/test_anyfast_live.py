"""Anyfast as a client verified against the live API saw it (OpenMontage ``tools/video/_anyfast.py``),
spoken with raw HTTP, and the dialect settings that switch each behaviour the source contradicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from .conftest import FakeClock, host
from .test_anyfast import GEN, KEY, A, _call, _ok, _processed, _refused, _upload, _verified_group


def _options(app: Starlette, **options: Any) -> None:
    app.state.sim.config.dialect_options["anyfast"] = options


def _listed(http: TestClient, group: str) -> list[dict[str, Any]]:
    body = {"model": "volc-asset", "Filter": {"GroupIds": [group], "GroupType": "LivenessFace"}}
    data = _ok(_call(http, "ListAssets", body))
    assert data["TotalCount"] == len(data["Items"])
    return list(data["Items"])


# -- 1. a session needs a CallbackURL --------------------------------------------------------


def test_a_session_without_callback_url_is_refused_naming_the_parameter(http: TestClient) -> None:
    for response in (
        http.post(f"{A}/CreateVisualValidateSession", headers=KEY),
        _call(http, "CreateVisualValidateSession"),
    ):
        error = _refused(response, 400, "CreateVisualValidateSession")
        assert error["Message"] == "The required parameter CallbackURL is missing."
        assert error["Code"].endswith(".CallbackURL")


def test_the_documented_optional_callback_can_be_switched_back_on(http: TestClient, app: Starlette) -> None:
    _options(app, callback_required=False)
    data = _ok(_call(http, "CreateVisualValidateSession"))
    assert data["CallbackURL"] == "" and data["BytedToken"]


# -- 2. GetAsset cannot see real-person assets; the list can, and alone carries Error -------------


def test_get_asset_in_a_liveness_group_is_not_found_while_the_list_finds_it_with_its_error(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    group = _verified_group(http)
    good = _upload(http, group, host(http, media["image"]), name="alice")
    stranger = _upload(http, group, host(http, media["bob"]), name="bob")
    _processed(app, clock)
    for asset_id in (good, stranger):
        error = _refused(_call(http, "GetAsset", {"Id": asset_id}), 404, "GetAsset")
        assert error == {"Code": "NotFound.asset_id", "Message": f"The specified asset {asset_id} is not found."}
    listed = {a["Id"]: a for a in _listed(http, group)}
    assert listed[good]["Status"] == "Active" and "Error" not in listed[good]
    assert listed[stranger]["Status"] == "Failed" and listed[stranger]["Error"]["Code"] == "FaceMismatch"


def test_the_reverse_note_lets_get_asset_resolve_them_without_the_error(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    _options(app, liveness_get_asset="found")
    stranger = _upload(http, _verified_group(http), host(http, media["bob"]))
    _processed(app, clock)
    got = _ok(_call(http, "GetAsset", {"Id": stranger}))
    assert got["Status"] == "Failed" and "Error" not in got


# -- 3. a create that answers an Id and never resolves -----------------------------------------


def test_a_face_mismatch_can_be_made_to_never_resolve(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    _options(app, never_resolve=["face_mismatch"])
    group = _verified_group(http)
    stranger = _upload(http, group, host(http, media["bob"]))
    good = _upload(http, group, host(http, media["image"]), name="alice")
    assert {a["Id"] for a in _listed(http, group)} == {stranger, good}  # listed while Processing
    _processed(app, clock)
    assert [a["Id"] for a in _listed(http, group)] == [good]
    error = _refused(_call(http, "GetAsset", {"Id": stranger}), 404, "GetAsset")
    assert error["Code"] == "NotFound.asset_id"


def test_a_duplicate_name_in_the_group_reads_as_if_the_group_were_missing(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    group = _verified_group(http)
    url = host(http, media["image"])
    first = _upload(http, group, url, name="front")
    clock.advance(1)
    second = _upload(http, group, url, name="front")
    assert {a["Id"] for a in _listed(http, group)} == {first, second}  # off by default
    _options(app, never_resolve=["duplicate_name"])
    assert second.startswith("asset-") and [a["Id"] for a in _listed(http, group)] == [first]
    error = _refused(_call(http, "GetAsset", {"Id": second}), 404, "GetAsset")
    assert error == {"Code": "NotFound.group_id", "Message": f"The specified asset group {group} is not found."}


def test_multipart_uploads_can_be_made_to_never_resolve(
    http: TestClient, app: Starlette, clock: FakeClock, media: dict[str, Path]
) -> None:
    _options(app, never_resolve="multipart")
    group = _verified_group(http)
    with open(media["image"], "rb") as fh:
        form = {"model": "volc-asset", "GroupId": group, "Name": "by-form", "AssetType": "Image"}
        by_form = _ok(http.post(f"{A}/CreateAsset", data=form, files={"file": ("a.jpg", fh)}, headers=KEY))["Id"]
    by_url = _upload(http, group, host(http, media["image"]), name="by-url")
    _processed(app, clock)
    assert [a["Id"] for a in _listed(http, group)] == [by_url]  # accepted with an Id, never usable
    assert _refused(_call(http, "GetAsset", {"Id": by_form}), 404, "GetAsset")["Code"] == "NotFound.asset_id"


def test_an_unknown_never_resolve_cause_is_an_emulator_error(http: TestClient, app: Starlette) -> None:
    _options(app, never_resolve=["typo"])
    r = _call(http, "ListAssets", {"model": "volc-asset"})
    assert r.status_code == 500


# -- 4. ListAssetGroups never shows a LivenessFace group ----------------------------------------


@pytest.mark.parametrize("extra", [{}, {"GroupType": "LivenessFace"}, {"GroupIds": "own"}, {"Name": "group"}])
def test_liveness_groups_never_appear_in_list_asset_groups(http: TestClient, extra: dict[str, Any]) -> None:
    group = _verified_group(http)
    filters = {k: ([group] if v == "own" else v) for k, v in extra.items()}
    data = _ok(_call(http, "ListAssetGroups", {"model": "volc-asset", "Filter": filters}))
    assert (data["Items"], data["TotalCount"]) == ([], 0)


# -- 6. three refusal shapes, real 4xx statuses -------------------------------------------------


def test_a_refused_key_answers_the_gateways_own_shape_on_every_route(http: TestClient) -> None:
    for response in (_call(http, "GetAsset", {"Id": "x"}, {}), http.get(f"{GEN}/asyntask_x")):
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["type"] == "new_api_error" and error["message"]


def test_an_invalid_generation_relays_upstreams_refusal_as_a_json_string(
    http: TestClient, media: dict[str, Path]
) -> None:
    face = host(http, media["image"])  # a plain URL to a file showing a real person (person=alice)
    content = [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": face}}]
    r = http.post(GEN, json={"model": "seedance", "content": content}, headers=KEY)
    assert r.status_code == 400
    body = r.json()
    assert set(body) == {"code", "message", "data"} and body["data"] is None
    nested = json.loads(body["message"])["error"]
    assert nested["code"] == "InputImageSensitiveContentDetected.PrivacyInformation"
    assert nested["message"] == "input image 'content[1]' may contain real person"


def test_an_asset_action_refusal_is_code_and_message_with_upstreams_code_in_brackets(http: TestClient) -> None:
    r = _call(http, "GetAsset", {"Id": "asset-9"})
    assert r.status_code == 404 and set(r.json()) == {"code", "message"}
    assert r.json()["message"].startswith("[NotFound.asset_id] ")


def test_upstreams_envelope_can_be_switched_back_on(http: TestClient, app: Starlette) -> None:
    _options(app, error_shape="upstream")
    r = _call(http, "GetAsset", {"Id": "asset-9"})
    assert r.status_code == 404
    metadata = r.json()["ResponseMetadata"]
    assert metadata["Action"] == "GetAsset" and metadata["Error"]["Code"] == "NotFound.asset_id"
