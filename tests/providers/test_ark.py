"""The upstream adapter (byteplus, volcengine) on documented payloads, its signature judged by the official SDK."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from byteplussdkcore import signv4

import realavatar_nb as ra
from realavatar_nb._config import Secret
from realavatar_nb._models import Asset, VerificationSession
from realavatar_nb.providers.ark import Ark, BytePlus, Volcengine
from realavatar_nb.providers.signing import AccessKey

from .conftest import frozen, generation, respond, retryable, sent

NOW = datetime(2026, 12, 3, 9, 5, 7, tzinfo=UTC)
AK, SK = "AKAPexampleaccesskey", "ZXhhbXBsZS1zZWNyZXQ="
KEY = AccessKey(AK, Secret(SK))
GROUP, ASSET = "group-20260318033332-7vw4m", "asset-20260318035710-kctzf"


def _adapter(cls: type[Ark] = BytePlus, **kwargs: Any) -> Ark:
    given: dict[str, Any] = {"access_key": KEY, "clock": lambda: NOW, **kwargs}
    return cls(None, Secret("ark-api-key"), **given)


def _metadata(action: str, region: str = "ap-southeast-1", error: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "RequestId": "20260521162915DFB89755D1A21AAE8036",
        "Action": action,
        "Version": "2024-01-01",
        "Service": "ark",
        "Region": region,
    }
    if error:
        meta["Error"] = error
    return meta


def _session() -> VerificationSession:
    return VerificationSession(
        id="s",
        provider="byteplus",
        h5_link=Secret("https://h5-v2.kych5.com/?bytedToken=x"),
        byted_token=Secret("20260331171630CA67F03F8F85ABCDEF1234"),
        expires_at=NOW,
    )


# -- the control plane: signed actions ----------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "host", "region"),
    [
        (BytePlus, "open.byteplusapi.com", "ap-southeast-1"),
        (Volcengine, "ark.cn-beijing.volcengineapi.com", "cn-beijing"),
    ],
)
def test_an_action_is_a_post_to_the_root_signed_as_the_official_signer_signs_it(
    monkeypatch: pytest.MonkeyPatch, cls: type[Ark], host: str, region: str
) -> None:
    request = _adapter(cls, project="research").build_create_verification(
        callback_url="https://lab.example/cb", biz_id=None, locale=None
    )
    assert (request.method, request.url.host, request.url.path) == ("POST", host, "/")
    assert dict(request.url.params) == {"Action": "CreateVisualValidateSession", "Version": "2024-01-01"}
    assert sent(request) == {"CallbackURL": "https://lab.example/cb", "ProjectName": "research"}
    # The official signer, given the same request at the same time, writes the same Authorization.
    frozen(signv4, monkeypatch, NOW)
    headers = {"Host": host, "Content-Type": "application/json"}
    query = list(request.url.params.multi_items())
    signv4.SignerV4.sign("/", "POST", headers, request.content.decode(), [], query, AK, SK, region, "ark", None)
    assert request.headers["authorization"] == headers["Authorization"]


def test_the_callback_url_upstream_requires_is_always_sent() -> None:
    request = _adapter().build_create_verification(callback_url=None, biz_id=None, locale=None)
    assert sent(request)["CallbackURL"].startswith("https://")


def test_the_official_sample_envelopes_parse_and_a_bare_result_too() -> None:
    adapter = _adapter()
    opened = {
        "ResponseMetadata": _metadata("CreateVisualValidateSession"),
        "Result": {
            "BytedToken": "20260331171630CA67F03F8F85ABCDEF1234",
            "CallbackURL": "https://lab.example/cb",
            "H5Link": "https://h5-v2.kych5.com?accessKeyId=AKTP1\\u0026bytedToken=2026\\u0026lng=zh",
        },
    }
    request = adapter.build_create_verification(callback_url="https://lab.example/cb", biz_id=None, locale=None)
    session = adapter.parse_create_verification(respond(request, 200, opened), callback_url=None)
    assert session.byted_token.reveal() == "20260331171630CA67F03F8F85ABCDEF1234"
    assert session.id != session.byted_token.reveal() and "bytedToken=2026" in session.h5_link.reveal()
    read = adapter.build_get_verification(session, result_code=None)
    assert retryable(read) and sent(read) == {"BytedToken": "20260331171630CA67F03F8F85ABCDEF1234"}
    for body in (
        {"ResponseMetadata": _metadata("GetVisualValidateResult"), "Result": {"GroupId": GROUP}},
        {"GroupId": GROUP},
    ):
        outcome = adapter.parse_get_verification(respond(read, 200, body), session)
        assert (outcome.status, outcome.group_id) == ("verified", GROUP)


def test_assets_are_created_from_a_url_read_listed_and_deleted_in_pascal_case() -> None:
    adapter = _adapter()
    create = adapter.build_upload(group_id=GROUP, url="https://files.example/a.jpg", asset_type="image", name="a-1")
    assert not retryable(create) and create.url.params["Action"] == "CreateAsset"
    assert sent(create) == {"GroupId": GROUP, "URL": "https://files.example/a.jpg", "AssetType": "Image", "Name": "a-1"}
    (made,) = adapter.parse_upload(
        respond(create, 200, {"ResponseMetadata": _metadata("CreateAsset"), "Result": {"Id": ASSET}}),
        group_id=GROUP,
        source="a.jpg",
    )
    assert (made.id, made.status, made.asset_type, made.name) == (ASSET, "processing", "Image", "a-1")
    item = {
        "Id": ASSET,
        "Name": "a-1",
        "URL": "https://ark-media-asset.tos/x?X-Tos-Expires=43200",
        "AssetType": "Image",
        "GroupId": GROUP,
        "Status": "Failed",
        "ProjectName": "default",
        "CreateTime": "2026-03-18T03:57:10Z",
        "UpdateTime": "2026-03-18T03:57:13Z",
        "Error": {"Code": "FaceMismatch", "Message": "Face consistency verification failed."},
    }
    got = adapter.parse_get_asset(respond(adapter.build_get_asset(ASSET), 200, {"Result": item}))
    assert (got.status, got.error_code) == ("failed", "FaceMismatch")
    listing = adapter.build_list_assets(GROUP, page=2)
    assert sent(listing) == {"Filter": {"GroupIds": [GROUP]}, "PageNumber": 2, "PageSize": 100}
    page = {
        "Result": {
            "Items": [dict(item, Status="Active", Error=None)] * 100,
            "TotalCount": 250,
            "PageNumber": 2,
            "PageSize": 100,
        }
    }
    assets, more = adapter.parse_list_assets(respond(listing, 200, page))
    assert len(assets) == 100 and assets[0].status == "active" and more
    for build, action in (
        (adapter.build_delete_asset, "DeleteAsset"),
        (adapter.build_delete_group, "DeleteAssetGroup"),
    ):
        request = build(ASSET)
        assert request.url.params["Action"] == action and sent(request) == {"Id": ASSET}


# -- refusals: each names what to do ------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "error", "words"),
    [
        (403, "SignatureDoesNotMatch", ra.AuthenticationError, ["REALAVATAR_BYTEPLUS_SECRET_KEY", "clock"]),
        (401, "InvalidAccessKeyId", ra.AuthenticationError, ["REALAVATAR_BYTEPLUS_ACCESS_KEY", "Access keys"]),
        (
            403,
            "AccessDenied",
            ra.AuthenticationError,
            ["ark:CreateVisualValidateSession", "'research'", "ArkFullAccess"],
        ),
        (403, "SubscriptionRequired", ra.AuthenticationError, ["activate", "Advanced Creation Rights"]),
        (404, "NotFound.ProjectName", ra.NotFoundError, ["NotFound.ProjectName"]),
        (429, "Throttling", ra.RateLimitError, ["Throttling"]),
        (200, "AccessDenied", ra.AuthenticationError, ["ark:CreateVisualValidateSession"]),  # an error in a 200
    ],
)
def test_upstream_refusals_map_to_typed_errors_that_say_what_to_do(
    status: int, code: str, error: type[Exception], words: list[str]
) -> None:
    adapter = _adapter(project="research")
    request = adapter.build_create_verification(callback_url="https://lab.example/cb", biz_id=None, locale=None)
    body = {"ResponseMetadata": _metadata("CreateVisualValidateSession", error={"Code": code, "Message": "refused"})}
    with pytest.raises(error) as caught:
        adapter.parse_create_verification(respond(request, status, body), callback_url=None)
    for word in words:
        assert word in str(caught.value), str(caught.value)
    assert SK not in str(caught.value)


def test_each_missing_credential_is_named_with_where_to_get_it() -> None:
    with pytest.raises(ra.MissingAPIKeyError) as pair:
        BytePlus(None, Secret("ark")).build_get_asset(ASSET)
    assert "REALAVATAR_BYTEPLUS_ACCESS_KEY and REALAVATAR_BYTEPLUS_SECRET_KEY" in str(pair.value)
    assert "access key pair" in str(pair.value) and "console.byteplus.com" in str(pair.value)
    with pytest.raises(ra.MissingAPIKeyError) as ark:
        Volcengine(None, None, access_key=KEY).build_generate(generation())
    assert "REALAVATAR_VOLCENGINE_API_KEY" in str(ark.value) and "Ark API key" in str(ark.value)


# -- the data plane: Ark generation with a Bearer key ------------------------------------------


def test_generation_is_an_ark_task_with_asset_references_in_their_roles() -> None:
    adapter = _adapter()
    refs = (
        Asset(id=ASSET, group_id=GROUP, status="active", asset_type="Image"),
        Asset(id="asset-2", group_id=GROUP, status="active", asset_type="Audio"),
    )
    request = adapter.build_generate(generation(*refs, prompt="Image 1 waves", seed=7))
    assert str(request.url) == "https://ark.ap-southeast.bytepluses.com/api/v3/contents/generations/tasks"
    assert request.headers["authorization"] == "Bearer ark-api-key" and not retryable(request)
    body = sent(request)
    assert body["model"] == "dreamina-seedance-2-0-260128" and body["seed"] == 7
    assert body["content"][1] == {
        "type": "image_url",
        "image_url": {"url": f"asset://{ASSET}"},
        "role": "reference_image",
    }
    assert body["content"][2]["role"] == "reference_audio"
    job = adapter.parse_generate(respond(request, 200, {"id": "cgt-20260401-abcde"}))
    assert (job.id, job.status, job.references) == (
        "cgt-20260401-abcde",
        "queued",
        (f"asset://{ASSET}", "asset://asset-2"),
    )


def test_a_retrieved_task_reads_as_documented() -> None:
    adapter = _adapter(Volcengine)
    read = adapter.build_get_job("cgt-20260401-abcde")
    assert read.url.path == "/api/v3/contents/generations/tasks/cgt-20260401-abcde" and retryable(read)
    done = {
        "id": "cgt-20260401-abcde",
        "model": "doubao-seedance-2-0-260128",
        "status": "succeeded",
        "error": None,
        "created_at": 1775000000,
        "updated_at": 1775000060,
        "content": {"video_url": "https://ark-content.example/v.mp4?sig=1", "last_frame_url": None},
        "usage": {"completion_tokens": 108872, "total_tokens": 108872},
        "seed": 7,
        "resolution": "720p",
        "ratio": "16:9",
        "duration": 5,
        "framespersecond": 24,
    }
    job = adapter.parse_get_job(respond(read, 200, done))
    assert (job.status, job.video_url, job.model) == ("succeeded", done["content"]["video_url"], done["model"])
    failed = dict(
        done, status="failed", content={}, error={"code": "OutputVideoSensitiveContentDetected", "message": "refused"}
    )
    assert adapter.parse_get_job(respond(read, 200, failed)).error_code == "OutputVideoSensitiveContentDetected"
    with pytest.raises(ra.InvalidRequestError, match=r"InputImageSensitiveContentDetected\.PrivacyInformation"):
        adapter.parse_generate(
            respond(
                read,
                400,
                {
                    "error": {
                        "code": "InputImageSensitiveContentDetected.PrivacyInformation",
                        "message": "may contain real person",
                        "type": "BadRequest",
                    }
                },
            )
        )


def test_the_key_and_secret_never_show_in_the_adapters_requests_repr() -> None:
    request = _adapter().build_get_asset(ASSET)
    assert SK not in repr(request) and SK not in json.dumps(dict(request.headers))
