"""The Seedance 2.x models as data (``models.json``): what each family allows, and each seller's names.

A family (``2.0``, ``2.0-fast``, ``2.0-mini``, ``2.5``) says its resolutions, durations, reference
counts and totals, and whether it reads the person's ``asset://`` references at all; a provider
names the families it sells. ``model_spec(provider, name)`` is what the checks read; a name the
table does not know is ``None`` (sent unchecked for that model's own limits, the family's shared
rules still apply).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

__all__ = ["FAMILIES", "ModelSpec", "asset_models", "model_names", "model_spec", "table_source"]

FAMILIES: Final = ("2.0", "2.0-fast", "2.0-mini", "2.5")


@dataclass(frozen=True)
class ModelSpec:
    """One provider's model name and what its family allows."""

    provider: str
    name: str
    family: str
    title: str
    resolutions: tuple[str, ...]
    min_duration: int
    max_duration: int
    smart_duration: bool
    max_images: int
    max_videos: int
    max_audios: int
    max_references: int
    video_seconds: tuple[float, float]
    video_bytes: int
    video_pixels: tuple[int, int]
    video_pixels_1080p: int
    audio_seconds: float
    audio_bytes: int
    real_person_assets: bool
    audio_only: bool
    service_tiers: tuple[str, ...]
    mode: str | None = None
    """``"frames"`` or ``"references"`` where the seller splits a family by mode (Crun's i2v and r2v)."""

    def max_count(self, kind: str) -> int:
        """Return how many references of ``kind`` (``Image``, ``Video``, ``Audio``) the model takes."""
        return {"Image": self.max_images, "Video": self.max_videos, "Audio": self.max_audios}[kind]

    def max_video_pixels(self, resolution: str) -> int:
        """Return the most pixels a reference video's frame may have for an output of ``resolution``."""
        return self.video_pixels_1080p if resolution in ("1080p", "4k") else self.video_pixels[1]


@cache
def _table() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("models.json").read_text(encoding="utf-8")
    table: dict[str, Any] = json.loads(text)
    return table


def table_source() -> tuple[str, str]:
    """Return (version, sources) of the model table."""
    return _table()["version"], _table()["source"]


def _spec(provider: str, name: str, family: str) -> ModelSpec:
    f = _table()["families"][family]
    refs, video, audio = f["references"], f["reference_video"], f["reference_audio"]
    return ModelSpec(
        provider=provider,
        name=name,
        family=family,
        title=f["title"],
        resolutions=tuple(f["resolutions"]),
        min_duration=f["duration"]["min"],
        max_duration=f["duration"]["max"],
        smart_duration=f["duration"]["smart"],
        max_images=refs["image"],
        max_videos=refs["video"],
        max_audios=refs["audio"],
        max_references=refs["total"],
        video_seconds=(video["total_seconds"]["min"], video["total_seconds"]["max"]),
        video_bytes=video["total_bytes"],
        video_pixels=(video["pixels"]["min"], video["pixels"]["max"]),
        video_pixels_1080p=video["pixels"]["max_1080p"],
        audio_seconds=audio["total_seconds"],
        audio_bytes=audio["each_bytes"],
        real_person_assets=f["real_person_assets"],
        audio_only=f["audio_only"],
        service_tiers=tuple(f["service_tiers"]),
        mode=_table()["modes"].get(name),
    )


def model_names(provider: str) -> tuple[str, ...]:
    """Return the model names ``provider`` sells, in the table's order (empty for an unknown provider)."""
    return tuple(_table()["providers"].get(provider, {}))


def model_spec(provider: str, name: str) -> ModelSpec | None:
    """Return what ``provider``'s model ``name`` allows, or ``None`` if the table does not know it."""
    family = _table()["providers"].get(provider, {}).get(name)
    return _spec(provider, name, family) if family else None


def asset_models(provider: str) -> tuple[str, ...]:
    """Return ``provider``'s models that read the person's ``asset://`` references."""
    return tuple(n for n in model_names(provider) if (spec := model_spec(provider, n)) and spec.real_person_assets)
