"""The previewer beside its inputs, last frame, usage and cost; a failure outlines its input; a gallery plays together.

Against the emulator on a loopback port in the "byteplus" dialect, where the price table has rows,
so the cost of a job is known from its usage.
"""

from __future__ import annotations

import asyncio
import base64
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import ipywidgets as widgets
import pytest
from PIL import Image

import realavatar_nb as ra
from realavatar_nb.samples import make_audio, make_image, make_video
from realavatar_nb.simulator import Sandbox
from realavatar_nb.widgets._inputs import FAULT, PLAIN
from realavatar_nb.widgets.preview import Gallery, GenerationPreviewer

CONSENT = ra.Consent(given_by="Alice", purpose="preview inputs test")
PNG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


@dataclass(frozen=True)
class Files:
    portrait: Path
    background: Path
    clip: Path
    voice: Path
    stranger: Path


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(autopilot=0.0, processing_seconds=0.0, job_seconds=0.2, autopilot_person="alice") as sb:
        yield sb


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    folder = tmp_path_factory.mktemp("inputs")
    return Files(
        portrait=make_image(folder / "alice.jpg", width=600, height=800, person="alice"),
        background=make_image(folder / "background.jpg", width=800, height=600),  # nobody in it: a plain input
        # 600×800 a frame: inside the 409,600–927,408 pixels upstream takes for a 480p job's reference video.
        clip=make_video(folder / "clip.mp4", width=600, height=800, duration=3.0, person="alice"),
        voice=make_audio(folder / "voice.mp3", duration=4.0),
        stranger=make_image(folder / "stranger.jpg", width=600, height=800, person="bob"),
    )


def _client(sb: Sandbox, tmp_path: Path) -> ra.AsyncClient:
    ledger = ra.Ledger(tmp_path / "byteplus.sqlite3")
    return ra.AsyncClient("sandbox", sandbox=sb, dialect="byteplus", ledger=ledger, poll_interval=0.05)


async def _assets(client: ra.AsyncClient, files: Files) -> tuple[ra.Asset, ra.Asset, ra.Asset]:
    session = await client.create_verification(person="alice", consent=CONSENT)
    group = (await client.wait_verified(session, timeout=30)).group_id
    assert group
    uploads = [await client.upload_asset(group, path) for path in (files.portrait, files.clip, files.voice)]
    image, video, audio = await client.wait_active(uploads, timeout=30)
    assert [a.status for a in (image, video, audio)] == ["active"] * 3
    return image, video, audio


def _picture(html: str) -> Image.Image:
    match = PNG.search(html)
    assert match, html[:200]
    return Image.open(io.BytesIO(base64.b64decode(match.group(1))))


def _media(tile: widgets.VBox) -> widgets.Widget:
    return tile.children[1]


def _caption(tile: widgets.VBox) -> str:
    return str(tile.children[0].value)


def test_each_input_shows_as_a_tile_beside_the_video_with_the_last_frame_tokens_and_cost(
    sandbox: Sandbox, files: Files, tmp_path: Path
) -> None:
    async def flow() -> tuple[GenerationPreviewer, ra.GenerationJob, tuple[ra.Asset, ...], dict[str, object]]:
        async with _client(sandbox, tmp_path) as client:
            image, video, audio = await _assets(client, files)
            request = ra.GenerationRequest("a slow smile", (image, files.background, video, audio), duration=4,
                                           resolution="480p", return_last_frame=True, label="cell-1")  # fmt: skip
            previewer = GenerationPreviewer(client, request, out_dir=tmp_path / "videos")
            final = await previewer.done()
            row = client.ledger.frame("jobs").set_index("id").loc[final.id].to_dict()
            return previewer, final, (image, video, audio), row

    previewer, final, (image, video, audio), row = asyncio.run(flow())
    assert final.status == "succeeded" and final.tokens
    tiles = previewer._tiles
    assert len(tiles) == 4 and all(t in previewer._strip.children for t in tiles)
    assert previewer._strip in previewer.children and previewer._player in previewer.children
    expected = [(1, "reference_image", image.id), (2, "reference_image", str(files.background)),
                (3, "reference_video", video.id), (4, "reference_audio", audio.id)]  # fmt: skip
    for tile, (position, role, label) in zip(tiles, expected, strict=True):
        caption = _caption(tile)
        assert f"<strong>{position}</strong> · {role}" in caption and label in caption
        assert tile.layout.border == PLAIN
    # The asset's picture is read from the file it was uploaded from, the plain input from its path.
    assert _picture(_media(tiles[0]).value).size == (90, 120)  # 600×800 to fit 120 px
    assert _picture(_media(tiles[1]).value).size == (120, 90)  # 800×600
    assert "first frame of" in _media(tiles[2]).value and _picture(_media(tiles[2]).value).size == (90, 120)
    player = _media(tiles[3])
    assert isinstance(player, widgets.Audio) and player.value == files.voice.read_bytes()
    assert (player.controls, player.autoplay, player.format) == (True, False, "mp3")
    # The last frame was asked for: saved beside the video and shown under it.
    frame = Path(previewer.last_frame_path)
    assert frame == Path(previewer.path).with_suffix(".png") and frame.exists()
    assert row["last_frame_path"] == str(frame)
    with Image.open(frame) as saved:
        assert saved.format == "PNG"
        shown = _picture(previewer._frame.value).size
        assert max(shown) == 240 and abs(shown[0] / shown[1] - saved.width / saved.height) < 0.02
    assert previewer._frame in previewer.children
    # Usage and the cost from it, as the ledger has them (byteplus has prices: not an estimate).
    assert row["tokens"] == final.tokens and row["currency"] == "USD" and row["cost"] > 0
    cost = f"{row['cost']:.4f} USD"
    details = previewer._details.value
    assert f"{final.tokens:,}" in details and cost in details and "estimated" not in details
    assert "cell-1" in previewer._header.value
    text = previewer.fallback_text()
    assert f"  tokens: {final.tokens:,}" in text and f"  cost: {cost}" in text and f"  last frame: {frame}" in text
    assert f"  inputs: 1. {image.id} (reference_image, image), 2. {files.background} (reference_image, image)" in text
    assert f"4. {audio.id} (reference_audio, audio)" in text
    page = previewer.fallback_html()
    assert page.count('class="ra-input"') == 4 and page.count("<audio controls") == 1
    assert page.count("data:image/png;base64,") == 4  # two thumbnails, the video's frame, the last frame
    assert 'src="data:video/mp4;base64,' in page and cost in page and FAULT not in page


def test_a_job_followed_by_id_shows_its_inputs_from_the_ledger(sandbox: Sandbox, files: Files, tmp_path: Path) -> None:
    async def flow() -> tuple[GenerationPreviewer, ra.GenerationJob]:
        async with _client(sandbox, tmp_path) as client:
            image, video, audio = await _assets(client, files)
            job = await client.generate("a nod", [image, video, audio], duration=4, resolution="480p")
            previewer = GenerationPreviewer(client, job.id, out_dir=tmp_path / "videos")
            return previewer, await previewer.done()

    previewer, final = asyncio.run(flow())
    assert final.status == "succeeded"
    media = [_media(t) for t in previewer._tiles]
    assert [type(m) for m in media] == [widgets.HTML, widgets.HTML, widgets.Audio]
    assert "first frame of" in media[1].value and media[2].value == files.voice.read_bytes()
    assert ["reference_image" in _caption(t) for t in previewer._tiles] == [True, False, False]
    # Nothing asked for a last frame: none is fetched, and none is said to be missing.
    assert previewer.last_frame_path == "" and "last frame" not in previewer._details.value
    assert f"{final.tokens:,}" in previewer._details.value and " USD" in previewer._details.value


def test_an_input_without_a_local_file_is_listed_by_its_label_and_role(
    sandbox: Sandbox, files: Files, tmp_path: Path
) -> None:
    copy = tmp_path / "gone.jpg"
    copy.write_bytes(files.portrait.read_bytes())

    async def flow() -> GenerationPreviewer:
        async with _client(sandbox, tmp_path) as client:
            session = await client.create_verification(person="alice", consent=CONSENT)
            group = (await client.wait_verified(session, timeout=30)).group_id
            assert group
            (image,) = await client.wait_active([await client.upload_asset(group, copy)], timeout=30)
            copy.unlink()  # uploaded, then deleted: the ledger's source names a file that is gone
            previewer = GenerationPreviewer(client, {"prompt": "a wink", "references": [image.uri], "duration": 4,
                                                     "resolution": "480p"}, out_dir=tmp_path / "v")  # fmt: skip
            await previewer.done()
            return previewer

    previewer = asyncio.run(flow())
    (tile,) = previewer._tiles
    assert "reference_image" in _caption(tile) and "(asset)" in _caption(tile)
    assert _media(tile).value == "<small>no local file</small>"


def test_a_refused_request_outlines_the_input_at_fault(sandbox: Sandbox, files: Files, tmp_path: Path) -> None:
    async def flow() -> tuple[GenerationPreviewer, ra.GenerationRefusedError, ra.Asset, int, int]:
        async with _client(sandbox, tmp_path) as client:
            image, _, audio = await _assets(client, files)
            before = sum(a.get("jobs", 0) for a in sandbox.stats()["accounts"].values())
            request = ra.GenerationRequest("x", (image, audio, audio, audio, audio), duration=4, resolution="480p")
            previewer = GenerationPreviewer(client, request, out_dir=tmp_path / "videos")
            with pytest.raises(ra.GenerationRefusedError) as refused:
                await previewer.done()
            after = sum(a.get("jobs", 0) for a in sandbox.stats()["accounts"].values())
            return previewer, refused.value, audio, before, after

    previewer, refused, audio, before, after = asyncio.run(flow())
    assert (refused.reason, refused.index, after) == ("TooManyAudios", 4, before)  # the fifth input; nothing sent
    assert previewer.status == "error" and previewer.at_fault == 4
    assert [t.layout.border for t in previewer._tiles] == [PLAIN] * 4 + [FAULT]
    said = f"reference 5 ({audio.id}, reference_audio)"
    assert f"At fault: {said}" in previewer._details.value
    assert f"  at fault: {said}" in previewer.fallback_text()
    page = previewer.fallback_html()
    (outlined,) = [t for t in page.split('class="ra-input"')[1:] if FAULT in t.split("</code>")[0]]
    assert "<strong>5</strong>" in outlined and page.count(FAULT) == 1
    assert said in page


def test_a_provider_refusal_naming_content_n_outlines_that_input(
    sandbox: Sandbox, files: Files, tmp_path: Path
) -> None:
    async def flow() -> tuple[GenerationPreviewer, BaseException]:
        async with _client(sandbox, tmp_path) as client:
            image, _, _ = await _assets(client, files)
            # A plain picture of a real person: upstream's moderation refuses it, naming its content[N].
            request = ra.GenerationRequest("x", (image, files.stranger), duration=4, resolution="480p")
            previewer = GenerationPreviewer(client, request, out_dir=tmp_path / "videos")
            with pytest.raises(ra.RealAvatarError) as refused:
                await previewer.done()
            return previewer, refused.value

    previewer, refused = asyncio.run(flow())
    assert "content[2]" in str(refused)
    assert previewer.at_fault == 1 and [t.layout.border for t in previewer._tiles] == [PLAIN, FAULT]
    assert f"reference 2 ({files.stranger}, reference_image)" in previewer._details.value


def test_a_failed_job_whose_message_names_content_n_outlines_that_input(
    sandbox: Sandbox, files: Files, tmp_path: Path
) -> None:
    # The emulator fails no job after it started for one input, so the failure is written here onto a
    # real job (its inputs and their content[N] recorded by the client when it was submitted).
    async def flow() -> GenerationPreviewer:
        async with _client(sandbox, tmp_path) as client:
            image, video, _ = await _assets(client, files)
            job = await client.generate("a look", [image, files.background, video], duration=4, resolution="480p")
            failed = replace(job, status="failed", error_code="InputImageSensitiveContentDetected",
                             error_message="input image 'content[2]' may contain real person")  # fmt: skip
            previewer = GenerationPreviewer(client, failed, out_dir=tmp_path / "videos")
            assert await previewer.done() == failed  # shown, not raised
            return previewer

    previewer = asyncio.run(flow())
    assert previewer.at_fault == 1 and [t.layout.border for t in previewer._tiles] == [PLAIN, FAULT, PLAIN]
    said = f"reference 2 ({files.background}, reference_image)"
    assert f"At fault: {said}" in previewer._details.value and f"at fault: {said}" in previewer.fallback_text()


def test_a_request_dict_may_carry_every_generation_setting(sandbox: Sandbox, tmp_path: Path) -> None:
    client = _client(sandbox, tmp_path)
    settings = {"generate_audio": True, "watermark": False, "camera_fixed": True, "return_last_frame": True,
                "service_tier": "default", "callback_url": "https://example.org/done", "label": "take-2"}  # fmt: skip
    previewer = GenerationPreviewer(client, {"prompt": "a wave", "references": [], **settings}, out_dir=tmp_path)
    assert previewer._request == ra.GenerationRequest("a wave", **settings)  # type: ignore[arg-type]
    assert previewer._request is not None and previewer._request.label == "take-2"
    with pytest.raises(ra.InvalidArgumentError, match="watermark"):
        GenerationPreviewer(client, {"prompt": "a wave", "watermark": "yes"})
    asyncio.run(client.aclose())


def test_a_gallery_starts_and_stops_every_video_together(sandbox: Sandbox, files: Files, tmp_path: Path) -> None:
    async def flow() -> Gallery:
        async with _client(sandbox, tmp_path) as client:
            image, _, _ = await _assets(client, files)
            requests = [ra.GenerationRequest(p, (image,), duration=4, resolution="480p") for p in ("a", "b")]
            gallery = Gallery([GenerationPreviewer(client, r, out_dir=tmp_path / "v") for r in requests], columns=2)
            await gallery.done()
            return gallery

    gallery = asyncio.run(flow())
    grid, controls = gallery.children
    assert list(grid.children) == list(gallery.previewers)
    assert [b.description for b in controls.children] == ["Play all", "Pause all", "Restart all"]
    first = [p._player for p in gallery.previewers]
    assert all(isinstance(p, widgets.Video) and not p.autoplay for p in first)

    gallery.play_button.click()
    playing = [p._player for p in gallery.previewers]
    assert gallery.playing and all(isinstance(p, widgets.Video) and p.autoplay and p.loop for p in playing)
    assert all(new is not old and old.comm is None for new, old in zip(playing, first, strict=True))  # old closed
    assert all(p._player in p.children for p in gallery.previewers)
    gallery.play_button.click()  # already playing together: left alone
    assert [p._player for p in gallery.previewers] == playing

    gallery.pause_button.click()
    paused = [p._player for p in gallery.previewers]
    assert not gallery.playing and all(isinstance(p, widgets.Video) and not p.autoplay for p in paused)
    assert all(p.value == q.value for p, q in zip(paused, first, strict=True))

    gallery.restart_button.click()
    gallery.restart_button.click()  # a restart always starts over, playing or not
    restarted = [p._player for p in gallery.previewers]
    assert gallery.playing and all(isinstance(p, widgets.Video) and p.autoplay for p in restarted)
    assert not set(map(id, restarted)) & set(map(id, paused))

    page = gallery.fallback_html()
    assert page.startswith('<div class="ra-gallery">') and page.count("<video ") == 2
    for name in ("Play all", "Pause all", "Restart all"):
        assert f">{name}</button>" in page
    assert page.count("querySelectorAll(&#x27;video&#x27;)") == 3 and "v.pause()" in page
