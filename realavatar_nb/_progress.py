"""Progress for long batch work (validation, fixes, uploads): a widget bar in a notebook, a text line elsewhere.

Updates are made only from the thread that called the batch function (the kernel's own
thread in a notebook), never from worker threads. ``update(done, note)`` may add a note to the
line (an upload's ETA at the rate in force).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Protocol, TextIO

__all__ = ["Progress", "ProgressArg", "TextProgress", "make_progress"]

ProgressArg = bool | str | Callable[[int, int], Any] | None


class Progress(Protocol):
    def update(self, done: int, note: str = "") -> None: ...
    def close(self) -> None: ...


class _Silent:
    def update(self, done: int, note: str = "") -> None:
        pass

    def close(self) -> None:
        pass


class _Callback:
    def __init__(self, fn: Callable[[int, int], Any], total: int) -> None:
        self._fn = fn
        self._total = total

    def update(self, done: int, note: str = "") -> None:
        self._fn(done, self._total)

    def close(self) -> None:
        pass


class TextProgress:
    """A text progress line: redrawn in place on a terminal, a few plain lines in a log."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None, unit: str = "files") -> None:
        self._total = total
        self._label = label
        self._unit = unit
        self._note = ""
        self._stream = stream if stream is not None else sys.stderr
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self._last_draw = 0.0
        self._last_quarter = -1
        self._done = 0

    def _line(self, done: int) -> str:
        width = 24
        filled = width * done // self._total if self._total else width
        note = f" {self._note}" if self._note else ""
        return f"{self._label} [{'#' * filled}{'.' * (width - filled)}] {done}/{self._total} {self._unit}{note}"

    def update(self, done: int, note: str = "") -> None:
        self._done, self._note = done, note
        if self._tty:
            now = time.monotonic()
            if now - self._last_draw >= 0.1 or done == self._total:
                self._stream.write("\r" + self._line(done))
                self._stream.flush()
                self._last_draw = now
            return
        quarter = 4 * done // self._total if self._total else 4
        if quarter > self._last_quarter:
            self._last_quarter = quarter
            self._stream.write(self._line(done) + "\n")
            self._stream.flush()

    def close(self) -> None:
        if self._tty:
            self._stream.write("\r" + self._line(self._done) + "\n")
            self._stream.flush()


class _WidgetProgress:
    """A bar and a line in the notebook; a saved notebook (nbconvert, GitHub) shows the line's last text."""

    def __init__(self, total: int, label: str, unit: str = "files") -> None:
        import uuid

        import ipywidgets as widgets
        from IPython.display import display

        self._total = total
        self._unit = unit
        self._label = label
        self._bar = widgets.IntProgress(value=0, min=0, max=max(total, 1), description=label)
        self._text = widgets.Label(value=f"0/{total} {unit}")
        self._box = widgets.HBox([self._bar, self._text])
        self._last = 0.0
        self._id = uuid.uuid4().hex
        display(self._bundle(), raw=True, display_id=self._id)

    def _bundle(self) -> dict[str, Any]:
        from html import escape

        line = f"{self._label}: {self._text.value}"
        view = {"model_id": self._box.model_id, "version_major": 2, "version_minor": 0}
        return {"application/vnd.jupyter.widget-view+json": view, "text/plain": line,
                "text/html": f"<p>{escape(line)}</p>"}  # fmt: skip

    def update(self, done: int, note: str = "") -> None:
        now = time.monotonic()
        if now - self._last >= 0.1 or done == self._total:
            self._bar.value = done
            self._text.value = f"{done}/{self._total} {self._unit}" + (f" {note}" if note else "")
            self._last = now

    def close(self) -> None:
        from IPython.display import update_display

        self._bar.bar_style = "success"
        update_display(self._bundle(), raw=True, display_id=self._id)


def _in_notebook() -> bool:
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def make_progress(progress: ProgressArg, total: int, label: str = "validating", unit: str = "files") -> Progress:
    """Return a progress reporter: ``"auto"``/``True`` picks a widget in a kernel, text elsewhere;
    ``False``/``None`` is silent; ``"text"`` forces text; a callable gets ``(done, total)``."""
    if progress is None or progress is False:
        return _Silent()
    if callable(progress):
        return _Callback(progress, total)
    if progress in ("auto", True) and _in_notebook():
        try:
            return _WidgetProgress(total, label, unit)
        except ImportError:
            pass
    return TextProgress(total, label, unit=unit)
