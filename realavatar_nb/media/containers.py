"""Reading audio and video containers with PyAV, the same way on every release we install.

PyAV 19 (the release pip takes on Python 3.12 and later; it ships no wheel for 3.11) dropped
``av.open(..., metadata_errors=...)`` and decodes every tag as UTF-8 with ``surrogateescape``. Earlier
releases raise on a tag that is not UTF-8 unless told ``metadata_errors="ignore"``. ``open_container``
passes that argument only to the releases that take it, and ``tag_text`` drops undecodable bytes on
every release, so a report, the ledger and JSON never meet a lone surrogate.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.stream import VideoStream

__all__ = ["open_container", "tag_text", "video_streams"]


def open_container(path: str, **options: Any) -> InputContainer:
    """Return ``path`` opened for reading by PyAV; ``options`` go to ``av.open`` (``timeout``, ``options``)."""
    import av

    if _takes_metadata_errors():
        options["metadata_errors"] = "ignore"
    container: InputContainer = av.open(path, mode="r", **options)
    return container


def video_streams(container: InputContainer) -> list[VideoStream]:
    """Return the container's picture streams, leaving out cover art (an attached picture is no video)."""
    from av.stream import Disposition

    return [s for s in container.streams.video if not s.disposition & Disposition.attached_pic]


def tag_text(value: str) -> str:
    """Return a metadata value with the bytes that are not UTF-8 left out (as ``metadata_errors="ignore"`` did)."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "ignore")


@functools.cache
def _takes_metadata_errors() -> bool:
    import av

    return int(av.__version__.split(".", 1)[0]) < 19
