"""How well a face is shown: ``FaceQuality`` (size, sharpness, exposure, pose) and the warnings it earns.

Upstream's advice when its face-consistency check fails is "upload clear, front-facing images".
These are the cheap hints for that, measured on the main face the scan already found (a few
milliseconds beside the ~0.3 s of detection and descriptor):

* size: the face box's width in pixels and as a share of the frame's shorter side;
* sharpness: the variance of the Laplacian of the face crop, in grey, at most ``CROP_SIDE`` px wide;
* exposure: the crop's mean luminance and the share of its pixels clipped to white;
* pose: roll from the line between the eyes, yaw from how far the nose sits off the eyes' midpoint
  (the 5-point landmarks the descriptor is computed from).

``quality_warnings`` turns one ``FaceQuality`` into warning codes and sentences with the measured
value and the threshold. The thresholds were set on the test photos and degraded copies of them;
the table is in ``docs/validation-and-faces.md`` ("Face quality hints").
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from typing import Any, Final

__all__ = [
    "CROP_SIDE", "MAX_CLIPPED_SHARE", "MAX_ROLL_DEG", "MAX_YAW_DEG", "MIN_BRIGHTNESS", "MIN_FACE_PX", "MIN_FACE_SHARE",
    "MIN_SHARPNESS", "NOSE_DEPTH", "QUALITY_WARNINGS", "FaceQuality", "measure", "median_quality", "quality_warnings",
]  # fmt: skip

CROP_SIDE: Final = 128  # the crop is shrunk to this width (never enlarged), so sharpness does not grow with size
NOSE_DEPTH: Final = 0.35  # the nose's base sits about 0.35 eye-distances in front of the eyes (yaw = atan(r / 0.35))

MIN_FACE_PX: Final = 64  # face box narrower than this (full-size pixels): FaceTooSmall
MIN_FACE_SHARE: Final = 0.10  # ... or narrower than this share of the frame's shorter side
MIN_SHARPNESS: Final = 60.0  # variance of the Laplacian below this: FaceBlurred
MIN_BRIGHTNESS: Final = 50.0  # mean luminance (0–255) below this: FaceTooDark
MAX_CLIPPED_SHARE: Final = 0.15  # share of face pixels at 250+ above this: FaceOverexposed
MAX_ROLL_DEG: Final = 20.0  # eye line tilted more than this: FaceTurned
MAX_YAW_DEG: Final = 25.0  # estimated yaw beyond this: FaceTurned

QUALITY_WARNINGS: Final = ("FaceTooSmall", "FaceBlurred", "FaceTooDark", "FaceOverexposed", "FaceTurned")


@dataclass(frozen=True)
class FaceQuality:
    """What the main face looks like: the figures the quality warnings are judged from."""

    face_px: int  # the face box's width, in full-size pixels
    face_share: float  # that width ÷ the frame's shorter side
    sharpness: float  # variance of the Laplacian of the grey face crop (≤ CROP_SIDE px wide)
    brightness: float  # mean luminance of the face crop, 0–255
    clipped: float  # share of the crop's pixels at 250 or more
    roll_deg: float  # the eye line's tilt; positive: the eye on the picture's right sits lower
    yaw_deg: float  # estimated turn; the sign says which way (positive: the nose points to the picture's right)


def measure(
    region: Any, box: tuple[int, int, int, int], landmarks: Any, frame: tuple[int, int], scale: float = 1.0
) -> FaceQuality:
    """Return the quality of the face at ``box`` (left, top, right, bottom) in ``region`` (an RGB uint8 array).

    ``landmarks`` is dlib's 5-point shape in ``region``'s pixels; ``frame`` the decoded picture's
    size; ``scale`` how many full-size pixels one decoded pixel stands for (a JPEG decoded smaller).
    """
    import numpy as np
    from PIL import Image

    left, top, right, bottom = box
    height, width = region.shape[:2]
    crop = region[max(0, top) : min(height, bottom), max(0, left) : min(width, right)]
    grey = Image.fromarray(np.ascontiguousarray(crop)).convert("L")
    if grey.width > CROP_SIDE:
        grey = grey.resize((CROP_SIDE, max(1, round(grey.height * CROP_SIDE / grey.width))), Image.Resampling.BILINEAR)
    pixels = np.asarray(grey, dtype=np.float32)
    laplacian = pixels[1:-1, :-2] + pixels[1:-1, 2:] + pixels[:-2, 1:-1] + pixels[2:, 1:-1] - 4 * pixels[1:-1, 1:-1]
    roll, yaw = _pose(landmarks)
    return FaceQuality(
        face_px=round((right - left) * scale),
        face_share=(right - left) / max(1, min(frame)),
        sharpness=float(laplacian.var()) if laplacian.size else 0.0,
        brightness=float(pixels.mean()) if pixels.size else 0.0,
        clipped=float((pixels >= 250).mean()) if pixels.size else 0.0,
        roll_deg=roll,
        yaw_deg=yaw,
    )


def median_quality(qualities: Sequence[FaceQuality]) -> FaceQuality:
    """Return the field-by-field median of several frames' qualities (a clip is judged by its typical frame)."""
    columns = zip(*(astuple(q) for q in qualities), strict=True)
    face_px, *rest = (statistics.median(column) for column in columns)
    return FaceQuality(round(face_px), *(float(v) for v in rest))


def _pose(landmarks: Any) -> tuple[float, float]:
    """Return (roll, yaw) in degrees from dlib's 5 points: two corners of each eye, then the nose's base."""
    points = [(landmarks.part(i).x, landmarks.part(i).y) for i in range(5)]
    eyes = sorted(((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in (points[0:2], points[2:4]))
    (lx, ly), (rx, ry) = eyes
    span = math.hypot(rx - lx, ry - ly)
    if span == 0:
        return 0.0, 0.0
    ux, uy = (rx - lx) / span, (ry - ly) / span
    nx, ny = points[4][0] - (lx + rx) / 2, points[4][1] - (ly + ry) / 2
    # Eyes at ±e/2 and the nose d in front of them, turned by θ: the nose lands (d/e)·tan θ eye-distances
    # off the eyes' midpoint, measured along the eye line (so a tilted head is not read as turned).
    offset = (nx * ux + ny * uy) / span
    return math.degrees(math.atan2(ry - ly, rx - lx)), math.degrees(math.atan(offset / NOSE_DEPTH))


def quality_warnings(quality: FaceQuality) -> list[tuple[str, str]]:
    """Return (code, sentence) for every hint ``quality`` earns, each with the measured value and the threshold."""
    q, found = quality, []
    if q.face_px < MIN_FACE_PX or q.face_share < MIN_FACE_SHARE:
        found.append(("FaceTooSmall", f"face {q.face_px} px wide, {q.face_share:.0%} of the frame's shorter side; "
                      f"needs ≥ {MIN_FACE_PX} px and ≥ {MIN_FACE_SHARE:.0%}: come closer or crop"))  # fmt: skip
    if q.sharpness < MIN_SHARPNESS:
        found.append(("FaceBlurred", f"face sharpness {q.sharpness:.0f} (variance of the Laplacian), "
                      f"needs ≥ {MIN_SHARPNESS:.0f}: use a sharp, still shot"))  # fmt: skip
    if q.brightness < MIN_BRIGHTNESS:
        found.append(("FaceTooDark", f"face brightness {q.brightness:.0f} of 255, needs ≥ {MIN_BRIGHTNESS:.0f}: "
                      "light the face evenly"))  # fmt: skip
    if q.clipped > MAX_CLIPPED_SHARE:
        found.append(("FaceOverexposed", f"{q.clipped:.0%} of the face blown out to white, "
                      f"needs ≤ {MAX_CLIPPED_SHARE:.0%}: lower the exposure"))  # fmt: skip
    if abs(q.roll_deg) > MAX_ROLL_DEG or abs(q.yaw_deg) > MAX_YAW_DEG:
        found.append(("FaceTurned", f"head tilted {abs(q.roll_deg):.0f}° and turned about {abs(q.yaw_deg):.0f}°, "
                      f"needs ≤ {MAX_ROLL_DEG:.0f}° and ≤ {MAX_YAW_DEG:.0f}°: face the camera"))  # fmt: skip
    return found
