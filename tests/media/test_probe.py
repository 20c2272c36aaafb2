"""Probing reports the real facts of every format in the tables, with either backend."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from realavatar_nb import MediaToolMissingError
from realavatar_nb.media.probe import probe

from .conftest import GOOD

needs_ffprobe = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="no ffprobe binary (make installs ffmpeg)")


@pytest.mark.parametrize("name", list(GOOD))
def test_probe_reports_the_facts_the_file_was_made_with(good_media: Path, name: str) -> None:
    _, made, expected = GOOD[name]
    info = probe(good_media / name)
    assert info.error is None, info.note
    for key, value in expected.items():
        assert getattr(info, key) == value, key
    if "width" in made:
        assert (info.width, info.height) == (made["width"], made["height"])
        assert info.pixels == info.width * info.height  # type: ignore[operator]
        assert info.aspect == pytest.approx(made["width"] / made["height"])  # type: ignore[operator]
    if "duration" in made:
        assert info.duration_s == pytest.approx(made["duration"], abs=0.1)
    if "fps" in made:
        assert info.fps == pytest.approx(made["fps"], rel=1e-3)
        assert info.frames == round(made["duration"] * made["fps"])  # type: ignore[operator]
    assert info.size_bytes == (good_media / name).stat().st_size
    assert info.sha256 == hashlib.sha256((good_media / name).read_bytes()).hexdigest()


def test_content_decides_the_kind_not_the_extension(good_media: Path, tmp_path: Path) -> None:
    fake = tmp_path / "still.mp4"
    shutil.copy(good_media / "portrait.png", fake)
    info = probe(fake)
    assert (info.kind, info.format, info.extension) == ("image", "png", "mp4")


@needs_ffprobe
@pytest.mark.parametrize("name", [n for n in GOOD if not n.endswith(".heic")])
def test_ffprobe_backend_agrees_with_the_default_backend(good_media: Path, name: str) -> None:
    fast = probe(good_media / name)
    slow = probe(good_media / name, backend="ffprobe")
    assert slow.backend == "ffprobe" and fast.backend in ("pyav", "pillow")
    assert (slow.kind, slow.format, slow.width, slow.height) == (fast.kind, fast.format, fast.width, fast.height)
    assert slow.sha256 == fast.sha256
    if fast.kind != "image":
        assert slow.duration_s == pytest.approx(fast.duration_s, abs=0.05)
        assert slow.has_audio == fast.has_audio
    if fast.kind == "video":
        assert slow.fps == pytest.approx(fast.fps, rel=1e-3)
        assert slow.frames == fast.frames


@needs_ffprobe
def test_ffprobe_backend_reports_heic_it_cannot_read_as_a_row_not_a_crash(good_media: Path) -> None:
    info = probe(good_media / "portrait.heic", backend="ffprobe")
    assert info.error in (None, "FormatUndetectable")  # ffprobe 5.1 has no HEIF demuxer; 7+ does


def test_ffprobe_backend_without_a_binary_says_how_to_get_one(
    good_media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from realavatar_nb.media import probe as probe_module

    monkeypatch.setattr(probe_module.shutil, "which", lambda name: None)
    with pytest.raises(MediaToolMissingError, match="apt-get install ffmpeg"):
        probe(good_media / "clip.mp4", backend="ffprobe")
