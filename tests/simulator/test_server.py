"""The emulator on a real loopback port: Sandbox in a thread, and the `sandbox` command."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from realavatar_nb import ConfigurationError
from realavatar_nb.simulator import Sandbox


def test_sandbox_serves_every_dialect_and_stops_cleanly() -> None:
    with Sandbox(processing_seconds=0.0, autopilot=0.0) as sb:
        assert sb.base_url("crun") == f"{sb.url}/crun"
        r = httpx.post(
            f"{sb.base_url('crun')}/api/v1/client/job/visual-validate-session",
            json={"callback_url": "https://app.example/cb"},
            headers={"x-api-key": "k"},
        )
        assert r.status_code == 200 and r.json()["data"]["H5Link"].startswith(sb.url + "/h5/")
        stats = httpx.get(f"{sb.url}/_sandbox/stats").json()
        assert list(stats["accounts"].values()) == [{"sessions": 1}]
        url = sb.url
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/_sandbox/stats", timeout=2)


def test_a_stopped_sandbox_starts_again_with_its_state() -> None:
    sb = Sandbox()
    try:
        sb.start()
        headers = {"x-api-key": "k"}
        path = "/crun/api/v1/client/job/visual-validate-session"
        httpx.post(sb.url + path, json={"callback_url": "https://a/cb"}, headers=headers)
        sb.stop()
        assert not sb.running
        sb.start()
        assert httpx.get(f"{sb.url}/_sandbox/stats").json()["accounts"] != {}
    finally:
        sb.close()


def test_unknown_provider_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="crun"):
        Sandbox().base_url("openai")


def test_the_sandbox_command_prints_its_urls_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "realavatar_nb", "sandbox", "--port", "0", "--autopilot", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("realavatar-nb sandbox serving http://127.0.0.1:")
        root = first.split()[-1]
        assert httpx.get(f"{root}/_sandbox/stats", timeout=5).json() == {"accounts": {}, "duplicates": []}
        reset = next(line for line in iter(proc.stdout.readline, "") if line.strip().startswith("reset"))
        token = reset.split("X-Sandbox-Admin:")[1].strip()  # printed for the person who started it
        assert httpx.post(f"{root}/_sandbox/reset", timeout=5).status_code == 401
        assert httpx.post(f"{root}/_sandbox/reset", headers={"X-Sandbox-Admin": token}, timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_persisted_emulator_keeps_its_groups_across_a_restart(tmp_path: object) -> None:
    from pathlib import Path

    db = str(Path(str(tmp_path)) / "sandbox.sqlite3")
    path = "/crun/api/v1/client/job"
    headers = {"x-api-key": "k"}
    with Sandbox(persist=db) as sb:
        token = httpx.post(sb.url + f"{path}/visual-validate-session", json={"callback_url": "https://a/cb"},
                           headers=headers).json()["data"]["BytedToken"]  # fmt: skip
        httpx.post(f"{sb.url}/h5/{token}", data={"outcome": "pass", "person": "alice"})
        group = httpx.get(sb.url + f"{path}/visual-validate-result", params={"byted_token": token},
                          headers=headers).json()["data"]["GroupId"]  # fmt: skip
    assert group.startswith("group-")
    with Sandbox(persist=db) as again:
        answer = httpx.get(again.url + f"{path}/visual-validate-result", params={"byted_token": token}, headers=headers)
        assert answer.json()["data"]["GroupId"] == group
        assert again.state.groups[group].person == "alice"


def test_the_same_key_at_two_providers_is_two_accounts(tmp_path: object) -> None:
    from starlette.testclient import TestClient

    from realavatar_nb.simulator import create_app

    app = create_app(workdir=str(tmp_path))
    http = TestClient(app)
    token = http.post(
        "/crun/api/v1/client/job/visual-validate-session",
        json={"callback_url": "https://a/cb"},
        headers={"x-api-key": "shared"},
    ).json()["data"]["BytedToken"]
    mine = http.get(
        "/crun/api/v1/client/job/visual-validate-result", params={"byted_token": token}, headers={"x-api-key": "shared"}
    )
    theirs = http.get(
        "/toapis/v1/videos/doubao-seedance-2-0/real-avatar/verify-results",
        params={"byted_token": token},
        headers={"authorization": "Bearer shared"},
    )
    assert mine.status_code == 200
    assert theirs.status_code == 404 and theirs.json()["success"] is False
    assert [label.split("-")[0] for label in app.state.sim.stats()["accounts"]] == ["crun"]
    app.state.sim.close()


def test_injected_faults_show_in_the_stats_and_reset_with_them() -> None:
    from realavatar_nb.simulator import Faults

    with Sandbox(faults=Faults(rate_429=1.0), seed=3) as sb:
        r = httpx.post(
            f"{sb.base_url('crun')}/api/v1/client/job/visual-validate-session", json={}, headers={"x-api-key": "k"}
        )
        assert r.status_code == 429 and r.headers["retry-after"] == "1"
        assert httpx.get(f"{sb.url}/_sandbox/stats").json()["faults"]["429"] == 1
        httpx.post(f"{sb.url}/_sandbox/reset", headers={"X-Sandbox-Admin": sb.admin_token})
        assert httpx.get(f"{sb.url}/_sandbox/stats").json()["faults"]["429"] == 0


def test_closing_a_sandbox_removes_the_files_it_kept() -> None:
    import os

    sb = Sandbox()
    workdir = sb.app.state.workdir
    sb.start()
    assert os.path.isdir(workdir)
    sb.close()
    assert not os.path.exists(workdir)


def test_a_bad_faults_spec_is_a_one_line_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "realavatar_nb", "sandbox", "--port", "0", "--faults", "429=lots"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        done.returncode == 2 and done.stderr.startswith("realavatar-nb: --faults:") and "Traceback" not in done.stderr
    )


def test_the_default_callback_page_says_what_happened_and_never_shows_the_token() -> None:
    with Sandbox() as sb:
        token = "20260101000000ABCDEF0123456789ABCD"
        page = httpx.get(f"{sb.url}/_sandbox/callback", params={"bytedToken": token, "resultCode": "10000"})
        assert page.status_code == 200 and "Verified" in page.text and token not in page.text
        failed = httpx.get(f"{sb.url}/_sandbox/callback", params={"bytedToken": token, "resultCode": "60203"})
        assert "Not verified" in failed.text
