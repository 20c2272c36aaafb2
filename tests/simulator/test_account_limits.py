"""An account's limits over real HTTP, in each dialect's own shape: slots, writes a minute, list calls, deletes.

The emulator runs on a loopback port with a clock the tests move (``Sandbox(clock=...)``): a minute
passes without sleeping. Each dialect's CreateAsset is spoken in its own body, and its refusal read
back from its own error shape (``Dialect``): the code, the HTTP status and ``Retry-After``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from realavatar_nb._config import Secret
from realavatar_nb.providers.signing import AccessKey, sign
from realavatar_nb.simulator import Sandbox, UpstreamKey
from realavatar_nb.simulator.backend import account_label, account_of
from realavatar_nb.simulator.jobs import ASSET_DELETED_CODE
from realavatar_nb.simulator.limits import LIST_CODE, QUOTA_CODE, WRITE_CODE

from .conftest import FakeClock
from .generation_wire import KEY, Wire

ER = "/api/resource-channel/byteplus/visual-validate"
TOAPIS = "/v1/videos/doubao-seedance-2-0/real-avatar"
WRITERS = ("toapis", "easyrouter", "byteplus", "crun", "anyfast", "apimart")


@dataclass
class Refusal:
    status: int
    code: str
    retry_after: str | None


class Account:
    """One account of one dialect over HTTP: its verified group, its CreateAsset, its refusals read back."""

    def __init__(self, sb: Sandbox, clock: FakeClock, dialect: str) -> None:
        self.sb, self.clock, self.dialect = sb, clock, dialect
        self.http = httpx.Client(timeout=30)
        self.key: UpstreamKey | None = None
        if dialect in ("byteplus", "volcengine"):
            self.key = sb.access_key(dialect)
            record = sb.state.keys.by_api_key(self.key.api_key)
            assert record is not None
            self.account = record.account
        else:
            self.account = account_of(KEY, dialect)
        session = sb.state.create_session(self.account)
        self.group_id = str(sb.state.complete(session.token, passed=True, person="alice").group_id)

    def headers(self) -> dict[str, str]:
        if self.dialect == "crun":
            return {"x-api-key": KEY}
        return {"authorization": f"Bearer {self.key.api_key if self.key else KEY}"}

    def action(self, action: str, body: dict[str, Any]) -> httpx.Response:
        """Send a signed upstream OpenAPI action (byteplus, volcengine) at the test's clock."""
        assert self.key is not None
        request = self.http.build_request(
            "POST", f"{self.sb.url}/", params={"Action": action, "Version": "2024-01-01"},
            content=json.dumps(body).encode(), headers={"content-type": "application/json"},
        )  # fmt: skip
        pair = AccessKey(self.key.access_key_id, Secret(self.key.secret_access_key))
        now = datetime.fromtimestamp(self.clock.now, UTC)
        return self.http.send(sign(request, pair, region=self.key.region, service="ark", now=now))

    def create_asset(self, url: str) -> httpx.Response:
        """Send one CreateAsset in this dialect's body."""
        base, g, h = self.sb.base_url(self.dialect), self.group_id, self.headers()
        if self.dialect in ("byteplus", "volcengine"):
            return self.action("CreateAsset", {"GroupId": g, "URL": url, "AssetType": "Image"})
        path, body = {
            "toapis": (TOAPIS + "/assets", {"group_id": g, "asset_type": "image", "source_url": url}),
            "easyrouter": (ER + "/assets", {"group_id": g, "url": url, "asset_type": "Image"}),
            "crun": ("/api/v1/client/job/asset-upload", {"group_id": g, "asset_url": url, "asset_type": "Image"}),
            "anyfast": ("/volc/asset/CreateAsset", {"GroupId": g, "URL": url, "AssetType": "Image"}),
            "apimart": ("/v1/seedance2/real-avatar", {"group_id": g, "asset_type": "Image", "assets": [{"url": url}]}),
        }[self.dialect]
        return self.http.post(base + path, json=body, headers=h)

    def asset_id(self, response: httpx.Response) -> str:
        assert response.status_code == 200, response.text
        data = response.json()
        found = {"toapis": lambda: data["data"]["asset_id"], "easyrouter": lambda: data["data"]["id"],
                 "crun": lambda: data["data"]["AssetId"], "anyfast": lambda: data["Id"],
                 "byteplus": lambda: data["Result"]["Id"]}  # fmt: skip
        return str(found[self.dialect]())

    def list_assets(self) -> httpx.Response:
        if self.dialect in ("byteplus", "volcengine"):
            return self.action("ListAssets", {"Filter": {"GroupIds": [self.group_id]}})
        path = {"easyrouter": ER + "/assets/list", "anyfast": "/volc/asset/ListAssets"}[self.dialect]
        return self.http.post(self.sb.base_url(self.dialect) + path, json={}, headers=self.headers())

    def list_groups(self) -> httpx.Response:
        if self.dialect in ("byteplus", "volcengine"):
            return self.action("ListAssetGroups", {})
        body = {"model": "volc-asset", "Filter": {"GroupType": "AIGC"}}
        return self.http.post(self.sb.base_url("anyfast") + "/volc/asset/ListAssetGroups", json=body,
                              headers=self.headers())  # fmt: skip

    def delete_asset(self, asset_id: str) -> httpx.Response:
        if self.dialect in ("byteplus", "volcengine"):
            return self.action("DeleteAsset", {"Id": asset_id})
        if self.dialect == "anyfast":
            url = self.sb.base_url("anyfast") + "/volc/asset/DeleteAsset"
            return self.http.post(url, json={"Id": asset_id}, headers=self.headers())
        return self.http.delete(f"{self.sb.base_url(self.dialect)}{ER}/assets/{asset_id}", headers=self.headers())

    def held(self) -> int:
        return sum(1 for a in self.sb.state.assets.values() if a.account == self.account)

    def refusal(self, response: httpx.Response) -> Refusal:
        """Return the status, upstream's code and Retry-After from this dialect's error shape."""
        body = response.json()
        if self.dialect in ("byteplus", "volcengine"):
            assert "Result" not in body
            code = body["ResponseMetadata"]["Error"]["Code"]
        elif self.dialect in ("crun", "anyfast"):  # upstream's code heads the message: "[Code] message"
            match = re.match(r"\[([\w.]+)\] ", body["message"])
            assert match, body
            code = match.group(1)
        else:  # toapis' and EasyRouter's envelope with error{code}, APIMart's error{code}
            assert body.get("success") in (False, None), body
            code = body["error"]["code"]
        return Refusal(response.status_code, code, response.headers.get("retry-after"))

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="module")
def image_bytes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    from realavatar_nb.samples import make_image

    d = tmp_path_factory.mktemp("limits-media")
    alice = make_image(d / "alice.jpg", width=600, height=800, person="alice", faces=1)
    bob = make_image(d / "bob.jpg", width=600, height=800, person="bob", faces=1)
    return {"alice": Path(alice).read_bytes(), "bob": Path(bob).read_bytes()}


@contextmanager
def limited(clock: FakeClock, **settings: Any) -> Iterator[Sandbox]:
    with Sandbox(processing_seconds=0.0, job_seconds=8.0, clock=clock, **settings) as sb:
        yield sb


def hosted(sb: Sandbox, data: bytes, name: str = "alice.jpg") -> str:
    r = httpx.post(f"{sb.url}/files", files={"file": (name, data)}, headers={"authorization": "Bearer files"})
    assert r.status_code == 201, r.text
    return str(r.json()["url"])


@contextmanager
def account(sb: Sandbox, clock: FakeClock, dialect: str) -> Iterator[Account]:
    acc = Account(sb, clock, dialect)
    try:
        yield acc
    finally:
        acc.close()


# -- asset slots ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", WRITERS)
def test_the_asset_past_the_accounts_slots_is_refused_and_nothing_is_created(
    dialect: str, clock: FakeClock, image_bytes: dict[str, bytes]
) -> None:
    with limited(clock, asset_slots=2) as sb, account(sb, clock, dialect) as acc:
        url = hosted(sb, image_bytes["alice"])
        for _ in range(2):
            assert acc.create_asset(url).status_code == 200
        refused = acc.create_asset(url)
        assert acc.refusal(refused) == Refusal(400, QUOTA_CODE, None)  # waiting frees no slot: no Retry-After
        assert acc.held() == 2
        (created,) = sb.stats()["accounts"].values()
        assert created["assets"] == 2


def test_failed_assets_hold_slots_and_a_delete_frees_one(clock: FakeClock, image_bytes: dict[str, bytes]) -> None:
    with limited(clock, asset_slots=1) as sb, account(sb, clock, "easyrouter") as acc:
        failing = acc.asset_id(acc.create_asset(hosted(sb, image_bytes["bob"], "bob.jpg")))  # another person's face
        sb.state.settle()
        assert sb.state.asset(acc.account, failing).status == "Failed"
        url = hosted(sb, image_bytes["alice"])
        assert acc.refusal(acc.create_asset(url)).code == QUOTA_CODE
        assert acc.delete_asset(failing).status_code == 200
        assert acc.create_asset(url).status_code == 200


def test_an_apimart_batch_that_does_not_fit_creates_none_of_its_assets(
    clock: FakeClock, image_bytes: dict[str, bytes]
) -> None:
    with limited(clock, asset_slots=2) as sb, account(sb, clock, "apimart") as acc:
        url = hosted(sb, image_bytes["alice"])
        body = {"group_id": acc.group_id, "asset_type": "Image", "assets": [{"url": url}] * 3}
        refused = acc.http.post(sb.base_url("apimart") + "/v1/seedance2/real-avatar", json=body, headers=acc.headers())
        assert acc.refusal(refused) == Refusal(400, QUOTA_CODE, None)
        assert acc.held() == 0


# -- writes a minute ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", WRITERS)
def test_the_create_past_the_per_minute_limit_is_refused_until_the_window_frees_a_write(
    dialect: str, clock: FakeClock, image_bytes: dict[str, bytes]
) -> None:
    with limited(clock, write_qpm=2) as sb, account(sb, clock, dialect) as acc:
        url = hosted(sb, image_bytes["alice"])
        assert acc.create_asset(url).status_code == 200
        clock.advance(10)
        assert acc.create_asset(url).status_code == 200
        clock.advance(10)
        assert acc.refusal(acc.create_asset(url)) == Refusal(429, WRITE_CODE, "40")  # the first write leaves at 60 s
        clock.advance(39.5)
        assert acc.refusal(acc.create_asset(url)) == Refusal(429, WRITE_CODE, "1")
        assert acc.held() == 2
        clock.advance(0.5)
        assert acc.create_asset(url).status_code == 200
        assert acc.held() == 3


def test_writes_within_the_limit_provoke_no_refusal_and_stats_say_so(
    clock: FakeClock, image_bytes: dict[str, bytes]
) -> None:
    with limited(clock, write_qpm=3, asset_slots=50) as sb, account(sb, clock, "easyrouter") as acc:
        url = hosted(sb, image_bytes["alice"])
        for _ in range(6):  # three a minute, as a paced client sends them
            assert acc.create_asset(url).status_code == 200
            clock.advance(20)
        stats = httpx.get(f"{sb.url}/_sandbox/stats").json()
        assert "refusals" not in stats
        assert stats["accounts"][account_label(acc.account)]["assets"] == 6


def test_the_write_limit_is_per_account(clock: FakeClock, image_bytes: dict[str, bytes]) -> None:
    with (
        limited(clock, write_qpm=1) as sb,
        account(sb, clock, "easyrouter") as one,
        account(sb, clock, "toapis") as two,
    ):
        url = hosted(sb, image_bytes["alice"])
        assert one.create_asset(url).status_code == 200
        assert two.create_asset(url).status_code == 200  # the same key at another provider is another account
        assert one.refusal(one.create_asset(url)).code == WRITE_CODE


# -- list calls ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "call"),
    [("easyrouter", "list_assets"), ("anyfast", "list_assets"), ("anyfast", "list_groups"),
     ("byteplus", "list_assets"), ("byteplus", "list_groups")],
)  # fmt: skip
def test_the_list_call_past_the_per_second_limit_is_refused(dialect: str, call: str, clock: FakeClock) -> None:
    with limited(clock, list_qps=2) as sb, account(sb, clock, dialect) as acc:
        send: Callable[[], httpx.Response] = getattr(acc, call)
        assert [send().status_code, send().status_code] == [200, 200]
        assert acc.refusal(send()) == Refusal(429, LIST_CODE, "1")
        clock.advance(1)
        assert send().status_code == 200


# -- stats -----------------------------------------------------------------------------------------


def test_stats_count_each_accounts_refusals_by_code(clock: FakeClock, image_bytes: dict[str, bytes]) -> None:
    with limited(clock, asset_slots=1, write_qpm=1, list_qps=1) as sb, account(sb, clock, "easyrouter") as acc:
        url = hosted(sb, image_bytes["alice"])
        assert acc.create_asset(url).status_code == 200
        assert acc.refusal(acc.create_asset(url)).code == WRITE_CODE  # the rate is checked before the slots
        clock.advance(60)
        for _ in range(2):
            assert acc.refusal(acc.create_asset(url)).code == QUOTA_CODE
        assert acc.list_assets().status_code == 200
        assert acc.refusal(acc.list_assets()).code == LIST_CODE
        stats = httpx.get(f"{sb.url}/_sandbox/stats").json()
        expected = {WRITE_CODE: 1, QUOTA_CODE: 2, LIST_CODE: 1}
        assert stats["refusals"] == {account_label(acc.account): expected}


# -- deleting an asset a job holds ------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["easyrouter", "anyfast", "byteplus"])
def test_deleting_an_asset_a_running_job_references_fails_the_job(
    dialect: str, clock: FakeClock, image_bytes: dict[str, bytes]
) -> None:
    with limited(clock) as sb, account(sb, clock, dialect) as acc:
        wire = Wire(sb)
        try:
            if acc.key is not None:
                wire.ark_keys[dialect] = acc.key.api_key  # the job in the account that holds the asset
            asset_id = acc.asset_id(acc.create_asset(hosted(sb, image_bytes["alice"])))
            sb.state.settle()
            task_id = wire.task_id(dialect, wire.submit(dialect, [("image", f"asset://{asset_id}", "reference_image")]))
            clock.advance(3)
            assert wire.outcome(dialect, task_id).status in ("running", "in_progress", "IN_PROGRESS")
            assert acc.delete_asset(asset_id).status_code == 200  # the delete itself succeeds
            outcome = wire.outcome(dialect, task_id)
            assert outcome.status in ("failed", "FAILURE") and outcome.error_code == ASSET_DELETED_CODE
            assert outcome.video_url is None
            clock.advance(60)  # its time is up: a failed job stays failed
            assert wire.outcome(dialect, task_id).status in ("failed", "FAILURE")
        finally:
            wire.close()


def test_deleting_a_group_fails_the_queued_job_that_references_its_asset(
    clock: FakeClock, image_bytes: dict[str, bytes]
) -> None:
    with limited(clock) as sb, account(sb, clock, "easyrouter") as acc:
        wire = Wire(sb)
        try:
            asset_id = acc.asset_id(acc.create_asset(hosted(sb, image_bytes["alice"])))
            sb.state.settle()
            reference = ("image", f"asset://{asset_id}", "reference_image")
            task_id = wire.task_id("easyrouter", wire.submit("easyrouter", [reference]))
            assert wire.outcome("easyrouter", task_id).status == "queued"
            where = f"{sb.base_url('easyrouter')}{ER}/asset-groups/{acc.group_id}"
            assert acc.http.delete(where, headers=acc.headers()).status_code == 200
            outcome = wire.outcome("easyrouter", task_id)
            assert (outcome.status, outcome.error_code) == ("failed", ASSET_DELETED_CODE)
        finally:
            wire.close()


# -- settings --------------------------------------------------------------------------------------


def test_a_limit_that_admits_nothing_is_refused_when_the_emulator_is_built() -> None:
    with pytest.raises(ValueError, match="write_qpm"):
        Sandbox(write_qpm=0)


def test_the_sandbox_command_takes_the_limits_as_flags() -> None:
    from realavatar_nb.cli import _parser

    args = _parser().parse_args(["sandbox", "--asset-slots", "50", "--write-qpm", "3", "--list-qps", "10"])
    assert (args.asset_slots, args.write_qpm, args.list_qps) == (50, 3, 10)
    assert _parser().parse_args(["sandbox"]).write_qpm is None  # off unless given
