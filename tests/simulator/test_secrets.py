"""What the emulator must not give away: guessable H5 tokens, a reset anyone can press, keys at rest."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from realavatar_nb._config import fingerprint
from realavatar_nb._exceptions import ConfigurationError
from realavatar_nb.simulator import RemoteSandbox, Sandbox, SimConfig, SimError, State
from realavatar_nb.simulator.state import account_of

from .conftest import FakeClock

C = "/crun/api/v1/client/job"
SECRET_KEY = "sk-live-do-not-store-9f2c1e"

# -- 5. tokens: unguessable whatever the seed -----------------------------------------------------


def test_tokens_are_unguessable_with_the_default_seed_while_ids_stay_reproducible() -> None:
    runs = []
    for _ in range(2):
        state = State(SimConfig(seed=0), clock=FakeClock())
        session = state.create_session("acct")
        state.complete(session.token, passed=True, person="alice")
        runs.append((session.token, state.result("acct", session.token).group_id))
        state.close()
    (first_token, first_group), (second_token, second_group) = runs
    assert first_token != second_token  # drawn from the OS's CSPRNG, not the seed
    assert first_group == second_group  # ids still follow the seed
    assert first_token[:14] == second_token[:14] and len(first_token) == 34  # upstream's format stays


def test_a_video_is_served_only_with_the_key_in_its_url(http: TestClient, app: Starlette, clock: FakeClock) -> None:
    state = app.state.sim
    account = state.account("k", "crun")
    job = state.create_job(account, model="m", prompt="p", references=[], duration=1, resolution="480p")
    state.settle()
    clock.advance(60)
    assert state.job(job.account, job.id).status == "succeeded"
    assert http.get(f"/videos/{job.id}.mp4").status_code == 404  # the id follows the seed: no credential
    assert http.get(f"/videos/{job.id}.mp4", params={"key": "guess"}).status_code == 404
    served = http.get(f"/videos/{job.id}.mp4", params={"key": job.video_key})
    assert served.status_code == 200 and served.headers["content-type"] == "video/mp4"


# -- 6. /_sandbox/reset needs the admin token; stats stays open ---------------------------------


def test_reset_needs_the_admin_token_and_stats_stays_readable(http: TestClient, app: Starlette) -> None:
    http.post(f"{C}/visual-validate-session", json={"callback_url": "https://a/cb"}, headers={"x-api-key": "k"})
    assert http.post("/_sandbox/reset").status_code == 401
    assert http.post("/_sandbox/reset", headers={"X-Sandbox-Admin": "guess"}).status_code == 403
    assert list(http.get("/_sandbox/stats").json()["accounts"].values()) == [{"sessions": 1}]  # nothing wiped
    done = http.post("/_sandbox/reset", headers={"X-Sandbox-Admin": app.state.admin_token})
    assert done.status_code == 200 and http.get("/_sandbox/stats").json()["accounts"] == {}


def test_each_sandbox_draws_its_own_admin_token_unless_given_one() -> None:
    first, second, chosen = Sandbox(), Sandbox(), Sandbox(admin_token="chosen-token")
    try:
        assert first.admin_token != second.admin_token and len(first.admin_token) >= 32
        assert chosen.admin_token == "chosen-token"
        assert "token" not in repr(first) and first.admin_token not in repr(first)
    finally:
        for sb in (first, second, chosen):
            sb.close()


def test_a_remote_sandbox_resets_with_the_token_and_says_what_is_missing_without(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REALAVATAR_SANDBOX_ADMIN_TOKEN", raising=False)
    with Sandbox() as sb:
        headers = {"x-api-key": "k"}
        httpx.post(f"{sb.url}{C}/visual-validate-session", json={"callback_url": "https://a/cb"}, headers=headers)
        with pytest.raises(ConfigurationError, match="REALAVATAR_SANDBOX_ADMIN_TOKEN"):
            RemoteSandbox(sb.url).reset()
        with pytest.raises(ConfigurationError, match="refused"):
            RemoteSandbox(sb.url, admin_token="wrong").reset()
        assert RemoteSandbox(sb.url).stats()["accounts"] != {}
        monkeypatch.setenv("REALAVATAR_SANDBOX_ADMIN_TOKEN", sb.admin_token)
        RemoteSandbox(sb.url).reset()
        assert RemoteSandbox(sb.url).stats()["accounts"] == {}


# -- 7. persist= keeps fingerprints of keys, never the keys ----------------------------------------


def _file_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name))


def test_a_persisted_emulator_stores_a_fingerprint_of_each_key_never_the_key(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite3"
    state = State(SimConfig(persist=str(db)), clock=FakeClock())
    account = state.account(SECRET_KEY, "crun")
    session = state.create_session(account)
    state.complete(session.token, passed=True, person="alice")
    group = state.result(account, session.token).group_id
    state.close()
    assert SECRET_KEY.encode() not in _file_bytes(db)
    assert account == account_of(SECRET_KEY, "crun") == f"crun:{fingerprint(SECRET_KEY)}"
    again = State(SimConfig(persist=str(db)), clock=FakeClock())
    try:
        assert again.result(again.account(SECRET_KEY, "crun"), session.token).group_id == group  # same key, same group
        with pytest.raises(SimError):
            again.result(again.account("another-key", "crun"), session.token)
    finally:
        again.close()


def test_a_file_written_with_keys_in_clear_is_rekeyed_when_opened(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as old:  # the format before fingerprints: accounts were "<provider>:<key>"
        old.execute("CREATE TABLE entity (kind TEXT, id TEXT, body TEXT, PRIMARY KEY (kind, id))")
        group = {"id": "group-20260101000000-abcde", "account": f"crun:{SECRET_KEY}", "person": "alice",
                 "token": "20260101000000ABCDEF0123456789ABCD", "created_at": 1.0}  # fmt: skip
        old.execute("INSERT INTO entity VALUES ('group', ?, ?)", (group["id"], json.dumps(group)))
    old.close()
    state = State(SimConfig(persist=str(db)), clock=FakeClock())
    try:
        assert SECRET_KEY.encode() not in _file_bytes(db)
        assert state.group(state.account(SECRET_KEY, "crun"), str(group["id"])).person == "alice"
    finally:
        state.close()
