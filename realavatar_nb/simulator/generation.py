"""What a generation job may ask for: the durations, resolutions and ratios the emulator renders.

The state checks a job against these once, whatever dialect sent it (a dialect checks only its
provider's narrower limits); the renderer draws frames of these sizes.
"""

from __future__ import annotations

from typing import Final

from .records import SimError

__all__ = ["MAX_DURATION", "RATIOS", "RESOLUTIONS", "SMART_DURATION", "checked_duration"]

RESOLUTIONS: Final[dict[str, int]] = {"480p": 480, "720p": 720, "1080p": 1080}
"""Frame height in pixels for each supported ``resolution``."""
RATIOS: Final[dict[str, tuple[int, int]]] = {
    "16:9": (16, 9),
    "9:16": (9, 16),
    "1:1": (1, 1),
    "4:3": (4, 3),
    "3:4": (3, 4),
    "21:9": (21, 9),
}
"""Width:height for each fixed ``ratio``; ``"adaptive"`` follows the first image."""
MAX_DURATION: Final = 30
SMART_DURATION: Final = 5  # upstream's -1, "smart duration": the model chooses; this one chooses 5 s


def checked_duration(duration: int, ratio: str, resolution: str) -> int:
    """Return the job's duration in seconds (``-1`` resolved), or raise ``SimError`` naming the bad field."""
    if duration == -1:
        duration = SMART_DURATION
    if isinstance(duration, bool) or not isinstance(duration, int) or not 1 <= duration <= MAX_DURATION:
        raise SimError("invalid", f"duration must be whole seconds from 1 to {MAX_DURATION}.", field="duration")
    if resolution not in RESOLUTIONS:
        raise SimError("invalid", f"resolution must be one of {', '.join(RESOLUTIONS)}.", field="resolution")
    if ratio not in RATIOS and ratio != "adaptive":
        raise SimError("invalid", f"ratio must be one of {', '.join([*RATIOS, 'adaptive'])}.", field="ratio")
    return duration
