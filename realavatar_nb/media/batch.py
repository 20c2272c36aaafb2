"""A batch's final word on every local file: where it ended, per-person counts, problems by code, one report.

The batch notebook validates ``people/<person>/…``, fixes, uploads each person's passing files and
waits; these functions turn the (fixed) report and ``Ledger.frame("assets")`` into the final
report (``final_report``), its per-person summary, a problem count with an inline SVG bar chart,
and CSV / Parquet / standalone HTML files (``write_batch_report``). No I/O but the last.
"""

from __future__ import annotations

import html
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any, Final

import pandas as pd

from .._display import printable
from .faces.checks import SKIPPED, faces_skipped
from .report import Format, printable_cells, write_report

__all__ = [
    "UPLOAD_COLUMNS", "bar_chart_svg", "final_report", "person_summary", "problems_by_code", "with_person",
    "write_batch_report",
]  # fmt: skip

NOT_UPLOADED: Final = "not uploaded"
UPLOAD_COLUMNS: Final[dict[str, str]] = {
    "asset_id": "string",  # the provider's asset id (None: not uploaded, or the create was never answered)
    "upload_status": "string",  # active | failed | processing | sending (outcome unknown) | not uploaded
    "error_code": "string",  # the upstream code of a failed upload, e.g. FaceMismatch
    "error_message": "string",
    "stage": "string",  # where the file ended: active | rejected upstream: <code> | not uploaded: <codes> | …
}
_CHART_COLOUR: Final = "#cf222e"
_BAD_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_HTML_COLUMNS: Final = (
    "person", "name", "stage", "ok", "problems", "fixed", "action", "upload_status", "asset_id",
    "error_code", "error_message", "message", "kind", "format",
)  # fmt: skip
_BAD, _WAITING = "background-color:#ffebe9", "background-color:#fff8c5"


def _present(value: Any) -> bool:
    return not (value is None or value is pd.NA or (isinstance(value, float) and value != value))


def _text(value: Any) -> str | None:
    # Provider text may hold lone surrogates (JSON allows them); Arrow strings and Parquet cannot.
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8") if _present(value) else None


def _person_of(name: Any) -> str:
    if not isinstance(name, str):
        return ""
    parts = [p for p in name.replace(os.sep, "/").split("/") if p not in ("", ".")]
    return parts[0] if len(parts) > 1 else ""


def with_person(report: pd.DataFrame, *, column: str = "name") -> pd.DataFrame:
    """Return a copy of ``report`` with a ``person`` column after ``column``: the first folder of each name.

    ``name`` is relative to the validated folder (``alice/clip.mp4`` → ``alice``) in validation and
    fix reports alike (a fix report's ``name`` is the copy's path inside ``out_dir``, which keeps the
    person's folder). A file directly in the root belongs to no one: ``person`` is ``""``, not NaN,
    so that group-bys keep it and Parquet stores plain text.
    """
    out = report.copy()
    person = pd.Series([_person_of(n) for n in out[column]], index=out.index, dtype="string")
    if "person" in out.columns:
        out = out.drop(columns="person")
    out.insert(list(out.columns).index(column) + 1, "person", person)
    return out


def _path_key(path: Any) -> str | None:
    # The ledger keeps the path as it was passed to upload_asset; the report as the folder was walked.
    return os.path.normcase(os.path.abspath(path)) if isinstance(path, str) and path else None


def _sha_key(sha256: Any, person: Any) -> str | None:
    # The same bytes from another path (an earlier run's copy) were not sent again: the client found them.
    return f"sha:{sha256}:{person or ''}" if isinstance(sha256, str) and sha256 else None


def _latest_uploads(assets: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    """Return the newest ledger row (highest ``key``) for each uploaded path and for each (file hash, person)."""
    if assets is None or assets.empty:
        return {}
    latest: dict[str, dict[str, Any]] = {}
    for record in assets.sort_values("key", kind="stable").to_dict("records"):
        row = {str(k): v for k, v in record.items()}
        for key in (_path_key(record.get("source")), _sha_key(record.get("sha256"), record.get("person"))):
            if key is not None:
                latest[key] = row
    return latest


def _stage(ok: bool, problems: Any, status: str, error_code: str | None) -> str:
    if status == "active":
        return "active"
    if status == "failed":
        return f"rejected upstream: {error_code or 'unknown error'}"
    if status == "sending":  # the ledger's intent row: the create was sent and never answered
        return "upload outcome unknown: rerun the upload to reconcile"
    if status != NOT_UPLOADED:
        return status  # processing, or a status newer than this module
    codes = [c for c in str(problems).split(";") if c] if _present(problems) else []
    return f"{NOT_UPLOADED}: {', '.join(codes) or 'failed locally'}" if not ok else f"{NOT_UPLOADED}: passed locally"


def final_report(report: pd.DataFrame, assets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return one row per local file: ``report``'s columns, ``person`` and the upload's outcome (``UPLOAD_COLUMNS``).

    ``report`` is a validation or fix report; ``assets`` is ``Ledger.frame("assets")`` (filter it by
    provider first when several were used), or ``None`` before anything is uploaded. A file matches
    the ledger row whose ``source`` is its ``path`` or, failing that, its ``source`` (a fix report's
    original, uploaded before fixing), or else the row with its bytes (``sha256``) for its person: a
    file whose bytes were already uploaded from another path was not sent again. Of several uploads
    of one file the newest (highest ``key``) wins. The ledger's ``sha256`` and ``handle`` are left out: noise here.
    """
    final = with_person(report)
    final["ok"] = final["ok"].fillna(False).astype(bool)
    if "fixed" in final.columns:
        final["fixed"] = final["fixed"].fillna(False).astype(bool)
    latest = _latest_uploads(assets)
    paths = final["path"].tolist()
    sources = final["source"].tolist() if "source" in final.columns else [None] * len(final)
    hashes = final["sha256"].tolist() if "sha256" in final.columns else [None] * len(final)
    rows: list[tuple[str | None, ...]] = []
    for path, source, sha, person, ok, problems in zip(
        paths, sources, hashes, final["person"], final["ok"], final["problems"], strict=True
    ):
        keys = (_path_key(path), _path_key(source), _sha_key(sha, person))
        hit = next((latest[k] for k in keys if k is not None and k in latest), {})
        status, code = _text(hit.get("status")) or NOT_UPLOADED, _text(hit.get("error_code"))
        stage = _stage(bool(ok), problems, status, code)
        rows.append((_text(hit.get("id")), status, code, _text(hit.get("error_message")), stage))
    columns = list(zip(*rows, strict=True)) or [()] * len(UPLOAD_COLUMNS)  # an empty report still gets them
    for values, (column, dtype) in zip(columns, UPLOAD_COLUMNS.items(), strict=True):
        final[column] = pd.Series(list(values), index=final.index, dtype=dtype)
    return final


def person_summary(final: pd.DataFrame) -> pd.DataFrame:
    """Return one row per person (sorted; ``""`` is the folder's root) with counts of files by outcome.

    Columns: ``files``, ``ok_locally`` (passed validation), ``fixed`` (a conforming copy was written),
    ``uploaded`` (the ledger holds an upload: ``active + rejected_upstream + processing``), ``active``,
    ``rejected_upstream`` (failed upstream, e.g. FaceMismatch), ``processing`` (not yet terminal,
    or the outcome is unknown) and ``not_uploaded``.
    """
    if "person" not in final.columns:
        final = with_person(final)
    status = final["upload_status"].fillna(NOT_UPLOADED).astype(str)
    fixed = final["fixed"].fillna(False).astype(bool) if "fixed" in final.columns else False
    flags = pd.DataFrame(
        {
            "person": final["person"].fillna("").astype(str),
            "files": 1,
            "ok_locally": final["ok"].fillna(False).astype(bool),
            "fixed": fixed,
            "uploaded": status != NOT_UPLOADED,
            "active": status == "active",
            "rejected_upstream": status == "failed",
            "processing": ~status.isin(("active", "failed", NOT_UPLOADED)),
            "not_uploaded": status == NOT_UPLOADED,
        },
        index=final.index,
    )
    return flags.groupby("person", sort=True).sum().astype("int64").reset_index()


def problems_by_code(final: pd.DataFrame) -> pd.Series:
    """Return how many times each problem code occurs, most frequent first (ties by code).

    Counts every local code of ``problems`` (a fixed copy's, in a fix report: what is left) and
    every upstream ``error_code``; the index is the code, the values are ints.
    """
    counter: Counter[str] = Counter()
    for text in final["problems"].dropna():
        counter.update(c for c in str(text).split(";") if c)
    if "error_code" in final.columns:
        counter.update(str(c) for c in final["error_code"].dropna() if str(c))
    ordered = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    counts = pd.Series([n for _, n in ordered], index=[c for c, _ in ordered], dtype="int64", name="count")
    counts.index.name = "code"
    return counts


def _xml(text: object) -> str:
    # printable first: an upstream code with a bidi override must not reorder the chart's labels.
    return html.escape(_BAD_XML.sub("\ufffd", printable(str(text))))


def bar_chart_svg(counts: pd.Series, *, title: str) -> str:
    """Return a self-contained SVG document: one horizontal bar per entry of ``counts``, labelled and counted.

    An empty ``counts`` gives a small chart that says "no problems". Labels are escaped (and cut at
    48 characters, the full text kept as a tooltip), so any code an upstream returns is safe to show.
    """
    width, row, top, bar = 640, 22, 34, 16
    labels = [str(k) for k in counts.index]
    shown = [k if len(k) <= 48 else k[:47] + "…" for k in labels]
    label_w = min(300, 12 + 7 * max((len(s) for s in shown), default=10))
    span = width - label_w - 60
    peak = max((int(v) for v in counts), default=0) or 1
    height = top + row * max(len(labels), 1) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' role="img" aria-label="{_xml(title)}" font-family="sans-serif" font-size="12">',
        f"<title>{_xml(title)}</title>",
        f'<text x="4" y="18" font-size="14" font-weight="bold">{_xml(title)}</text>',
    ]
    if not labels:
        parts.append(f'<text x="4" y="{top + 14}" fill="#57606a">no problems</text>')
    for n, (label, short, value) in enumerate(zip(labels, shown, counts, strict=True)):
        y = top + n * row
        length = max(1, round(span * int(value) / peak))
        parts += [
            f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">{_xml(short)}<title>{_xml(label)}</title></text>',
            f'<rect x="{label_w}" y="{y}" width="{length}" height="{bar}" fill="{_CHART_COLOUR}"/>',
            f'<text x="{label_w + length + 4}" y="{y + 12}">{int(value)}</text>',
        ]
    return "".join([*parts, "</svg>"])


def _tint(row: pd.Series) -> list[str]:
    status = str(row.get("upload_status", NOT_UPLOADED))
    if status == "failed" or (status == NOT_UPLOADED and not bool(row.get("ok", True))):
        return [_BAD] * len(row)
    return [""] * len(row) if status == "active" else [_WAITING] * len(row)  # processing, or not uploaded yet


def _table(frame: pd.DataFrame, tint: bool) -> str:
    # escape="html" and printable: names and upstream messages are data, never markup or hidden characters.
    styler = printable_cells(frame).style.hide(axis="index").format(na_rep="", escape="html")
    return (styler.apply(_tint, axis=1) if tint else styler).to_html()


def _page(final: pd.DataFrame, title: str) -> str:
    summary = person_summary(final)
    summary["person"] = summary["person"].replace("", "(folder root)")
    full = final[[c for c in _HTML_COLUMNS if c in final.columns]]
    # In HTML the parser puts <svg> in the SVG namespace by itself, and the page then names no URL at all.
    chart = bar_chart_svg(problems_by_code(final), title="Local and upstream codes").replace(
        ' xmlns="http://www.w3.org/2000/svg"', "", 1
    )
    counts = final["upload_status"].value_counts()
    line = (
        f"{len(final)} files: {int(counts.get('active', 0))} active, {int(counts.get('failed', 0))} rejected "
        f"upstream, {int(counts.get(NOT_UPLOADED, 0))} not uploaded"
    )
    if skipped := faces_skipped(final):  # counted apart: a face that was not checked never reads as a pass
        line += f"; faces not checked in {skipped} ({SKIPPED}: the message says why and what to do)"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{_xml(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}"
        "td{max-width:32em}h2{margin-top:1.5em}</style></head><body>"
        f"<h1>{_xml(title)}</h1><p>{_xml(line)}</p>"
        f"<h2>By person</h2>{_table(summary, tint=False)}"
        f"<h2>Problems by code</h2>{chart}"
        f"<h2>Every file</h2>{_table(full, tint=True)}</body></html>"
    )


def write_batch_report(
    final: pd.DataFrame, out_dir: str | os.PathLike[str], *, title: str = "Batch report"
) -> dict[str, Path]:
    """Return the paths written under ``out_dir`` by format: ``final.csv``, ``final.parquet``, ``final.html``.

    CSV and Parquet hold every column (paths as UTF-8 text); the HTML page is one file with inline
    CSS, no scripts and no external resources: the per-person summary, the problems chart, then
    every file with failed and problem rows tinted.
    """
    folder = Path(out_dir)
    tables: tuple[Format, ...] = ("csv", "parquet")
    paths: dict[str, Path] = {fmt: write_report(final, folder / f"final.{fmt}", format=fmt) for fmt in tables}
    page = folder / "final.html"
    page.write_text(_page(final, title), encoding="utf-8")
    return {**paths, "html": page}
