"""What the client needs to know of a local file: before an upload, its asset type and sha256
(``file_facts``); before a generation, an input's length, size and faces (``input_facts``).

This module is the client's one door into ``media/`` (``tests/test_layers.py`` holds it so), and
``media/`` imports nothing of the client. ``media`` loads only when a fact is first asked for, so
``import realavatar_nb`` stays light.
"""

from __future__ import annotations

import hashlib
import os

from ._exceptions import ConfigurationError, InvalidRequestError
from ._types import ASSET_TYPE_OF_KIND
from .generation import InputFacts

__all__ = ["file_facts", "file_sha256", "input_facts"]


def file_facts(source: str, asset_type: str | None = None) -> tuple[str, str]:
    """Return (asset type, sha256) of a local file or an http(s) URL.

    A URL is known by its text (hashed) and its type by its extension; a local file by its bytes,
    its type given or else probed (one read of the file). A file that is not an image, video or
    audio file is an ``InvalidRequestError``; a URL whose type cannot be told a ``ConfigurationError``.
    """
    if source.startswith(("http://", "https://")):
        return asset_type or _type_from_name(source), hashlib.sha256(source.encode()).hexdigest()
    if asset_type:
        return asset_type, file_sha256(source)
    return _probed(source)


def file_sha256(path: str) -> str:
    """Return the SHA-256 of a file's bytes, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def input_facts(path: str, faces: bool) -> InputFacts | None:
    """Return a generation input's length, size and (when ``faces``) face count, or ``None`` if unreadable."""
    from .media.probe import probe

    info = probe(path, hash=False)
    if info.error is not None:
        return None
    found = _faces_in(path, info.kind) if faces and info.kind in ("image", "video") else None
    size = (info.width, info.height) if info.width and info.height else None
    return InputFacts(seconds=info.duration_s, bytes=info.size_bytes, size=size, faces=found)


def _faces_in(path: str, kind: str) -> int | None:
    """Return how many real faces a plain picture or clip shows, or ``None`` where faces cannot be looked for."""
    from .media.faces import detect

    if not detect.available():
        return None
    try:
        return detect.scan(path, kind=kind).faces
    except Exception:  # a picture the face pass cannot read: leave the judgement to upstream
        return None


def _probed(path: str) -> tuple[str, str]:
    """Return (asset type, sha256) of a local file from one probe (one read of the file)."""
    from .media.probe import probe

    info = probe(path)
    if info.kind not in ASSET_TYPE_OF_KIND or info.sha256 is None:
        raise InvalidRequestError(
            f"{os.path.basename(path)} is not an image, video or audio file ({info.error or info.kind}); "
            f"validate it with ra.validate() first."
        )
    return ASSET_TYPE_OF_KIND[info.kind], info.sha256


def _type_from_name(url: str) -> str:
    from .media.sniff import AUDIO_FORMATS, IMAGE_FORMATS, family_of_extension

    family = family_of_extension(url.split("?")[0].rsplit(".", 1)[-1]) or ""
    if family in IMAGE_FORMATS:
        return "Image"
    if family in AUDIO_FORMATS:
        return "Audio"
    if family:
        return "Video"
    raise ConfigurationError(
        f"Cannot tell what {url} holds from its name: pass asset_type='Image', 'Video' or 'Audio'."
    )
