"""Conforming copies of what can be fixed, and a new report on them: ``fix(report, out_dir) -> DataFrame``.

Each file of a validation report gets one of: a plain copy (already ok), a byte copy under the
right extension (only misnamed), a rewrite (Pillow for images, ffmpeg for video and audio), or no
file and the reason (a problem no conversion repairs). Originals are never touched: every output
is written under a temporary name inside ``out_dir`` and renamed into place, and a run whose
outputs would land on a source file is refused before anything is written.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from ..._display import printable
from ..._exceptions import FixError, InvalidArgumentError
from ..paths import FOLDER_PATH, path_argument, shown_argument
from ..pool import run_each
from ..probe import MediaInfo
from ..progress import ProgressArg, make_progress
from ..rules import FIXABLE_CODES, Profile, fixable, get_profile
from ..validate import REPORT_COLUMNS, facts_from_row, validate_folder, with_profile
from .av import AVCopy, find_ffmpeg, write_audio, write_video
from .image import LOSSLESS_FORMATS, has_alpha, too_large_to_decode, write_image
from .names import Output, output_names, refuse_overwrites, split_name

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FIX_COLUMNS", "fix"]

FIX_COLUMNS: Final[dict[str, str]] = {
    "source": "object",  # the original file's path
    "action": "string",  # what was done, or "not fixed: <why>"
    "fixed": "bool",  # a new conforming file was written for a file that had problems
}

# Why a problem no conversion repairs stays: what the person has to do instead.
_UNFIXABLE: Final[dict[str, str]] = {
    "DurationTooShort": "DurationTooShort needs a longer source clip",
    "FormatUndetectable": "FormatUndetectable: the file is not readable media; replace it",
    "FileEmpty": "FileEmpty: the file is empty (0 bytes); replace it",
    "FileUnreadable": "FileUnreadable: the file cannot be read; check it exists and its permissions",
    "FileTruncated": "FileTruncated: the file was cut off; copy or export it again",
    "ProbeTimeout": "ProbeTimeout: every reader hangs on the file; replace it",
    "ProbeCrashed": "ProbeCrashed: the file crashes its reader; replace it",
}
_REQUIRED: Final = ("path", "name", "kind", "format", "extension", "problems", "ok")
_TAKES: Final = "a report from ra.validate_folder, a folder path, or a list of paths"

Work = Literal["copy", "rename", "image", "video", "audio", "none"]
_WORK: Final[dict[str, Work]] = {"image": "image", "video": "video", "audio": "audio"}


@dataclass
class _Job:
    """One input row: what to do with it and where its output goes."""

    index: int
    source: str
    info: MediaInfo
    problems: frozenset[str]
    work: Work
    target: str | None = None
    action: str = ""  # for rows that write nothing: why
    dest: str | None = None  # the output's path
    name: str | None = None  # … relative to out_dir


@dataclass
class _Outcome:
    action: str
    written: bool = False


def _value(record: Mapping[str, Any], name: str) -> Any:
    import pandas as pd

    value = record.get(name)
    return None if value is None or pd.isna(value) else value


def _target(info: MediaInfo, problems: frozenset[str], rules: Profile) -> str | None:
    """Return the format family the output takes, or ``None`` when the profile accepts none fix writes."""
    limits = rules.limits(info.kind)
    if limits is None or info.format is None:
        return None
    allowed = limits.formats
    oversize = "FileSizeTooLarge" in problems
    if info.kind == "image":
        if info.format in allowed and not (oversize and info.format in LOSSLESS_FORMATS):
            return info.format
        alpha = has_alpha(info.path)
        order: tuple[str, ...]
        if oversize:
            order = ("webp", "jpeg") if alpha else ("jpeg", "webp")
        else:
            order = ("png", "webp", "jpeg") if alpha else ("jpeg", "png", "webp")
    elif info.kind == "video":
        if info.format in allowed:
            return info.format
        order = ("mp4", "mov")
    else:
        if info.format in allowed and not (oversize and info.format == "wav"):
            return info.format
        order = ("mp3",) if oversize else ("mp3", "wav")
    return next((fmt for fmt in order if fmt in allowed), None)


def _plan(index: int, record: Mapping[str, Any], rules: Profile, include_ok: bool) -> _Job:
    info = facts_from_row(record)
    problems = frozenset(p for p in (_value(record, "problems") or "").split(";") if p)
    job = _Job(index, record["path"], info, problems, "none")
    if not problems:
        if include_ok:
            job.work, job.target = "copy", info.format
        else:
            job.action = "skipped: already ok (include_ok=False)"
        return job
    beyond = sorted(problems - FIXABLE_CODES)
    if beyond or info.kind not in ("image", "video", "audio"):
        reasons = [_UNFIXABLE.get(code, f"{code} cannot be fixed by converting the file") for code in beyond]
        job.action = "not fixed: " + ("; ".join(reasons) or "not an image, video or audio file")
        return job
    if info.kind == "image" and too_large_to_decode(info.pixels):
        job.action = "not fixed: too large to decode safely"
        return job
    try:
        job.target = _target(info, problems, rules)
    except OSError as exc:
        job.action = f"not fixed: cannot read the file: {exc}"
        return job
    if job.target is None:
        job.action = f"not fixed: the profile accepts no {info.kind} format fix can write"
        return job
    job.work = "rename" if problems == {"TypeMismatch"} and info.kind == "image" else _WORK[info.kind]
    return job


def _reserve_temporary(dest: str) -> str:
    """Return a new empty hidden file beside ``dest`` to write into before the final rename."""
    folder, base = os.path.split(dest)
    os.makedirs(folder, exist_ok=True)
    while True:
        tmp = os.path.join(folder, f".{base[:80]}.{uuid.uuid4().hex[:8]}.part")
        try:
            # Not mkstemp: its 0600 mode would survive the rename and hide the copy from other users.
            with open(tmp, "xb"):
                return tmp
        except FileExistsError:
            continue


def _carry_out(job: _Job, rules: Profile, binary: str | None) -> _Outcome:
    """Write one job's output under a temporary name and rename it into place; never raises."""
    if job.dest is None or job.target is None:
        return _Outcome(f"not fixed: no output was planned for this {job.info.kind} file")
    limits = rules.limits(job.info.kind)
    tmp = ""
    try:
        tmp = _reserve_temporary(job.dest)
        if job.work in ("copy", "rename"):
            shutil.copy2(job.source, tmp)
            if job.work == "copy":
                steps = ["copied"]
            else:
                steps = [f"copied as .{split_name(job.dest)[2]} (the content is {job.target})"]
        elif job.work == "image" and limits is not None:
            steps = write_image(job.source, tmp, job.info, job.problems, limits, job.target)
        elif job.work in ("video", "audio") and limits is not None and binary is not None:
            writer = write_video if job.work == "video" else write_audio
            steps = writer(AVCopy(job.source, tmp, job.info, job.problems, limits, job.target, binary))
        else:
            raise FixError(f"nothing can write a {job.info.kind} file")
        os.replace(tmp, job.dest)
        return _Outcome("; ".join(steps), written=True)
    except FixError as exc:
        return _Outcome(f"not fixed: {exc}")
    except Exception as exc:  # one odd file costs its row, never the batch
        return _Outcome(f"not fixed: {type(exc).__name__}: {exc}")
    finally:
        if tmp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def _run_jobs(
    jobs: list[_Job],
    rules: Profile,
    binary: str | None,
    executor: Executor | None,
    workers: int | None,
    progress: ProgressArg,
) -> dict[int, _Outcome]:
    outcomes = {job.index: _Outcome(job.action) for job in jobs if job.work == "none"}
    todo = [job for job in jobs if job.work != "none"]
    bar = make_progress(progress, len(jobs), "fixing")
    try:
        bar.update(len(outcomes))
        # _carry_out never raises; a task the executor loses still costs only its row.
        written = run_each(_carry_out, [(job, rules, binary) for job in todo], bar=bar, done=len(outcomes),
                           lost=lambda _, exc: _Outcome(f"not fixed: {type(exc).__name__}: {exc}"),
                           executor=executor, workers=workers, thread_name="ra-fix")  # fmt: skip
    finally:
        bar.close()
    outcomes.update((job.index, outcome) for job, outcome in zip(todo, written, strict=True))
    return outcomes


def _without_earlier_outputs(records: list[dict[str, Any]], folder: str, out_root: str) -> list[dict[str, Any]]:
    """Return ``records`` minus files inside ``out_root`` when it is a subfolder of the walked ``folder``."""
    # Such files are the last run's copies: outputs, not sources. An out_dir equal to the folder
    # keeps every row, so that the overwrite check can refuse it.
    out_real = os.path.realpath(out_root)
    if out_real == os.path.realpath(folder):
        return records
    inside = os.path.join(out_real, "")
    return [r for r in records if not os.path.realpath(r["path"]).startswith(inside)]


def _source_report(
    report_or_paths: pd.DataFrame | str | bytes | os.PathLike[str] | Iterable[str | bytes | os.PathLike[str]],
    profile: str | os.PathLike[str] | Mapping[str, Any] | Profile | None,
    executor: Executor | None,
    workers: int | None,
    progress: ProgressArg,
) -> tuple[pd.DataFrame, Profile]:
    import pandas as pd

    if isinstance(report_or_paths, pd.DataFrame):
        missing = [c for c in _REQUIRED if c not in report_or_paths.columns]
        if missing:
            raise InvalidArgumentError(
                f"fix(report_or_paths=<DataFrame without {', '.join(missing)}>): pass {_TAKES} "
                "(a report needs the columns of ra.validate_folder's)."
            )
        if profile is None:
            rules = get_profile(report_or_paths.attrs.get("profile") or None)
            return report_or_paths, rules
        rules = get_profile(profile)
        # Judged again under the requested limits, from the facts already measured.
        return with_profile(report_or_paths, rules), rules
    if not isinstance(report_or_paths, Iterable):  # None, a number: validate_folder would name its own argument
        raise InvalidArgumentError(f"fix(report_or_paths={shown_argument(report_or_paths)}): pass {_TAKES}.")
    rules = get_profile(profile)
    return validate_folder(report_or_paths, rules, executor=executor, workers=workers, progress=progress), rules


def fix(
    report_or_paths: pd.DataFrame | str | bytes | os.PathLike[str] | Iterable[str | bytes | os.PathLike[str]],
    out_dir: str | bytes | os.PathLike[str],
    profile: str | os.PathLike[str] | Mapping[str, Any] | Profile | None = None,
    *,
    include_ok: bool = True,
    ffmpeg: str | None = None,
    executor: Executor | None = None,
    workers: int | None = None,
    progress: ProgressArg = "auto",
) -> pd.DataFrame:
    """Return a new report on conforming copies written to ``out_dir``, one row per input file, in input order.

    Copies already in ``out_dir`` are not inputs: an ``out_dir`` inside the folder being fixed is skipped.

    ``report_or_paths`` is a report from ``validate_folder`` (its ``attrs["profile"]`` is the
    default ``profile``) or a folder, a file or a list of paths, validated first. Rows carry the
    report columns of the written copy (judged again under the same profile) plus ``source``,
    ``action`` and ``fixed``; a file that cannot be fixed keeps its original facts and the reason.
    ``include_ok`` copies good files too, so ``out_dir`` is a complete folder to upload.
    ``ffmpeg`` names the binary for video and audio (default: on PATH, else imageio-ffmpeg's).
    ``executor`` and ``workers`` run the copies (and any validation) as in ``validate_folder``.

    Raises ``FixError`` (nothing written) when an output would overwrite a source file,
    ``MediaToolMissingError`` when video or audio needs fixing and no ffmpeg exists, and
    ``InvalidArgumentError`` for an argument that is neither (``None``, a report without its columns).
    """

    if isinstance(report_or_paths, (str, bytes, os.PathLike)):
        report_or_paths = path_argument(report_or_paths, call="fix", name="report_or_paths", takes=_TAKES)
    folder = path_argument(out_dir, call="fix", name="out_dir", takes=f"{FOLDER_PATH} to write the copies into")
    report, rules = _source_report(report_or_paths, profile, executor, workers, progress)
    out_root = os.path.abspath(folder)
    if os.path.exists(out_root) and not os.path.isdir(out_root):
        raise FixError(f"out_dir {printable(out_root)} is a file: pass a folder to write the fixed copies into.")
    records: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in report.to_dict("records")]
    if isinstance(report_or_paths, str):
        records = _without_earlier_outputs(records, report_or_paths, out_root)
    jobs = [_plan(n, record, rules, include_ok) for n, record in enumerate(records)]
    writing = [job for job in jobs if job.work != "none"]
    requests = [
        Output(job.source, str(records[job.index]["name"]), None if job.work == "copy" else job.target)
        for job in writing
    ]
    for job, name in zip(writing, output_names(requests), strict=True):
        job.name, job.dest = name, os.path.join(out_root, name)
    refuse_overwrites([job.source for job in jobs], [job.dest for job in writing if job.dest], out_root)
    os.makedirs(out_root, exist_ok=True)
    needs_ffmpeg = any(job.work in ("video", "audio") for job in jobs)
    binary = find_ffmpeg(ffmpeg) if needs_ffmpeg else None
    outcomes = _run_jobs(jobs, rules, binary, executor, workers, progress)
    from ..faces.checks import carry_face_checks
    from ..near_duplicates import carry_near_duplicates

    # Faces and near-duplicates were judged on the originals, per person: their verdicts carry over.
    fixed = carry_face_checks(_result(jobs, records, outcomes, rules, executor, workers), report)
    return carry_near_duplicates(fixed, report)


def _result(
    jobs: list[_Job],
    records: list[dict[str, Any]],
    outcomes: dict[int, _Outcome],
    rules: Profile,
    executor: Executor | None,
    workers: int | None,
) -> pd.DataFrame:
    """Return the new report: written copies judged afresh, every other row as it came, in input order."""
    import pandas as pd

    written = [job for job in jobs if outcomes[job.index].written and job.dest is not None]
    checked: dict[int, dict[str, Any]] = {}
    if written:
        targets = [job.dest for job in written if job.dest]
        fresh = validate_folder(
            targets, rules, executor=executor, workers=workers, progress=False, near_duplicates=None
        )
        fresh_rows = fresh.to_dict("records")
        checked = {job.index: {str(k): v for k, v in row.items()} for job, row in zip(written, fresh_rows, strict=True)}
    rows = []
    for job, record in zip(jobs, records, strict=True):
        outcome = outcomes[job.index]
        outcome.action = printable(outcome.action)  # an error's text may quote a file's name as it is
        row = checked.get(job.index)
        if row is None:
            row = {column: record.get(column) for column in REPORT_COLUMNS}
            if "fixable" not in record:
                row["fixable"] = fixable(job.info.kind, tuple(sorted(job.problems)))
            row.update(source=job.source, action=outcome.action, fixed=False)
        else:
            row["name"] = printable(job.name or "")
            action = outcome.action
            if not row["ok"]:
                action += f"; the written copy still fails validation: {row['problems']}"
            row.update(source=job.source, action=action, fixed=bool(job.problems) and bool(row["ok"]))
        rows.append(row)
    # Column by column with the dtype given: inferring from the records would turn the path
    # columns into Arrow strings, which cannot hold a non-UTF-8 file name.
    columns = {**REPORT_COLUMNS, **FIX_COLUMNS}
    result = pd.DataFrame(
        {name: pd.Series([row.get(name) for row in rows], dtype=dtype) for name, dtype in columns.items()}
    )
    result.attrs["profile"] = rules.to_dict()
    return result
