"""Content signatures: what a file is, judged from its first bytes, never from its name.

``sniff(head)`` names a format family (``jpeg``, ``mp4``, ``wav`` …) and the kind it implies.
Container families (``mp4``, ``mov``, ``webm`` …) can hold video or audio; their kind is
``"av"`` until a demuxer has looked at the streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["EXTENSIONS", "IMAGE_FORMATS", "Sniffed", "compatible", "family_of_extension", "sniff"]

HEAD_BYTES: Final = 4096

IMAGE_FORMATS: Final = frozenset({"jpeg", "png", "webp", "gif", "heic", "avif", "bmp", "tiff"})
AUDIO_FORMATS: Final = frozenset({"mp3", "wav", "flac", "aac", "aiff", "m4a"})
AV_FORMATS: Final = frozenset({"mp4", "mov", "webm", "mkv", "avi", "ogg", "flv", "mpegts", "3gp"})

EXTENSIONS: Final[dict[str, str]] = {
    "jpg": "jpeg", "jpeg": "jpeg", "jpe": "jpeg", "jfif": "jpeg",
    "png": "png", "webp": "webp", "gif": "gif",
    "heic": "heic", "heif": "heic", "hif": "heic", "avif": "avif",
    "bmp": "bmp", "tif": "tiff", "tiff": "tiff",
    "mp4": "mp4", "m4v": "mp4", "mov": "mov", "qt": "mov",
    "webm": "webm", "mkv": "mkv", "avi": "avi", "ogv": "ogg", "ogg": "ogg", "oga": "ogg", "opus": "ogg",
    "flv": "flv", "ts": "mpegts", "mts": "mpegts", "3gp": "3gp", "3g2": "3gp",
    "mp3": "mp3", "wav": "wav", "wave": "wav", "flac": "flac", "aac": "aac",
    "aif": "aiff", "aiff": "aiff", "m4a": "m4a",
}  # fmt: skip

# Families whose names may stand for each other: an iPhone .MOV renamed .mp4 is the same
# ISO-BMFF file to every demuxer, so it is not a mismatch.
_COMPATIBLE: Final = (frozenset({"mp4", "mov", "m4a", "3gp"}), frozenset({"webm", "mkv"}))

_HEIF_BRANDS: Final = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
_MOV_BRANDS: Final = frozenset({b"qt  "})
_M4A_BRANDS: Final = frozenset({b"M4A ", b"M4B ", b"M4P "})
_3GP_BRANDS: Final = frozenset({b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"3g2b", b"3g2c"})
_QUICKTIME_ATOMS: Final = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})


@dataclass(frozen=True)
class Sniffed:
    """A format family and the kind it implies (``image``, ``audio`` or ``av``)."""

    format: str
    kind: str


def _kind(fmt: str) -> str:
    if fmt in IMAGE_FORMATS:
        return "image"
    if fmt in AUDIO_FORMATS:
        return "audio"
    return "av"


def _iso_bmff(head: bytes) -> str | None:
    if head[4:8] != b"ftyp":
        return "mov" if head[4:8] in _QUICKTIME_ATOMS else None
    major = head[8:12]
    size = int.from_bytes(head[0:4], "big")
    compatible = {head[i : i + 4] for i in range(16, min(max(size, 16), len(head)) - 3, 4)}
    brands = {major} | compatible
    if major in {b"avif", b"avis"}:
        return "avif"
    if major in _HEIF_BRANDS or (brands & _HEIF_BRANDS and not brands & {b"isom", b"mp41", b"mp42"}):
        return "heic"
    if major in _MOV_BRANDS:
        return "mov"
    if major in _M4A_BRANDS:
        return "m4a"
    if major in _3GP_BRANDS:
        return "3gp"
    return "mp4"


def _mp3_frame(head: bytes) -> bool:
    # An MPEG audio frame header: 11 sync bits, a valid version, layer III, a usable bitrate.
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0x3
    layer = (head[1] >> 1) & 0x3
    bitrate = head[2] >> 4
    rate = (head[2] >> 2) & 0x3
    return version != 1 and layer == 1 and bitrate not in (0, 15) and rate != 3


def sniff(head: bytes) -> Sniffed | None:
    """Return the format family these first bytes belong to, or ``None`` when no signature matches."""
    fmt: str | None = None
    if head.startswith(b"\xff\xd8\xff"):
        fmt = "jpeg"
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        fmt = "png"
    elif head[:6] in (b"GIF87a", b"GIF89a"):
        fmt = "gif"
    elif head[:4] in (b"RIFF", b"RF64") and len(head) >= 12:
        fmt = {b"WEBP": "webp", b"WAVE": "wav", b"AVI ": "avi"}.get(head[8:12])
    elif head[:4] in (b"II*\x00", b"MM\x00*"):
        fmt = "tiff"
    elif head[:2] == b"BM" and len(head) >= 26 and head[14] in (12, 40, 52, 56, 64, 108, 124):
        fmt = "bmp"
    elif head[:4] == b"\x1a\x45\xdf\xa3":
        fmt = "webm" if b"webm" in head[:64] else "mkv"
    elif head[:4] == b"OggS":
        fmt = "ogg"
    elif head[:4] == b"fLaC":
        fmt = "flac"
    elif head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        fmt = "aiff"
    elif head[:3] == b"FLV":
        fmt = "flv"
    elif head[:3] == b"ID3" or _mp3_frame(head):
        fmt = "mp3"
    elif len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        fmt = "aac"  # ADTS
    elif len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        fmt = "mpegts"
    elif len(head) >= 12:
        fmt = _iso_bmff(head)
    return Sniffed(fmt, _kind(fmt)) if fmt else None


def family_of_extension(extension: str) -> str | None:
    """Return the format family a file extension (without the dot, any case) claims, if known."""
    return EXTENSIONS.get(extension.lower())


def compatible(claimed: str | None, actual: str) -> bool:
    """Return whether an extension claiming ``claimed`` may hold content of family ``actual``."""
    if claimed == actual:
        return True
    return any(claimed in group and actual in group for group in _COMPATIBLE)
