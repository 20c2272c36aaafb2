"""HEIC/HEIF (and AVIF) support for Pillow, registered once on first need."""

from __future__ import annotations

import threading

__all__ = ["register_heif"]

_lock = threading.Lock()
_registered = False


def register_heif() -> None:
    """Teach Pillow to open and save HEIC through pillow-heif (idempotent, thread-safe)."""
    global _registered
    if _registered:
        return
    with _lock:
        if not _registered:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _registered = True
