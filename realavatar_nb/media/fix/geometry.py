"""The sizing plan for a picture or a video frame: pad into the allowed aspect, then scale into the allowed sizes.

Pure arithmetic, no I/O. ``plan_size(width, height, limits)`` returns a ``SizePlan``: the canvas
to make, the size the picture is scaled to and where it sits on the canvas, or the reason no
sensible canvas exists. ``fix`` turns the plan into Pillow calls for images and an ffmpeg
``scale``/``pad`` chain for video.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from ..._types import GEOMETRY_PROBLEM_CODES
from ..rules import KindLimits, Range

__all__ = ["GEOMETRY_CODES", "MAX_UPSCALE", "SizePlan", "plan_size"]

# Upscaling invents no detail: past 4× a portrait is a blur that a face check would reject anyway.
MAX_UPSCALE: Final = 4.0

# The problem codes a sizing plan answers (one table for the whole package, in ``_types``).
GEOMETRY_CODES: Final = GEOMETRY_PROBLEM_CODES

# How far (in rounding steps) the integer search looks around the ideal canvas; a tight aspect
# range needs a few steps before width/height lands on an allowed ratio.
_SEARCH_STEPS: Final = 4


@dataclass(frozen=True)
class SizePlan:
    """A canvas of ``width × height`` with the source scaled to ``content_width × content_height`` at (left, top).

    ``refusal`` says why no canvas was planned; the sizes then repeat the source's.
    """

    source_width: int
    source_height: int
    width: int
    height: int
    content_width: int
    content_height: int
    left: int = 0
    top: int = 0
    refusal: str | None = None

    @property
    def padded(self) -> bool:
        """Whether a border is added around the picture."""
        return (self.content_width, self.content_height) != (self.width, self.height)

    @property
    def scaled(self) -> bool:
        """Whether the picture itself changes size."""
        return (self.content_width, self.content_height) != (self.source_width, self.source_height)

    @property
    def changes(self) -> bool:
        """Whether following the plan changes the picture at all."""
        return self.refusal is None and (self.padded or self.scaled)

    @property
    def scale(self) -> float:
        """The factor the picture is scaled by (width-wise)."""
        return self.content_width / self.source_width

    def describe(self) -> str:
        """Return what the plan does, for a report's ``action`` column (``""`` when nothing)."""
        if not self.changes:
            return ""
        before = f"{self.source_width}×{self.source_height}"
        after = f"{self.width}×{self.height}"
        if self.padded and self.scaled:
            return f"padded and scaled {before} → {after} (aspect {self.width / self.height:.3g})"
        if self.padded:
            return f"padded {before} → {after} (aspect {self.width / self.height:.3g})"
        return f"scaled {before} → {after}"


def _fits(width: int, height: int, limits: KindLimits) -> bool:
    """Return whether an integer canvas passes every size rule, judged exactly (no rounding)."""
    measures: tuple[tuple[Range | None, float], ...] = (
        (limits.width, width),
        (limits.height, height),
        (limits.aspect, width / height),
        (limits.pixels, width * height),
    )
    return all(rng is None or not (rng.below(value) or rng.above(value)) for rng, value in measures)


def _candidates(ideal: float, step: int) -> list[int]:
    base = max(step, math.floor(ideal / step) * step)
    return sorted({base + k * step for k in range(-_SEARCH_STEPS, _SEARCH_STEPS + 2) if base + k * step >= step})


def _integer_canvas(
    ideal_w: float, ideal_h: float, limits: KindLimits, step: int, picture: tuple[int, int] | None, scale: float
) -> tuple[int, int] | None:
    """Return the allowed integer canvas (sides multiples of ``step``) nearest ``ideal_w × ideal_h``.

    For a padded ``picture``, nearest first in how far the picture inside strays from the planned
    ``scale``, so rounding grows the border rather than shrinking the picture; then in size.
    """
    best: tuple[float, float, int, int] | None = None
    for w in _candidates(ideal_w, step):
        for h in _candidates(ideal_h, step):
            if not _fits(w, h, limits):
                continue
            fit = scale if picture is None else min(w / picture[0], h / picture[1])
            cost = (round(abs(fit / scale - 1), 9), abs(w - ideal_w) / ideal_w + abs(h - ideal_h) / ideal_h, w, h)
            if best is None or cost < best:
                best = cost
    return None if best is None else (best[2], best[3])


def _scale_bounds(width: float, height: float, limits: KindLimits) -> tuple[float, float]:
    """Return the smallest and largest factor that bring ``width × height`` into the size rules."""
    lo, hi = 0.0, math.inf
    for rng, side in ((limits.width, width), (limits.height, height)):
        if rng is None:
            continue
        if rng.min is not None:
            lo = max(lo, rng.min / side)
        if rng.max is not None:
            hi = min(hi, rng.max / side)
    if limits.pixels is not None:
        area = width * height
        if limits.pixels.min is not None:
            lo = max(lo, math.sqrt(limits.pixels.min / area))
        if limits.pixels.max is not None:
            hi = min(hi, math.sqrt(limits.pixels.max / area))
    return lo, hi


def _refused(width: int, height: int, why: str) -> SizePlan:
    return SizePlan(width, height, width, height, width, height, refusal=why)


def _round_to(value: float, step: int, ceiling: int) -> int:
    return min(ceiling, max(step, round(value / step) * step))


def plan_size(
    width: int,
    height: int,
    limits: KindLimits,
    *,
    even: bool = False,
    max_upscale: float = MAX_UPSCALE,
) -> SizePlan:
    """Return how to bring a ``width × height`` picture within ``limits``' sides, aspect and pixel count.

    The shorter dimension (relative to the allowed aspect) is padded first, centred; the padded
    canvas is then scaled by the factor nearest 1 that satisfies every size rule. ``even`` makes
    every side and offset even, as 4:2:0 video needs. Upscaling past ``max_upscale`` is refused.
    """
    if width < 1 or height < 1:
        raise ValueError(f"A picture needs a positive size, not {width}×{height}.")
    step = 2 if even else 1
    canvas_w, canvas_h = float(width), float(height)
    aspect = limits.aspect
    if aspect is not None and aspect.min is not None and aspect.below(width / height):
        canvas_w = height * aspect.min
    elif aspect is not None and aspect.max is not None and aspect.above(width / height):
        canvas_h = width / aspect.max
    padded = (canvas_w, canvas_h) != (width, height)

    lo, hi = _scale_bounds(canvas_w, canvas_h, limits)
    if lo > hi * (1 + 1e-9):
        return _refused(width, height, f"no size fits every limit for a {width}×{height} picture")
    scale = 1.0 if lo <= 1.0 <= hi else (lo if lo > 1.0 else hi)
    if scale > max_upscale:
        return _refused(
            width, height, f"too small to upscale meaningfully (needs ×{scale:.2g}, at most ×{max_upscale:g})"
        )
    canvas = _integer_canvas(
        canvas_w * scale, canvas_h * scale, limits, step, (width, height) if padded else None, scale
    )
    if canvas is None:
        return _refused(width, height, f"no whole-pixel size fits every limit for a {width}×{height} picture")
    out_w, out_h = canvas
    if not padded:
        # Rounding moved a side by a pixel or two: stretch rather than add a hairline border.
        return SizePlan(width, height, out_w, out_h, out_w, out_h)
    fit = min(out_w / width, out_h / height)
    content_w = _round_to(width * fit, step, out_w)
    content_h = _round_to(height * fit, step, out_h)
    left = (out_w - content_w) // 2 // step * step
    top = (out_h - content_h) // 2 // step * step
    return SizePlan(width, height, out_w, out_h, content_w, content_h, left, top)
