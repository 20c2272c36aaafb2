"""A catalogue of broken inputs: how to build each one, and the codes its report row must carry."""

from __future__ import annotations

import os
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from realavatar_nb.samples import make_audio, make_image, make_video


@dataclass(frozen=True)
class Broken:
    name: str
    build: Callable[[Path], Path]
    codes: tuple[str, ...]


def _bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        path = d / name
        path.write_bytes(data)
        return path

    return build


def _cut(name: str, source: Callable[[Path], Path], keep: float) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        src = source(_src(d, name))
        data = src.read_bytes()
        path = d / name
        path.write_bytes(data[: int(len(data) * keep)])
        return path

    return build


def _renamed(name: str, source: Callable[[Path], Path]) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        src = source(_src(d, name))
        path = d / name
        path.write_bytes(src.read_bytes())
        return path

    return build


def _src(d: Path, name: str) -> Path:
    """Return a folder beside ``d`` for the sound files a broken one is made from."""
    return d.parent / "sources" / name


def _under(d: Path, name: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    return d / name


def jpeg(d: Path) -> Path:
    return make_image(_under(d, "x.jpg"), width=800, height=1000)


def png(d: Path) -> Path:
    return make_image(_under(d, "x.png"), width=800, height=1000)


def gif(d: Path) -> Path:
    return make_image(_under(d, "x.gif"), width=400, height=500)


def mp4_moov_last(d: Path) -> Path:
    return make_video(_under(d, "x.mp4"), width=576, height=720, duration=2.5, fps=24)


def mp3(d: Path) -> Path:
    return make_audio(_under(d, "x.mp3"), duration=3.0)


def wav(d: Path) -> Path:
    return make_audio(_under(d, "x.wav"), duration=3.0)


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_bomb(d: Path) -> Path:
    """A valid 100,000 × 100,000 PNG of a few hundred bytes: decoding it would need 30 GB."""
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    path = d / "bomb.png"
    path.write_bytes(data + _chunk(b"IEND", b""))
    return path


def gif_bomb(d: Path) -> Path:
    screen = struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + b"\x02\x02\x4c\x01\x00"
    path = d / "bomb.gif"
    path.write_bytes(b"GIF89a" + screen + image + b"\x3b")
    return path


def fifo(d: Path) -> Path:
    path = d / "pipe.mp4"
    os.mkfifo(path)
    return path


def directory(d: Path) -> Path:
    path = d / "folder.mov"
    path.mkdir()
    (path / "inside.txt").write_text("a directory named like a video")
    return path


def symlink_loop(d: Path) -> Path:
    path = d / "loop.jpg"
    os.symlink(path.name, path)
    return path


def dangling(d: Path) -> Path:
    path = d / "dangling.png"
    os.symlink("missing-target.png", path)
    return path


def non_utf8_name(d: Path) -> Path:
    source = jpeg(_src(d, "latin1"))
    path = Path(os.fsdecode(bytes(d) + b"/caf\xe9.jpg"))
    path.write_bytes(source.read_bytes())
    return path


def sparse_oversize_jpeg(d: Path) -> Path:
    """A real JPEG followed by zeros up to 31 MB; sparse, so it costs no disk."""
    path = d / "oversize.jpg"
    path.write_bytes(jpeg(_src(d, "oversize")).read_bytes())
    with open(path, "r+b") as fh:
        fh.truncate(31 * 1024 * 1024)
    return path


def audio_in_mp4(d: Path) -> Path:
    return make_audio(d / "voice.m4a", duration=3.0)


def one_frame(d: Path) -> Path:
    return make_video(d / "one_frame.mp4", width=576, height=720, duration=1 / 24, fps=24, audio=False)


def _random(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def _corrupt_head(name: str, source: Callable[[Path], Path]) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        data = bytearray(source(_src(d, name)).read_bytes())
        data[:64] = _random(64, 7)
        path = d / name
        path.write_bytes(bytes(data))
        return path

    return build


CATALOGUE: tuple[Broken, ...] = (
    Broken("empty.jpg", _bytes("empty.jpg", b""), ("FileEmpty",)),
    Broken("empty.mp4", _bytes("empty.mp4", b""), ("FileEmpty",)),
    Broken("truncated.jpg", _cut("truncated.jpg", jpeg, 0.6), ("FileTruncated",)),
    Broken("truncated.png", _cut("truncated.png", png, 0.6), ("FileTruncated",)),
    Broken("truncated.gif", _cut("truncated.gif", gif, 0.6), ("FileTruncated",)),
    Broken("truncated.mp4", _cut("truncated.mp4", mp4_moov_last, 0.5), ("FileTruncated",)),
    Broken("truncated.wav", _cut("truncated.wav", wav, 0.5), ("FileTruncated", "DurationTooShort")),
    Broken("header_only.mp4", _cut("header_only.mp4", mp4_moov_last, 0.01), ("FileTruncated",)),
    Broken("corrupt_head.mp4", _corrupt_head("corrupt_head.mp4", mp4_moov_last), ("FormatUndetectable",)),
    Broken("corrupt_head.png", _corrupt_head("corrupt_head.png", png), ("FormatUndetectable",)),
    Broken(
        "soi_then_noise.jpg", _bytes("soi_then_noise.jpg", b"\xff\xd8\xff" + _random(4000, 3)), ("FormatUndetectable",)
    ),
    Broken(
        "page.mp4", _bytes("page.mp4", b"<!doctype html><html><body>Not Found</body></html>\n"), ("FormatUndetectable",)
    ),
    Broken("notes.mp3", _bytes("notes.mp3", b"remember to record the voice sample\n" * 20), ("FormatUndetectable",)),
    Broken("noise.wav", _bytes("noise.wav", _random(20_000, 11)), ("FormatUndetectable",)),
    Broken("archive.mov", _bytes("archive.mov", b"PK\x03\x04" + _random(3000, 5)), ("FormatUndetectable",)),
    Broken("png_named.jpg", _renamed("png_named.jpg", png), ("TypeMismatch",)),
    Broken("jpeg_named.png", _renamed("jpeg_named.png", jpeg), ("TypeMismatch",)),
    Broken("mp3_named.wav", _renamed("mp3_named.wav", mp3), ("TypeMismatch",)),
    Broken("video_named.jpg", _renamed("video_named.jpg", mp4_moov_last), ("TypeMismatch",)),
    Broken("no_extension", _renamed("no_extension", jpeg), ("TypeMismatch",)),
    Broken("folder.mov", directory, ("FileUnreadable",)),
    Broken("loop.jpg", symlink_loop, ("FileUnreadable",)),
    Broken("dangling.png", dangling, ("FileUnreadable",)),
    Broken("pipe.mp4", fifo, ("FileUnreadable",)),
    Broken("bomb.png", png_bomb, ("WidthTooLarge", "HeightTooLarge")),
    Broken("bomb.gif", gif_bomb, ("WidthTooLarge", "HeightTooLarge")),
    Broken("oversize.jpg", sparse_oversize_jpeg, ("FileSizeTooLarge",)),
    Broken("voice.m4a", audio_in_mp4, ("FormatUnsupported",)),
    Broken("one_frame.mp4", one_frame, ("DurationTooShort",)),
    Broken("caf\\xe9.jpg", non_utf8_name, ()),
)
