"""Write a validation report to CSV, Parquet or a standalone HTML page.

Names are data from outside: every export shows them through ``printable`` (no raw control or
bidi characters), and CSV cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from .._display import printable
from .._exceptions import MediaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FORMULA_PREFIXES", "csv_text", "portable", "printable_cells", "spreadsheet_safe", "summary_line", "write_report",
]  # fmt: skip

Format = Literal["csv", "parquet", "html"]

FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is a formula to Excel, LibreOffice or Sheets (OWASP, CSV injection)."""


def portable(report: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose path and name columns are visible UTF-8 text (``printable``: ``\\xNN``, ``\\u202e`` …)."""
    out = report.copy()
    for column in ("path", "source", "name"):
        if column in out.columns:
            out[column] = out[column].map(lambda p: p if not isinstance(p, (str, bytes)) else printable(p))
            out[column] = out[column].astype("string")
    return out


def printable_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` whose text cells went through ``printable`` (numbers, dates untouched)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype.kind == "O":  # object and string columns; a number in them is left as it is
            out[column] = out[column].map(lambda v: printable(v) if isinstance(v, str) else v)
    return out


def _neutral(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value  # the spreadsheet shows the text, with the quote, and runs nothing
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose text cells starting with ``= + - @``, a tab or a CR get a leading ``'``.

    Only text cells change: a number (``-3``, even in an object column) stays a number.
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype.kind == "O":
            out[column] = out[column].map(_neutral)
    return out


def csv_text(report: pd.DataFrame) -> str:
    """Return ``report`` as CSV text: names printable, formula-like text cells neutralised."""
    return str(spreadsheet_safe(portable(report)).to_csv(index=False))


# The HTML page leads with the verdict; the full facts stay in the CSV and Parquet exports.
_HTML_COLUMNS = (
    "name", "ok", "problems", "warnings", "message", "fixable", "action",
    "kind", "format", "width", "height", "duration_s", "fps", "size_bytes", "note",
)  # fmt: skip
_HTML_FORMATS = {"duration_s": "{:.2f}", "fps": "{:.3g}", "size_bytes": "{:,}"}


def _html(report: pd.DataFrame, title: str) -> str:
    shown = printable_cells(portable(report)[[c for c in _HTML_COLUMNS if c in report.columns]])

    def highlight(row: pd.Series) -> list[str]:
        colour = "" if bool(row.get("ok", True)) else "background-color:#ffebe9"
        return [colour] * len(row)

    styler = shown.style.apply(highlight, axis=1).hide(axis="index")
    styler = styler.format({k: v for k, v in _HTML_FORMATS.items() if k in shown.columns}, na_rep="", escape="html")
    table = styler.format(
        na_rep="", escape="html", subset=[c for c in shown.columns if c not in _HTML_FORMATS]
    ).to_html()
    summary = summary_line(report)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}"
        "td{max-width:32em}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(summary)}</p>{table}</body></html>"
    )


def summary_line(report: pd.DataFrame) -> str:
    """Return "N files: x ok, y with problems", then how many files' faces could not be checked, if any.

    A file whose faces were asked for and not checked (``FaceCheckSkipped``) may still be ``ok``:
    it is counted apart, so an unchecked face never reads as a pass.
    """
    from .faces.checks import SKIPPED, faces_skipped

    ok = int(report["ok"].sum()) if "ok" in report else 0
    line = f"{len(report)} files: {ok} ok, {len(report) - ok} with problems"
    skipped = faces_skipped(report)
    if skipped:
        line += f"; faces not checked in {skipped} ({SKIPPED}: the message says why and what to do)"
    return line


def write_report(
    report: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    format: Format | None = None,
    title: str = "Validation report",
) -> Path:
    """Write ``report`` to ``out`` as CSV, Parquet or HTML (from ``format`` or the suffix); return the path.

    CSV cells a spreadsheet would run as formulas are neutralised (``spreadsheet_safe``); Parquet keeps them.
    """
    target = Path(out)
    kind = format or target.suffix.lower().lstrip(".")
    if kind not in ("csv", "parquet", "html"):
        raise MediaError(f"Cannot write a report as {kind!r}: use a .csv, .parquet or .html file name.")
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        target.write_text(csv_text(report), encoding="utf-8", newline="")
    elif kind == "parquet":
        portable(report).to_parquet(target, index=False)
    else:
        target.write_text(_html(report, title), encoding="utf-8")
    return target
