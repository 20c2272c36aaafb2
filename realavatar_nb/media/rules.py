"""Limit profiles as data, and the checks that judge a file's facts against them.

A profile is a JSON document (``profiles/<name>.json`` ships ``seedance-2.0``, the default,
and ``byteplus-2026-09``); users pass their own as a ``Profile``, a mapping or a JSON path.
``evaluate(info, profile)`` turns facts into ``Check`` rows named with upstream's failure
codes, so a local verdict and a server rejection read the same.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from importlib import resources
from typing import Any, Final

from .._exceptions import ProfileError
from .._types import MEDIA_PROBLEM_CODES
from .probe import MediaInfo
from .sniff import EXTENSIONS, compatible, family_of_extension

__all__ = [
    "BUILTIN_PROFILES",
    "DEFAULT_PROFILE",
    "FIXABLE_CODES",
    "Check",
    "KindLimits",
    "Profile",
    "Range",
    "evaluate",
    "get_profile",
]

DEFAULT_PROFILE: Final = "seedance-2.0"
BUILTIN_PROFILES: Final = ("seedance-2.0", "byteplus-2026-09")

# What ``fix`` can repair by converting, trimming, resampling, scaling or padding. Anything
# else (too short, undetectable, truncated, unreadable) needs a new source file, and ``fix``
# neither adds nor strips an audio track.
FIXABLE_CODES: Final = MEDIA_PROBLEM_CODES - {
    "FormatUndetectable",
    "DurationTooShort",
    "AudioTrackRequired",
    "AudioTrackForbidden",
}


@dataclass(frozen=True)
class Range:
    """An allowed interval; either end may be open-ended (``None``) or exclusive."""

    min: float | None = None
    max: float | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True

    def below(self, value: float) -> bool:
        if self.min is None:
            return False
        return value < self.min if self.min_inclusive else value <= self.min

    def above(self, value: float) -> bool:
        if self.max is None:
            return False
        return value > self.max if self.max_inclusive else value >= self.max

    def describe(self, unit: str = "") -> str:
        """Return the range as a person reads it, e.g. ``≥ 24 fps, ≤ 60 fps``."""
        return _describe(self, unit)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Range | None:
        if data is None:
            return None
        unknown = set(data) - {"min", "max", "min_inclusive", "max_inclusive"}
        if unknown:
            raise ProfileError(f"Unknown range keys {sorted(unknown)}; use min, max, min_inclusive, max_inclusive.")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if not self.min_inclusive:
            out["min_inclusive"] = False
        if not self.max_inclusive:
            out["max_inclusive"] = False
        return out


@functools.cache
def _describe(rng: Range, unit: str) -> str:
    # Cached: profiles are frozen, and the same few ranges are described for every file.
    lo = "" if rng.min is None else f"{'≥' if rng.min_inclusive else '>'} {_num(rng.min)}{unit}"
    hi = "" if rng.max is None else f"{'≤' if rng.max_inclusive else '<'} {_num(rng.max)}{unit}"
    return ", ".join(part for part in (lo, hi) if part)


def _num(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}" if abs(value) >= 10000 else str(int(value))
    return f"{value:g}"


@dataclass(frozen=True)
class KindLimits:
    """The limits for one kind of media (image, video or audio)."""

    formats: tuple[str, ...]
    size_bytes: Range | None = None
    width: Range | None = None
    height: Range | None = None
    aspect: Range | None = None
    pixels: Range | None = None
    duration_s: Range | None = None
    fps: Range | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KindLimits:
        unknown = set(data) - {"formats", *_RANGE_FIELDS}
        if unknown:
            raise ProfileError(f"Unknown limit keys {sorted(unknown)}; known: formats, {', '.join(_RANGE_FIELDS)}.")
        formats = tuple(str(f).lower() for f in data.get("formats", ()))
        bad = [f for f in formats if f not in set(EXTENSIONS.values())]
        if bad:
            raise ProfileError(f"Unknown formats {bad}; use family names such as jpeg, png, mp4, mov, mp3, wav.")
        return cls(formats=formats, **{k: Range.from_dict(data.get(k)) for k in _RANGE_FIELDS})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"formats": list(self.formats)}
        for name in _RANGE_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value.to_dict()
        return out


# The limit keys besides "formats", in declaration order: the dataclass is their one list.
_RANGE_FIELDS: Final = tuple(f.name for f in fields(KindLimits) if f.name != "formats")


@dataclass(frozen=True)
class Profile:
    """A named, dated set of limits for images, videos and audio."""

    name: str
    image: KindLimits
    video: KindLimits
    audio: KindLimits
    version: str = ""
    source: str = ""

    def limits(self, kind: str) -> KindLimits | None:
        """Return the limits for ``kind``, or ``None`` for an unknown kind."""
        return {"image": self.image, "video": self.video, "audio": self.audio}.get(kind)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """Build a profile from its JSON form; raises ``ProfileError`` naming what is wrong."""
        try:
            return cls(
                name=str(data["name"]),
                version=str(data.get("version", "")),
                source=str(data.get("source", "")),
                image=KindLimits.from_dict(data["image"]),
                video=KindLimits.from_dict(data["video"]),
                audio=KindLimits.from_dict(data["audio"]),
            )
        except KeyError as exc:
            raise ProfileError(f"A profile needs {exc.args[0]!r}: name, image, video and audio are required.") from None
        except TypeError as exc:
            raise ProfileError(f"Malformed profile: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form of this profile."""
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "image": self.image.to_dict(),
            "video": self.video.to_dict(),
            "audio": self.audio.to_dict(),
        }


_builtin_cache: dict[str, Profile] = {}


def get_profile(profile: str | os.PathLike[str] | Mapping[str, Any] | Profile | None = None) -> Profile:
    """Return a ``Profile`` from a built-in name, a JSON file path, a mapping or a profile."""
    if profile is None:
        profile = DEFAULT_PROFILE
    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, Mapping):
        return Profile.from_dict(profile)
    text = os.fspath(profile)
    if text in BUILTIN_PROFILES:
        if text not in _builtin_cache:
            raw = resources.files(__package__).joinpath("profiles", f"{text}.json").read_text("utf-8")
            _builtin_cache[text] = Profile.from_dict(json.loads(raw))
        return _builtin_cache[text]
    if os.path.isfile(text):
        try:
            with open(text, encoding="utf-8") as fh:
                return Profile.from_dict(json.load(fh))
        except json.JSONDecodeError as exc:
            raise ProfileError(f"{text} is not valid JSON: {exc}") from None
    raise ProfileError(
        f"Unknown profile {text!r}. Use one of {', '.join(BUILTIN_PROFILES)}, a path to a JSON profile, "
        f"or a ra.media.rules.Profile."
    )


@dataclass(frozen=True)
class Check:
    """One rule applied to one file: ``code`` names the failure when ``ok`` is false."""

    check: str
    ok: bool
    actual: Any
    required: str
    code: str | None = None


@dataclass(frozen=True)
class _Measure:
    check: str
    low: str
    high: str
    unit: str = ""


_MEASURES: Final = (
    _Measure("size_bytes", "FileSizeTooLarge", "FileSizeTooLarge", " bytes"),
    _Measure("width", "WidthTooSmall", "WidthTooLarge", " px"),
    _Measure("height", "HeightTooSmall", "HeightTooLarge", " px"),
    _Measure("aspect", "AspectRatioTooSmall", "AspectRatioTooLarge"),
    _Measure("pixels", "PixelCountTooSmall", "PixelCountTooLarge", " px"),
    _Measure("duration_s", "DurationTooShort", "DurationTooLong", " s"),
    _Measure("fps", "FpsTooLow", "FpsTooHigh", " fps"),
)


def _value(info: MediaInfo, name: str) -> float | int | None:
    value = getattr(info, name)
    if value is None or isinstance(value, int):
        return value
    # Round so that a clip encoded at exactly 2 s that a container reports as 1.9999 s, or an
    # aspect of 0.39999, is judged by what a person would call its value.
    return round(float(value), 3)


def evaluate(info: MediaInfo, profile: Profile) -> list[Check]:
    """Return every check of ``profile`` applied to ``info``, passing and failing alike."""
    if info.error is not None and (info.kind == "unknown" or info.error != "FileTruncated"):
        return [Check("readable", False, info.note or info.error, "a readable media file", info.error)]
    checks: list[Check] = [Check("readable", True, info.format, "a readable media file")]
    if info.error == "FileTruncated":
        checks.append(Check("complete", False, info.note, "the whole file", "FileTruncated"))
    limits = profile.limits(info.kind)
    if limits is None or info.format is None:
        checks.append(Check("format", False, info.format, "an image, video or audio file", "FormatUndetectable"))
        return checks
    allowed = ", ".join(limits.formats)
    ok_format = info.format in limits.formats
    checks.append(
        Check(
            "format",
            ok_format,
            info.format,
            f"{info.kind}: {allowed}",
            None if ok_format else "FormatUnsupported",
        )
    )
    claimed = family_of_extension(info.extension)
    ok_ext = claimed is not None and compatible(claimed, info.format)
    checks.append(
        Check(
            "extension",
            ok_ext,
            f".{info.extension}" if info.extension else "(none)",
            f"an extension for {info.format} content",
            None if ok_ext else "TypeMismatch",
        )
    )
    for m in _MEASURES:
        rng: Range | None = getattr(limits, m.check)
        if rng is None:
            continue
        value = _value(info, m.check)
        if value is None:
            checks.append(Check(m.check, False, None, rng.describe(m.unit), "FormatUndetectable"))
            continue
        code = m.low if rng.below(value) else m.high if rng.above(value) else None
        checks.append(Check(m.check, code is None, value, rng.describe(m.unit), code))
    return checks


def problems_of(checks: list[Check]) -> tuple[str, ...]:
    """Return the distinct failure codes of ``checks``, in check order."""
    return tuple(dict.fromkeys(c.code for c in checks if not c.ok and c.code))


# What ``fix`` writes: any of these formats for a conversion, the first (lossy) one to shrink a file.
FIX_TARGETS: Final[dict[str, tuple[str, ...]]] = {
    "image": ("jpeg", "png"),
    "video": ("mp4", "mov"),
    "audio": ("mp3", "wav"),
}


def fixable(kind: str, problems: tuple[str, ...], profile: Profile | None = None) -> bool:
    """Return whether ``fix`` can make a file with these problems conform under ``profile``."""
    if not problems or kind not in FIX_TARGETS or not set(problems) <= FIXABLE_CODES:
        return False
    limits = profile.limits(kind) if profile is not None else None
    if limits is None:
        return True
    targets = FIX_TARGETS[kind]
    if "FormatUnsupported" in problems and not set(targets) & set(limits.formats):
        return False
    return not ("FileSizeTooLarge" in problems and targets[0] not in limits.formats)
