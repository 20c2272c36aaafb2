"""What the emulator downloads for an asset URL: public http(s) only, bounded, fair between accounts.

Local media comes from ``media_server.serve()`` on 127.0.0.1 (bounded, self-stopping); names that
resolve to private addresses come from an injected resolver, so no test needs DNS or the internet.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from realavatar_nb.simulator import Sandbox, SimConfig, SimError, create_app
from realavatar_nb.simulator.downloads import Downloader, FetchPolicy, is_public
from realavatar_nb.simulator.scheduling import FairPool

from .conftest import FakeClock, host, press
from .media_server import MediaServer, serve

C = "/crun/api/v1/client/job"


def _group(http: TestClient, key: str) -> str:
    body = {"callback_url": "https://app.example/cb"}
    session = http.post(f"{C}/visual-validate-session", json=body, headers={"x-api-key": key})
    token = session.json()["data"]["BytedToken"]
    press(http, token, person="alice")
    result = http.get(f"{C}/visual-validate-result", params={"byted_token": token}, headers={"x-api-key": key})
    return str(result.json()["data"]["GroupId"])


def _upload(http: TestClient, key: str, group: str, url: str) -> str:
    body = {"name": "front", "asset_type": "Image", "asset_url": url, "group_id": group}
    r = http.post(f"{C}/asset-upload", json=body, headers={"x-api-key": key})
    assert r.status_code == 200, r.text
    return str(r.json()["data"]["AssetId"])


def _info(http: TestClient, key: str, asset: str) -> dict[str, Any]:
    """Return Crun's asset info, its ``Error`` flattened to ``ErrorCode`` / ``ErrorMessage``."""
    data: dict[str, Any] = http.get(f"{C}/asset-info", params={"asset_id": asset}, headers={"x-api-key": key}).json()
    error = data["data"].get("Error") or {}
    return {**data["data"], "ErrorCode": error.get("Code"), "ErrorMessage": error.get("Message")}


def _redirect(server: MediaServer, to: str) -> str:
    return server.url(f"/redirect?to={quote(to, safe='')}")


@pytest.fixture
def served() -> Iterator[MediaServer]:
    with serve() as server:
        yield server


@pytest.fixture
def elsewhere() -> Iterator[MediaServer]:
    with serve() as server:
        yield server


@contextmanager
def _emulator(tmp_path: Path, **settings: Any) -> Iterator[tuple[Starlette, TestClient]]:
    app = create_app(SimConfig(processing_seconds=0, **settings), clock=FakeClock(), workdir=str(tmp_path / "sb"))
    try:
        yield app, TestClient(app, base_url="http://sandbox.test", raise_server_exceptions=False)
    finally:
        app.state.sim.close()


# -- 3. only what a real provider would fetch --------------------------------------------------


def test_a_loopback_url_is_never_fetched_and_fails_the_asset(tmp_path: Path, served: MediaServer) -> None:
    with _emulator(tmp_path) as (app, http):
        asset = _upload(http, "k", _group(http, "k"), served.url("/file.jpg"))
        app.state.sim.settle()
        info = _info(http, "k", asset)
        assert (info["Status"], info["ErrorCode"]) == ("Failed", "DownloadFailed")
        assert "loopback, private or reserved" in info["ErrorMessage"]
    assert served.hits == []


def test_a_listed_local_host_is_fetched(tmp_path: Path, served: MediaServer) -> None:
    with _emulator(tmp_path, fetch_hosts=(served.origin,)) as (app, http):
        asset = _upload(http, "k", _group(http, "k"), served.url("/file.jpg"))
        app.state.sim.settle()
        info = _info(http, "k", asset)
        assert info["Status"] != "Processing" and info["ErrorCode"] != "DownloadFailed"  # judged, not refused
    assert served.hits == ["/file.jpg"]


def test_a_redirect_to_a_host_not_allowed_is_refused_before_it_is_contacted(
    tmp_path: Path, served: MediaServer, elsewhere: MediaServer
) -> None:
    with _emulator(tmp_path, fetch_hosts=(served.origin,)) as (app, http):
        asset = _upload(http, "k", _group(http, "k"), _redirect(served, elsewhere.url("/file.jpg")))
        app.state.sim.settle()
        info = _info(http, "k", asset)
        assert info["ErrorCode"] == "DownloadFailed" and "loopback, private or reserved" in info["ErrorMessage"]
    assert elsewhere.hits == [] and len(served.hits) == 1


def test_redirects_are_followed_a_few_hops_only(served: MediaServer) -> None:
    url = served.url("/file.jpg")
    for _ in range(4):
        url = _redirect(served, url)
    downloader = Downloader(FetchPolicy(hosts=(served.origin,), redirects=3))
    with pytest.raises(SimError, match="redirected more than 3 times"):
        downloader.download(url, io.BytesIO())
    assert len(served.hits) == 4
    into = io.BytesIO()
    Downloader(FetchPolicy(hosts=(served.origin,), redirects=4)).download(url, into)
    assert into.getvalue() == served.body


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.0.0.5", "192.168.1.20", "169.254.169.254", "::1", "::ffff:127.0.0.1", "fd00::1"]
)
def test_a_name_that_resolves_to_a_local_address_is_refused(address: str) -> None:
    resolved: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        resolved.append(host)
        return ["93.184.216.34", address]  # one public address does not make a private one fetchable

    with pytest.raises(SimError, match="loopback, private or reserved"):
        Downloader(resolve=resolve).download("https://media.example/front.jpg", io.BytesIO())
    assert resolved == ["media.example"] and not is_public(address)


@pytest.mark.parametrize("url", ["ftp://media.example/a.jpg", "file:///etc/passwd", "gopher://media.example/"])
def test_only_http_and_https_are_fetched(url: str) -> None:
    with pytest.raises(SimError, match="http"):
        Downloader(resolve=lambda host, port: ["93.184.216.34"]).download(url, io.BytesIO())


@pytest.mark.parametrize("path", ["/file.jpg", "/unsized"], ids=["declared", "counted"])
def test_a_file_over_the_size_limit_is_refused(served: MediaServer, path: str) -> None:
    into = io.BytesIO()
    with pytest.raises(SimError, match="larger than the download limit of 100 bytes"):
        Downloader(FetchPolicy(max_bytes=100, hosts=(served.origin,))).download(served.url(path), into)
    assert len(into.getvalue()) <= 100


def test_the_sandboxs_own_origin_is_reachable_on_loopback() -> None:
    with Sandbox() as sb:
        downloader = sb.app.state.files.downloader
        with pytest.raises(SimError, match="HTTP 404"):  # reached, and answered: not refused as loopback
            downloader.download(f"{sb.url}/videos/none.mp4", io.BytesIO())
        with pytest.raises(SimError, match="loopback"):
            downloader.download("http://127.0.0.1:1/x.jpg", io.BytesIO())  # another port of this machine


# -- 4. a slow URL delays only its own account ---------------------------------------------------


def test_trickling_urls_of_one_account_do_not_stall_another_account(
    tmp_path: Path, served: MediaServer, media: dict[str, Path]
) -> None:
    with _emulator(tmp_path, fetch_hosts=(served.origin,), downloads_per_account=2) as (app, http):
        sim = app.state.sim
        slow = [_upload(http, "slow", _group(http, "slow"), served.url("/hold")) for _ in range(4)]
        mine = _upload(http, "mine", _group(http, "mine"), host(http, media["image"]))
        assert sim.assets[mine].verdict.result(timeout=5)[0] is None  # checked while the slow ones hang
        assert not any(sim.assets[a].verdict.done() for a in slow)
        assert len(served.hits) <= 2  # the slow account's other two wait for its own turn
        served.release.set()
        sim.settle(timeout=10)
        assert {_info(http, "slow", a)["Status"] for a in slow} <= {"Active", "Failed"}
        assert len(served.hits) == 4


def test_a_download_that_trickles_past_its_deadline_fails_the_asset(tmp_path: Path, served: MediaServer) -> None:
    with _emulator(tmp_path, fetch_hosts=(served.origin,), download_seconds=0.3) as (app, http):
        asset = _upload(http, "k", _group(http, "k"), served.url("/trickle"))
        app.state.sim.settle(timeout=5)
        info = _info(http, "k", asset)
        assert info["ErrorCode"] == "DownloadFailed" and "longer than 0.3 seconds" in info["ErrorMessage"]


def test_the_fair_pool_runs_at_most_per_key_jobs_of_a_key_and_the_rest_in_order() -> None:
    pool = FairPool(workers=4, per_key=2)
    gates = [threading.Event() for _ in range(5)]  # one a job, so each slot is freed on cue
    started: list[int] = []
    change = threading.Condition()

    def job(n: int) -> int:
        with change:
            started.append(n)
            change.notify_all()
        gates[n].wait(5)
        return n

    def when_started(count: int) -> list[int]:
        with change:
            assert change.wait_for(lambda: len(started) >= count, timeout=5), started
            return list(started)

    try:
        greedy = [pool.submit("greedy", job, n) for n in range(5)]
        assert sorted(when_started(2)) == [0, 1] and pool.running("greedy") == 2
        assert pool.submit("polite", lambda: "done").result(timeout=5) == "done"  # a free thread, not a queue
        assert len(started) == 2  # the other three wait their turn
        gates[0].set()
        assert when_started(3)[2] == 2  # a freed slot goes to the first waiting job...
        gates[1].set()
        assert when_started(4)[3] == 3  # ...then to the next
        for gate in gates:
            gate.set()
        assert [f.result(timeout=5) for f in greedy] == list(range(5))
        assert started[2:] == [2, 3, 4] and pool.running("greedy") == 0
    finally:
        pool.shutdown()
