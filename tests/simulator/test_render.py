"""The emulator's generated video: a real H.264 MP4 of the asked length, size and content."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest
from PIL import Image

from realavatar_nb.simulator.render import FPS, RESOLUTIONS, frame_size, render_video


def make_job(**overrides: object) -> SimpleNamespace:
    fields: dict[str, object] = {
        "id": "cgt-20260101000000-abcde",
        "prompt": "Image 1 smiles at the camera",
        "duration": 1,
        "ratio": "16:9",
        "resolution": "480p",
        "seed": None,
    }
    fields.update(overrides)
    return SimpleNamespace(**fields)


@dataclass(frozen=True)
class Stream:
    """What a test reads of the video stream, read while the file is open (PyAV 19 refuses it after)."""

    codec: str
    pix_fmt: str | None
    average_rate: Fraction | None
    size: tuple[int, int]


def decode(path: str) -> tuple[list[np.ndarray], Stream, float]:
    """Return (RGB frames, the video stream's facts, container duration in s) of an MP4."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        assert container.duration is not None
        context = stream.codec_context
        facts = Stream(context.name, context.pix_fmt, stream.average_rate, (context.width, context.height))
        return frames, facts, container.duration / av.time_base


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("render-refs")
    y, x = np.mgrid[0:600, 0:800]
    pattern = np.stack([x % 256, y % 256, (x * 3 + y) % 256], axis=-1).astype(np.uint8)
    paths = {
        "red": d / "red.png",
        "blue": d / "blue.jpg",
        "pattern": d / "pattern.png",
        "portrait": d / "portrait.png",
        "square": d / "square.png",
        "broken": d / "broken.jpg",
        "strip": d / "strip.png",
    }
    Image.new("RGB", (640, 480), (220, 20, 20)).save(paths["red"])
    Image.new("RGB", (640, 480), (20, 30, 220)).save(paths["blue"])
    Image.fromarray(pattern).save(paths["pattern"])
    Image.new("RGB", (400, 1000), (40, 160, 40)).save(paths["portrait"])
    Image.new("RGB", (500, 500), (40, 160, 40)).save(paths["square"])
    Image.new("RGB", (4000, 4), (220, 20, 20)).save(paths["strip"])
    paths["broken"].write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return {name: str(path) for name, path in paths.items()}


@pytest.mark.parametrize(
    ("ratio", "size"),
    [
        ("16:9", (854, 480)),
        ("9:16", (480, 854)),
        ("1:1", (480, 480)),
        ("4:3", (640, 480)),
        ("3:4", (480, 640)),
        ("21:9", (1120, 480)),
    ],
)
def test_video_has_the_asked_size_length_and_rate(
    tmp_path: Path, images: dict[str, str], ratio: str, size: tuple[int, int]
) -> None:
    path = render_video(make_job(ratio=ratio, duration=1), [images["pattern"]], str(tmp_path))

    frames, stream, seconds = decode(path)
    assert path == str(tmp_path / "cgt-20260101000000-abcde.mp4")
    assert stream.codec == "h264"
    assert stream.pix_fmt == "yuv420p"
    assert stream.average_rate == FPS
    assert stream.size == size
    assert abs(len(frames) - FPS) <= 1
    assert abs(seconds - 1.0) <= 1 / FPS


def test_two_second_clip_lasts_two_seconds(tmp_path: Path, images: dict[str, str]) -> None:
    frames, _, seconds = decode(render_video(make_job(duration=2), [images["red"]], str(tmp_path)))

    assert abs(len(frames) - 2 * FPS) <= 1
    assert abs(seconds - 2.0) <= 1 / FPS


@pytest.mark.parametrize(
    ("reference", "size"),
    [("portrait", (480, 854)), ("square", (480, 480)), (None, (854, 480))],
)
def test_adaptive_ratio_follows_the_first_image_within_limits(
    tmp_path: Path, images: dict[str, str], reference: str | None, size: tuple[int, int]
) -> None:
    refs = [images[reference]] if reference else []
    _, stream, _ = decode(render_video(make_job(ratio="adaptive"), refs, str(tmp_path)))

    assert stream.size == size


def test_frame_size_gives_the_short_side_the_resolution_and_even_sides() -> None:
    assert RESOLUTIONS == {"480p": 480, "720p": 720, "1080p": 1080}
    assert frame_size("16:9", "720p") == (1280, 720)
    assert frame_size("16:9", "1080p") == (1920, 1080)
    assert frame_size("9:16", "1080p") == (1080, 1920)
    assert frame_size("adaptive", "720p", (3000, 1000)) == (1280, 720)  # wider than 16:9 is clamped
    assert frame_size("adaptive", "720p", (1000, 3000)) == (720, 1280)  # taller than 9:16 is clamped
    assert all(w % 2 == 0 and h % 2 == 0 for w, h in (frame_size(r, "480p") for r in ("4:3", "21:9", "3:4")))


def test_picture_moves_over_time(tmp_path: Path, images: dict[str, str]) -> None:
    frames, _, _ = decode(render_video(make_job(duration=2), [images["pattern"]], str(tmp_path)))

    first, middle, last = (f.astype(np.int16) for f in (frames[0], frames[len(frames) // 2], frames[-1]))
    assert np.abs(first - middle).mean() > 5
    assert np.abs(middle - last).mean() > 5


def test_video_without_references_is_a_moving_gradient(tmp_path: Path) -> None:
    frames, _, _ = decode(render_video(make_job(duration=2, prompt=""), [], str(tmp_path)))

    assert abs(len(frames) - 2 * FPS) <= 1
    assert frames[0].std() > 3  # a gradient, not a flat colour
    assert np.abs(frames[0].astype(np.int16) - frames[-1].astype(np.int16)).mean() > 0.5


def test_reference_colours_fill_the_picture(tmp_path: Path, images: dict[str, str]) -> None:
    frames, _, _ = decode(render_video(make_job(), [images["red"]], str(tmp_path)))

    r, g, b = frames[len(frames) // 2].reshape(-1, 3).mean(axis=0)
    assert r > 150
    assert r > 2.5 * g
    assert r > 2.5 * b


def test_several_references_cross_fade_from_first_to_last(tmp_path: Path, images: dict[str, str]) -> None:
    frames, _, _ = decode(render_video(make_job(duration=2), [images["red"], images["blue"]], str(tmp_path)))

    r0, _, b0 = frames[0].reshape(-1, 3).mean(axis=0)
    r1, _, b1 = frames[-1].reshape(-1, 3).mean(axis=0)
    rm, _, bm = frames[len(frames) // 2].reshape(-1, 3).mean(axis=0)
    assert r0 > 2 * b0  # opens on the red image
    assert b1 > 2 * r1  # ends on the blue one
    assert 60 < rm < r0  # the middle is a blend of both
    assert 60 < bm < b1


def test_prompt_appears_as_a_caption(tmp_path: Path, images: dict[str, str]) -> None:
    plain, _, _ = decode(render_video(make_job(id="plain", prompt=""), [images["red"]], str(tmp_path)))
    captioned, _, _ = decode(render_video(make_job(id="caption"), [images["red"]], str(tmp_path)))

    bottom = slice(int(480 * 0.85), 480)
    assert np.abs(plain[5][bottom].astype(np.int16) - captioned[5][bottom].astype(np.int16)).mean() > 5
    assert np.abs(plain[5][:200].astype(np.int16) - captioned[5][:200].astype(np.int16)).mean() < 2


def test_same_inputs_give_the_same_bytes(tmp_path: Path, images: dict[str, str]) -> None:
    refs = [images["pattern"], images["red"]]
    first = render_video(make_job(duration=2, seed=42), refs, str(tmp_path / "a"))
    second = render_video(make_job(duration=2, seed=42), refs, str(tmp_path / "b"))
    other_seed = render_video(make_job(duration=2, seed=43), refs, str(tmp_path / "c"))

    def digest(path: str) -> str:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()

    assert digest(first) == digest(second)
    assert digest(first) != digest(other_seed)


def test_output_is_faststart_and_leaves_no_temporary_file(tmp_path: Path, images: dict[str, str]) -> None:
    path = render_video(make_job(), [images["red"]], str(tmp_path / "out"))

    data = Path(path).read_bytes()
    assert 0 < data.index(b"moov") < data.index(b"mdat")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["cgt-20260101000000-abcde.mp4"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"duration": 0}, "duration"),
        ({"duration": 31}, "duration"),
        ({"duration": -1}, "duration"),
        ({"duration": 2.5}, "duration"),
        ({"resolution": "4k"}, "resolution"),
        ({"resolution": "720"}, "resolution"),
        ({"ratio": "2:1"}, "ratio"),
        ({"id": "../escape"}, "job id"),
    ],
)
def test_bad_job_is_refused(tmp_path: Path, images: dict[str, str], overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_video(make_job(**overrides), [images["red"]], str(tmp_path))

    assert list(tmp_path.iterdir()) == []


def test_extreme_image_shapes_render_at_the_frame_size(tmp_path: Path, images: dict[str, str]) -> None:
    frames, stream, _ = decode(render_video(make_job(ratio="9:16"), [images["strip"]], str(tmp_path)))

    assert stream.size == (480, 854)
    assert frames[0].reshape(-1, 3).mean(axis=0)[0] > 150


def test_unreadable_reference_is_refused_by_name(tmp_path: Path, images: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"broken\.jpg"):
        render_video(make_job(), [images["broken"]], str(tmp_path))

    assert list(tmp_path.iterdir()) == []
