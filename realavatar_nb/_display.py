"""One notebook-repr mixin: every result object shows as HTML in Jupyter and as text elsewhere."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterable
from typing import Any, Final

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


# What a name may hold that a reader cannot see, or that a screen acts on instead of showing:
# C0 and C1 controls with DEL (ESC clears a terminal, CR rewrites a line, LF forges one); bidi
# controls (U+202E shows "\u202egpj.exe" as "exe.jpg"); line and paragraph separators; and
# invisible format characters that make two different names look the same (soft hyphen,
# zero-width space, word joiner, invisible operators, BOM, interlinear annotation). Zero-width
# (non-)joiners and emoji tags stay: real names in Persian, Indic scripts and emoji need them.
_HIDDEN: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)


_SHORT: Final = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}  # as Python's repr writes them


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _SHORT.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> str:
    """Return a name or path as one line of visible UTF-8 text, safe for a terminal, a page or a table.

    Bytes of a non-UTF-8 name show as ``\\xNN``; control characters (``\\x1b``, ``\\x7f``, ``\\r``, ``\\n``, ``\\t`` …),
    bidi controls (``\\u202e`` …) and invisible format characters show as ``\\xNN`` / ``\\uNNNN`` escapes.
    Backslashes are left alone (Windows paths stay readable), so the result is not meant to be parsed back.
    """
    raw = os.fspath(path)
    if isinstance(raw, bytes):
        text = raw.decode("utf-8", "backslashreplace")
    else:
        try:
            text = os.fsencode(raw).decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a lone surrogate that no file system produced (provider text): keep it visible
            text = raw.encode("utf-8", "backslashreplace").decode("utf-8")
    return _HIDDEN.sub(_escape, text)


def _cell(value: Any) -> str:
    # Values may be a provider's text or a file's name: shown escaped, never acted on.
    text = html.escape("" if value is None else printable(str(value)))
    colour = STATUS_COLOURS.get(str(value)) if isinstance(value, str) else None
    return f'<span style="color:{colour};font-weight:600">{text}</span>' if colour else text


def html_table(title: str, rows: Iterable[tuple[str, Any]]) -> str:
    """Return a small two-column HTML table: ``title`` above, one ``label | value`` row per pair."""
    body = "".join(
        f'<tr><th style="text-align:left;padding-right:1em">{html.escape(label)}</th>'
        f'<td style="text-align:left">{_cell(value)}</td></tr>'
        for label, value in rows
    )
    return f"<div><strong>{html.escape(printable(title))}</strong><table>{body}</table></div>"


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
        shown = [(label, printable(str(value))) for label, value in rows]
        lines = [printable(self._display_title())] + [f"  {label.ljust(width)}  {value}" for label, value in shown]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return html_table(self._display_title(), self._display_rows())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self._repr_text(), "text/html": self._repr_html_()}
