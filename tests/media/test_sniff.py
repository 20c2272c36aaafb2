"""Content signatures decide the format family, whatever the name says."""

from __future__ import annotations

import pytest

from realavatar_nb.media.sniff import compatible, family_of_extension, sniff


def _ftyp(brand: bytes, *compat: bytes) -> bytes:
    body = b"ftyp" + brand + b"\x00\x00\x02\x00" + b"".join(compat)
    return (len(body) + 4).to_bytes(4, "big") + body + b"\x00" * 32


@pytest.mark.parametrize(
    ("head", "fmt", "kind"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg", "image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 16, "png", "image"),
        (b"GIF89a" + b"\x00" * 16, "gif", "image"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "webp", "image"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", "wav", "audio"),
        (b"RIFF\x10\x00\x00\x00AVI LIST", "avi", "av"),
        (b"II*\x00\x08\x00\x00\x00", "tiff", "image"),
        (b"BM" + b"\x00" * 12 + b"\x28" + b"\x00" * 20, "bmp", "image"),
        (_ftyp(b"heic", b"mif1", b"heic"), "heic", "image"),
        (_ftyp(b"mif1", b"heic"), "heic", "image"),
        (_ftyp(b"isom", b"iso2", b"avc1", b"mp41"), "mp4", "av"),
        (_ftyp(b"qt  ", b"qt  "), "mov", "av"),
        (_ftyp(b"M4A ", b"isom"), "m4a", "audio"),
        (b"\x00\x00\x00\x08wide\x00\x00\x00\x10mdat", "mov", "av"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "webm", "av"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", "mkv", "av"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "mp3", "audio"),
        (b"\xff\xfb\x90\x64" + b"\x00" * 8, "mp3", "audio"),
        (b"fLaC\x00\x00\x00\x22", "flac", "audio"),
        (b"OggS\x00\x02" + b"\x00" * 8, "ogg", "av"),
    ],
)
def test_signature_names_the_family_and_kind(head: bytes, fmt: str, kind: str) -> None:
    found = sniff(head)
    assert found is not None and (found.format, found.kind) == (fmt, kind)


@pytest.mark.parametrize(
    "head",
    [b"<!doctype html><html>", b'{"json": true}', b"\x00" * 64, b"PK\x03\x04zipfile...", b"\xff\xd8", b""],
)
def test_unknown_content_has_no_signature(head: bytes) -> None:
    assert sniff(head) is None


def test_extensions_map_case_insensitively_and_mp4_mov_stand_for_each_other() -> None:
    assert family_of_extension("JPG") == "jpeg" and family_of_extension("HEIF") == "heic"
    assert family_of_extension("txt") is None
    assert compatible("mp4", "mov") and compatible("mov", "mp4")
    assert not compatible("jpeg", "png") and not compatible("mp3", "wav")
