"""The process-wide emulator ``AsyncClient("sandbox")`` shares: started once, or the one at REALAVATAR_SANDBOX_URL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import realavatar_nb as ra
from realavatar_nb.simulator import RemoteSandbox, Sandbox, shared


def test_the_sandbox_provider_starts_a_shared_emulator_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REALAVATAR_SANDBOX_AUTOPILOT", "0")
    monkeypatch.delenv("REALAVATAR_SANDBOX_URL", raising=False)
    monkeypatch.setattr(shared, "_shared", None)

    async def flow() -> str:
        async with ra.AsyncClient("sandbox", ledger=ra.Ledger(tmp_path / "l.sqlite3"), poll_interval=0.05) as client:
            assert client.dialect == "toapis"
            session = await client.create_verification()
            return (await client.wait_verified(session, timeout=30)).status

    try:
        assert asyncio.run(flow()) == "verified"
        started = shared._shared
        assert started is not None and started.running
        assert shared.shared_sandbox() is started  # the next client gets the same one
    finally:
        if shared._shared is not None:
            shared._shared.close()


def test_sandbox_url_in_the_environment_shares_an_emulator_already_serving(tmp_path: Path) -> None:
    with Sandbox(autopilot=0.0, processing_seconds=0.0) as sb:
        remote = shared.shared_sandbox({"REALAVATAR_SANDBOX_URL": sb.url + "/"})
        assert isinstance(remote, RemoteSandbox) and remote.url == sb.url
        assert remote.base_url("crun") == sb.base_url("crun")

        async def verify() -> str | None:
            async with ra.AsyncClient("sandbox", sandbox=remote, ledger=ra.Ledger(tmp_path / "l.sqlite3")) as client:
                session = await client.create_verification()
                return (await client.wait_verified(session, timeout=20)).group_id

        assert asyncio.run(verify())
        assert sum(a["sessions"] for a in remote.stats()["accounts"].values()) == 1  # counted by the one emulator


@pytest.mark.parametrize(
    ("name", "value"),
    [("REALAVATAR_SANDBOX_PROCESSING", "soon"), ("REALAVATAR_SANDBOX_JOB_SECONDS", "-1"),
     ("REALAVATAR_SANDBOX_AUTOPILOT", "inf")],
)  # fmt: skip
def test_a_bad_sandbox_setting_is_refused_naming_it_before_anything_starts(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared, "_shared", None)
    with pytest.raises(ra.ConfigurationError, match=name):
        shared.shared_sandbox({name: value})
    assert shared._shared is None


def test_the_sandbox_dialect_is_read_from_the_settings(tmp_path: Path) -> None:
    settings = ra.Settings.from_env({"REALAVATAR_SANDBOX_DIALECT": "crun"})
    with Sandbox(autopilot=0.0, processing_seconds=0.0) as sb:
        client = ra.AsyncClient(settings=settings, sandbox=sb, ledger=ra.Ledger(tmp_path / "l.sqlite3"))
        assert client.dialect == "crun" and client.ledger_name == f"sandbox:crun:{sb.url}"
        asyncio.run(client.aclose())
