"""Asset slots: the quota counted, a plan before a batch, a cleanup that never pulls an asset from under a job."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import realavatar_nb as ra
from realavatar_nb._transport import RateLimiter
from realavatar_nb.samples import make_image
from realavatar_nb.simulator import Sandbox
from tests.client_flow import FakeTime, client_on, verified_group


def _files(folder: Path, n: int, person: str = "alice", first: int = 0) -> list[Path]:
    return [make_image(folder / f"{person}-{i}.jpg", width=600 + 2 * i, height=800, person=person)
            for i in range(first, first + n)]  # fmt: skip


@pytest.mark.parametrize("dialect", ["easyrouter", "crun"])  # one that lists its groups, one that cannot
def test_quota_plan_and_a_cleanup_that_skips_an_asset_a_running_job_holds(tmp_path: Path, dialect: str) -> None:
    settings = ra.Settings(provider="sandbox", asset_slots=4)
    good = _files(tmp_path / "alice", 3)
    bad = make_image(tmp_path / "alice" / "bob.jpg", width=600, height=800, person="bob")  # FaceMismatch
    more = _files(tmp_path / "more", 3, first=3)
    with Sandbox(autopilot=0.0, processing_seconds=0.0, job_seconds=600, autopilot_person="alice") as sb:

        async def flow() -> None:
            async with client_on(sb, dialect, tmp_path / "ledger.sqlite3", settings=settings) as client:
                group = await verified_group(client)
                assets = await client.wait_active(await client.upload_assets(group, [*good, bad], progress=False))
                assert [a.status for a in assets] == ["active", "active", "active", "failed"]
                quota = await client.quota()
                assert (quota.used, quota.limit, quota.free) == (4, 4, 0)
                assert quota.source == ("list" if dialect == "easyrouter" else "ledger")

                plan = await client.plan_uploads({"alice": group}, {"alice": [str(p) for p in [good[0], *more]]})
                assert plan["action"].tolist() == ["already there", "over quota", "over quota", "over quota"]
                assert plan.loc[0, "asset_id"] == assets[0].id

                job = await client.generate("a slow smile", [assets[1]], duration=4, resolution="480p")
                assert job.status in ("queued", "running")
                dry = await client.cleanup(free=4)  # every slot: the held asset is the one left
                assert dry["asset_id"].tolist() == [assets[3].id, assets[0].id, assets[2].id, assets[1].id]
                assert dry["action"].tolist() == ["would delete"] * 3 + ["kept"]
                assert dry["why"].tolist()[0] == "failed upstream" and "job" in dry["why"].tolist()[3]
                assert (await client.quota()).used == 4  # a dry run deletes nothing

                if dialect == "easyrouter":  # Crun has no delete endpoint: the cleanup says so per asset
                    done = await client.cleanup(free=4, dry_run=False)
                    assert done["action"].tolist() == ["deleted"] * 3 + ["kept"]
                    assert (await client.quota()).used == 1
                    assert (await client.get_asset(assets[1].id)).status == "active"  # still there for the job
                else:
                    done = await client.cleanup(free=1, dry_run=False)
                    assert done["action"].str.startswith("not deleted").all() and len(done) == 1

        asyncio.run(flow())


def test_cleanup_without_a_count_frees_only_failed_assets(tmp_path: Path) -> None:
    with Sandbox(autopilot=0.0, processing_seconds=0.0, autopilot_person="alice") as sb:

        async def flow() -> None:
            async with client_on(sb, "toapis", tmp_path / "ledger.sqlite3") as client:
                group = await verified_group(client)
                bad = make_image(tmp_path / "bob.jpg", width=600, height=800, person="bob")
                files = [*_files(tmp_path, 2), bad]
                assets = await client.wait_active(await client.upload_assets(group, files, progress=False))
                plan = await client.cleanup()
                assert plan["asset_id"].tolist() == [assets[2].id] and plan["action"].tolist() == ["would delete"]

        asyncio.run(flow())


def test_a_refused_kind_is_slowed_for_the_session_once_per_slot() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter({"create_asset": 1.0}, clock=lambda: now[0], sleep=sleep)
    limiter.throttled("create_asset", 20.0)
    limiter.throttled("create_asset", 20.0)  # the same burst of refusals: lowered once
    assert limiter.rates["create_asset"] == 0.5 and limiter.throttles == {"create_asset": 1}
    assert limiter.per_minute("create_asset") == 30.0

    async def two() -> None:
        await limiter.wait("create_asset")
        await limiter.wait("create_asset")

    asyncio.run(two())
    assert slept == [20.0, 2.0]  # no sooner than Retry-After, then one slot of the lowered rate
    now[0] += 10
    limiter.throttled("create_asset", None)
    assert limiter.rates["create_asset"] == 0.25
    limiter.throttled("list_assets", 4.0)  # a kind never limited starts at one per Retry-After
    assert limiter.rates["list_assets"] == 0.25


def test_upload_progress_shows_an_eta_at_the_rate_in_force(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    with Sandbox(autopilot=0.0, processing_seconds=0.0, autopilot_person="alice") as sb:

        async def flow() -> str:
            fake = [0.0]

            async def sleep(seconds: float) -> None:
                fake[0] += seconds
                await asyncio.sleep(0)

            client = client_on(sb, "toapis", tmp_path / "l.sqlite3", rates={"create_asset": 0.5},
                               clock=lambda: fake[0], sleep=sleep)  # fmt: skip
            async with client:
                group = await verified_group(client)
                await client.upload_assets(group, _files(tmp_path, 3), progress=lambda d, t: seen.append((d, t)))
                return client._uploads._eta(3)

        eta = asyncio.run(flow())
    assert seen[-1] == (3, 3) and [d for d, _ in seen] == [1, 2, 3]
    assert eta == "ETA 0:06 at 30/min"


def test_a_write_refusal_slows_the_batch_down_instead_of_retrying_at_the_old_pace(tmp_path: Path) -> None:
    time = FakeTime(1_000_000.0)
    files = _files(tmp_path, 8)
    with Sandbox(autopilot=0.0, processing_seconds=0.0, autopilot_person="alice", write_qpm=3, clock=time) as sb:

        async def flow() -> tuple[list[ra.Asset | BaseException], ra.AsyncClient, float]:
            client = client_on(sb, "easyrouter", tmp_path / "l.sqlite3", rates={"create_asset": 12 / 60},
                               clock=time, sleep=time.sleep)  # fmt: skip
            async with client:
                group = await verified_group(client)
                started = time.now
                done = await client.upload_assets(group, files, concurrency=1, progress=False)
                return done, client, time.now - started

        done, client, took = asyncio.run(flow())
        refused = sb.stats().get("refusals", {})
    assert all(isinstance(a, ra.Asset) for a in done)
    writes = sum(codes.get("QuotaWriteQPMExceeded", 0) for codes in refused.values())
    assert client.limits.throttles["create_asset"] >= 1 and client.limits.per_minute("create_asset") <= 3.0
    assert 1 <= writes <= 3  # lowered after the first refusals, then paced under the limit
    assert took >= (8 - 3) * 60 / 3  # eight creates at three a minute cannot finish sooner


def test_the_plan_predicts_the_emulators_quota_refusal(tmp_path: Path) -> None:
    settings = ra.Settings(provider="sandbox", asset_slots=2)
    files = _files(tmp_path, 3)
    with Sandbox(autopilot=0.0, processing_seconds=0.0, autopilot_person="alice", asset_slots=2) as sb:

        async def flow() -> None:
            async with client_on(sb, "byteplus", tmp_path / "l.sqlite3", settings=settings) as client:
                group = await verified_group(client)
                plan = await client.plan_uploads({"alice": group}, {"alice": [str(f) for f in files]})
                assert plan["action"].tolist() == ["upload", "upload", "over quota"]
                results = await client.upload_assets(group, files, concurrency=1, progress=False)
                assert [isinstance(r, ra.Asset) for r in results] == [True, True, False]
                refused = results[2]
                assert isinstance(refused, ra.ProviderError) and refused.code == "QuotaExceeded.AssetCount"

        asyncio.run(flow())
