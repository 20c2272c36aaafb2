"""Upstream's own API (BytePlus ModelArk, Volcengine Ark), spoken with signed raw HTTP in-process.

Requests are signed with the package's signer (``providers.signing``, held to the official SDKs);
the clock is the test's, so a stale X-Date is a clock moved, not a sleep.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from realavatar_nb._config import Secret
from realavatar_nb.providers.signing import AccessKey, sign
from realavatar_nb.simulator import UpstreamKey
from realavatar_nb.simulator.app import ADMIN_HEADER

from .conftest import FakeClock, host, press

TASKS = "/api/v3/contents/generations/tasks"
REGIONS = {"byteplus": "ap-southeast-1", "volcengine": "cn-beijing"}
MODELS = {"byteplus": "dreamina-seedance-2-0-260128", "volcengine": "doubao-seedance-2-0-260128"}


class Upstream:
    """Signed calls to the emulator's OpenAPI root as one key, at the test's clock."""

    def __init__(self, http: TestClient, clock: FakeClock, key: UpstreamKey) -> None:
        self.http, self.clock, self.key = http, clock, key

    def request(self, action: str, body: Any = None, *, secret: str | None = None, path: str = "/",
                region: str | None = None, token: str | None = None,
                version: str = "2024-01-01") -> httpx.Request:  # fmt: skip
        request = self.http.build_request(
            "POST", path, params={"Action": action, "Version": version},
            content=json.dumps(body if body is not None else {}).encode(), headers={"content-type": "application/json"},
        )  # fmt: skip
        pair = AccessKey(self.key.access_key_id, Secret(secret or self.key.secret_access_key),
                         Secret(token) if token else None)  # fmt: skip
        now = datetime.fromtimestamp(self.clock.now, UTC)
        return sign(request, pair, region=region or self.key.region, service="ark", now=now)

    def call(self, action: str, body: Any = None, **options: Any) -> httpx.Response:
        return self.http.send(self.request(action, body, **options))

    def ok(self, action: str, body: Any = None) -> dict[str, Any]:
        response = self.call(action, body)
        assert response.status_code == 200, response.text
        data = response.json()
        metadata = data["ResponseMetadata"]
        assert (metadata["Action"], metadata["Version"], metadata["Service"]) == (action, "2024-01-01", "ark")
        assert metadata["Region"] == self.key.region and "Error" not in metadata
        assert len(metadata["RequestId"]) == 34 and metadata["RequestId"][:14].isdigit()
        result: dict[str, Any] = data["Result"]
        return result

    def bearer(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.key.api_key}"}


def refused(response: httpx.Response, status: int, code: str) -> str:
    """Return the message of upstream's refusal, after checking its status, code and envelope."""
    assert response.status_code == status, response.text
    data = response.json()
    assert "Result" not in data
    error = data["ResponseMetadata"]["Error"]
    assert error["Code"] == code, error
    return str(error["Message"])


def task_refused(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["type"] and "Request id:" in error["message"], error
    return str(error["message"])


@pytest.fixture(params=["byteplus", "volcengine"])
def up(request: pytest.FixtureRequest, app: Starlette, http: TestClient, clock: FakeClock) -> Upstream:
    return Upstream(http, clock, app.state.sim.keys.mint(request.param))


def mint(app: Starlette, http: TestClient, clock: FakeClock, cloud: str = "byteplus", **options: Any) -> Upstream:
    return Upstream(http, clock, app.state.sim.keys.mint(cloud, **options))


def verified_group(up: Upstream, person: str = "alice") -> str:
    token = up.ok("CreateVisualValidateSession", {"CallbackURL": "https://app.example/cb"})["BytedToken"]
    press(up.http, token, person=person)
    return str(up.ok("GetVisualValidateResult", {"BytedToken": token})["GroupId"])


def active_asset(up: Upstream, app: Starlette, media: dict[str, Path], group: str | None = None) -> str:
    body = {"GroupId": group or verified_group(up), "URL": host(up.http, media["image"]), "AssetType": "Image"}
    asset_id = str(up.ok("CreateAsset", body)["Id"])
    app.state.sim.settle()
    up.clock.advance(3)
    assert up.ok("GetAsset", {"Id": asset_id})["Status"] == "Active"
    return asset_id


# -- the OpenAPI -------------------------------------------------------------------------------


def test_each_cloud_answers_in_its_region_with_the_h5_link_and_callback(up: Upstream) -> None:
    result = up.ok("CreateVisualValidateSession", {"CallbackURL": "https://app.example/cb"})
    assert set(result) == {"BytedToken", "H5Link", "CallbackURL"}
    assert f"/h5/{result['BytedToken']}" in result["H5Link"] and result["CallbackURL"] == "https://app.example/cb"
    assert up.key.access_key_id.startswith({"byteplus": "AKAP", "volcengine": "AKLT"}[up.key.cloud])
    assert up.key.region == REGIONS[up.key.cloud]


def test_a_session_needs_a_callback_url(up: Upstream) -> None:
    assert "CallbackURL" in refused(up.call("CreateVisualValidateSession", {}), 400, "MissingParameter.CallbackURL")


def test_the_result_is_an_empty_group_id_until_the_person_passes_and_a_failure_is_400(up: Upstream) -> None:
    token = up.ok("CreateVisualValidateSession", {"CallbackURL": "https://app.example/cb"})["BytedToken"]
    assert up.ok("GetVisualValidateResult", {"BytedToken": token}) == {"GroupId": ""}
    press(up.http, token)
    assert up.ok("GetVisualValidateResult", {"BytedToken": token})["GroupId"].startswith("group-")
    failed = up.ok("CreateVisualValidateSession", {"CallbackURL": "https://app.example/cb"})["BytedToken"]
    press(up.http, failed, outcome="fail")
    refused(up.call("GetVisualValidateResult", {"BytedToken": failed}), 400, "InvalidParameter.BytedToken")


def test_an_asset_is_processing_then_active_then_deleted(up: Upstream, app: Starlette, media: dict[str, Path]) -> None:
    group = verified_group(up)
    body = {"GroupId": group, "URL": host(up.http, media["image"]), "AssetType": "Image", "Name": "front"}
    asset_id = up.ok("CreateAsset", body)["Id"]
    assert asset_id.startswith("asset-") and up.ok("GetAsset", {"Id": asset_id})["Status"] == "Processing"
    app.state.sim.settle()
    up.clock.advance(3)
    asset = up.ok("GetAsset", {"Id": asset_id})
    assert (asset["Status"], asset["GroupId"], asset["Name"]) == ("Active", group, "front")
    assert asset["ProjectName"] == "default"
    assert "X-Tos-Expires=43200" in asset["URL"]
    assert up.ok("UpdateAsset", {"Id": asset_id, "Name": "profile"}) == {"Id": asset_id}
    assert up.ok("GetAsset", {"Id": asset_id})["Name"] == "profile"
    assert up.ok("DeleteAsset", {"Id": asset_id}) == {}
    refused(up.call("GetAsset", {"Id": asset_id}), 404, "NotFound.asset_id")


def test_another_persons_face_fails_with_face_mismatch(up: Upstream, app: Starlette, media: dict[str, Path]) -> None:
    body = {"GroupId": verified_group(up), "URL": host(up.http, media["bob"]), "AssetType": "Image"}
    asset_id = up.ok("CreateAsset", body)["Id"]
    app.state.sim.settle()
    up.clock.advance(3)
    asset = up.ok("GetAsset", {"Id": asset_id})
    assert asset["Status"] == "Failed" and asset["Error"]["Code"] == "FaceMismatch"


def test_list_assets_filters_by_status_and_group_and_caps_the_page(
    up: Upstream, app: Starlette, media: dict[str, Path]
) -> None:
    group = verified_group(up)
    active = active_asset(up, app, media, group)
    up.ok("CreateAsset", {"GroupId": group, "URL": host(up.http, media["image"]), "AssetType": "Image"})
    listed = up.ok("ListAssets", {"Filter": {"GroupIds": [group], "Statuses": ["Active"]}, "PageSize": 100})
    assert [a["Id"] for a in listed["Items"]] == [active] and listed["TotalCount"] == 1
    everything = up.ok("ListAssets", {"Filter": {"GroupType": "LivenessFace"}, "PageNumber": 1, "PageSize": 1})
    assert everything["TotalCount"] == 2 and len(everything["Items"]) == 1
    refused(up.call("ListAssets", {"PageSize": 101}), 400, "InvalidParameter.PageSize")


def test_create_asset_group_takes_only_aigc_and_a_group_delete_cascades(
    up: Upstream, app: Starlette, media: dict[str, Path]
) -> None:
    message = refused(up.call("CreateAssetGroup", {"Name": "x", "GroupType": "LivenessFace"}), 400,
                      "InvalidParameter.GroupType")  # fmt: skip
    assert "GroupType must be one of [AIGC]" in message
    aigc = up.ok("CreateAssetGroup", {"Name": "mascots", "Description": "virtual"})["Id"]
    assert up.ok("GetAssetGroup", {"Id": aigc})["GroupType"] == "AIGC"
    assert up.ok("UpdateAssetGroup", {"Id": aigc, "Name": "heroes"}) == {"Id": aigc}
    group = up.ok("GetAssetGroup", {"Id": aigc})
    assert (group["Name"], group["Description"]) == ("heroes", "virtual")
    liveness = verified_group(up)
    asset_id = active_asset(up, app, media, liveness)
    listed = up.ok("ListAssetGroups", {"Filter": {"GroupType": "LivenessFace"}})
    assert [g["Id"] for g in listed["Items"]] == [liveness]
    assert up.ok("DeleteAssetGroup", {"Id": liveness}) == {}
    refused(up.call("GetAsset", {"Id": asset_id}), 404, "NotFound.asset_id")
    refused(up.call("GetAssetGroup", {"Id": liveness}), 404, "NotFound.group_id")


def test_unknown_actions_and_versions_are_refused_in_the_envelope(up: Upstream) -> None:
    refused(up.call("ListEndpoints"), 404, "InvalidAction")
    refused(up.call("GetAsset", {"Id": "asset-x"}, version="2020-01-01"), 400, "InvalidVersion")


# -- signatures ---------------------------------------------------------------------------------


def test_an_unknown_access_key_is_401(up: Upstream) -> None:
    stranger = UpstreamKey(up.key.cloud, up.key.region, up.key.access_key_id[:4] + "X" * 40, "s", "k")
    refused(Upstream(up.http, up.clock, stranger).call("ListAssets"), 401, "InvalidAccessKeyId")


def test_a_wrong_secret_or_an_altered_body_does_not_match(up: Upstream) -> None:
    refused(up.call("ListAssets", {}, secret="not-the-secret"), 403, "SignatureDoesNotMatch")
    request = up.request("CreateVisualValidateSession", {"CallbackURL": "https://app.example/cb"})
    altered = up.http.build_request(
        "POST", "/", params=dict(request.url.params), headers=dict(request.headers),
        content=json.dumps({"CallbackURL": "https://evil.example/cb"}).encode(),
    )  # fmt: skip
    refused(up.http.send(altered), 403, "SignatureDoesNotMatch")


def test_a_signature_in_another_region_does_not_match(up: Upstream) -> None:
    other = next(region for region in REGIONS.values() if region != up.key.region)
    assert "must be" in refused(up.call("ListAssets", region=other), 403, "SignatureDoesNotMatch")


def test_an_x_date_more_than_15_minutes_off_is_expired(up: Upstream) -> None:
    request = up.request("ListAssets")
    up.clock.advance(15 * 60 + 1)
    refused(up.http.send(request), 403, "RequestExpired")
    up.clock.advance(-2 * (15 * 60 + 1))
    refused(up.http.send(request), 403, "RequestExpired")


def test_an_unsigned_request_is_refused(up: Upstream) -> None:
    response = up.http.post("/", params={"Action": "ListAssets", "Version": "2024-01-01"}, json={})
    refused(response, 401, "MissingAuthenticationToken")


def test_an_sts_token_is_accepted_when_signed_and_refused_when_not(up: Upstream) -> None:
    assert "Items" in up.ok("ListAssets")
    signed = up.http.send(up.request("ListAssets", token="sts-session-token"))
    assert signed.status_code == 200, signed.text
    request = up.request("ListAssets")
    request.headers["X-Security-Token"] = "added-after-signing"
    refused(up.http.send(request), 403, "SignatureDoesNotMatch")


def test_a_mount_takes_only_its_own_clouds_keys(app: Starlette, http: TestClient, clock: FakeClock) -> None:
    up = mint(app, http, clock, "byteplus")
    assert up.http.send(up.request("ListAssets", path="/byteplus/")).status_code == 200
    refused(up.http.send(up.request("ListAssets", path="/volcengine/")), 401, "InvalidAccessKeyId")


# -- IAM, subscriptions, projects, accounts -------------------------------------------------------


def test_a_denied_action_names_the_action_and_the_project(app: Starlette, http: TestClient, clock: FakeClock) -> None:
    up = mint(app, http, clock, "volcengine", denied=["ark:CreateVisualValidateSession"])
    message = refused(up.call("CreateVisualValidateSession", {"CallbackURL": "https://a.example/cb"}), 403,
                      "AccessDenied")  # fmt: skip
    assert "ark:CreateVisualValidateSession" in message and "default" in message
    assert up.ok("ListAssets")["TotalCount"] == 0


def test_an_unsubscribed_account_is_refused_every_action(app: Starlette, http: TestClient, clock: FakeClock) -> None:
    up = mint(app, http, clock, subscribed=False)
    refused(up.call("CreateVisualValidateSession", {"CallbackURL": "https://a.example/cb"}), 403,
            "SubscriptionRequired")  # fmt: skip
    refused(up.call("ListAssets"), 403, "SubscriptionRequired")


def test_projects_are_known_per_account_and_isolate_assets(
    app: Starlette, http: TestClient, clock: FakeClock, media: dict[str, Path]
) -> None:
    up = mint(app, http, clock, project="studio", account="acme")
    refused(up.call("ListAssets", {"ProjectName": "nowhere"}), 404, "NotFound.ProjectName")
    token = up.ok("CreateVisualValidateSession", {"CallbackURL": "https://a.example/cb", "ProjectName": "studio"})
    press(http, token["BytedToken"])
    group = up.ok("GetVisualValidateResult", {"BytedToken": token["BytedToken"], "ProjectName": "studio"})["GroupId"]
    body = {"GroupId": group, "URL": host(http, media["image"]), "AssetType": "Image", "ProjectName": "studio"}
    refused(up.call("CreateAsset", {**body, "ProjectName": "default"}), 404, "NotFound.group_id")
    asset_id = up.ok("CreateAsset", body)["Id"]
    assert up.ok("GetAsset", {"Id": asset_id, "ProjectName": "studio"})["ProjectName"] == "studio"
    refused(up.call("GetAsset", {"Id": asset_id}), 404, "NotFound.asset_id")


def test_accounts_are_isolated_unless_keys_share_one(
    app: Starlette, http: TestClient, clock: FakeClock, media: dict[str, Path]
) -> None:
    first = mint(app, http, clock, account="acme")
    asset_id = active_asset(first, app, media)
    colleague = mint(app, http, clock, account="acme")
    assert colleague.ok("GetAsset", {"Id": asset_id})["Id"] == asset_id
    stranger = mint(app, http, clock)
    refused(stranger.call("GetAsset", {"Id": asset_id}), 404, "NotFound.asset_id")
    other_cloud = mint(app, http, clock, "volcengine", account="acme")
    refused(other_cloud.call("GetAsset", {"Id": asset_id}), 404, "NotFound.asset_id")


def test_access_keys_are_minted_over_http_a_labelled_account_only_with_the_admin_token(
    app: Starlette, http: TestClient, clock: FakeClock
) -> None:
    labelled = {"cloud": "volcengine", "project": "default", "denied": [], "subscribed": True, "account": "acme"}
    assert http.post("/_sandbox/access-keys", json=labelled).status_code == 401  # a label can be guessed
    assert http.post("/_sandbox/access-keys", json=labelled, headers={ADMIN_HEADER: "wrong"}).status_code == 403
    # A secret names an account the way an API key does on the other dialects: no admin token needed.
    by_secret = {**labelled, "account": None, "account_key": "my-secret"}
    one, two = (http.post("/_sandbox/access-keys", json=by_secret).json() for _ in range(2))
    first = UpstreamKey("volcengine", one["Region"], one["AccessKeyId"], one["SecretAccessKey"], one["ApiKey"])
    second = UpstreamKey("volcengine", two["Region"], two["AccessKeyId"], two["SecretAccessKey"], two["ApiKey"])
    group = Upstream(http, clock, first).ok("CreateAssetGroup", {"Name": "set"})["Id"]
    assert Upstream(http, clock, second).ok("GetAssetGroup", {"Id": group})["Id"] == group
    spec = {**labelled, "account": None}
    admin = {ADMIN_HEADER: app.state.admin_token}
    assert http.post("/_sandbox/access-keys", json={**spec, "cloud": "aws"}, headers=admin).status_code == 400
    data = http.post("/_sandbox/access-keys", json=spec, headers=admin).json()
    assert set(data) == {"AccessKeyId", "SecretAccessKey", "ApiKey", "Region", "Project"}
    assert data["AccessKeyId"].startswith("AKLT") and data["Region"] == "cn-beijing"
    key = UpstreamKey("volcengine", data["Region"], data["AccessKeyId"], data["SecretAccessKey"], data["ApiKey"])
    assert Upstream(http, clock, key).ok("ListAssetGroups")["TotalCount"] == 0
    assert data["SecretAccessKey"] not in repr(key) and data["ApiKey"] not in repr(key)
    assert http.post("/_sandbox/reset", headers=admin).status_code == 200
    refused(Upstream(http, clock, key).call("ListAssetGroups"), 401, "InvalidAccessKeyId")


# -- Ark's generation tasks -----------------------------------------------------------------------


def _content(asset_id: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": "Image 1 waves"},
            {"type": "image_url", "image_url": {"url": f"asset://{asset_id}"}, "role": "reference_image"}]  # fmt: skip


def test_a_task_runs_to_a_downloadable_video_and_is_listed_and_deleted(
    up: Upstream, app: Starlette, media: dict[str, Path]
) -> None:
    asset_id = active_asset(up, app, media)
    body = {"model": MODELS[up.key.cloud], "content": _content(asset_id), "duration": 4, "resolution": "480p"}
    created = up.http.post(TASKS, json=body, headers=up.bearer())
    assert created.status_code == 200, created.text
    task_id = created.json()["id"]
    assert task_id.startswith("cgt-")
    assert up.http.get(f"{TASKS}/{task_id}", headers=up.bearer()).json()["status"] == "queued"
    app.state.sim.settle()
    up.clock.advance(5)
    task = up.http.get(f"{TASKS}/{task_id}", headers=up.bearer()).json()
    assert (task["status"], task["error"], task["duration"], task["resolution"]) == ("succeeded", None, 4, "480p")
    assert task["usage"]["completion_tokens"] > 0 and task["framespersecond"] == 24
    video = up.http.get(task["content"]["video_url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    params = {"filter.status": "succeeded", "filter.task_ids": task_id, "page_num": 1, "page_size": 10}
    listed = up.http.get(TASKS, params=params, headers=up.bearer()).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == task_id
    assert up.http.delete(f"{TASKS}/{task_id}", headers=up.bearer()).status_code == 200
    task_refused(up.http.get(f"{TASKS}/{task_id}", headers=up.bearer()), 404, "ResourceNotFound")


def test_a_queued_task_is_cancelled_and_a_running_one_is_not(
    up: Upstream, app: Starlette, media: dict[str, Path]
) -> None:
    asset_id = active_asset(up, app, media)
    body = {"model": MODELS[up.key.cloud], "content": _content(asset_id), "duration": 4}
    queued = up.http.post(TASKS, json=body, headers=up.bearer()).json()["id"]
    assert up.http.delete(f"{TASKS}/{queued}", headers=up.bearer()).status_code == 200
    assert up.http.get(f"{TASKS}/{queued}", headers=up.bearer()).json()["status"] == "cancelled"
    running = up.http.post(TASKS, json=body, headers=up.bearer()).json()["id"]
    up.clock.advance(2)
    assert up.http.get(f"{TASKS}/{running}", headers=up.bearer()).json()["status"] == "running"
    task_refused(up.http.delete(f"{TASKS}/{running}", headers=up.bearer()), 400, "InvalidParameter.TaskStatus")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"model": "gpt-4o"}, 404, "InvalidEndpointOrModel.NotFound"),
        ({"content": [{"type": "image_url", "image_url": {"url": "https://cdn.example/face.jpg"}}]}, 400,
         "InvalidParameter"),
        ({"content": [{"type": "image_url", "image_url": {"url": "asset://asset-20260101000000-nope0"}}]}, 400,
         "InvalidParameter"),
        ({"content": []}, 400, "InvalidParameter"),
        ({"model": None}, 400, "MissingParameter"),
        ({"duration": 16}, 400, "InvalidParameter"),
    ],
)  # fmt: skip
def test_an_invalid_task_is_refused_in_arks_error_shape(
    app: Starlette, http: TestClient, clock: FakeClock, change: dict[str, Any], status: int, code: str
) -> None:
    up = mint(app, http, clock)
    body = {"model": MODELS["byteplus"], "content": [{"type": "text", "text": "hello"}], **change}
    task_refused(http.post(TASKS, json=body, headers=up.bearer()), status, code)


def test_a_task_refuses_another_accounts_asset_and_an_unknown_api_key(
    app: Starlette, http: TestClient, clock: FakeClock, media: dict[str, Path]
) -> None:
    owner, stranger = mint(app, http, clock), mint(app, http, clock)
    body = {"model": MODELS["byteplus"], "content": _content(active_asset(owner, app, media))}
    task_refused(http.post(TASKS, json=body, headers=stranger.bearer()), 400, "InvalidParameter")
    task_refused(http.post(TASKS, json=body, headers={"authorization": "Bearer nope"}), 401, "AuthenticationError")
    task_refused(http.get(TASKS), 401, "AuthenticationError")


def test_an_api_key_generates_only_from_its_own_projects_assets(
    app: Starlette, http: TestClient, clock: FakeClock, media: dict[str, Path]
) -> None:
    main, studio = mint(app, http, clock, account="acme"), mint(app, http, clock, account="acme", project="studio")
    body = {"model": MODELS["byteplus"], "content": _content(active_asset(main, app, media))}
    assert http.post(TASKS, json=body, headers=main.bearer()).status_code == 200
    assert "not accessible" in task_refused(
        http.post(TASKS, json=body, headers=studio.bearer()), 400, "InvalidParameter"
    )
