"""Conforming copies of what a validation report found fixable: ``fix(report, out_dir) -> DataFrame``.

- ``conform``: the run over a report (what each file gets, the new report); ``fix`` is its front.
- ``names``: output names (right extension, no collisions, never a source file).
- ``image``: Pillow rewrites; ``av``: ffmpeg rewrites of video and audio.
- ``geometry``: the size a rewrite aims for, inside the profile's limits.
"""

from __future__ import annotations

from .conform import FIX_COLUMNS, fix

__all__ = ["FIX_COLUMNS", "fix"]
