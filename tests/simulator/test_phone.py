"""The stand-in phone: answers the emulator's H5 page as the launcher's own person, and nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

import realavatar_nb as ra
from realavatar_nb.samples import make_image
from realavatar_nb.simulator import Sandbox
from realavatar_nb.simulator.phone import answer, play_phone


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(autopilot=None, processing_seconds=0.0) as sb:
        yield sb


def test_each_person_is_verified_as_themselves_so_a_stray_photo_is_still_caught(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    own = make_image(tmp_path / "bob.jpg", width=600, height=800, person="bob")
    stray = make_image(tmp_path / "alice.jpg", width=600, height=800, person="alice")

    async def scenario() -> list[ra.Asset]:
        client = ra.AsyncClient(
            "sandbox", sandbox=sandbox, ledger=ra.Ledger(tmp_path / "l.sqlite3"), poll_interval=0.05
        )
        launcher = ra.VerificationLauncher(client, person="bob", consent=ra.Consent("Bob", "phone test"))
        play_phone(launcher, after=0.0)
        verification = await launcher.verified(timeout=20)
        assert verification.verified
        uploads = [await client.upload_asset(launcher.group_id, p) for p in (own, stray)]  # type: ignore[arg-type]
        return await client.wait_active(uploads, timeout=20)

    good, bad = asyncio.run(scenario())
    assert good.status == "active"
    assert (bad.status, bad.error_code) == ("failed", "FaceMismatch")


def test_a_link_that_is_not_the_emulators_is_never_answered() -> None:
    with pytest.raises(ra.ConfigurationError, match="real one needs them"):
        asyncio.run(answer("https://h5.example.com/liveness?token=abc", person="alice"))


def test_a_used_link_is_refused_with_a_reason(sandbox: Sandbox, tmp_path: Path) -> None:
    async def scenario() -> None:
        client = ra.AsyncClient("sandbox", sandbox=sandbox, ledger=ra.Ledger(tmp_path / "l.sqlite3"))
        session = await client.create_verification()
        link = session.h5_link.reveal()
        callback = await answer(link, person="carol")
        assert "resultCode=10000" in callback
        with pytest.raises(ra.ConfigurationError, match="expired or was used"):
            await answer(link, person="carol")
        await client.aclose()

    asyncio.run(scenario())
