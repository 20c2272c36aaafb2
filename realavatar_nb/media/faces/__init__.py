"""Faces, found offline and compared with the person's: the face pre-check of a validation report.

- ``detect``: ``scan(path) -> FaceScan`` (how many faces, where, whose descriptor), ``distance``.
- ``quality``: the main face's size, sharpness, exposure and pose, and the hints they give.
- ``workers``: where scans run (worker processes, or the caller's executor).
- ``checks``: a report's face columns and problems (``check_faces``), carried over by ``fix``.

The package's own names are ``detect``'s, so ``from realavatar_nb.media import faces`` then
``faces.available()`` / ``faces.scan(path)`` read as before. dlib loads on the first real scan.
"""

from __future__ import annotations

from .detect import (
    BORDERLINE_DISTANCE,
    DETECT_MAX_SIDE,
    MATCH_DISTANCE,
    MIN_SCORE,
    FaceBox,
    FaceScan,
    FacesUnavailableError,
    available,
    distance,
    median_descriptor,
    scan,
    scan_many,
    thumbnail,
    unavailable_reason,
)

__all__ = [
    "BORDERLINE_DISTANCE", "DETECT_MAX_SIDE", "MATCH_DISTANCE", "MIN_SCORE", "FaceBox", "FaceScan",
    "FacesUnavailableError", "available", "distance", "median_descriptor", "scan", "scan_many", "thumbnail",
    "unavailable_reason",
]  # fmt: skip
