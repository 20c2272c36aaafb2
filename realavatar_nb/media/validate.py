"""Validate files against a limit profile: one ``Validation`` per file, one report row per file.

``validate(path)`` judges one file; ``validate_folder(folder)`` walks a folder and returns a
pandas DataFrame with the columns in ``REPORT_COLUMNS`` (one row per file, whatever it is);
``checks_frame(report)`` is the long form, one row per file × check, for drill-down.
The verdict on one file and its row form live in ``verdict``; this module runs them over a
folder and re-exports them, so ``realavatar_nb.media.validate`` stays the one place to import from.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, Final

from .._display import printable
from .._exceptions import InvalidArgumentError, MediaError
from .near_duplicates import NEAR_DUPLICATE_DISTANCE, NearDuplicates, UploadedHashes
from .paths import FILE_PATH, FOLDER_PATH, path_argument, shown_argument
from .pool import run_each
from .probe import Backend, Isolate, MediaInfo, probe
from .progress import ProgressArg, make_progress
from .rules import Profile, evaluate, get_profile
from .sniff import family_of_extension
from .verdict import REPORT_COLUMNS, Validation, facts_from_row, judge, report_row, validate

if TYPE_CHECKING:
    import pandas as pd

    from .faces.checks import FaceReferences

__all__ = [
    "CHECK_COLUMNS", "REPORT_COLUMNS", "Validation", "checks_frame", "facts_from_row", "validate", "validate_folder",
    "with_profile",
]  # fmt: skip

CHECK_COLUMNS: Final[dict[str, str]] = {
    "path": "object",
    "name": "string",
    "check": "string",
    "ok": "bool",
    "actual": "string",
    "required": "string",
    "code": "string",
}
_FOLDER_TAKES: Final = f"{FOLDER_PATH}, a file path, or a list of paths"


def _validate_row(path: str, name: str, profile: Profile, options: Mapping[str, Any]) -> dict[str, Any]:
    """Probe and judge one file into a report row; a picklable task for any executor. Never raises."""
    try:
        info = probe(path, **options)
    except Exception as exc:  # a bug or a missing tool must cost one row, not the batch
        info = MediaInfo(path=path, error="ProbeCrashed", note=f"the probe failed: {type(exc).__name__}: {exc}")
    return report_row(judge(info, profile), name)


def _crashed_row(path: str, name: str, profile: Profile, exc: BaseException) -> dict[str, Any]:
    info = MediaInfo(path=path, error="ProbeCrashed", note=f"the worker probing this file died: {type(exc).__name__}")
    return report_row(judge(info, profile), name)


def _entries(folder: str, recursive: bool) -> Iterator[tuple[str, str]]:
    """Yield (path, name) for every file-like entry under ``folder``, sorted, without following links to dirs."""
    stack = [""]
    while stack:
        rel = stack.pop()
        here = os.path.join(folder, rel) if rel else folder
        try:
            with os.scandir(here) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError:
            yield here, rel or "."
            continue
        subdirs = []
        for entry in items:
            name = os.path.join(rel, entry.name) if rel else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                if family_of_extension(entry.name.rpartition(".")[2]) and "." in entry.name:
                    yield entry.path, name  # a directory named like a media file gets its own row
                if recursive:
                    subdirs.append(name)
                continue
            yield entry.path, name
        stack.extend(reversed(subdirs))


def _frame(rows: Sequence[Mapping[Any, Any]], columns: Mapping[str, str]) -> pd.DataFrame:
    import pandas as pd

    # Column by column with the dtype given: letting pandas infer first would turn the path
    # column into Arrow strings, which cannot hold the surrogate escapes of non-UTF-8 names.
    return pd.DataFrame(
        {name: pd.Series([row.get(name) for row in rows], dtype=dtype) for name, dtype in columns.items()}
    )


def validate_folder(
    folder: str | bytes | os.PathLike[str] | Iterable[str | bytes | os.PathLike[str]],
    profile: str | os.PathLike[str] | Mapping[str, Any] | Profile | None = None,
    *,
    recursive: bool = True,
    executor: Executor | None = None,
    workers: int | None = None,
    progress: ProgressArg = "auto",
    backend: Backend = "auto",
    timeout: float = 30.0,
    isolate: Isolate = "untrusted",
    person: str | None = None,
    people: bool = False,
    reference: str | bytes | os.PathLike[str] | None = None,
    references: FaceReferences | None = None,
    near_duplicates: int | None = NEAR_DUPLICATE_DISTANCE,
    uploaded: UploadedHashes | None = None,
) -> pd.DataFrame:
    """Return a report with one row per file under ``folder`` (columns: ``REPORT_COLUMNS``).

    ``folder`` may also be a single file or a list of paths. ``executor`` is any
    ``concurrent.futures.Executor`` (a ``dask.distributed`` client's ``get_executor()`` included);
    without one, ``workers`` threads (default: the machine's cores; ``1`` runs inline) probe the
    files. A file that hangs or crashes its probe costs one row that says so, never the batch.

    Faces are checked when ``person`` (whose files these are) or ``people=True`` (each first-level
    folder is a person) is given: ``NoFace``, ``MultipleFaces`` and ``FaceMismatch`` against the
    person's reference (``reference``, a photo of them alone, relative to ``folder`` or not; else
    the one kept in ``references``, e.g. ``client.ledger``; else the median face of their folder).
    Burst twins get a ``NearDuplicate`` warning: ≤ ``near_duplicates`` bits of 64 (``None``: off) from an earlier
    file or from one in ``uploaded`` (default: ``references`` if it keeps hashes); see ``media.near_duplicates``.

    Paths may be ``str``, ``bytes`` (decoded as ``os.fsdecode`` does) or ``os.PathLike``; anything
    else, or a path with a NUL character, raises ``InvalidArgumentError`` naming the argument.
    """
    if isinstance(folder, (str, bytes, os.PathLike)):
        folder = path_argument(folder, call="validate_folder", name="folder", takes=_FOLDER_TAKES)
    photo = None if reference is None else path_argument(reference, call="validate_folder", name="reference")
    rules, twins = get_profile(profile), NearDuplicates.asked(near_duplicates, uploaded, references)
    targets = _targets(folder, recursive)
    options = {"backend": backend, "timeout": timeout, "isolate": isolate}
    bar = make_progress(progress, len(targets))
    try:
        rows = run_each(_validate_row, [(path, name, rules, options) for path, name in targets], bar=bar,
                        lost=lambda n, exc: _crashed_row(*targets[n], rules, exc), executor=executor,
                        workers=workers, thread_name="ra-probe")  # fmt: skip
    finally:
        bar.close()
    report = _frame(rows, REPORT_COLUMNS)
    report.attrs["profile"] = rules.to_dict()
    if person is not None or people or reference is not None:
        from .faces.checks import check_faces

        if photo is not None and not os.path.exists(photo) and isinstance(folder, str):
            photo = os.path.join(folder, photo)  # "alice/front.jpg" inside the folder
        report = check_faces(report, person=person, people=people, reference=photo, references=references,
                             workers=workers, executor=executor)  # fmt: skip
        report.attrs["profile"] = rules.to_dict()
    return twins.flag(report, person=person, people=people, executor=executor, workers=workers)


def _targets(folder: str | Iterable[str | bytes | os.PathLike[str]], recursive: bool) -> list[tuple[str, str]]:
    if isinstance(folder, str):
        top = folder
        try:
            mode = os.stat(top).st_mode
        except OSError as exc:
            raise MediaError(
                f"Cannot open the folder {printable(top)}: {exc.strerror}. Check the path and try again."
            ) from None
        if not stat.S_ISDIR(mode):
            return [(top, printable(os.path.basename(top)))]
        return sorted(((path, printable(name)) for path, name in _entries(top, recursive)), key=lambda t: t[1])
    if not isinstance(folder, Iterable):
        raise InvalidArgumentError(f"validate_folder(folder={shown_argument(folder)}): pass {_FOLDER_TAKES}.")
    paths = [
        path_argument(p, call="validate_folder", name=f"folder[{n}]", takes=FILE_PATH) for n, p in enumerate(folder)
    ]
    # Names relative to the files' common folder, as they would be had that folder been walked.
    common = os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in paths]) if paths else ""
    return [(p, printable(os.path.relpath(os.path.abspath(p), common))) for p in paths]


def checks_frame(report: pd.DataFrame, profile: str | Mapping[str, Any] | Profile | None = None) -> pd.DataFrame:
    """Return the long form of ``report``: one row per file × check (``CHECK_COLUMNS``).

    The checks are re-derived from the report's facts with the profile it was made with
    (``report.attrs["profile"]``), or with ``profile`` to see the same files under other limits.
    """
    rules = get_profile(profile if profile is not None else report.attrs.get("profile") or None)
    rows = []
    for record in report.to_dict("records"):
        info = facts_from_row(record)
        for c in evaluate(info, rules):
            rows.append(
                {
                    "path": record["path"],
                    "name": record["name"],
                    "check": c.check,
                    "ok": c.ok,
                    "actual": None if c.actual is None else printable(str(c.actual)),
                    "required": c.required,
                    "code": c.code,
                }
            )
    return _frame(rows, CHECK_COLUMNS)


def with_profile(report: pd.DataFrame, profile: str | Mapping[str, Any] | Profile) -> pd.DataFrame:
    """Return ``report`` re-judged under another profile, without probing any file again."""
    rules = get_profile(profile)
    rows = []
    for record in report.to_dict("records"):
        info = facts_from_row(record)
        v = judge(info, rules)
        row = dict(record)
        message = printable(v.message)  # as in a fresh report: a note may quote a file's name
        row.update(ok=v.ok, problems=";".join(v.problems), fixable=v.fixable, message=message, profile=rules.name)
        rows.append(row)
    out = _frame(rows, REPORT_COLUMNS)
    out.attrs["profile"] = rules.to_dict()
    return out
