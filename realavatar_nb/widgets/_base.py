"""What the four widgets share: background work as tasks on the kernel's own loop, a text/HTML
fallback kept beside the widget view, a clock tests can move, and one way to draw a coloured table.

The fallback matters because a saved notebook outlives its kernel: nbconvert, GitHub and a
terminal show ``text/html`` or ``text/plain``, never the live view. Each widget is displayed
with a display id, and at every settled state (verified, validated, all terminal …) its output is
replaced with the current view *and* the current fallback text.
"""

from __future__ import annotations

import asyncio
import html
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .._display import STATUS_COLOURS, printable
from .._exceptions import RealAvatarError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Clock", "LiveWidget", "Sleep", "frame_html", "is_missing", "status_badge", "utcnow"]

log = logging.getLogger("realavatar_nb.widgets")

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


def utcnow() -> datetime:
    return datetime.now(UTC)


def status_badge(status: str, text: str | None = None) -> str:
    """Return ``text`` (default: the status) as HTML coloured for ``status``."""
    colour = STATUS_COLOURS.get(status, "#24292f")
    return f'<span style="color:{colour};font-weight:600">{html.escape(text if text is not None else status)}</span>'


class LiveWidget(widgets.VBox):
    """A VBox with background tasks on the running loop and a fallback kept current in its output."""

    def __init__(self, *, clock: Clock | None = None, sleep: Sleep | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._clock: Clock = clock or utcnow
        self._sleep: Sleep = sleep or asyncio.sleep
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = _running_loop()  # the kernel's, when built in a cell
        self._display_id: str | None = None
        self._changed = asyncio.Event()  # binds to a loop on first wait (Python ≥ 3.10)

    # -- what a saved notebook shows ------------------------------------------------------

    def fallback_text(self) -> str:
        """Return the widget's current state as plain text (what a terminal or a log shows)."""
        raise NotImplementedError

    def fallback_html(self) -> str:
        """Return the widget's current state as static HTML (what an nbconvert export shows)."""
        return f"<pre>{html.escape(self.fallback_text())}</pre>"

    def __repr__(self) -> str:
        # ipywidgets' repr lists every trait; ours must stay cheap and must never show a link.
        first = next(iter(self.fallback_text().splitlines()), "")
        return f"<{type(self).__name__}: {first}>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = self.fallback_text()
        bundle["text/html"] = self.fallback_html()
        return bundle

    def _ipython_display_(self) -> None:
        from IPython.display import display

        self._display_id = self._display_id or uuid.uuid4().hex
        display(self._repr_mimebundle_(), raw=True, display_id=self._display_id)

    def publish(self) -> None:
        """Replace the widget's notebook output with its current view and fallback, and resend its state.

        Called at each settled state, and by the awaitable methods from the awaiting cell, so a
        notebook runner that listens to that cell (nbclient does) records the final state.
        """
        if self.comm is None:  # closed: there is no view left to update
            return
        for widget in self._family():
            if widget.comm is not None:
                widget.send_state()
        if self._display_id is None:
            return
        from IPython.display import update_display

        update_display(self._repr_mimebundle_(), raw=True, display_id=self._display_id)

    def _family(self) -> Iterable[widgets.Widget]:
        seen: set[str] = set()
        stack: list[Any] = [self]
        while stack:
            widget = stack.pop()
            if not isinstance(widget, widgets.Widget) or widget.model_id in seen:
                continue
            seen.add(widget.model_id)
            yield widget
            stack.extend(getattr(widget, "children", ()))

    # -- background work ------------------------------------------------------------------

    def on_home(self, callback: Callable[..., Any]) -> Callable[..., None]:
        """Return ``callback`` wrapped to run on the widget's own loop, whichever thread the frontend calls from.

        JupyterLab ≥ 4.4 delivers comm messages (a button's click) on a kernel *subshell*: another
        thread with its own event loop. A task started there would live on that loop, and waking a
        cell awaiting on the kernel's loop from it would never happen. So clicks are handed home.
        """

        def handler(*args: Any) -> None:
            loop = self._loop
            if loop is not None and loop.is_running() and _running_loop() is not loop:
                loop.call_soon_threadsafe(callback, *args)
            else:
                callback(*args)

        return handler

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        """Run ``coro`` as a task on the widget's loop (the kernel's); without one running, close it, return None."""
        loop = _running_loop()
        if self._loop is None:
            self._loop = loop  # built outside a loop: home is the first loop that runs the widget's work
        if loop is None or loop is not self._loop:
            coro.close()
            if self._loop is not None and self._loop.is_running():  # called from another thread: start it at home
                raise RuntimeError(
                    f"{type(self).__name__} work must start on its own loop; wrap the call in on_home()."
                )
            return None
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.show_error(exc)

    def show_error(self, exc: BaseException) -> None:
        """Show what went wrong as a sentence (typed errors carry what to do next); never a traceback."""
        if isinstance(exc, RealAvatarError):
            text = str(exc)
        else:
            log.warning("%s: background task failed", type(self).__name__, exc_info=exc)
            text = f"{type(exc).__name__}: {exc}"
        self._on_error(printable(text))  # an OSError quotes the file's name as it is: shown escaped

    def _on_error(self, text: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Stop the widget's background work and close its views."""
        for task in list(self._tasks):
            task.cancel()
        super().close()

    def _notify(self) -> None:
        """Wake whatever awaits a change of state."""
        self._changed.set()

    async def _next_change(self) -> None:
        await self._changed.wait()
        self._changed.clear()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def frame_html(
    frame: pd.DataFrame,
    *,
    status_columns: Iterable[str] = ("status", "verdict"),
    problem_column: str | None = None,
    wrap_columns: Iterable[str] = ("problems", "message", "error_message", "action", "prompt", "note"),
    html_columns: Iterable[str] = (),
    max_rows: int = 500,
) -> str:
    """Return ``frame`` as an HTML table: status cells coloured, rows with a problem tinted red.

    Short cells stay on one line (ids, sizes); prose columns (``wrap_columns``) wrap. Cells of
    ``html_columns`` are HTML the caller made (a thumbnail); every other cell is escaped, and its
    control and bidi characters shown as ``\\x1b`` / ``\\u202e`` (``printable``).
    """
    columns = list(frame.columns)
    coloured, wrapping, markup = set(status_columns), set(wrap_columns), set(html_columns)
    head = "".join(f'<th style="text-align:left;padding:2px 8px">{html.escape(str(c))}</th>' for c in columns)
    rows = []
    for _, row in frame.head(max_rows).iterrows():
        flagged = row.get(problem_column) if problem_column else None
        problem = not is_missing(flagged) and str(flagged) != ""
        cells = []
        for column in columns:
            value = row[column]
            text = "" if is_missing(value) else str(value)
            if column in markup:
                body = text
            elif column in coloured and text in STATUS_COLOURS:
                body = status_badge(text)
            else:
                body = html.escape(printable(text))
            wrap = "min-width:12em" if column in wrapping else "white-space:nowrap"
            cells.append(f'<td style="text-align:left;padding:2px 8px;{wrap}">{body}</td>')
        tint = ' style="background:#ffebe9"' if problem else ""
        rows.append(f"<tr{tint}>{''.join(cells)}</tr>")
    more = len(frame) - max_rows
    tail = f"<p>… and {more} more rows</p>" if more > 0 else ""
    body = "".join(rows)
    return f'<table style="border-collapse:collapse"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{tail}'


def is_missing(value: Any) -> bool:
    """Return whether a frame cell is empty (None, NaN, NaT, pandas' NA)."""
    if value is None:
        return True
    try:
        import pandas as pd

        missing = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return bool(missing) if getattr(missing, "ndim", 0) == 0 else False  # a list's cells are not one missing value
