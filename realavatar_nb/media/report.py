"""Write a validation report to CSV, Parquet or a standalone HTML page."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .._display import printable
from .._exceptions import MediaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["portable", "write_report"]

Format = Literal["csv", "parquet", "html"]


def portable(report: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose path columns are valid UTF-8 text (non-UTF-8 bytes shown as ``\\xNN``)."""
    out = report.copy()
    for column in ("path", "source"):
        if column in out.columns:
            out[column] = out[column].map(lambda p: None if p is None else printable(p)).astype("string")
    return out


# The HTML page leads with the verdict; the full facts stay in the CSV and Parquet exports.
_HTML_COLUMNS = (
    "name", "ok", "problems", "message", "fixable", "action",
    "kind", "format", "width", "height", "duration_s", "fps", "size_bytes", "note",
)  # fmt: skip
_HTML_FORMATS = {"duration_s": "{:.2f}", "fps": "{:.3g}", "size_bytes": "{:,}"}


def _html(report: pd.DataFrame, title: str) -> str:
    shown = portable(report)[[c for c in _HTML_COLUMNS if c in report.columns]]

    def highlight(row: pd.Series) -> list[str]:
        colour = "" if bool(row.get("ok", True)) else "background-color:#ffebe9"
        return [colour] * len(row)

    styler = shown.style.apply(highlight, axis=1).hide(axis="index")
    styler = styler.format({k: v for k, v in _HTML_FORMATS.items() if k in shown.columns}, na_rep="", escape="html")
    table = styler.format(
        na_rep="", escape="html", subset=[c for c in shown.columns if c not in _HTML_FORMATS]
    ).to_html()
    ok = int(report["ok"].sum()) if "ok" in report else 0
    summary = f"{len(report)} files: {ok} ok, {len(report) - ok} with problems"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}"
        "td{max-width:32em}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(summary)}</p>{table}</body></html>"
    )


def write_report(
    report: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    format: Format | None = None,
    title: str = "Validation report",
) -> Path:
    """Write ``report`` to ``out`` as CSV, Parquet or HTML (from ``format`` or the suffix); return the path."""
    target = Path(out)
    kind = format or target.suffix.lower().lstrip(".")
    if kind not in ("csv", "parquet", "html"):
        raise MediaError(f"Cannot write a report as {kind!r}: use a .csv, .parquet or .html file name.")
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        portable(report).to_csv(target, index=False)
    elif kind == "parquet":
        portable(report).to_parquet(target, index=False)
    else:
        target.write_text(_html(report, title), encoding="utf-8")
    return target
