"""A folder's media judged against a limit profile, live: a progress bar, counts, a filterable report, a Fix button.

``AssetValidator("faces/")`` starts ``validate_folder`` on the kernel's loop as soon as it is built
(in plain scripts, on the first ``await validator.done()``); ``await validator.fix()`` or the Fix
button writes conforming copies with ``ra.fix`` and shows the new report.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, get_args

import ipywidgets as widgets
from traitlets import Enum, Int, Unicode, observe

from .._display import printable
from .._exceptions import MediaError, RealAvatarError
from .._types import MediaKind
from ..media.faces.checks import SKIPPED, faces_skipped
from ..media.fix import fix as fix_report
from ..media.paths import FOLDER_PATH, path_argument
from ..media.validate import validate_folder
from ._base import Clock, LiveWidget, Sleep, frame_html
from ._thumbs import face_thumbnails

if TYPE_CHECKING:
    import pandas as pd

    from ..media.faces.checks import FaceReferences

__all__ = ["AssetValidator"]

STATES: Final = ("validating", "done", "fixing", "fixed", "error")
"""Every ``AssetValidator.state``, in the order the work goes through them."""
VIEWS: Final = ("all", "problems", "fixable")
_KIND_ORDER: Final = get_args(MediaKind)
_VALIDATED_COLUMNS: Final = ("name", "verdict", "kind", "format", "width", "height", "duration_s", "fps", "problems")
_SHOWN_AFTER_VALIDATE: Final = (*_VALIDATED_COLUMNS, "fixable", "message")
_SHOWN_AFTER_FIX: Final = (*_VALIDATED_COLUMNS, "fixed", "action")


class AssetValidator(LiveWidget):
    """A widget that validates ``folder`` against ``profile`` and offers to fix what can be fixed."""

    state = Unicode(STATES[0], help=f"Where the work stands: {' | '.join(STATES)}")
    view = Enum(VIEWS, "all", help="Which rows the table shows: all, problems, or fixable problems.")
    total = Int(0, help="Files in the shown report.")
    ok_count = Int(0, help="Files in the shown report that pass every check.")
    problem_count = Int(0, help="Files in the shown report with at least one problem.")
    fixable_count = Int(0, help="Files with problems that ra.fix can repair.")
    fixed_count = Int(0, help="Files with problems for which a conforming copy was written.")
    face_skipped_count = Int(0, help="Files whose faces were asked for but could not be checked (FaceCheckSkipped).")
    message = Unicode("", help="The last error as a sentence, or '' when all is well.")

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        profile: str = "seedance-2.0",
        out_dir: str | os.PathLike[str] | None = None,
        recursive: bool = True,
        workers: int | None = None,
        person: str | None = None,
        people: bool = False,
        reference: str | os.PathLike[str] | None = None,
        references: FaceReferences | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        super().__init__(clock=clock, sleep=sleep)
        self.folder = path_argument(folder, call="AssetValidator", name="folder", takes=FOLDER_PATH)
        # Face checks (validate_folder's person / people / reference / references), with a thumbnail per file.
        self._faces: dict[str, Any] = {"person": person, "people": people, "reference": reference,
                                       "references": references}  # fmt: skip
        self._thumbs: dict[str, str] = {}
        self.profile = profile
        # A sibling, not a subfolder: a later validation of the folder must not count the copies.
        self.out_dir = (
            path_argument(out_dir, call="AssetValidator", name="out_dir", takes=FOLDER_PATH)
            if out_dir is not None
            else os.path.normpath(self.folder) + "_fixed"
        )
        self.recursive = recursive
        self.workers = workers
        self._report: pd.DataFrame | None = None
        self._validated: pd.DataFrame | None = None
        self._failure: BaseException | None = None
        self._validation: asyncio.Task[Any] | None = None
        self._fixing: asyncio.Task[Any] | None = None

        self.heading = widgets.HTML()
        self.progress_bar = widgets.IntProgress(value=0, min=0, max=1, description="validating")
        self.progress_label = widgets.Label("")
        self.counts_view = widgets.HTML()
        self.view_buttons = widgets.ToggleButtons(options=list(VIEWS), value=self.view, description="show")
        widgets.link((self, "view"), (self.view_buttons, "value"))
        self.fix_button = widgets.Button(description="Fix", icon="wrench", disabled=True)
        self.fix_button.on_click(self.on_home(lambda _button: self._start_fix()))
        self.table_view = widgets.HTML()
        self.children = [
            self.heading,
            widgets.HBox([self.progress_bar, self.progress_label]),
            self.counts_view,
            widgets.HBox([self.view_buttons, self.fix_button]),
            self.table_view,
        ]
        self._render()
        self._validation = self._spawn(self._guarded(self._validate, "Validating " + self._where()))

    # -- what the caller reads --------------------------------------------------------------

    @property
    def report(self) -> pd.DataFrame | None:
        """Return the report shown: ``validate_folder``'s, or ``ra.fix``'s once fixed (None while validating)."""
        return self._report

    @property
    def validated(self) -> pd.DataFrame | None:
        """Return the report of the original files, kept after a fix replaces ``report``."""
        return self._validated

    def visible(self) -> pd.DataFrame | None:
        """Return the rows of ``report`` the current ``view`` shows."""
        report = self._report
        if report is None or self.view == "all":
            return report
        bad = ~report["ok"].astype(bool)
        if self.view == "fixable":
            bad &= report["fixable"].fillna(False).astype(bool)
        return report[bad]

    def counts(self) -> pd.DataFrame:
        """Return files by kind (rows) and verdict (``ok``, ``problem``), with the ``fixable`` problems."""
        import pandas as pd

        report = self._report
        if report is None:
            return pd.DataFrame({"ok": [], "problem": [], "fixable": []}, dtype="int64")
        kind = report["kind"].astype("object").fillna("unknown")
        ok = report["ok"].astype(bool)
        fixable = ~ok & report["fixable"].fillna(False).astype(bool)
        frame = pd.DataFrame({"ok": ok, "problem": ~ok, "fixable": fixable}).groupby(kind).sum().astype("int64")
        order = [k for k in _KIND_ORDER if k in frame.index] + sorted(set(frame.index) - set(_KIND_ORDER))
        frame = frame.reindex(order)
        frame.index.name = "kind"
        return frame

    def problem_codes(self) -> dict[str, int]:
        """Return how many files of the shown report fail with each problem code, most frequent first."""
        found: dict[str, int] = {}
        if self._report is not None:
            for joined in self._report["problems"].fillna(""):
                for code in filter(None, str(joined).split(";")):
                    found[code] = found.get(code, 0) + 1
        return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))

    # -- awaiting -------------------------------------------------------------------------

    async def done(self) -> pd.DataFrame:
        """Return ``report`` once validation (and a fix under way) has finished; raise a ``MediaError`` if it failed."""
        loop = asyncio.get_running_loop()
        # Built without a running loop (or on one that has gone): the work starts here, once.
        if self._validation is None or (self._validation.get_loop() is not loop and not self._validation.done()):
            self._validation = self._spawn(self._guarded(self._validate, "Validating " + self._where()))
        for task in (self._validation, self._fixing):
            if task is not None:
                await asyncio.shield(task)
        self.publish()
        if self._failure is not None:
            raise self._failure
        assert self._report is not None  # validation finished without failure
        return self._report

    async def fix(self) -> pd.DataFrame:
        """Return the report on conforming copies written to ``out_dir`` (validating first if needed)."""
        if self._validated is None:
            await self.done()  # raises if validation failed: there is nothing to fix from
        self._start_fix()
        return await self.done()

    # -- the background work ---------------------------------------------------------------

    async def _guarded(self, work: Callable[[], Awaitable[None]], step: str) -> None:
        """Run ``work()``; a failure becomes a typed error for ``done()`` and a sentence in the widget."""
        # ``work`` is called here, not by the caller: without a running loop ``_spawn`` closes this
        # coroutine unstarted, and an inner coroutine made in advance would warn it was never awaited.
        self._failure = None
        try:
            await work()
        except Exception as exc:
            self._failure = _typed(exc, step)
            self.show_error(self._failure)

    async def _validate(self) -> None:
        self.state = "validating"
        loop = asyncio.get_running_loop()
        job = functools.partial(
            validate_folder,
            self.folder,
            self.profile,
            recursive=self.recursive,
            workers=self.workers,
            progress=self._progress_from_thread(loop),
            **self._faces,
        )
        report = await loop.run_in_executor(None, job)
        if report["face_check"].fillna("").astype(str).str.len().any():
            self._thumbs = await loop.run_in_executor(None, face_thumbnails, report)
        self._validated = report
        self._show(report, "done")

    def _start_fix(self) -> asyncio.Task[Any] | None:
        """Start the fix unless one is under way or finished; return its task (None without a running loop)."""
        if self._fixing is None and self._validated is not None:
            self._fixing = self._spawn(self._guarded(self._fix, "Fixing into " + printable(self.out_dir)))
            self._render()  # disable the button now: a second click before the task runs must not fix twice
        return self._fixing

    async def _fix(self) -> None:
        assert self._validated is not None
        self.state = "fixing"
        self.progress_bar.description = "fixing"
        self.progress_bar.bar_style = ""
        loop = asyncio.get_running_loop()
        job = functools.partial(
            fix_report, self._validated, self.out_dir, workers=self.workers, progress=self._progress_from_thread(loop)
        )
        try:
            report = await loop.run_in_executor(None, job)
        except BaseException:
            self._fixing = None  # a failed fix may be tried again
            raise
        self._show(report, "fixed")

    def _progress_from_thread(self, loop: asyncio.AbstractEventLoop) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            # Runs on a worker thread: hand the numbers to the loop's thread; widgets are touched only there.
            with contextlib.suppress(RuntimeError):  # the loop closed under a batch nobody waits for
                loop.call_soon_threadsafe(self._show_progress, done, total)

        return report

    def _show_progress(self, done: int, total: int) -> None:
        self.progress_bar.max = max(total, 1)
        self.progress_bar.value = done
        self.progress_label.value = f"{done}/{total} files"

    def _show(self, report: pd.DataFrame, state: str) -> None:
        self._report = report
        ok = report["ok"].astype(bool)
        self.total, self.ok_count, self.problem_count = len(report), int(ok.sum()), int((~ok).sum())
        self.fixable_count = int((~ok & report["fixable"].fillna(False).astype(bool)).sum())
        self.fixed_count = int(report["fixed"].sum()) if "fixed" in report.columns else 0
        self.face_skipped_count = faces_skipped(report)
        self.progress_bar.bar_style = "success"
        self.message = ""
        self.state = state
        self._notify()
        self.publish()

    def _on_error(self, text: str) -> None:
        self.message = text
        self.state = "error"
        self.progress_bar.bar_style = "danger"
        self._notify()
        self.publish()

    # -- drawing ---------------------------------------------------------------------------

    @observe("state", "view", "message")
    def _render(self, _change: Any = None) -> None:
        first = (self.fallback_text().splitlines() or [""])[0]
        colour = "#cf222e" if self.state == "error" else "#24292f"
        self.heading.value = f'<b style="color:{colour}">{html.escape(first)}</b>'
        self.counts_view.value = self._counts_html()
        self.table_view.value = self._table_html()
        fixable_left = self._validated is not None and bool(self._validated["fixable"].fillna(False).any())
        self.fix_button.disabled = self._fixing is not None or not fixable_left or self.state not in ("done", "error")
        self.fix_button.tooltip = f"Write conforming copies into {printable(self.out_dir)}"

    def _counts_html(self) -> str:
        if self._report is None:
            return ""
        skipped = ""
        if self.face_skipped_count:
            skipped = (f'<p style="color:#9a6700">{self.face_skipped_count} files: faces not checked ({SKIPPED}); '
                       "their messages say why and what to do.</p>")  # fmt: skip
        return frame_html(self.counts().reset_index(), status_columns=()) + skipped

    def _table_html(self) -> str:
        shown = self.visible()
        if shown is None:
            return ""
        columns = list(_SHOWN_AFTER_FIX if "action" in shown.columns else _SHOWN_AFTER_VALIDATE)
        if self._thumbs:  # faces were checked: show each file with its face boxes, and the verdict's numbers
            columns = ["face", *columns[:2], "faces", "face_distance", *columns[2:]]
        warned = shown["warnings"].fillna("") if "warnings" in shown.columns else None
        if warned is not None and bool(warned.str.len().gt(0).any()):  # FaceBlurred, FaceCheckSkipped, …
            columns.insert(columns.index("problems") + 1, "warnings")
        frame = shown.assign(
            verdict=shown["ok"].map({True: "ok", False: "problem"}),
            problems=shown["problems"].fillna(""),
            warnings=warned if warned is not None else "",
            fixable=[
                ("yes" if f else "no") if not ok else "" for ok, f in zip(shown["ok"], shown["fixable"], strict=True)
            ],
            duration_s=shown["duration_s"].round(2),
            fps=shown["fps"].round(2),
            face=[self._thumbs.get(str(p), "") for p in shown.get("source", shown["path"])],
        )
        caption = f"<p>{self.view}: {len(shown)} of {self.total} files</p>"
        return caption + frame_html(frame[columns], problem_column="problems", html_columns=("face",))

    def _where(self) -> str:
        return printable(self.folder.rstrip("/" + os.sep) + "/")

    def fallback_text(self) -> str:
        """Return the state as text: the verdict counts, then how many files fail each problem code."""
        where = self._where()
        if self.state == "error":
            return f"AssetValidator: {where} — error: {self.message}"
        if self._report is None:
            return f"AssetValidator: validating {where} … {self.progress_label.value}".rstrip()
        if self.state == "fixed":
            line = (
                f"AssetValidator: fixed {where} into {printable(self.out_dir)}/ — {self.fixed_count} repaired; "
                f"{self.ok_count} of {self.total} files ok, {self.problem_count} still with problems"
            )
        else:
            line = (
                f"AssetValidator: {self.total} files in {where} — {self.ok_count} ok, "
                f"{self.problem_count} with problems ({self.fixable_count} fixable)"
            )
        if self.face_skipped_count:  # never a silent pass: these files' faces are unknown, not fine
            line += f"; faces not checked in {self.face_skipped_count} ({SKIPPED})"
        if self.state == "fixing":
            line += f"; fixing into {printable(self.out_dir)}/ …"
        return "\n".join([line, *(f"  {code}: {n}" for code, n in self.problem_codes().items())])

    def fallback_html(self) -> str:
        """Return the state as static HTML: the summary line, the counts by kind and verdict, and the table."""
        first = html.escape(self.fallback_text().splitlines()[0])
        return f"<p><b>{first}</b></p>{self._counts_html()}{self._table_html()}"


def _typed(exc: Exception, step: str) -> RealAvatarError:
    """Return ``exc`` when it is one of ours (it says what to do next), else a ``MediaError`` that does."""
    if isinstance(exc, RealAvatarError):
        return exc
    # An OSError or a bug: still a sentence and a type to catch, never a bare traceback.
    error = MediaError(
        f"{step} failed: {type(exc).__name__}: {exc}. Check the folder and its files, then run it again."
    )
    error.__cause__ = exc
    return error
