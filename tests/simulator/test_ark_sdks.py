"""The official BytePlus and Volcengine SDKs as real clients of the emulator over loopback.

The core SDKs' ``UniversalApi`` signs each call (path ``/``, the SDK's own ``X-Sdk-*`` headers
among the signed ones) and the Ark runtime SDKs drive generation with the key's Bearer API key.
Wherever the emulator and an SDK disagree, the SDK wins: these tests are the contract.

What the SDKs need set: ``Configuration.host`` (host:port, no scheme; setting it skips the endpoint
resolver, which would pick ``open.byteplusapi.com``), ``.scheme = "http"``, ``.ak``/``.sk`` (else the
SDK looks for credentials in the environment), and ``.region`` (Volcengine's default is empty). The
SDK's auto retry (on 429/5xx only) is left on: every refusal here is a 4xx, answered once.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import byteplussdkarkruntime
import byteplussdkarkruntime._exceptions
import byteplussdkcore
import httpx
import pytest
import volcenginesdkarkruntime
import volcenginesdkarkruntime._exceptions
import volcenginesdkcore

from realavatar_nb.samples import make_image
from realavatar_nb.simulator import Sandbox, UpstreamKey

CORE: dict[str, ModuleType] = {"byteplus": byteplussdkcore, "volcengine": volcenginesdkcore}
RUNTIME: dict[str, ModuleType] = {"byteplus": byteplussdkarkruntime, "volcengine": volcenginesdkarkruntime}
MODELS = {"byteplus": "dreamina-seedance-2-0-fast-260128", "volcengine": "doubao-seedance-2-0-fast-260128"}
CLOUDS = ("byteplus", "volcengine")
Call = Callable[..., Any]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(processing_seconds=0.0, job_seconds=0.3) as sb:
        yield sb


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_image(tmp_path_factory.mktemp("sdk-media") / "alice.jpg", width=600, height=800, person="alice")


def universal(
    sandbox: Sandbox, key: UpstreamKey, *, secret: str | None = None, access_key_id: str | None = None
) -> Call:
    """Return ``call(action, body)`` through the cloud's official UniversalApi."""
    core = CORE[key.cloud]
    configuration = core.Configuration()
    configuration.host = sandbox.url.removeprefix("http://")
    configuration.scheme = "http"
    configuration.ak = access_key_id or key.access_key_id
    configuration.sk = secret or key.secret_access_key
    configuration.region = key.region
    api = core.UniversalApi(core.ApiClient(configuration))

    def call(action: str, body: dict[str, Any]) -> Any:
        info = core.UniversalInfo(method="POST", service="ark", version="2024-01-01", action=action,
                                  content_type="application/json")  # fmt: skip
        return api.do_call(info, body)

    return call


def refusal(cloud: str, action: Callable[[], Any]) -> tuple[int, str, str]:
    """Return (HTTP status, Error.Code, Error.Message) of the SDK's ApiException for ``action``."""
    with pytest.raises(CORE[cloud].rest.ApiException) as caught:
        action()
    metadata = json.loads(caught.value.body)["ResponseMetadata"]
    assert metadata["Region"] == {"byteplus": "ap-southeast-1", "volcengine": "cn-beijing"}[cloud]
    return caught.value.status, metadata["Error"]["Code"], metadata["Error"]["Message"]


def stage(sandbox: Sandbox, key: UpstreamKey, path: Path) -> str:
    with open(path, "rb") as fh:
        response = httpx.post(f"{sandbox.url}/files", files={"file": (path.name, fh)},
                              headers={"authorization": f"Bearer {key.api_key}"})  # fmt: skip
    assert response.status_code == 201, response.text
    return str(response.json()["url"])


def until(read: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 30.0) -> Any:
    """Poll ``read`` (as a client polls upstream) until ``done`` holds; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"still {value!r}"
        time.sleep(0.05)


def verified_group(sandbox: Sandbox, call: Call, person: str = "alice") -> str:
    session = call("CreateVisualValidateSession", {"CallbackURL": "https://app.example/cb"})
    assert call("GetVisualValidateResult", {"BytedToken": session["BytedToken"]}) == {"GroupId": ""}
    page = httpx.post(session["H5Link"], data={"outcome": "pass", "person": person}, follow_redirects=False)
    assert page.status_code == 303 and "resultCode=10000" in page.headers["location"]
    return str(call("GetVisualValidateResult", {"BytedToken": session["BytedToken"]})["GroupId"])


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_whole_flow_through_the_official_sdks(sandbox: Sandbox, image: Path, cloud: str) -> None:
    key = sandbox.access_key(cloud)
    call = universal(sandbox, key)
    group = verified_group(sandbox, call)
    body = {"GroupId": group, "URL": stage(sandbox, key, image), "AssetType": "Image", "Name": "front"}
    asset_id = call("CreateAsset", body)["Id"]
    asset = until(lambda: call("GetAsset", {"Id": asset_id}), lambda a: a["Status"] != "Processing")
    assert (asset["Status"], asset["GroupId"]) == ("Active", group)
    listed = call("ListAssets", {"Filter": {"GroupIds": [group], "Statuses": ["Active"]}, "PageSize": 10})
    assert [a["Id"] for a in listed["Items"]] == [asset_id]

    ark = RUNTIME[cloud].Ark(base_url=f"{sandbox.url}/api/v3", api_key=key.api_key)
    reference = {"type": "image_url", "image_url": {"url": f"asset://{asset_id}"}, "role": "reference_image"}
    content = [{"type": "text", "text": "Image 1 smiles"}, reference]
    created = ark.content_generation.tasks.create(model=MODELS[cloud], content=content, duration=4, resolution="480p")
    task = until(lambda: ark.content_generation.tasks.get(task_id=created.id), lambda t: t.status == "succeeded")
    assert task.error is None and task.usage.completion_tokens > 0 and task.resolution == "480p"
    video = httpx.get(task.content.video_url, timeout=30)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    page = ark.content_generation.tasks.list(page_num=1, page_size=10, status="succeeded", task_ids=[created.id])
    assert page.total == 1 and page.items[0].id == created.id
    ark.content_generation.tasks.delete(created.id)
    with pytest.raises(RUNTIME[cloud]._exceptions.ArkNotFoundError):
        ark.content_generation.tasks.get(task_id=created.id)

    assert call("DeleteAsset", {"Id": asset_id}) == {}
    assert refusal(cloud, lambda: call("GetAsset", {"Id": asset_id}))[:2] == (404, "NotFound.asset_id")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_wrong_secret_or_an_unknown_key_is_refused(sandbox: Sandbox, cloud: str) -> None:
    key = sandbox.access_key(cloud)
    wrong = universal(sandbox, key, secret="not-the-secret")
    assert refusal(cloud, lambda: wrong("ListAssets", {}))[:2] == (403, "SignatureDoesNotMatch")
    stranger = universal(sandbox, key, access_key_id=key.access_key_id[:4] + "0" * 40)
    assert refusal(cloud, lambda: stranger("ListAssets", {}))[:2] == (401, "InvalidAccessKeyId")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_stale_x_date_is_refused(sandbox: Sandbox, cloud: str, monkeypatch: pytest.MonkeyPatch) -> None:
    class Stale(dt.datetime):
        @classmethod
        def utcnow(cls) -> Stale:  # type: ignore[override]
            return cls.fromtimestamp(time.time() - 20 * 60, dt.UTC).replace(tzinfo=None)

    monkeypatch.setattr(CORE[cloud].signv4, "datetime", SimpleNamespace(datetime=Stale))
    call = universal(sandbox, sandbox.access_key(cloud))
    assert refusal(cloud, lambda: call("ListAssets", {}))[:2] == (403, "RequestExpired")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_body_altered_after_the_sdk_signed_it_is_refused(sandbox: Sandbox, cloud: str) -> None:
    key = sandbox.access_key(cloud)
    host = sandbox.url.removeprefix("http://")
    headers = {"Content-Type": "application/json", "Host": host}
    query = [("Action", "CreateVisualValidateSession"), ("Version", "2024-01-01")]
    signed = json.dumps({"CallbackURL": "https://app.example/cb"})
    CORE[cloud].signv4.SignerV4.sign("/", "POST", headers, signed, None, query, key.access_key_id,
                                     key.secret_access_key, key.region, "ark")  # fmt: skip
    as_signed = httpx.post(f"{sandbox.url}/", params=query, headers=headers, content=signed)
    assert as_signed.status_code == 200, as_signed.text
    altered = httpx.post(f"{sandbox.url}/", params=query, headers=headers, content=signed.replace("app.", "evil."))
    assert altered.status_code == 403
    assert altered.json()["ResponseMetadata"]["Error"]["Code"] == "SignatureDoesNotMatch"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_iam_subscription_and_project_refusals(sandbox: Sandbox, cloud: str) -> None:
    denied = universal(sandbox, sandbox.access_key(cloud, denied=["ark:CreateVisualValidateSession"]))
    status, code, message = refusal(
        cloud, lambda: denied("CreateVisualValidateSession", {"CallbackURL": "https://a.b/c"})
    )
    assert (status, code) == (403, "AccessDenied") and "ark:CreateVisualValidateSession" in message
    assert "project/default" in message
    unsubscribed = universal(sandbox, sandbox.access_key(cloud, subscribed=False))
    assert refusal(cloud, lambda: unsubscribed("ListAssets", {}))[:2] == (403, "SubscriptionRequired")
    call = universal(sandbox, sandbox.access_key(cloud))
    assert refusal(cloud, lambda: call("ListAssets", {"ProjectName": "nope"}))[:2] == (404, "NotFound.ProjectName")
    status, code, _ = refusal(cloud, lambda: call("CreateVisualValidateSession", {}))
    assert (status, code) == (400, "MissingParameter.CallbackURL")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_two_accounts_cannot_read_each_others_assets(sandbox: Sandbox, image: Path, cloud: str) -> None:
    owner_key = sandbox.access_key(cloud)
    owner, stranger = universal(sandbox, owner_key), universal(sandbox, sandbox.access_key(cloud))
    body = {"GroupId": verified_group(sandbox, owner), "URL": stage(sandbox, owner_key, image), "AssetType": "Image"}
    asset_id = owner("CreateAsset", body)["Id"]
    assert refusal(cloud, lambda: stranger("GetAsset", {"Id": asset_id}))[:2] == (404, "NotFound.asset_id")
    assert stranger("ListAssets", {})["TotalCount"] == 0
    ark = RUNTIME[cloud].Ark(base_url=f"{sandbox.url}/api/v3", api_key="not-a-key")
    with pytest.raises(RUNTIME[cloud]._exceptions.ArkAuthenticationError):
        ark.content_generation.tasks.list()


def test_a_remote_sandbox_mints_keys_over_http_with_its_admin_token() -> None:
    from realavatar_nb import ConfigurationError
    from realavatar_nb.simulator import RemoteSandbox

    with Sandbox(admin_token="admin-secret") as sb:
        key = RemoteSandbox(sb.url, admin_token="admin-secret").access_key("volcengine", project="studio")
        assert (key.cloud, key.region, key.project) == ("volcengine", "cn-beijing", "studio")
        assert universal(sb, key)("ListAssets", {"ProjectName": "studio"})["TotalCount"] == 0
        with pytest.raises(ConfigurationError, match="403"):
            RemoteSandbox(sb.url, admin_token="wrong").access_key("byteplus", account="acme")
        with pytest.raises(ConfigurationError, match="admin token"):
            RemoteSandbox(sb.url).access_key("byteplus", account="acme")
        # Named by a secret, as an API key names an account: what AsyncClient("sandbox") does.
        mine = RemoteSandbox(sb.url).access_key("byteplus", account_key="k")
        again = RemoteSandbox(sb.url).access_key("byteplus", account_key="k")
        group = universal(sb, mine)("CreateAssetGroup", {"Name": "set"})["Id"]
        assert universal(sb, again)("GetAssetGroup", {"Id": group})["Id"] == group
