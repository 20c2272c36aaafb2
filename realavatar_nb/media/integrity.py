"""Cheap structural checks that catch truncated and corrupt files without decoding them.

A header can look perfect while the file was cut off mid-upload. These checks read only box
headers and tails, and they flag a file only when the evidence is certain.
"""

from __future__ import annotations

from typing import BinaryIO, Final

__all__ = ["Damage", "check_structure"]

_BMFF: Final = frozenset({"mp4", "mov", "m4a", "3gp", "heic", "avif"})
_MAX_BOXES: Final = 100_000


class Damage:
    """What is wrong with a file's structure: ``code`` is ``FileTruncated`` or ``FormatUndetectable``."""

    __slots__ = ("code", "note")

    def __init__(self, code: str, note: str) -> None:
        self.code = code
        self.note = note

    def __repr__(self) -> str:
        return f"Damage({self.code!r}, {self.note!r})"


def _bmff(fp: BinaryIO, size: int, fmt: str) -> Damage | None:
    offset = 0
    seen: set[bytes] = set()
    for _ in range(_MAX_BOXES):
        if offset >= size:
            break
        fp.seek(offset)
        header = fp.read(16)
        if len(header) < 8:
            return Damage("FileTruncated", f"the file ends inside a box header at byte {offset}")
        box_size = int.from_bytes(header[:4], "big")
        box_type = header[4:8]
        if not all(32 <= b < 127 for b in box_type):
            return Damage("FormatUndetectable", f"unreadable box type at byte {offset}: the file is corrupt")
        if box_size == 1:
            if len(header) < 16:
                return Damage("FileTruncated", f"the file ends inside a box header at byte {offset}")
            box_size = int.from_bytes(header[8:16], "big")
        elif box_size == 0:
            box_size = size - offset
        if box_size < 8:
            return Damage("FormatUndetectable", f"a box of {box_size} bytes at byte {offset}: the file is corrupt")
        seen.add(box_type)
        if offset + box_size > size:
            missing = offset + box_size - size
            return Damage(
                "FileTruncated",
                f"the {box_type.decode()!r} box needs {missing} more bytes than the file has",
            )
        offset += box_size
    needed = b"meta" if fmt in ("heic", "avif") else b"moov"
    if needed not in seen:
        return Damage("FileTruncated", f"no {needed.decode()!r} box: the file was never finished")
    return None


def _riff(head: bytes, size: int) -> Damage | None:
    declared = int.from_bytes(head[4:8], "little")
    if head[:4] == b"RIFF" and 0 < declared < 0xFFFFFFF0 and declared + 8 > size:
        return Damage("FileTruncated", f"the header promises {declared + 8} bytes, the file has {size}")
    return None


def _tail(fp: BinaryIO, size: int, n: int) -> bytes:
    fp.seek(max(0, size - n))
    return fp.read(n)


def check_structure(fp: BinaryIO, fmt: str, size: int, head: bytes, data: bytes | None) -> Damage | None:
    """Return what is structurally wrong with the open file ``fp`` of family ``fmt``, or ``None``.

    ``data`` is the whole file when the caller already read it (small files); with it, checks
    that need a full scan are exact, and without it they only speak when the tail is conclusive.
    """
    if fmt in _BMFF:
        return _bmff(fp, size, fmt)
    if fmt in ("wav", "webp", "avi"):
        return _riff(head, size)
    if fmt == "jpeg":
        if b"\xff\xd9" in _tail(fp, size, 1024):
            return None
        if data is not None:
            scan = data.find(b"\xff\xda")
            if scan < 0 or data.rfind(b"\xff\xd9") < scan:
                return Damage("FileTruncated", "the JPEG has no end-of-image marker after its scan data")
        return None
    if fmt == "png":
        if b"IEND" in _tail(fp, size, 64) or (data is not None and b"IEND" in data):
            return None
        return Damage("FileTruncated", "the PNG has no IEND chunk")
    if fmt == "gif":
        if _tail(fp, size, 64).rstrip(b"\x00").endswith(b";"):
            return None
        return Damage("FileTruncated", "the GIF has no trailer byte")
    if fmt == "bmp":
        declared = int.from_bytes(head[2:6], "little")
        if declared > size:
            return Damage("FileTruncated", f"the header promises {declared} bytes, the file has {size}")
    return None
