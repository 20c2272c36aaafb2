"""The downloaded video as the previewer holds it: its facts, its bytes when they fit, and its player's size."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets

from ..media.probe import MediaInfo, probe

__all__ = ["player_size", "read_video", "size_text", "too_large_note"]


def read_video(path: Path, limit: int) -> tuple[MediaInfo, bytes | None]:
    """Return the video's facts, and its bytes only when it fits ``limit`` (the size is looked at first)."""
    info = probe(path, hash=False)
    if path.stat().st_size > limit:
        return info, None
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)  # never more than the cap, even if the file grew since the stat
    return info, data if len(data) <= limit else None


def too_large_note(info: MediaInfo | None, limit: int) -> str:
    size = size_text(info.size_bytes) if info is not None else "the file"
    return f"{size}: too large to play inline (over {size_text(limit)}); open the saved file instead"


def size_text(n: int | None) -> str:
    if n is None:
        return "unknown size"
    if n < 1024:
        return f"{n} B"
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def player_size(info: MediaInfo | None) -> widgets.Layout:
    """Return a player layout that fits a 480 × 360 box at the video's own aspect (portrait clips stay small)."""
    width, height = (info.width, info.height) if info is not None and info.width and info.height else (16, 9)
    scale = min(480 / width, 360 / height)
    return widgets.Layout(width=f"{round(width * scale)}px", height=f"{round(height * scale)}px")
