"""Generation, complete, through AsyncClient on the emulator: every input and setting, refusals, jobs, grids."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image

import realavatar_nb as ra
from realavatar_nb._types import PROVIDERS
from realavatar_nb.providers import generation_sellers
from realavatar_nb.samples import make_audio, make_image, make_video
from realavatar_nb.simulator import Sandbox
from tests import client_flow
from tests.client_flow import FakeTime, client_on, verified_group

sandbox = client_flow.sandbox  # the emulator fixture, shared with the other flow tests


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("gen")
    return {
        "face": make_image(d / "alice.jpg", width=600, height=800, person="alice"),
        "clip": make_video(d / "alice.mp4", width=640, height=640, duration=3.0, person="alice"),
        "voice": make_audio(d / "alice.mp3", duration=3.0, person="alice"),
        "market": make_image(d / "market.png", width=800, height=600),
        "bob": make_image(d / "bob.jpg", width=600, height=800, person="bob"),
    }


async def _person(client: ra.AsyncClient, files: dict[str, Path]) -> dict[str, ra.Asset]:
    group = await verified_group(client)
    names = ("face", "clip", "voice")
    uploaded = [await client.upload_asset(group, files[n]) for n in names]
    done = await client.wait_active(uploaded, timeout=60)
    assert all(a.status == "active" for a in done), done
    return dict(zip(names, done, strict=True))


def _stats_jobs(sb: Sandbox) -> int:
    return sum(a.get("jobs", 0) for a in sb.stats()["accounts"].values())


def _streams(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as container:
        return len(container.streams.video), len(container.streams.audio)


@pytest.mark.parametrize("dialect", PROVIDERS)
def test_every_kind_and_setting_round_trips(sandbox: Sandbox, files: dict[str, Path], tmp_path: Path,
                                            dialect: str) -> None:  # fmt: skip
    features = generation_sellers()[dialect]
    extras = {k: True for k in ("watermark", "camera_fixed") if k in features}

    async def flow() -> None:
        async with client_on(sandbox, dialect, tmp_path / "ledger.sqlite3") as client:
            p = await _person(client, files)
            request = ra.GenerationRequest(
                "Image 1 walks through Image 2; Video 1 sets the motion; Audio 1 speaks",
                [p["face"], ra.Reference(files["market"]), p["clip"], p["voice"]],
                duration=4, resolution="480p", seed=3, generate_audio=True, return_last_frame=True,
                label=f"{dialect}/full", **extras,
            )  # fmt: skip
            job = await client.wait_job(await client.generate(request), timeout=120)
            video = await client.download(job, tmp_path / "out.mp4")
            assert _streams(video) == (1, 1), "the reference voice should be the soundtrack"
            frame = await client.download(job, tmp_path / "last.png", last_frame=True)
            with Image.open(frame) as im:
                assert im.size[1] == 480
            assert job.tokens and job.tokens > 0
            row = client.ledger.frame("jobs").set_index("id").loc[job.id]
            assert row["label"] == f"{dialect}/full" and row["tokens"] == job.tokens
            asked = client.ledger.job_request(client.ledger_name, job.id)
            assert asked is not None and asked["params"]["generate_audio"] is True
            assert [(i["kind"], i["role"], i["asset"]) for i in asked["inputs"]] == [
                ("Image", "reference_image", True), ("Image", "reference_image", False),
                ("Video", "reference_video", True), ("Audio", "reference_audio", True)]  # fmt: skip
            assert asked["inputs"][1]["source"].endswith("market.png")

    asyncio.run(flow())


@pytest.mark.parametrize("dialect", PROVIDERS)
def test_first_and_last_frames_and_a_silent_video(sandbox: Sandbox, files: dict[str, Path], tmp_path: Path,
                                                  dialect: str) -> None:  # fmt: skip
    async def flow() -> None:
        async with client_on(sandbox, dialect, tmp_path / "ledger.sqlite3") as client:
            p = await _person(client, files)
            refs = [ra.Reference(p["face"], role="first_frame"), ra.Reference(files["market"], role="last_frame")]
            job = await client.generate("from her to the market", refs, duration=4, resolution="480p",
                                        generate_audio=False)  # fmt: skip
            video = await client.download(await client.wait_job(job, timeout=120), tmp_path / "frames.mp4")
            assert _streams(video) == (1, 0)

    asyncio.run(flow())


@pytest.mark.parametrize("dialect", PROVIDERS)
def test_what_the_seller_cannot_take_is_refused_and_nothing_is_sent(sandbox: Sandbox, files: dict[str, Path],
                                                                    tmp_path: Path, dialect: str) -> None:  # fmt: skip
    missing = [f for f in ("watermark", "service_tier", "callback_url", "smart_duration")
               if f not in generation_sellers()[dialect]]  # fmt: skip
    settings: dict[str, Any] = {"watermark": {"watermark": True}, "service_tier": {"service_tier": "flex"},
                                "callback_url": {"callback_url": "https://example.com/cb"},
                                "smart_duration": {"duration": -1}}  # fmt: skip

    async def flow() -> None:
        async with client_on(sandbox, dialect, tmp_path / "ledger.sqlite3") as client:
            p = await _person(client, files)
            before = _stats_jobs(sandbox)
            for feature in missing:
                with pytest.raises(ra.GenerationRefusedError) as caught:
                    await client.generate("x", [p["face"]], resolution="480p", **settings[feature])
                assert caught.value.reason == "FeatureUnsupported" and dialect in str(caught.value)
            with pytest.raises(ra.GenerationRefusedError) as caught:
                await client.generate("x", [p["voice"]], resolution="480p")
            assert (caught.value.reason, caught.value.index) == ("AudioOnly", 0)
            with pytest.raises(ra.GenerationRefusedError) as caught:
                await client.generate("x", [p["face"], ra.Reference(p["face"], role="first_frame")])
            assert caught.value.reason == "ModesMixed"
            assert _stats_jobs(sandbox) == before

    asyncio.run(flow())


@pytest.mark.parametrize("dialect", ["toapis", "byteplus"])
def test_upstreams_refusal_names_the_input_it_means(sandbox: Sandbox, files: dict[str, Path], tmp_path: Path,
                                                     dialect: str) -> None:  # fmt: skip
    """A plain picture of a person (the emulator's face identity is its tag) is refused upstream as
    PrivacyInformation naming content[N]; the error says which of the caller's inputs that is."""

    async def flow() -> None:
        async with client_on(sandbox, dialect, tmp_path / "ledger.sqlite3") as client:
            p = await _person(client, files)
            with pytest.raises(ra.InvalidRequestError) as caught:
                await client.generate("x", [p["clip"], p["face"], ra.Reference(files["bob"])], resolution="480p")
            text = str(caught.value)
            assert "PrivacyInformation" in (caught.value.code or "") + text
            assert "is reference 3: " in text and "bob.jpg (reference_image)" in text

    asyncio.run(flow())


def test_cancel_and_list_where_the_provider_can(files: dict[str, Path], tmp_path: Path) -> None:
    with Sandbox(autopilot=0.0, processing_seconds=0.0, job_seconds=600, autopilot_person="alice") as sb:

        async def flow() -> None:
            async with client_on(sb, "byteplus", tmp_path / "ledger.sqlite3") as client:
                p = await _person(client, files)
                job = await client.generate("x", [p["face"]], resolution="480p", duration=4)
                other = await client.generate("y", [p["face"]], resolution="480p", duration=4, model=None)
                cancelled = await client.cancel_job(job)
                assert cancelled.status == "cancelled"
                listed = await client.list_jobs(status="cancelled")
                assert [j.id for j in listed] == [job.id]
                assert {j.id for j in await client.list_jobs()} == {job.id, other.id}
            async with client_on(sb, "toapis", tmp_path / "ledger2.sqlite3") as client:
                with pytest.raises(ra.UnsupportedOperationError, match="cancel"):
                    await client.cancel_job("anything")
                with pytest.raises(ra.UnsupportedOperationError, match="ledger"):
                    await client.list_jobs()

        asyncio.run(flow())


def test_a_grid_of_twelve_estimates_refuses_over_budget_then_runs_and_reruns_nothing(
    sandbox: Sandbox, files: dict[str, Path], tmp_path: Path
) -> None:
    async def flow() -> None:
        async with client_on(sandbox, "byteplus", tmp_path / "ledger.sqlite3") as client:
            p = await _person(client, files)
            grid = [ra.GenerationRequest(prompt, refs, duration=4, resolution="480p", seed=seed, label=f"{n}/{seed}")
                    for n, (prompt, refs) in enumerate([("a smile", [p["face"]]), ("a walk", [p["face"], p["clip"]])])
                    for seed in range(6)]  # fmt: skip
            assert len(grid) == 12
            estimate = await client.estimate(grid)
            assert estimate.unpriced == 0 and estimate.currency == "USD" and estimate.total > 0
            assert estimate.frame()["tokens"].gt(0).all()
            before = _stats_jobs(sandbox)
            with pytest.raises(ra.BudgetExceededError, match="Nothing was sent"):
                await client.generate_many(grid, budget=estimate.total * 0.9)
            assert _stats_jobs(sandbox) == before
            jobs = await client.generate_many(grid, budget=estimate.total * 1.01, concurrency=3)
            assert _stats_jobs(sandbox) == before + 12
            done = [await client.wait_job(j, timeout=120) for j in jobs]
            table = client.ledger.frame("jobs").set_index("label").loc[[r.label for r in grid]]
            assert table["tokens"].notna().all() and table["cost"].gt(0).all()
            assert table["estimated_cost"].sum() == pytest.approx(estimate.total)
            again = await client.generate_many(grid, budget=estimate.total * 1.01)
            assert [j.id for j in again] == [j.id for j in done] and _stats_jobs(sandbox) == before + 12

    asyncio.run(flow())


def test_a_seller_without_prices_cannot_be_held_to_a_budget(sandbox: Sandbox, files: dict[str, Path],
                                                            tmp_path: Path) -> None:  # fmt: skip
    async def flow() -> None:
        async with client_on(sandbox, "toapis", tmp_path / "ledger.sqlite3") as client:
            p = await _person(client, files)
            grid = [ra.GenerationRequest("a smile", [p["face"]], duration=4, resolution="480p")]
            estimate = await client.estimate(grid)
            assert estimate.unpriced == 1 and "no published price" in estimate.rows[0].note
            before = _stats_jobs(sandbox)
            with pytest.raises(ra.BudgetExceededError, match="no published price"):
                await client.generate_many(grid, budget=100.0)
            assert _stats_jobs(sandbox) == before

    asyncio.run(flow())


@pytest.mark.parametrize("dialect", [d for d in PROVIDERS if "service_tier" in generation_sellers()[d]])
def test_the_model_chooses_the_length_an_adaptive_ratio_a_tier_a_callback_and_an_inline_picture(
    sandbox: Sandbox, files: dict[str, Path], tmp_path: Path, dialect: str
) -> None:
    async def flow() -> None:
        async with client_on(sandbox, dialect, tmp_path / "ledger.sqlite3") as client:
            p = await _person(client, files)
            request = ra.GenerationRequest("Image 1 in Image 2", [p["face"], ra.Reference(files["market"])],
                                           duration=-1, ratio="adaptive", resolution="480p", service_tier="flex",
                                           callback_url="https://example.com/done")  # fmt: skip
            job = await client.wait_job(await client.generate(request), timeout=120)
            assert job.status == "succeeded" and job.video_url
            asked = client.ledger.job_request(client.ledger_name, job.id)
            assert asked is not None
            assert {k: asked["params"][k] for k in ("duration", "ratio", "service_tier", "callback_url")} == {
                "duration": -1,
                "ratio": "adaptive",
                "service_tier": "flex",
                "callback_url": "https://example.com/done",
            }

    asyncio.run(flow())


@pytest.mark.parametrize("dialect", ["byteplus", "toapis"])
def test_a_job_past_its_time_reads_expired(files: dict[str, Path], tmp_path: Path, dialect: str) -> None:
    with Sandbox(autopilot=0.0, processing_seconds=0.0, job_seconds=10**6, autopilot_person="alice") as sb:

        async def flow() -> ra.GenerationJob:
            async with client_on(sb, dialect, tmp_path / "ledger.sqlite3") as client:
                p = await _person(client, files)
                clock = FakeTime(time.time())
                sb.state.clock = clock
                job = await client.generate("x", [p["face"]], duration=4, resolution="480p")
                clock.now += 172_801  # past upstream's default execution_expires_after, two days
                with pytest.raises(ra.JobFailedError, match="expired") as caught:
                    await client.wait_job(job, timeout=30)
                return caught.value.job

        job = asyncio.run(flow())
    assert job.status == "expired" and job.error_code == "ExecutionExpired"


def test_a_grid_cell_whose_answer_was_lost_is_not_sent_again_blindly(
    sandbox: Sandbox, files: dict[str, Path], tmp_path: Path
) -> None:
    async def flow() -> None:
        async with client_on(sandbox, "byteplus", tmp_path / "ledger.sqlite3") as client:
            p = await _person(client, files)
            grid = [ra.GenerationRequest("a smile", [p["face"]], duration=4, resolution="480p", label="lost")]
            original = client._channel.send
            lost = {"done": False}

            async def drop_the_answer(request: Any, kind: Any = None) -> Any:
                response = await original(request, kind)
                if request.url.path.endswith("/generations/tasks") and not lost["done"]:
                    lost["done"] = True
                    raise ra.OutcomeUnknownError("the answer was lost after the request was sent")
                return response

            client._channel.send = drop_the_answer  # type: ignore[method-assign]
            before = _stats_jobs(sandbox)
            with pytest.raises(ra.OutcomeUnknownError):
                await client.generate_many(grid)
            client._channel.send = original  # type: ignore[method-assign]
            assert _stats_jobs(sandbox) == before + 1  # it was made upstream
            with pytest.raises(ra.OutcomeUnknownError, match="resubmit_unknown=True"):
                await client.generate_many(grid)  # a rerun does not send it again on a guess
            assert _stats_jobs(sandbox) == before + 1
            [job] = await client.generate_many(grid, resubmit_unknown=True)
            assert _stats_jobs(sandbox) == before + 2 and not job.id.startswith("intent:")
            assert [j.id for j in await client.generate_many(grid)] == [job.id]

    asyncio.run(flow())
