"""Containers read alike on every PyAV release we install (18 on Python 3.11, 19 on 3.12 and later).

PyAV 19 dropped ``av.open(metadata_errors=...)`` and keeps undecodable tag bytes as lone surrogates;
before it, a tag that is not UTF-8 raised unless told to ignore them. The files here are written byte by
byte, so no encoder of ours decides what the tag holds.
"""

from __future__ import annotations

import io
import struct
import subprocess
import wave
from pathlib import Path

import pytest
from imageio_ffmpeg import get_ffmpeg_exe
from PIL import Image

from realavatar_nb.media.containers import open_container, tag_text, video_streams
from realavatar_nb.media.probe import probe
from realavatar_nb.media.tags import read_tag
from realavatar_nb.samples import make_audio

from .test_probe import needs_ffprobe


def _wav_with_comment(path: Path, comment: bytes) -> Path:
    """Write one second of silence whose RIFF INFO ``ICMT`` (FFmpeg's ``comment``) holds ``comment`` as is."""
    pcm = io.BytesIO()
    with wave.open(pcm, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 16000)
    value = comment + b"\0" + b"\0" * ((len(comment) + 1) % 2)  # NUL-terminated, padded to even
    info = b"INFO" + b"ICMT" + struct.pack("<I", len(comment) + 1) + value
    body = pcm.getvalue()[8:] + b"LIST" + struct.pack("<I", len(info)) + info
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


@pytest.mark.parametrize("backend", ["pyav", pytest.param("ffprobe", marks=needs_ffprobe)])
def test_a_tag_that_is_not_utf8_leaves_the_probe_whole(tmp_path: Path, backend: str) -> None:
    path = _wav_with_comment(tmp_path / "voice.wav", b"realavatar:person=b\xe9a;faces=1")
    info = probe(path, backend=backend)  # type: ignore[arg-type]
    assert (info.error, info.kind) == (None, "audio"), info.note
    assert info.duration_s == pytest.approx(1.0)


def test_a_tag_that_is_not_utf8_reads_without_the_stray_byte(tmp_path: Path) -> None:
    path = _wav_with_comment(tmp_path / "voice.wav", b"realavatar:person=b\xe9a;faces=1")
    tag = read_tag(path)
    assert tag == {"person": "ba", "faces": "1"}
    assert all(value.encode("utf-8") for value in tag.values())  # no lone surrogate left to break JSON or SQLite


def test_tag_text_drops_only_the_bytes_that_are_not_utf8() -> None:
    assert tag_text("b\udce9a") == "ba"  # what PyAV 19 hands over for b"b\xe9a"
    assert tag_text("Zoë 🙂") == "Zoë 🙂"


def test_cover_art_is_no_video_and_its_song_probes_as_audio(tmp_path: Path) -> None:
    song = make_audio(tmp_path / "song.mp3", duration=1.0)
    Image.new("RGB", (64, 64), "red").save(tmp_path / "cover.jpg")
    tagged = tmp_path / "tagged.mp3"
    subprocess.run(
        [get_ffmpeg_exe(), "-loglevel", "error", "-i", song, "-i", tmp_path / "cover.jpg", "-map", "0", "-map", "1",
         "-c", "copy", "-disposition:v", "attached_pic", tagged],
        check=True,
    )  # fmt: skip
    with open_container(str(tagged)) as container:
        assert len(container.streams.video) == 1  # the cover is there, as a picture stream
        assert video_streams(container) == []
    info = probe(tagged)
    assert (info.error, info.kind, info.width) == (None, "audio", None), info.note
