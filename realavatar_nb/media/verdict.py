"""The verdict on one file: ``validate(path)`` returns a ``Validation``; a report row is its table form.

``judge(info, profile)`` turns probed facts into a ``Validation``; ``report_row`` writes one as a
row with the columns in ``REPORT_COLUMNS``, and ``facts_from_row`` reads the facts back out of a
row, so a report can be re-judged without probing again. The ``validate`` module (the folder
runner) builds whole reports from these and re-exports them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .._display import DisplayMixin, printable
from .paths import path_argument
from .probe import Backend, Isolate, MediaInfo, probe
from .rules import Check, Profile, evaluate, fixable, get_profile, problems_of

__all__ = ["FACE_COLUMNS", "REPORT_COLUMNS", "Validation", "facts_from_row", "judge", "report_row", "validate"]

# Filled when faces are checked (validate_folder(person=…) / people=True): media/faces/checks.py.
FACE_COLUMNS: Final[dict[str, str]] = {
    "faces": "Int64",  # faces found (the most in any sampled frame of a video)
    "face_distance": "Float64",  # to the person's reference face; < 0.5 same, ≥ 0.6 FaceMismatch
    "face_check": "string",  # faces | tag | not checked: … | n/a ("" when not asked for)
    "face_boxes": "string",  # "left,top,right,bottom" per face found, ";"-joined (full-resolution pixels)
    "warnings": "string",  # codes that warn without failing, joined by ";" (FACE_WARNINGS)
}
REPORT_COLUMNS: Final[dict[str, str]] = {
    "path": "object",  # the real os path (a non-UTF-8 name keeps its surrogate escapes)
    "name": "string",  # path relative to the folder, printable
    "kind": "string",  # image | video | audio | unknown
    "format": "string",  # content family: jpeg, png, mp4, mov, mp3, wav, ...
    "extension": "string",
    "container": "string",
    "codec": "string",
    "size_bytes": "Int64",
    "width": "Int64",
    "height": "Int64",
    "pixels": "Int64",
    "aspect": "Float64",
    "duration_s": "Float64",
    "fps": "Float64",
    "frames": "Int64",
    "has_audio": "boolean",
    "ok": "bool",
    "problems": "string",  # failure codes joined by ";" ("" when ok)
    "fixable": "bool",  # every problem is one ra.fix can repair
    "message": "string",  # one line for a person
    "note": "string",  # how the file was probed, when it matters
    "sha256": "string",
    "backend": "string",
    "profile": "string",
    **FACE_COLUMNS,
}
# How a check's value reads in a message: a label and a unit.
_LABELS: Final[dict[str, tuple[str, str]]] = {
    "size_bytes": ("size", " bytes"),
    "width": ("width", " px"),
    "height": ("height", " px"),
    "pixels": ("pixel count", " px"),
    "duration_s": ("duration", " s"),
    "fps": ("frame rate", " fps"),
}
_READ_ERRORS: Final = ("FileEmpty", "FileUnreadable", "ProbeTimeout", "ProbeCrashed", "FormatUndetectable")


@dataclass(frozen=True, repr=False)
class Validation(DisplayMixin):
    """The verdict on one file: ``ok``, its ``problems`` (upstream codes) and the ``info`` they rest on."""

    path: str
    ok: bool
    kind: str
    problems: tuple[str, ...]
    info: MediaInfo
    checks: tuple[Check, ...]
    fixable: bool
    profile: str

    @property
    def message(self) -> str:
        """One line for a person: ``ok`` or each failed check with what it needs."""
        if self.ok:
            return "ok"
        parts = []
        for c in self.checks:
            if c.ok:
                continue
            if c.check in ("readable", "complete"):
                parts.append(f"{c.code}: {c.actual}")
            else:
                label, unit = _LABELS.get(c.check, (c.check, ""))
                shown = "unknown" if c.actual is None else f"{_plain(c.actual)}{unit}"
                parts.append(f"{c.code}: {label} {shown}, needs {c.required}")
        return "; ".join(parts)

    def _display_title(self) -> str:
        return f"Validation of {printable(os.path.basename(self.path))}"

    def _display_rows(self) -> list[tuple[str, Any]]:
        i = self.info
        return [
            ("verdict", "ok" if self.ok else "problem"),
            ("kind", f"{self.kind} ({i.format or '?'})"),
            ("problems", ", ".join(self.problems) or "none"),
            ("size", f"{i.width}×{i.height}" if i.width else ""),
            ("duration", f"{i.duration_s:.2f} s" if i.duration_s is not None else ""),
            ("fps", f"{i.fps:.3g}" if i.fps else ""),
            ("fixable", "yes" if self.fixable else ("n/a" if self.ok else "no")),
            ("message", self.message),
        ]

    def __repr__(self) -> str:
        return (
            f"Validation(ok={self.ok}, kind={self.kind!r}, problems={self.problems!r}, path={printable(self.path)!r})"
        )


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if value < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}" if value >= 10000 else str(value)
    return str(value)


def judge(info: MediaInfo, profile: Profile) -> Validation:
    """Return the verdict of ``profile`` on already-probed facts."""
    checks = evaluate(info, profile)
    problems = problems_of(checks)
    return Validation(
        path=info.path,
        ok=not problems,
        kind=info.kind,
        problems=problems,
        info=info,
        checks=tuple(checks),
        fixable=fixable(info.kind, problems, profile),
        profile=profile.name,
    )


def validate(
    path: str | bytes | os.PathLike[str],
    profile: str | os.PathLike[str] | Mapping[str, Any] | Profile | None = None,
    *,
    backend: Backend = "auto",
    timeout: float = 30.0,
    isolate: Isolate = "untrusted",
) -> Validation:
    """Return the verdict on one file (never raises for a bad file; see ``Validation.problems``).

    Raises ``InvalidArgumentError`` when ``path`` is not a path at all (``None``, a number, a NUL in it).
    """
    spath = path_argument(path, call="validate", name="path")
    rules = get_profile(profile)
    return judge(probe(spath, backend=backend, timeout=timeout, isolate=isolate), rules)


def report_row(v: Validation, name: str) -> dict[str, Any]:
    """Return the report row (``REPORT_COLUMNS``) of ``v`` for the file shown as ``name``."""
    i = v.info
    return {
        "path": v.path,
        "name": name,
        "kind": v.kind,
        "format": i.format,
        "extension": i.extension,
        "container": i.container,
        "codec": i.codec,
        "size_bytes": i.size_bytes,
        "width": i.width,
        "height": i.height,
        "pixels": i.pixels,
        "aspect": i.aspect,
        "duration_s": i.duration_s,
        "fps": i.fps,
        "frames": i.frames,
        "has_audio": i.has_audio,
        "ok": v.ok,
        "problems": ";".join(v.problems),
        "fixable": v.fixable,
        "message": printable(v.message),
        "note": printable(i.note) if i.note else None,
        "sha256": i.sha256,
        "backend": i.backend,
        "profile": v.profile,
        "face_check": "",
        "face_boxes": "",
        "warnings": "",
    }


def facts_from_row(row: Mapping[Any, Any]) -> MediaInfo:
    """Return the facts a report row holds about its file (numbers as plain Python values)."""
    import pandas as pd

    def val(name: str, kind: type | None = None) -> Any:
        value = row.get(name)
        if value is None or pd.isna(value):
            return None
        return kind(value) if kind is not None else value

    problems = (val("problems") or "").split(";")
    kind = val("kind") or "unknown"
    # A read error stands alone only when nothing was learned about the file; a missing value
    # of a known kind (FormatUndetectable from one check) is re-derived by the rules themselves.
    error = next((p for p in problems if p == "FileTruncated" or (p in _READ_ERRORS and kind == "unknown")), None)
    return MediaInfo(
        path=row["path"],
        kind=kind,
        format=val("format"),
        extension=val("extension") or "",
        container=val("container"),
        codec=val("codec"),
        size_bytes=val("size_bytes", int),
        width=val("width", int),
        height=val("height", int),
        duration_s=val("duration_s", float),
        fps=val("fps", float),
        has_audio=val("has_audio", bool),
        sha256=val("sha256"),
        error=error,
        note=val("note") or val("message"),
    )
