"""Face checks on a validation report: the rejections upstream would give after upload, found before it.

Every image and video is checked for one face (``NoFace``, ``MultipleFaces``) and compared with
the person's reference face (``FaceMismatch`` at a distance of 0.6 or more, ``FaceBorderline`` as a
warning from 0.5). The reference is a file the user names, else the median face of the person's
own folder, kept in the ledger so later files meet the same reference.

Plainly: upstream compares each upload with the face captured during the liveness check, and no
provider returns that capture. A local reference is the best stand-in, not the same thing; the
report says which reference each person was judged against.

A scanned face that is one person's also earns quality hints, as warnings with the measured value
and the threshold (``media.faces.quality``): ``FaceTooSmall``, ``FaceBlurred``, ``FaceTooDark``,
``FaceOverexposed``, ``FaceTurned``, upstream's "upload clear, front-facing images" made local.

Synthetic media carry a ``realavatar:person=…;faces=…`` tag (``media.tags``): for them the tag
decides, as it does in the emulator. A check that cannot run never reads as a pass: a photo or
clip whose faces could not be scanned (no ``faces`` extra, a file the scan cannot decode) says
"not checked: …" and carries a ``FaceCheckSkipped`` warning saying why and what to do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from ..._display import printable
from ..._exceptions import MediaError
from ..tags import read_tag
from . import detect  # dlib itself loads only when a face is really scanned
from .quality import QUALITY_WARNINGS, FaceQuality, quality_warnings

if TYPE_CHECKING:
    from concurrent.futures import Executor

    import pandas as pd

__all__ = [
    "FACE_WARNINGS", "REFERENCE_NOTE", "SKIPPED", "FaceReferences", "carry_face_checks", "check_faces",
    "faces_skipped",
]  # fmt: skip

FACE_PROBLEMS: Final = ("NoFace", "MultipleFaces", "FaceMismatch")
SKIPPED: Final = "FaceCheckSkipped"  # faces were asked for and could not be checked: never a silent pass
FACE_WARNINGS: Final = ("FaceBorderline", *QUALITY_WARNINGS, SKIPPED)
REFERENCE_NOTE: Final = (
    "Faces are compared with a local reference (a file you named, or the median face of the person's folder). "
    "Upstream compares with the liveness capture, which providers do not return: a local pass is a strong hint, "
    "not a guarantee."
)
_CODED: Final = re.compile(r"[A-Z][A-Za-z0-9]+: ")  # a message part that starts a sentence: "FpsTooLow: …"
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
    details: list[str] = field(default_factory=list)  # one sentence per problem or warning, code first
    quality: FaceQuality | None = None

    def skipped(self, why: str, todo: str) -> _Seen:
        """Return this row marked as not checked, with a FaceCheckSkipped warning saying why and what to do."""
        self.how = why if why.startswith("not checked") else f"not checked: {why}"
        self.warnings.append(SKIPPED)
        self.details.append(f"{SKIPPED}: faces not checked ({self.how.removeprefix('not checked: ')}), {todo}")
        return self


def _person_of(name: str, person: str | None, people: bool) -> str | None:
    if people:
        # os.sep, not every backslash: a printable name shows a control character as "\\x1b".
        head, sep, _ = name.replace(os.sep, "/").partition("/")
        return head if sep else None
    return person


def _look(report: pd.DataFrame, workers: int | None, executor: Executor | None) -> list[_Seen]:
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
        elif detect.available():
            seen.append(_Seen("faces"))
            to_scan.append(n)
        else:
            why = detect.unavailable_reason() or "not checked"
            todo = "unset it and validate again" if "REALAVATAR_FACES" in why else "then validate again"
            seen.append(_Seen("").skipped(why, todo))
    if to_scan:
        paths = [str(report.iloc[n]["path"]) for n in to_scan]
        scans = detect.scan_many(paths, workers=workers, executor=executor)
        for n, result in zip(to_scan, scans, strict=True):
            if isinstance(result, Exception):
                todo = (
                    "open it in a viewer, re-save or re-encode it (ra.fix), and validate again or check the face by eye"
                )
                seen[n] = _Seen("").skipped(printable(str(result)), todo)
            else:
                seen[n].faces, seen[n].descriptor, seen[n].quality = result.faces, result.descriptor, result.quality
                seen[n].boxes = ";".join(f"{b.left},{b.top},{b.right},{b.bottom}" for b in result.boxes)
    return seen


def _reference(
    person: str, rows: list[int], seen: list[_Seen], reference: str | None, references: FaceReferences | None,
) -> tuple[tuple[float, ...] | None, str]:  # fmt: skip
    """Return the person's reference descriptor and where it came from (recorded when new)."""
    if reference is not None:
        scan = detect.scan(reference)
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
        found = (detect.median_descriptor(singles), f"median face of {len(singles)} files in {person}'s folder")
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
    executor: Executor | None = None,
) -> pd.DataFrame:
    """Return ``report`` with its face columns filled and face problems added to ``problems`` and ``ok``.

    ``person``: whose files these are; ``people=True``: each first-level folder is a person.
    ``reference``: a photo of the person alone to compare with (else the ledger's, else the folder's
    median face). ``references``: where references are kept (``ra.Ledger``). ``executor``: any
    ``concurrent.futures.Executor`` to scan on (else ``workers`` local processes).
    ``report.attrs["faces"]`` says, per person, which reference was used, how many files could not
    be checked (``skipped``), and why face workers could not start, when they could not (``workers``).
    """
    from .workers import workers_unavailable

    checked = report.copy()
    seen = _look(checked, workers, executor)
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
    skipped = sum(SKIPPED in s.warnings for s in seen)
    checked.attrs["faces"] = {"references": refs, "note": REFERENCE_NOTE, "skipped": skipped,
                              "workers": workers_unavailable()}  # fmt: skip
    return checked


def _judge(seen: _Seen, person: str | None, reference: tuple[float, ...] | None, source: str) -> None:
    if seen.faces is None:
        return
    if seen.faces == 0:
        seen.problems.append("NoFace")
        seen.details.append("NoFace: no face found; the asset must show the verified person")
    elif seen.faces > 1:
        seen.problems.append("MultipleFaces")
        seen.details.append(f"MultipleFaces: {seen.faces} faces; the asset must show only the verified person")
    elif seen.how == "tag":
        if person and seen.tag_person and seen.tag_person != person:
            seen.problems.append("FaceMismatch")
            seen.details.append(f"FaceMismatch: this is {seen.tag_person}, not {person}")
    elif reference is not None and seen.descriptor is not None:
        seen.distance = distance = detect.distance(seen.descriptor, reference)
        if distance >= detect.MATCH_DISTANCE:
            seen.problems.append("FaceMismatch")
            seen.details.append(f"FaceMismatch: face {distance:.2f} from {person}'s reference ({source}), needs < 0.6")
        elif distance >= detect.BORDERLINE_DISTANCE:
            seen.warnings.append("FaceBorderline")
            seen.details.append(f"FaceBorderline: face {distance:.2f} from {person}'s reference; check it by eye")
    if seen.faces == 1 and seen.quality is not None and "FaceMismatch" not in seen.problems:
        for code, sentence in quality_warnings(seen.quality):
            seen.warnings.append(code)
            seen.details.append(f"{code}: {sentence}")


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
        if not s.problems and not s.details:
            continue
        index = report.index[n]
        old = [p for p in str(report.at[index, "problems"] or "").split(";") if p]
        codes = old + [p for p in s.problems if p not in old]
        report.at[index, "problems"] = ";".join(codes)
        if s.problems:
            report.at[index, "ok"] = False
            report.at[index, "fixable"] = False  # no copy of a file changes whose face it shows
        message = str(report.at[index, "message"] or "")
        detail = printable("; ".join(s.details))  # it may quote a person's name from a folder or a file's tag
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
        item.details = _face_sentences(str(row.get("message") or ""))
        seen.append(item)
    _write(out, seen)
    out.attrs["faces"] = original.attrs.get("faces", {})
    return out


def _face_sentences(message: str) -> list[str]:
    """Return the face sentences of a report's message (each starts with its code; "; " may continue one)."""
    found: list[str] = []
    inside = False
    for part in message.split("; "):
        code = part.split(":")[0]
        if code in FACE_PROBLEMS or code in FACE_WARNINGS:
            found.append(part)
            inside = True
        elif inside and not _CODED.match(part):
            found[-1] += "; " + part
        else:
            inside = False
    return found


def faces_skipped(report: pd.DataFrame) -> int:
    """Return how many files of ``report`` carry ``FaceCheckSkipped``: faces asked for, not checked."""
    if "warnings" not in report.columns:
        return 0
    return int(sum(SKIPPED in str(w or "").split(";") for w in report["warnings"].fillna("")))


def _na(value: Any) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))
