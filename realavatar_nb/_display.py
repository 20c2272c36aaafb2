"""One notebook-repr mixin: every result object shows as HTML in Jupyter and as text elsewhere."""

from __future__ import annotations

import html
import os
from collections.abc import Iterable
from typing import Any

__all__ = ["STATUS_COLOURS", "DisplayMixin", "html_table", "printable"]

STATUS_COLOURS = {
    "verified": "#1a7f37",
    "active": "#1a7f37",
    "succeeded": "#1a7f37",
    "ok": "#1a7f37",
    "pending": "#9a6700",
    "processing": "#9a6700",
    "queued": "#9a6700",
    "running": "#9a6700",
    "submitting": "#9a6700",
    "waiting": "#9a6700",
    "creating": "#9a6700",
    "failed": "#cf222e",
    "expired": "#cf222e",
    "cancelled": "#6e7781",
    "problem": "#cf222e",
    "error": "#cf222e",
}


def printable(path: str | os.PathLike[str]) -> str:
    """Return a path as valid UTF-8 text: bytes of a non-UTF-8 name show as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _cell(value: Any) -> str:
    text = html.escape("" if value is None else str(value))
    colour = STATUS_COLOURS.get(str(value)) if isinstance(value, str) else None
    return f'<span style="color:{colour};font-weight:600">{text}</span>' if colour else text


def html_table(title: str, rows: Iterable[tuple[str, Any]]) -> str:
    """Return a small two-column HTML table: ``title`` above, one ``label | value`` row per pair."""
    body = "".join(
        f'<tr><th style="text-align:left;padding-right:1em">{html.escape(label)}</th>'
        f'<td style="text-align:left">{_cell(value)}</td></tr>'
        for label, value in rows
    )
    return f"<div><strong>{html.escape(title)}</strong><table>{body}</table></div>"


class DisplayMixin:
    """Gives ``_repr_mimebundle_`` (``text/plain`` beside ``text/html``) from ``_display_rows()``.

    Subclasses return already-masked values from ``_display_rows``; nothing secret may pass through.
    """

    def _display_title(self) -> str:
        return type(self).__name__

    def _display_rows(self) -> list[tuple[str, Any]]:
        raise NotImplementedError

    def _repr_text(self) -> str:
        rows = self._display_rows()
        width = max((len(label) for label, _ in rows), default=0)
        lines = [self._display_title()] + [f"  {label.ljust(width)}  {value}" for label, value in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return html_table(self._display_title(), self._display_rows())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self._repr_text(), "text/html": self._repr_html_()}
