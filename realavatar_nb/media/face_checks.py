"""Face checks on a validation report: the rejections upstream would give after upload, found before it.

Every image and video is checked for one face (``NoFace``, ``MultipleFaces``) and compared with
the person's reference face (``FaceMismatch`` at a distance of 0.6 or more, ``FaceBorderline`` as a
warning from 0.5). The reference is a file the user names, else the median face of the person's
own folder, kept in the ledger so later files meet the same reference.

Plainly: upstream compares each upload with the face captured during the liveness check, and no
provider returns that capture. A local reference is the best stand-in, not the same thing; the
report says which reference each person was judged against.

Synthetic media carry a ``realavatar:person=…;faces=…`` tag (``media.tags``): for them the tag
decides, as it does in the emulator. Without the ``faces`` extra the rows say "not checked".
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from .._display import printable
from .._exceptions import MediaError
from .tags import read_tag

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FACE_COLUMNS", "REFERENCE_NOTE", "FaceReferences", "carry_face_checks", "check_faces"]

FACE_COLUMNS: Final[dict[str, str]] = {
    "faces": "Int64",  # faces found (the most in any sampled frame of a video)
    "face_distance": "Float64",  # to the person's reference face; < 0.5 same, ≥ 0.6 FaceMismatch
    "face_check": "string",  # faces | tag | not checked: … | n/a ("" when not asked for)
    "face_boxes": "string",  # "left,top,right,bottom" per face found, ";"-joined (full-resolution pixels)
    "warnings": "string",  # codes that warn without failing, joined by ";" (FaceBorderline)
}
FACE_PROBLEMS: Final = ("NoFace", "MultipleFaces", "FaceMismatch")
REFERENCE_NOTE: Final = (
    "Faces are compared with a local reference (a file you named, or the median face of the person's folder). "
    "Upstream compares with the liveness capture, which providers do not return: a local pass is a strong hint, "
    "not a guarantee."
)
_READ_FAILURES: Final = frozenset({"FileEmpty", "FileUnreadable", "FileTruncated", "ProbeTimeout", "ProbeCrashed",
                                   "FormatUndetectable"})  # fmt: skip


class FaceReferences(Protocol):
    """Where a person's reference face is kept (``ra.Ledger`` is one)."""

    def face_reference(self, person: str) -> tuple[tuple[float, ...], str] | None: ...

    def record_face_reference(self, person: str, descriptor: Sequence[float], source: str) -> None: ...


@dataclass
class _Seen:
    """What is known about one file's faces."""

    how: str  # "faces" | "tag" | "not checked: …" | "n/a"
    faces: int | None = None
    descriptor: tuple[float, ...] | None = None
    boxes: str = ""
    tag_person: str | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    distance: float | None = None
    detail: str = ""


def _faces() -> Any:
    from . import faces  # dlib loads only when a face is really scanned; carrying verdicts needs none

    return faces


def _person_of(name: str, person: str | None, people: bool) -> str | None:
    if people:
        # os.sep, not every backslash: a printable name shows a control character as "\\x1b".
        head, sep, _ = name.replace(os.sep, "/").partition("/")
        return head if sep else None
    return person


def _look(report: pd.DataFrame, workers: int | None) -> list[_Seen]:
    """Return what each row's file shows: its tag when synthetic, else a scan (when the extra is there)."""
    seen: list[_Seen] = []
    to_scan: list[int] = []
    for n, row in enumerate(report.itertuples(index=False)):
        problems = set(str(row.problems or "").split(";"))
        if row.kind not in ("image", "video") or problems & _READ_FAILURES:
            seen.append(_Seen("n/a"))
            continue
        tag = read_tag(str(row.path))
        if tag:
            count = int(tag["faces"]) if tag.get("faces", "").isdigit() else 1
            seen.append(_Seen("tag", faces=count, tag_person=tag.get("person")))
        elif _faces().available():
            seen.append(_Seen("faces"))
            to_scan.append(n)
        else:
            seen.append(_Seen(_faces().unavailable_reason() or "not checked"))
    if to_scan:
        scans = _faces().scan_many([str(report.iloc[n]["path"]) for n in to_scan], workers=workers)
        for n, result in zip(to_scan, scans, strict=True):
            if isinstance(result, Exception):
                seen[n] = _Seen(printable(f"not checked: {result}"))
            else:
                seen[n].faces, seen[n].descriptor = result.faces, result.descriptor
                seen[n].boxes = ";".join(f"{b.left},{b.top},{b.right},{b.bottom}" for b in result.boxes)
    return seen


def _reference(
    person: str, rows: list[int], seen: list[_Seen], reference: str | None, references: FaceReferences | None,
) -> tuple[tuple[float, ...] | None, str]:  # fmt: skip
    """Return the person's reference descriptor and where it came from (recorded when new)."""
    if reference is not None:
        scan = _faces().scan(reference)
        photo = printable(os.path.basename(reference))
        if scan.faces != 1 or scan.descriptor is None:
            raise MediaError(
                f"The reference {photo} shows {scan.faces} faces; name a photo of {printable(person)} alone."
            )
        found: tuple[tuple[float, ...], str] = (scan.descriptor, photo)
    else:
        kept = references.face_reference(person) if references is not None else None
        if kept is not None:
            return kept[0], f"{kept[1]} (kept in the ledger)"
        singles = [d for n in rows if seen[n].faces == 1 and (d := seen[n].descriptor) is not None]
        if not singles:
            return None, "no reference: no file in the folder shows exactly one face"
        found = (_faces().median_descriptor(singles), f"median face of {len(singles)} files in {person}'s folder")
    if references is not None:
        references.record_face_reference(person, found[0], found[1])
    return found


def check_faces(
    report: pd.DataFrame,
    *,
    person: str | None = None,
    people: bool = False,
    reference: str | os.PathLike[str] | None = None,
    references: FaceReferences | None = None,
    workers: int | None = None,
) -> pd.DataFrame:
    """Return ``report`` with its face columns filled and face problems added to ``problems`` and ``ok``.

    ``person``: whose files these are; ``people=True``: each first-level folder is a person.
    ``reference``: a photo of the person alone to compare with (else the ledger's, else the folder's
    median face). ``references``: where references are kept (``ra.Ledger``). ``report.attrs["faces"]``
    says, per person, which reference was used.
    """
    checked = report.copy()
    seen = _look(checked, workers)
    names = [str(n) for n in checked["name"]]
    owners = [_person_of(name, person, people) for name in names]
    refs: dict[str, str] = {}
    for owner in sorted({o for o in owners if o}):
        rows = [n for n, o in enumerate(owners) if o == owner]
        descriptor, source = _reference(
            owner, rows, seen, os.fspath(reference) if reference is not None else None, references
        )
        refs[owner] = source
        for n in rows:
            _judge(seen[n], owner, descriptor, source)
    for n, whose in enumerate(owners):
        if whose is None:  # a file outside any person's folder: count its faces, compare with nobody
            _judge(seen[n], None, None, "")
    _write(checked, seen)
    checked.attrs["faces"] = {"references": refs, "note": REFERENCE_NOTE}
    return checked


def _judge(seen: _Seen, person: str | None, reference: tuple[float, ...] | None, source: str) -> None:
    if seen.faces is None:
        return
    if seen.faces == 0:
        seen.problems.append("NoFace")
        seen.detail = "NoFace: no face found; the asset must show the verified person"
    elif seen.faces > 1:
        seen.problems.append("MultipleFaces")
        seen.detail = f"MultipleFaces: {seen.faces} faces; the asset must show only the verified person"
    elif seen.how == "tag":
        if person and seen.tag_person and seen.tag_person != person:
            seen.problems.append("FaceMismatch")
            seen.detail = f"FaceMismatch: this is {seen.tag_person}, not {person}"
    elif reference is not None and seen.descriptor is not None:
        faces = _faces()
        seen.distance = faces.distance(seen.descriptor, reference)
        if seen.distance >= faces.MATCH_DISTANCE:
            seen.problems.append("FaceMismatch")
            seen.detail = f"FaceMismatch: face {seen.distance:.2f} from {person}'s reference ({source}), needs < 0.6"
        elif seen.distance >= faces.BORDERLINE_DISTANCE:
            seen.warnings.append("FaceBorderline")
            seen.detail = f"FaceBorderline: face {seen.distance:.2f} from {person}'s reference; check it by eye"


def _write(report: pd.DataFrame, seen: list[_Seen]) -> None:
    import pandas as pd

    report["faces"] = pd.Series([s.faces for s in seen], index=report.index, dtype="Int64")
    report["face_distance"] = pd.Series(
        [None if s.distance is None else round(s.distance, 4) for s in seen], index=report.index, dtype="Float64"
    )
    report["face_check"] = pd.Series([s.how for s in seen], index=report.index, dtype="string")
    report["face_boxes"] = pd.Series([s.boxes for s in seen], index=report.index, dtype="string")
    report["warnings"] = pd.Series([";".join(s.warnings) for s in seen], index=report.index, dtype="string")
    for n, s in enumerate(seen):
        if not s.problems and not s.detail:
            continue
        index = report.index[n]
        old = [p for p in str(report.at[index, "problems"] or "").split(";") if p]
        codes = old + [p for p in s.problems if p not in old]
        report.at[index, "problems"] = ";".join(codes)
        if s.problems:
            report.at[index, "ok"] = False
            report.at[index, "fixable"] = False  # no copy of a file changes whose face it shows
        message = str(report.at[index, "message"] or "")
        detail = printable(s.detail)  # it may quote a person's name from a folder or a file's metadata tag
        report.at[index, "message"] = detail if message in ("", "ok") else f"{message}; {detail}"


def carry_face_checks(fixed: pd.DataFrame, original: pd.DataFrame) -> pd.DataFrame:
    """Return ``fixed`` (a ``ra.fix`` report) with the face verdicts of the files its copies came from.

    A copy shows the same faces as its source: re-scanning it would only cost time.
    """
    if "face_check" not in original.columns or not original["face_check"].fillna("").astype(str).str.len().any():
        return fixed
    by_path: Mapping[Any, Any] = original.set_index("path").to_dict("index")
    out = fixed.copy()
    seen = []
    for source in out["source"]:
        row = by_path.get(source, {})
        problems = [p for p in str(row.get("problems") or "").split(";") if p in FACE_PROBLEMS]
        faces = row.get("faces")
        item = _Seen(str(row.get("face_check") or ""), None if _na(faces) else int(faces), problems=problems)
        distance = row.get("face_distance")
        item.distance = None if _na(distance) else float(distance)
        item.warnings = [w for w in str(row.get("warnings") or "").split(";") if w]
        item.boxes = "" if _na(row.get("face_boxes")) else str(row.get("face_boxes"))
        item.detail = "; ".join(p for p in str(row.get("message") or "").split("; ") if p.split(":")[0] in
                                (*FACE_PROBLEMS, "FaceBorderline"))  # fmt: skip
        seen.append(item)
    _write(out, seen)
    out.attrs["faces"] = original.attrs.get("faces", {})
    return out


def _na(value: Any) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))
