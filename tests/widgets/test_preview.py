"""GenerationPreviewer and Gallery without a frontend, against the emulator on a loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

import realavatar_nb as ra
from realavatar_nb._types import PROVIDERS
from realavatar_nb.samples import make_image
from realavatar_nb.simulator import Sandbox
from realavatar_nb.widgets.preview import Gallery, GenerationPreviewer

CONSENT = ra.Consent(given_by="Alice", purpose="preview test")
# What each dialect reports for a job upstream's output moderation failed: Crun wraps every failed
# generation in its documented body code 501 and keeps upstream's words only in the message.
MODERATED_CODE = {p: "OutputVideoSensitiveContentDetected" for p in PROVIDERS} | {"crun": "501"}


class FakeTime:
    """A wall clock moved one second by each of the previewer's sleeps, which also note what it showed."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
        self.watched: GenerationPreviewer | None = None
        self.seen: list[tuple[str, str | None, str]] = []  # (status, bar display, bar style) at each poll

    def clock(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if self.watched is not None:
            bar = self.watched._bar
            self.seen.append((self.watched.status, bar.layout.display, bar.bar_style))
        self.now += timedelta(seconds=1)
        await asyncio.sleep(seconds)  # the emulator's job time is real: wait the tiny poll interval


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(autopilot=0.0, processing_seconds=0.0, job_seconds=0.2, autopilot_person="alice") as sb:
        yield sb


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_image(tmp_path_factory.mktemp("preview") / "alice.jpg", width=600, height=800, person="alice")


def _client(sb: Sandbox, tmp_path: Path, dialect: str = "toapis") -> ra.AsyncClient:
    ledger = ra.Ledger(tmp_path / f"{dialect}.sqlite3")
    return ra.AsyncClient("sandbox", sandbox=sb, dialect=dialect, ledger=ledger, poll_interval=0.05)


async def _active(client: ra.AsyncClient, image: Path) -> ra.Asset:
    session = await client.create_verification(person="alice", consent=CONSENT)
    group = (await client.wait_verified(session, timeout=30)).group_id
    assert group
    (asset,) = await client.wait_active([await client.upload_asset(group, image)], timeout=30)
    assert asset.status == "active", asset
    return asset


def test_a_succeeded_job_plays_its_downloaded_file_inline_with_its_details(
    sandbox: Sandbox, image: Path, tmp_path: Path
) -> None:
    time = FakeTime()

    async def flow() -> tuple[GenerationPreviewer, ra.GenerationJob, ra.GenerationJob]:
        async with _client(sandbox, tmp_path) as client:
            asset = await _active(client, image)
            job = await client.generate("a slow smile", [asset], duration=4, ratio="16:9", resolution="480p")
            previewer = GenerationPreviewer(
                client, job, out_dir=tmp_path / "videos", clock=time.clock, sleep=time.sleep
            )
            time.watched = previewer
            return previewer, job, await previewer.done()

    previewer, job, final = asyncio.run(flow())
    assert (final.id, final.status, previewer.status, previewer.job_id) == (job.id, "succeeded", "succeeded", job.id)
    video = Path(previewer.path)
    assert video == tmp_path / "videos" / f"{job.id}.mp4" and video.exists()
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert stream.frames == 4 * 24
        width, height = stream.codec_context.width, stream.codec_context.height
    assert previewer._player is not None and previewer._player.value == video.read_bytes()
    assert (previewer._player.controls, previewer._player.loop, previewer._player.autoplay) == (True, False, False)
    assert previewer._player in previewer.children
    # While it ran, every poll showed queued or running with the bar; once done, the bar is hidden.
    assert time.seen and {status for status, _, _ in time.seen} <= {"queued", "running"}
    assert all(display is None and style == "info" for _, display, style in time.seen)
    assert previewer._bar.layout.display == "none"
    assert previewer.elapsed == float(len(time.seen))  # one fake second per poll: the injected clock is used
    details = previewer._details.value
    for shown in ("4.0 s", f"{width}×{height}", "KB", str(job.model), job.references[0], "a slow smile"):
        assert shown in details
    text = previewer.fallback_text()
    assert text.startswith(f"Job {job.id}: succeeded in {previewer.elapsed:.1f} s — 4.0 s {width}×{height} video")
    assert f"saved to {video}" in text
    page = previewer.fallback_html()
    assert 'src="data:video/mp4;base64,' in page and "a slow smile" in page
    assert "sandbox-key" not in text + page + repr(previewer)


def test_a_request_dict_is_submitted_by_the_previewer(sandbox: Sandbox, image: Path, tmp_path: Path) -> None:
    async def flow() -> tuple[GenerationPreviewer, str, ra.GenerationJob]:
        async with _client(sandbox, tmp_path, "crun") as client:
            asset = await _active(client, image)
            request = {"prompt": "a nod", "references": [asset], "duration": 4, "resolution": "480p"}
            previewer = GenerationPreviewer(client, request, out_dir=tmp_path / "videos")
            first = previewer.status  # the task is queued on the loop, not yet run
            final = await previewer.done()
            assert client.ledger.frame("jobs").set_index("id").loc[final.id, "prompt"] == "a nod"
            return previewer, first, final

    previewer, first, final = asyncio.run(flow())
    assert first == "submitting"
    assert (final.status, previewer.job_id) == ("succeeded", final.id)
    assert Path(previewer.path).exists()
    assert "a nod" in previewer._details.value and "asset://" in previewer._details.value


@pytest.mark.parametrize("dialect", PROVIDERS)
def test_a_moderated_job_shows_the_providers_code_and_message(
    sandbox: Sandbox, image: Path, tmp_path: Path, dialect: str
) -> None:
    async def flow() -> tuple[GenerationPreviewer, ra.GenerationJob]:
        async with _client(sandbox, tmp_path, dialect) as client:
            asset = await _active(client, image)
            request = {"prompt": "a wave [moderate]", "references": [asset], "duration": 4, "resolution": "480p"}
            previewer = GenerationPreviewer(client, request, out_dir=tmp_path / "videos")
            return previewer, await previewer.done()  # a failed job is shown, not raised

    previewer, final = asyncio.run(flow())
    code, message = MODERATED_CODE[dialect], "The output video may contain sensitive content."
    assert (final.status, final.error_code, final.error_message) == ("failed", code, message)
    assert (previewer.status, previewer.error_code, previewer.error_message) == ("failed", code, message)
    assert code in previewer._details.value and message in previewer._details.value
    assert f"failed after {previewer.elapsed:.1f} s — {code}: {message}" in previewer.fallback_text()
    assert code in previewer.fallback_html() and message in previewer.fallback_html()
    assert previewer._player is None and previewer.path == "" and not (tmp_path / "videos").exists()


def test_a_gallery_waits_for_every_previewer_and_shows_them_all(sandbox: Sandbox, image: Path, tmp_path: Path) -> None:
    async def flow() -> tuple[Gallery, list[ra.GenerationJob]]:
        async with _client(sandbox, tmp_path, "easyrouter") as client:
            asset = await _active(client, image)
            requests = [{"prompt": p, "references": [asset], "duration": 4, "resolution": "480p"}
                        for p in ("a smile", "a frown [moderate]")]  # fmt: skip
            gallery = Gallery([GenerationPreviewer(client, r, out_dir=tmp_path / "v") for r in requests], columns=2)
            return gallery, await gallery.done()

    gallery, jobs = asyncio.run(flow())
    assert [j.status for j in jobs] == ["succeeded", "failed"]
    assert [p.job_id for p in gallery.previewers] == [j.id for j in jobs]
    assert list(gallery.children[0].children) == list(gallery.previewers)
    text, page = gallery.fallback_text(), gallery.fallback_html()
    assert text.startswith("Gallery of 2 generations: 1 succeeded, 1 failed")
    assert all(j.id in text and j.id in page for j in jobs)
    assert "repeat(2, minmax(0, 1fr))" in page and page.count("data:video/mp4;base64,") == 1
    bundle = gallery._repr_mimebundle_()
    assert (bundle["text/plain"], bundle["text/html"]) == (text, page)
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert repr(gallery) == "<Gallery: Gallery of 2 generations: 1 succeeded, 1 failed>"


def test_a_previewer_given_a_job_id_follows_it_and_recalls_its_prompt(
    sandbox: Sandbox, image: Path, tmp_path: Path
) -> None:
    async def flow() -> tuple[GenerationPreviewer, ra.GenerationJob, ra.GenerationJob]:
        async with _client(sandbox, tmp_path, "apimart") as client:
            asset = await _active(client, image)
            job = await client.generate("a blink", [asset], duration=4, resolution="480p")
            previewer = GenerationPreviewer(client, job.id, out_dir=tmp_path / "videos")
            return previewer, job, await previewer.done()

    previewer, job, final = asyncio.run(flow())
    assert (final.id, final.status) == (job.id, "succeeded")
    assert Path(previewer.path).exists()
    assert "a blink" in previewer._details.value and job.references[0] in previewer._details.value


def test_without_a_running_loop_nothing_starts_until_done(sandbox: Sandbox, image: Path, tmp_path: Path) -> None:
    async def prepare() -> ra.Asset:
        async with _client(sandbox, tmp_path, "anyfast") as client:
            return await _active(client, image)

    asset = asyncio.run(prepare())
    jobs_before = sum(a.get("jobs", 0) for a in sandbox.stats()["accounts"].values())
    client = _client(sandbox, tmp_path, "anyfast")
    previewer = GenerationPreviewer(client, {"prompt": "a look", "references": [asset.uri], "duration": 4,
                                             "resolution": "480p"}, out_dir=tmp_path / "videos")  # fmt: skip
    assert previewer._task is None and previewer.status == "submitting"
    assert sum(a.get("jobs", 0) for a in sandbox.stats()["accounts"].values()) == jobs_before

    async def finish() -> ra.GenerationJob:
        async with client:
            return await previewer.done()

    assert asyncio.run(finish()).status == "succeeded"
    assert sum(a.get("jobs", 0) for a in sandbox.stats()["accounts"].values()) == jobs_before + 1


def test_a_refused_request_shows_a_sentence_and_done_raises_it(sandbox: Sandbox, tmp_path: Path) -> None:
    async def flow() -> GenerationPreviewer:
        async with _client(sandbox, tmp_path) as client:
            previewer = GenerationPreviewer(client, {"prompt": "x", "references": ["asset://nope"]}, out_dir=tmp_path)
            with pytest.raises(ra.NotFoundError):
                await previewer.done()
            return previewer

    previewer = asyncio.run(flow())
    assert previewer.status == "error" and "nope" in previewer.error_message
    assert previewer.error_message in previewer._details.value
    assert previewer.fallback_text().startswith("Job (new): error after")


def test_a_request_without_a_prompt_or_with_unknown_arguments_is_refused_at_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    client = _client(sandbox, tmp_path)
    with pytest.raises(TypeError, match="no prompt"):
        GenerationPreviewer(client, {"references": []})
    with pytest.raises(TypeError, match="colour"):
        GenerationPreviewer(client, {"prompt": "x", "colour": "red"})
    with pytest.raises(TypeError, match="GenerationJob, a job id"):
        GenerationPreviewer(client, 42)  # type: ignore[arg-type]
    asyncio.run(client.aclose())


def test_a_video_over_the_play_limit_is_shown_by_path_and_never_read_into_memory(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    import tracemalloc

    from realavatar_nb.widgets.preview import EMBED_LIMIT

    job = ra.GenerationJob(id="job-big", status="succeeded", video_url="http://127.0.0.1:9/unused.mp4")
    video = tmp_path / "videos" / "job-big.mp4"  # already downloaded: the previewer only reads it
    video.parent.mkdir()
    with open(video, "wb") as fh:
        fh.truncate(8 * EMBED_LIMIT)  # sparse: 64 MB on paper, nothing on disk

    async def flow() -> tuple[GenerationPreviewer, int]:
        async with _client(sandbox, tmp_path) as client:
            # A first, small preview imports what previewing needs, so the peak below is the big one's own.
            (video.parent / "job-small.mp4").write_bytes(b"x" * 1000)
            small = ra.GenerationJob(id="job-small", status="succeeded")
            assert await GenerationPreviewer(client, small, out_dir=video.parent).done() == small
            previewer = GenerationPreviewer(client, job, out_dir=tmp_path / "videos", play_limit=EMBED_LIMIT)
            tracemalloc.start()
            try:
                await previewer.done()
                return previewer, tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

    previewer, peak = asyncio.run(flow())
    assert peak < EMBED_LIMIT // 2  # the 64 MB file was looked at (stat, probe's head), not read
    assert previewer._video is None and previewer.path == str(video)
    assert previewer._player is not None and "too large to play inline" in previewer._player.value
    page = previewer.fallback_html()
    assert "data:video/mp4" not in page and str(video) in page and "too large to play inline" in page


def test_a_video_between_the_embed_and_play_limits_plays_but_stays_out_of_the_saved_page(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    from realavatar_nb.widgets.preview import EMBED_LIMIT

    video = tmp_path / "videos" / "job-mid.mp4"
    video.parent.mkdir()
    video.write_bytes(b"\0" * (EMBED_LIMIT + 1))
    job = ra.GenerationJob(id="job-mid", status="succeeded", video_url="http://127.0.0.1:9/unused.mp4")

    async def flow() -> GenerationPreviewer:
        async with _client(sandbox, tmp_path) as client:
            previewer = GenerationPreviewer(client, job, out_dir=video.parent)
            await previewer.done()
            return previewer

    previewer = asyncio.run(flow())
    assert previewer._video is not None and len(previewer._video) == EMBED_LIMIT + 1  # the player has it
    page = previewer.fallback_html()
    assert "data:video/mp4" not in page and str(video) in page  # the saved notebook does not


def test_the_embed_limit_is_checked_against_the_file_before_reading(tmp_path: Path) -> None:
    from realavatar_nb.widgets.preview import _read

    small, big = tmp_path / "small.mp4", tmp_path / "big.mp4"
    small.write_bytes(b"x" * 1000)
    big.write_bytes(b"x" * 1001)
    assert _read(small, 1000)[1] == b"x" * 1000
    assert _read(big, 1000)[1] is None
