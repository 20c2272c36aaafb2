"""Synthetic media: every builder writes what it was asked for, tags round-trip, the demo folder is as promised."""

from __future__ import annotations

import itertools
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from realavatar_nb._types import LOCAL_PROBLEM_CODES, MEDIA_PROBLEM_CODES
from realavatar_nb.media.heif import register_heif
from realavatar_nb.samples import (
    DEMO_EXPECTED,
    demo_expected,
    format_tag,
    make_audio,
    make_demo_folder,
    make_image,
    make_video,
    parse_tag,
    read_tag,
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_folder(tmp_path_factory.mktemp("demo") / "media")


def _video_facts(path: Path) -> tuple[int, int, int, float, float, bool]:
    """Return (width, height, decoded frames, average fps, container duration s, has audio)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        width, height, fps = stream.codec_context.width, stream.codec_context.height, float(stream.average_rate)
        duration = container.duration / 1_000_000
        has_audio = bool(container.streams.audio)
        frames = sum(1 for _ in container.decode(video=0))
    return width, height, frames, fps, duration, has_audio


# -- images ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "pillow_format"),
    [
        ("a.jpg", "JPEG"),
        ("a.jpeg", "JPEG"),
        ("a.png", "PNG"),
        ("a.webp", "WEBP"),
        ("a.gif", "GIF"),
        ("a.heic", "HEIF"),
        ("a.bmp", "BMP"),
        ("a.tiff", "TIFF"),
    ],
)
def test_make_image_writes_the_suffix_format_at_the_requested_size(
    tmp_path: Path, name: str, pillow_format: str
) -> None:
    register_heif()
    path = make_image(tmp_path / "deep" / "er" / name, width=300, height=420)
    assert path == tmp_path / "deep" / "er" / name
    with Image.open(path) as im:
        assert im.format == pillow_format
        assert im.size == (300, 420)


@pytest.mark.parametrize("suffix", ["jpg", "png", "webp", "gif", "heic", "tiff"])
def test_image_tag_round_trips_through_read_tag(tmp_path: Path, suffix: str) -> None:
    path = make_image(tmp_path / f"a.{suffix}", width=320, height=400, person="alice", faces=2)
    assert read_tag(path) == {"person": "alice", "faces": "2"}


def test_image_tags_sit_where_the_emulator_looks(tmp_path: Path) -> None:
    jpg = make_image(tmp_path / "a.jpg", width=320, height=400, person="alice")
    png = make_image(tmp_path / "a.png", width=320, height=400, faces=2)
    gif = make_image(tmp_path / "a.gif", width=320, height=400, person="bob", faces=1)
    with Image.open(jpg) as im:
        assert im.getexif().get(0x010E) == "realavatar:person=alice"
    with Image.open(png) as im:
        assert im.info.get("realavatar") == "realavatar:faces=2"
    with Image.open(gif) as im:
        assert im.info.get("comment") == b"realavatar:person=bob;faces=1"


def test_format_argument_writes_content_unlike_the_name(tmp_path: Path) -> None:
    path = make_image(tmp_path / "screenshot.jpg", width=320, height=400, format="png")
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_a_bmp_is_written_untagged(tmp_path: Path) -> None:
    path = make_image(tmp_path / "scan.bmp", width=320, height=400, person="alice", faces=1)
    assert path.read_bytes().startswith(b"BM")
    assert read_tag(path) == {}


def test_unknown_image_format_raises_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="jpeg"):
        make_image(tmp_path / "a.xcf")


def test_portrait_is_the_same_for_a_name_and_differs_between_names(tmp_path: Path) -> None:
    def pixels(person: str, name: str) -> np.ndarray:
        with Image.open(make_image(tmp_path / name, width=320, height=400, person=person)) as im:
            return np.asarray(im.convert("RGB"))

    alice = pixels("alice", "a1.png")
    assert np.array_equal(alice, pixels("alice", "a2.png"))
    assert not np.array_equal(alice, pixels("bob", "b.png"))


# -- video ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "width", "height", "duration", "fps", "audio"),
    [
        ("clip.mp4", 480, 640, 3.0, 24, True),
        ("clip.mov", 360, 640, 2.5, 30, False),
        ("clip.mkv", 320, 400, 2.0, 25, True),
        ("clip.webm", 320, 400, 2.0, 24, True),
        ("short.mp4", 320, 400, 1.0, 15, True),
        ("one_frame.mp4", 320, 400, 1 / 24, 24, False),
    ],
)
def test_make_video_has_exact_frames_size_fps_and_duration(
    tmp_path: Path, name: str, width: int, height: int, duration: float, fps: int, audio: bool
) -> None:
    path = make_video(tmp_path / "sub" / name, width=width, height=height, duration=duration, fps=fps, audio=audio)
    got_width, got_height, frames, got_fps, got_duration, has_audio = _video_facts(path)
    assert (got_width, got_height) == (width, height)
    assert frames == round(duration * fps)
    assert got_fps == fps
    assert abs(got_duration - duration) < 0.1
    assert has_audio is audio


def test_a_clip_of_the_default_size_passes_the_default_profile(tmp_path: Path) -> None:
    from realavatar_nb.media.validate import validate

    result = validate(make_video(tmp_path / "clip.mp4", duration=2.5))
    assert (result.info.width, result.info.height) == (480, 854)
    assert result.ok, result.problems


def test_consecutive_video_frames_differ(tmp_path: Path) -> None:
    path = make_video(tmp_path / "clip.mp4", width=320, height=400, duration=1.0, fps=24, audio=False)
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    assert len(frames) == 24
    assert all(not np.array_equal(a, b) for a, b in itertools.pairwise(frames))


@pytest.mark.parametrize("suffix", ["mp4", "mov", "mkv", "webm", "avi"])
def test_video_tag_round_trips_through_read_tag(tmp_path: Path, suffix: str) -> None:
    path = make_video(tmp_path / f"clip.{suffix}", width=160, height=200, duration=0.5, person="bob", faces=1)
    assert read_tag(path) == {"person": "bob", "faces": "1"}


@pytest.mark.parametrize("suffix", ["mp4", "mov"])
def test_video_tag_is_the_container_comment(tmp_path: Path, suffix: str) -> None:
    path = make_video(tmp_path / f"clip.{suffix}", width=160, height=200, duration=0.5, faces=2)
    with av.open(str(path)) as container:
        assert container.metadata["comment"] == "realavatar:faces=2"


@pytest.mark.parametrize(("width", "height"), [(481, 640), (480, 641)])
def test_odd_video_sides_raise_value_error(tmp_path: Path, width: int, height: int) -> None:
    with pytest.raises(ValueError, match="even"):
        make_video(tmp_path / "clip.mp4", width=width, height=height)
    assert not (tmp_path / "clip.mp4").exists()


def test_less_than_one_frame_raises_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one frame"):
        make_video(tmp_path / "clip.mp4", duration=0.01, fps=24)


def test_codec_overrides_the_containers_video_encoder(tmp_path: Path) -> None:
    path = make_video(tmp_path / "clip.mkv", width=160, height=200, duration=0.5, codec="mjpeg", audio=False)
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "mjpeg"
        assert sum(1 for _ in container.decode(video=0)) == 12


def test_an_audio_codec_for_the_picture_raises_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a video encoder"):
        make_video(tmp_path / "clip.mp4", codec="aac")


def test_unknown_video_container_raises_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mp4"):
        make_video(tmp_path / "clip.flv")


# -- audio ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rate", "expected_rate"),
    [("a.mp3", 44100, 44100), ("a.wav", 22050, 22050), ("a.flac", 44100, 44100), ("a.ogg", 44100, 48000)],
)
def test_make_audio_has_the_requested_duration_and_rate(
    tmp_path: Path, name: str, rate: int, expected_rate: int
) -> None:
    path = make_audio(tmp_path / name, duration=3.0, sample_rate=rate)
    with av.open(str(path)) as container:
        assert not container.streams.video
        assert container.streams.audio[0].rate == expected_rate
        assert abs(container.duration / 1_000_000 - 3.0) < 0.1


@pytest.mark.parametrize("suffix", ["mp3", "wav", "flac", "ogg", "m4a"])
def test_audio_tag_round_trips_through_read_tag(tmp_path: Path, suffix: str) -> None:
    path = make_audio(tmp_path / f"voice.{suffix}", duration=1.0, person="alice")
    assert read_tag(path) == {"person": "alice"}


def test_unknown_audio_format_raises_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mp3"):
        make_audio(tmp_path / "voice.aiff")


# -- tags -----------------------------------------------------------------------------------


def test_tag_string_carries_either_part_alone() -> None:
    assert format_tag("alice", 1) == "realavatar:person=alice;faces=1"
    assert format_tag(faces=2) == "realavatar:faces=2"
    assert format_tag() is None
    assert parse_tag("realavatar:faces=2") == {"faces": "2"}
    assert parse_tag(b"realavatar:person=alice\x00") == {"person": "alice"}
    assert parse_tag("a holiday photo") == {}


def test_a_person_name_that_would_break_the_tag_raises_value_error() -> None:
    with pytest.raises(ValueError, match="';'"):
        format_tag("alice;faces=3")


def test_read_tag_returns_empty_for_untagged_empty_junk_and_missing_files(tmp_path: Path) -> None:
    untagged = make_image(tmp_path / "plain.jpg", width=320, height=400)
    silent = make_audio(tmp_path / "plain.wav", duration=0.5)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x01not media" * 100)
    for path in (untagged, silent, empty, junk, tmp_path / "missing.png", tmp_path):
        assert read_tag(path) == {}


# -- the demo folder ------------------------------------------------------------------------


def test_demo_folder_holds_every_expected_file_and_nothing_else(demo: Path) -> None:
    written = sorted(p.relative_to(demo).as_posix() for p in demo.rglob("*") if p.is_file())
    assert written == sorted(DEMO_EXPECTED)


def test_demo_expected_names_only_known_problem_codes() -> None:
    codes = {code for problems in DEMO_EXPECTED.values() for code in problems}
    assert codes <= MEDIA_PROBLEM_CODES | LOCAL_PROBLEM_CODES
    # each person's 3 portraits and 2 voices, and the 2 files only a face check refuses
    assert sum(1 for problems in DEMO_EXPECTED.values() if not problems) == 12


def test_each_persons_phone_clip_is_under_upstreams_pixel_minimum_and_fixable(demo: Path) -> None:
    from realavatar_nb.media.rules import fixable, get_profile

    clips = {rel: codes for rel, codes in DEMO_EXPECTED.items() if rel.endswith("/clip.mp4")}
    assert clips == {"alice/clip.mp4": ("PixelCountTooSmall",), "bob/clip.mp4": ("PixelCountTooSmall",)}
    assert _video_facts(demo / "alice" / "clip.mp4")[:2] == (480, 640)  # 307,200 pixels, under 407,696
    assert fixable("video", ("PixelCountTooSmall",), get_profile())


def test_demo_files_carry_their_owner_or_the_odd_one_out(demo: Path) -> None:
    assert read_tag(demo / "alice" / "portrait.heic") == {"person": "alice", "faces": "1"}
    assert read_tag(demo / "bob" / "clip.mp4") == {"person": "bob", "faces": "1"}
    assert read_tag(demo / "alice" / "other_person.jpg") == {"person": "bob", "faces": "1"}
    assert read_tag(demo / "bob" / "two_faces.jpg") == {"person": "bob", "faces": "2"}


def test_demo_problem_files_are_what_their_names_say(demo: Path) -> None:
    assert (demo / "bob" / "empty.jpg").stat().st_size == 0
    assert (demo / "bob" / "screenshot.jpg").read_bytes().startswith(b"\x89PNG")
    assert _video_facts(demo / "bob" / "slow.mp4")[3] == 15
    assert abs(_video_facts(demo / "alice" / "long.mp4")[4] - 20.0) < 0.1
    with Image.open(demo / "alice" / "banner.jpg") as im:
        assert im.size == (3000, 800)


def test_validator_reports_exactly_the_expected_codes_for_the_demo(demo: Path) -> None:
    from realavatar_nb.media.validate import validate_folder

    report = validate_folder(demo, progress=False)
    found = {row.name: tuple(row.problems.split(";")) if row.problems else () for row in report.itertuples()}
    assert found == DEMO_EXPECTED


def test_demo_deals_problems_across_the_given_people() -> None:
    three = demo_expected(("ann", "ben", "cy"))
    owners = {rel.split("/")[0] for rel, codes in three.items() if codes}
    assert owners == {"ann", "ben", "cy"}
    alone = demo_expected(("solo",))
    assert all(rel.startswith("solo/") for rel in alone)
    # one person gets every kind of file once: the same names the default demo spreads over two
    assert sorted(rel.split("/", 1)[1] for rel in alone) == sorted({rel.split("/", 1)[1] for rel in DEMO_EXPECTED})


def test_demo_for_one_person_tags_the_odd_one_out_as_someone_else(tmp_path: Path) -> None:
    make_demo_folder(tmp_path, people=("solo",))
    assert read_tag(tmp_path / "solo" / "other_person.jpg")["person"] != "solo"


@pytest.mark.parametrize("people", [(), ("alice", "alice"), ("../up",)])
def test_demo_refuses_people_that_cannot_name_distinct_folders(tmp_path: Path, people: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        make_demo_folder(tmp_path, people=people)


def test_every_name_samples_exports_is_importable_from_it() -> None:
    import realavatar_nb.samples as samples

    missing = [name for name in samples.__all__ if not hasattr(samples, name)]
    assert missing == []
    assert samples.make_image.__module__ == "realavatar_nb._samples_images"
    assert samples.make_video.__module__ == samples.make_audio.__module__ == "realavatar_nb._samples_av"
