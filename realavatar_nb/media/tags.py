"""Face-identity tags: who is in a synthetic file, for the emulator's simulated face check.

A tag is ``realavatar:person=<name>;faces=<n>`` (either part optional), kept where each format
holds a free-text note:

- JPEG, WebP, HEIC, TIFF: EXIF ImageDescription (0x010E).
- PNG: a ``tEXt`` chunk keyed ``realavatar``.
- GIF: the comment extension.
- Video and audio containers: the ``comment`` metadata key. MP4, MOV, M4A, MP3, WAV, FLAC
  and AVI keep it as ``comment``; Matroska and WebM upper-case it to ``COMMENT``; Ogg/Opus
  keeps it on the stream's comment header, not the container's.
- BMP has nowhere to keep it.

Untagged files match any verified person, as real faces would until a face check says otherwise.
"""

from __future__ import annotations

import os
from typing import Final

from .containers import open_container, tag_text

__all__ = ["EXIF_IMAGE_DESCRIPTION", "PNG_TAG_KEY", "TAG_PREFIX", "format_tag", "parse_tag", "read_tag"]

TAG_PREFIX: Final = "realavatar:"
PNG_TAG_KEY: Final = "realavatar"
EXIF_IMAGE_DESCRIPTION: Final = 0x010E


def format_tag(person: str | None = None, faces: int | None = None) -> str | None:
    """Return the tag string for ``person`` and ``faces``, or ``None`` when both are absent."""
    parts = []
    if person is not None:
        if any(c in person for c in ";=\n"):
            raise ValueError(f"A tagged person name cannot contain ';', '=' or a newline: {person!r}.")
        parts.append(f"person={person}")
    if faces is not None:
        parts.append(f"faces={faces}")
    return TAG_PREFIX + ";".join(parts) if parts else None


def parse_tag(text: str | bytes | None) -> dict[str, str]:
    """Return the fields of a tag string (``{"person": "alice", "faces": "1"}``), or ``{}``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not text:
        return {}
    # EXIF strings arrive NUL-padded from some writers.
    text = text.strip().strip("\x00").strip()
    if not text.startswith(TAG_PREFIX):
        return {}
    fields = {}
    for part in text[len(TAG_PREFIX) :].split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            fields[key.strip()] = value.strip()
    return fields


def read_tag(path: str | os.PathLike[str]) -> dict[str, str]:
    """Return the face-identity tag of the file at ``path``, or ``{}`` (never raises)."""
    try:
        return parse_tag(_image_tag(path)) or parse_tag(_container_tag(path))
    except Exception:  # a tag is a hint; a file that cannot be read simply has none
        return {}


def _image_tag(path: str | os.PathLike[str]) -> str | bytes | None:
    from PIL import Image, UnidentifiedImageError

    from .heif import register_heif

    register_heif()
    try:
        with Image.open(path) as im:
            text: str | bytes | None = im.info.get(PNG_TAG_KEY) or im.info.get("comment")
            if text:
                return text
            value = im.getexif().get(EXIF_IMAGE_DESCRIPTION)
            return value if isinstance(value, (str, bytes)) else None
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def _container_tag(path: str | os.PathLike[str]) -> str | None:
    with open_container(os.fspath(path)) as container:
        # Matroska upper-cases the key and Ogg keeps it per stream, so look everywhere.
        for metadata in [container.metadata, *(s.metadata for s in container.streams)]:
            for key, value in metadata.items():
                if key.lower() == "comment" and value.startswith(TAG_PREFIX):
                    return tag_text(value)
    return None
