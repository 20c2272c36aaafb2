"""The whole flow through AsyncClient, on a real loopback port, in every provider's dialect."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import pytest

import realavatar_nb as ra
from realavatar_nb._types import PROVIDERS
from realavatar_nb.samples import make_image, make_video
from realavatar_nb.simulator import Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(autopilot=0.0, processing_seconds=0.0, job_seconds=0.2, autopilot_person="alice") as sb:
        yield sb


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("flow")
    return {
        "good": make_image(d / "alice.jpg", width=600, height=800, person="alice"),
        "other": make_image(d / "bob.jpg", width=600, height=800, person="bob"),
        "short": make_video(d / "short.mp4", width=576, height=720, duration=1.0, fps=24, person="alice"),
    }


def _client(sandbox: Sandbox, dialect: str, tmp_path: Path) -> ra.AsyncClient:
    return ra.AsyncClient(
        "sandbox", sandbox=sandbox, dialect=dialect, ledger=ra.Ledger(tmp_path / "ledger.sqlite3"), poll_interval=0.05
    )


@pytest.mark.parametrize("dialect", PROVIDERS)
def test_verify_upload_wait_generate_download(
    sandbox: Sandbox, files: dict[str, Path], tmp_path: Path, dialect: str
) -> None:
    async def flow() -> None:
        async with _client(sandbox, dialect, tmp_path) as client:
            consent = ra.Consent(given_by="Alice", purpose="flow test")
            session = await client.create_verification(person="alice", consent=consent)
            verification = await client.wait_verified(session, timeout=30)
            assert verification.verified and verification.group_id
            group = verification.group_id
            uploads = [await client.upload_asset(group, files[name]) for name in ("good", "other", "short")]
            good, other, short = await client.wait_active(uploads, timeout=60)
            assert good.status == "active", good
            assert (other.status, other.error_code) == ("failed", "FaceMismatch")
            assert (short.status, short.error_code) == ("failed", "DurationTooShort")
            assert good.uri == f"asset://{good.id}"

            job = await client.generate("a slow smile", [good], duration=4, ratio="9:16", resolution="480p")
            done = await client.wait_job(job, timeout=120)
            video = await client.download(done, tmp_path / "out" / "clip.mp4")
            with av.open(str(video)) as container:
                assert container.streams.video[0].frames == 4 * 24

            before = httpx.get(f"{sandbox.url}/_sandbox/stats").json()
            again = await client.upload_asset(group, files["good"])  # a rerun uploads nothing twice
            assert again.id == good.id
            assert httpx.get(f"{sandbox.url}/_sandbox/stats").json()["accounts"] == before["accounts"]
            assert client.ledger.group_for(client.ledger_name, "alice") == group

    asyncio.run(flow())


def test_a_person_without_consent_is_refused_before_anything_is_sent(sandbox: Sandbox, tmp_path: Path) -> None:
    async def flow() -> None:
        async with _client(sandbox, "crun", tmp_path) as client:
            with pytest.raises(ra.ConsentRequiredError, match="carol"):
                await client.create_verification(person="carol")

    asyncio.run(flow())


def test_an_asset_that_is_not_active_cannot_be_referenced(
    sandbox: Sandbox, files: dict[str, Path], tmp_path: Path
) -> None:
    async def flow() -> None:
        async with _client(sandbox, "crun", tmp_path) as client:
            session = await client.create_verification()
            group = (await client.wait_verified(session, timeout=30)).group_id
            assert group
            bad = (await client.wait_active([await client.upload_asset(group, files["other"])], timeout=60))[0]
            with pytest.raises(ra.AssetFailedError, match="FaceMismatch"):
                await client.generate("x", [bad], duration=4, resolution="480p")

    asyncio.run(flow())


def test_a_real_provider_without_a_key_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REALAVATAR_API_KEY", raising=False)
    monkeypatch.delenv("REALAVATAR_CRUN_API_KEY", raising=False)
    client = ra.AsyncClient("crun", ledger=ra.Ledger(tmp_path / "l.sqlite3"))
    with pytest.raises(ra.MissingAPIKeyError, match="REALAVATAR_CRUN_API_KEY"):
        client.adapter  # noqa: B018
    asyncio.run(client.aclose())


def test_a_200_asset_batch_under_faults_ends_terminal_with_no_duplicate_creates(tmp_path: Path) -> None:
    from realavatar_nb.simulator import Faults

    folder = tmp_path / "batch"
    paths = [
        make_image(folder / f"{n:03d}.jpg", width=300 + n, height=400 + n, quality=60, faces=1) for n in range(200)
    ]
    faults = Faults(rate_5xx=0.2, rate_429=0.1, rate_drop=0.05)
    with Sandbox(autopilot=0.0, processing_seconds=0.0, faults=faults, seed=7) as sb:

        async def batch() -> list[ra.Asset | BaseException]:
            client = ra.AsyncClient(
                "sandbox", sandbox=sb, dialect="easyrouter", ledger=ra.Ledger(tmp_path / "l.sqlite3"),
                poll_interval=0.05, sleep=_no_wait,  # the emulator's Retry-After is real seconds; no need here
            )  # fmt: skip
            async with client:
                session = await client.create_verification()
                group = (await client.wait_verified(session, timeout=60)).group_id
                assert group
                uploaded = await client.upload_assets(group, paths, concurrency=8)
                # A create refused with a 5xx six times over says "try again later": the user does, once.
                again = [p for p, r in zip(paths, uploaded, strict=True) if isinstance(r, ra.ServerError)]
                uploaded = [r for r in uploaded if not isinstance(r, ra.ServerError)]
                uploaded += await client.upload_assets(group, again, concurrency=8)
                done = [a for a in uploaded if isinstance(a, ra.Asset)]
                final = await client.wait_active(done, timeout=120)
                return [*final, *(e for e in uploaded if not isinstance(e, ra.Asset))]

        results = asyncio.run(batch())
        stats = httpx.get(f"{sb.url}/_sandbox/stats").json()
    errors = [r for r in results if not isinstance(r, ra.Asset)]
    assert errors == []
    assert all(a.status in ("active", "failed") for a in results if isinstance(a, ra.Asset))
    assert len(results) == 200
    assert stats["duplicates"] == []
    assert next(iter(stats["accounts"].values()))["assets"] == 200
    assert stats["faults"]["5xx"] > 0 and stats["faults"]["drop"] > 0 and stats["faults"]["429"] > 0


async def _no_wait(seconds: float) -> None:
    await asyncio.sleep(0)
