"""``StatusTable``: the ledger's assets and jobs as a DataFrame that stays current in the notebook.

A refresh round costs what the provider makes cheapest: where it lists assets, one list per group
(``AsyncClient.refresh_assets``), elsewhere one look per *pending* asset, and one look per running
job. Rows come from the ledger, so uploads made in other cells appear on the next round; a table
over a bare ``Ledger`` only re-reads what another client or process writes there.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, overload

import ipywidgets as widgets
import pandas as pd
import traitlets

from .._display import printable
from .._exceptions import ConfigurationError
from .._ledger import SENDING, Ledger
from .._models import Asset
from .._polling import TRANSIENT, iter_status
from .._types import ASSET_TERMINAL, JOB_TERMINAL
from .._uploads import LOST, UNKNOWN
from ..media.report import csv_text, printable_cells, write_report
from ._base import Clock, LiveWidget, Sleep, frame_html, is_missing, status_badge

if TYPE_CHECKING:
    from .._client import AsyncClient

__all__ = ["COLUMNS", "STATES", "StatusTable"]

STATES: Final = ("idle", "refreshing", "done", "stopped", "error")
"""Every ``StatusTable.state``: not started, refreshing, every row terminal, stopped by ``stop()``, failed."""

COLUMNS: Final = (
    "kind", "name", "id", "group_id", "person", "asset_type", "status", "error_code", "error_message", "source",
    "updated_at",
)  # fmt: skip
# What the table shows; .frame has every column (group, person, source, …) for export.
_SHOWN: Final = ("kind", "name", "asset_type", "status", "error_code", "error_message", "id", "updated_at")
# An upload intent ("sending") is awaited only this long: one left by a killed kernel never resolves
# by itself (a rerun of the upload reconciles it), and must not keep the table refreshing forever.
SENDING_GRACE: Final = timedelta(minutes=2)
_TEXT_ROWS: Final = 40


class StatusTable(LiveWidget):
    """A live table of a client's assets and jobs: ``.frame`` is the current DataFrame.

    ``group_id`` / ``person`` keep the assets of one group or person, and then only the jobs that
    reference one of them (a job belongs to no group). A ``Ledger`` instead of a client shows every
    provider's rows and sends no requests.
    """

    state = traitlets.Unicode(STATES[0], help=f"Where the refresh stands: {' | '.join(STATES)}")
    rounds = traitlets.Int(0, help="How many refresh rounds have run")
    refresh = traitlets.Float(5.0, help="Seconds between background refresh rounds")

    def __init__(
        self,
        client_or_ledger: AsyncClient | Ledger,
        *,
        group_id: str | None = None,
        person: str | None = None,
        refresh: float = 5.0,
        jobs: bool = True,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        super().__init__(clock=clock, sleep=sleep)
        if isinstance(client_or_ledger, Ledger):
            self._client: AsyncClient | None = None
            self._ledger = client_or_ledger
            self._provider: str | None = None
        elif isinstance(getattr(client_or_ledger, "ledger", None), Ledger):
            self._client = client_or_ledger
            self._ledger = client_or_ledger.ledger
            self._provider = client_or_ledger.ledger_name
        else:
            kind = type(client_or_ledger).__name__
            raise ConfigurationError(f"StatusTable shows the rows of an ra.AsyncClient or an ra.Ledger, not a {kind}.")
        self.refresh = refresh
        self.group_id, self.person, self._with_jobs = group_id, person, jobs
        self._frame = pd.DataFrame(columns=list(COLUMNS))
        self._error: str | None = None
        self._exception: BaseException | None = None
        self._round_lock = asyncio.Lock()  # the button and the background loop never look at once
        self._runner: asyncio.Task[None] | None = None
        self._summary = widgets.HTML()
        self._table = widgets.HTML()
        self.button = widgets.Button(description="Refresh", icon="refresh", tooltip="Look at every pending row now")
        self.button.on_click(self.on_home(self._on_click))
        self.children = (widgets.HBox([self._summary, self.button]), self._table)
        self._reread()
        if self._pending():
            self._start()
        else:  # terminal rows stay terminal: nothing to look at
            self.state = "done"
        self._render()

    @traitlets.validate("refresh")
    def _valid_refresh(self, proposal: dict[str, Any]) -> float:
        if not proposal["value"] > 0:
            raise traitlets.TraitError(f"refresh is seconds between rounds and must be positive: {proposal['value']}")
        return float(proposal["value"])

    @traitlets.observe("state")
    def _state_changed(self, change: dict[str, Any]) -> None:
        self._notify()  # done() waits on this

    # -- what the caller reads ------------------------------------------------------------

    @property
    def frame(self) -> pd.DataFrame:
        """Return a copy of the current table (columns ``COLUMNS``, even when it has no rows)."""
        return self._frame.copy()

    def summary(self) -> str:
        """Return one line: how many rows, how many in each status, and what the refresh is doing."""
        kinds, counts = Counter(self._frame["kind"]), self._counts()
        rows = f"{kinds['asset']} assets" + (f", {kinds['job']} jobs" if self._with_jobs else "")
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing yet"
        return f"{rows}: {statuses} — {self._doing()}"

    def _counts(self) -> Counter[str]:
        return Counter("unknown" if is_missing(s) else str(s) for s in self._frame["status"])

    def _doing(self) -> str:
        if self.state == "error":
            return f"refresh failed: {self._error}"
        retrying = f"; {self._error}" if self._error else ""
        return {
            "idle": "not refreshing yet (await table.done() or press Refresh)",
            "refreshing": f"refreshing every {self.refresh:g} s (round {self.rounds}{retrying})",
            "done": f"all terminal after {self.rounds} rounds; refresh stopped" if self.rounds else "all terminal",
            "stopped": f"refresh stopped after {self.rounds} rounds",
        }[self.state]

    def fallback_text(self) -> str:
        shown = printable_cells(self._frame)  # names and provider messages: no raw escapes into a terminal
        body = shown.to_string(index=False, max_rows=_TEXT_ROWS, max_colwidth=60) if len(shown) else ""
        return f"{self.summary()}\n{body}".rstrip()

    def fallback_html(self) -> str:
        return f"<div>{self._summary_html()}{self._table_html()}</div>"

    def _table_html(self, max_rows: int = 500) -> str:
        shown = [c for c in _SHOWN if c in self._frame.columns]
        return frame_html(
            self._frame[shown], status_columns=("status",), problem_column="error_code", max_rows=max_rows
        )

    def _summary_html(self) -> str:
        counts = self._counts()
        badges = ", ".join(status_badge(s, f"{n} {s}") for s, n in sorted(counts.items())) or "nothing yet"
        doing = html.escape(self._doing())
        colour = ' style="color:#cf222e"' if self.state == "error" else ""
        return f"<p>{len(self._frame)} rows: {badges} — <span{colour}>{doing}</span></p>"

    # -- refreshing -----------------------------------------------------------------------

    async def refresh_now(self) -> pd.DataFrame:
        """Return the table after one round now (pending statuses looked up, the ledger re-read).

        A round that finds rows pending after the table had finished (or failed) resumes the
        background refresh; errors are shown in the widget and raised here.
        """
        try:
            await self._round()
        except Exception as exc:
            self.show_error(exc)
            raise
        self._after_manual_round()
        return self.frame

    async def done(self) -> pd.DataFrame:
        """Return the table once every row is terminal, starting the refresh if nothing runs it.

        After an error it tries again; returns at once when the refresh was stopped, and raises the
        error that ends this wait, if one does.
        """
        if self.state in ("idle", "refreshing", "error"):
            self._start()
        while self.state == "refreshing":
            await self._next_change()
        self.publish()
        if self.state == "error" and self._exception is not None:
            raise self._exception
        return self.frame

    def stop(self) -> None:
        """Stop the background refresh (the table keeps its rows; Refresh still runs single rounds)."""
        if self._runner is not None:
            self._runner.cancel()
            self._runner = None
        self.state = "stopped"
        self._render()
        self.publish()

    def close(self) -> None:
        """Stop the refresh and close the widget's views."""
        if self.state in ("idle", "refreshing"):
            self.state = "stopped"
        super().close()

    def _start(self) -> None:
        if self._runner is not None and not self._runner.done():
            return
        self._error = None  # a failed round of an earlier run is no news to this one
        self.state = "refreshing"
        self._runner = self._spawn(self._run())
        if self._runner is None:  # no running loop (plain Python): done() or Refresh starts it later
            self.state = "idle"
        else:
            self._runner.add_done_callback(self._runner_ended)
        self._render()

    def _runner_ended(self, task: asyncio.Task[None]) -> None:
        # Cancelled from outside (the kernel, close()): say so, or done() would wait for ever.
        if task.cancelled() and self.state == "refreshing" and self._runner in (task, None):
            self.state = "stopped"
            self._render()

    async def _run(self) -> None:
        # Failed rounds are waited out as every wait does (_polling.FAILED_LOOKS); the error that ends
        # the task reaches show_error through LiveWidget, which keeps the table.
        async for _ in iter_status(
            self._pending_after_round,
            is_terminal=lambda pending: not pending,
            interval=self.refresh,
            sleep=lambda _seconds: self._sleep(self.refresh),  # refresh may change between rounds
            what="the status table",
        ):
            pass
        self.state = "done"
        self._render()
        self.publish()

    async def _pending_after_round(self) -> bool:
        try:
            await self._round()
        except TRANSIENT as exc:  # said in the summary while the next round is awaited
            self._error = f"round {self.rounds + 1} failed ({printable(str(exc))}); trying again"
            self._render()
            raise
        return self._pending()

    async def _round(self) -> None:
        async with self._round_lock:
            if self._client is not None:
                assets = [_asset(row) for row in self._rows("asset") if row["id"] and row["status"] != SENDING]
                pending = [a for a in assets if a.status not in ASSET_TERMINAL]
                if pending:  # one call: a list per group where the provider lists, else a look per asset
                    await self._client.refresh_assets(pending)
                running = [row["id"] for row in self._rows("job") if row["status"] not in JOB_TERMINAL]
                await asyncio.gather(*(self._client.get_job(job_id) for job_id in running))
            self._reread()
            self.rounds += 1
            self._error = self._exception = None
            self._render()

    def _after_manual_round(self) -> None:
        if self._pending() and self.state in ("done", "error"):
            self._start()
        elif not self._pending() and self.state in ("idle", "error"):
            self.state = "done"
        self._render()
        self.publish()

    def _on_click(self, _button: widgets.Button) -> None:
        if self._spawn(self._click_round()) is None:
            self._on_error("Refresh needs a running event loop (a Jupyter kernel has one).")

    async def _click_round(self) -> None:
        await self._round()  # an error reaches show_error through the task's done callback
        self._after_manual_round()

    def show_error(self, exc: BaseException) -> None:
        self._exception = exc
        super().show_error(exc)

    def _on_error(self, text: str) -> None:
        self._error = text
        self.state = "error"
        self._render()
        self.publish()

    # -- rows -----------------------------------------------------------------------------

    def _rows(self, kind: str) -> list[dict[str, Any]]:
        frame = self._frame[self._frame["kind"] == kind]
        return [{str(k): (None if is_missing(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]

    def _pending(self) -> bool:
        """Return whether any row may still change: not terminal, or an upload answered moments ago."""
        now = self._clock()
        for row in self._rows("asset"):
            if row["status"] == SENDING:
                if now - datetime.fromisoformat(str(row["updated_at"])) < SENDING_GRACE:  # the ledger's UTC
                    return True
            elif row["status"] in (UNKNOWN, LOST):
                continue  # an upload whose answer was lost waits for a person (resolve_upload), not a refresh
            elif row["status"] not in ASSET_TERMINAL:
                return True
        return any(row["status"] not in JOB_TERMINAL for row in self._rows("job"))

    def _reread(self) -> None:
        assets = self._ledger.frame("assets")
        if self._provider is not None:
            assets = assets[assets["provider"] == self._provider]
        if self.group_id is not None:
            assets = assets[assets["group_id"] == self.group_id]
        if self.person is not None:
            assets = assets[assets["person"] == self.person]
        assets = assets.sort_values("key").assign(kind="asset")
        frames = [assets.reindex(columns=list(COLUMNS))]
        if self._with_jobs:
            jobs = self._ledger.frame("jobs")
            jobs = jobs[~jobs["id"].astype(str).str.startswith("intent:")]  # a create in flight has no job yet
            if self._provider is not None:
                jobs = jobs[jobs["provider"] == self._provider]
            if self.group_id is not None or self.person is not None:
                uris = {f"asset://{i}" for i in assets["id"].dropna()}
                jobs = jobs[jobs["refs"].map(lambda refs: bool(uris & set(json.loads(refs or "[]")))).astype(bool)]
            jobs = jobs.sort_values("created_at").assign(
                kind="job", name=jobs["prompt"].map(_short), source=None, group_id=None, person=None, asset_type=None
            )
            frames.append(jobs.reindex(columns=list(COLUMNS)))
        rows = [f for f in frames if len(f)]
        self._frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=list(COLUMNS))
        self._frame = self._frame.astype(object).where(self._frame.notna(), None)

    def _render(self) -> None:
        self._summary.value = self._summary_html()
        self._table.value = self._table_html()

    # -- export ---------------------------------------------------------------------------

    @overload
    def to_csv(self, path: None = None) -> str: ...
    @overload
    def to_csv(self, path: str | os.PathLike[str]) -> Path: ...
    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str | Path:
        """Return the table as CSV text, or write it to ``path`` and return the path (formula-like text neutralised)."""
        if path is None:
            return csv_text(self._frame)
        return write_report(self._frame, path, format="csv")

    def export(self, path: str | os.PathLike[str]) -> Path:
        """Write the table as CSV, Parquet or a standalone HTML page (from the suffix); return the path."""
        target = Path(path)
        if target.suffix.lower() not in (".html", ".htm"):
            return write_report(self._frame, target)  # .csv / .parquet; any other suffix says what to use
        target.parent.mkdir(parents=True, exist_ok=True)
        page = f"<h1>Asset status</h1>{self._summary_html()}{self._table_html(max_rows=len(self._frame))}"
        target.write_text(
            "<!doctype html><html><head><meta charset='utf-8'><title>Asset status</title></head>"
            f"<body style='font-family:sans-serif;margin:2em'>{page}</body></html>",
            encoding="utf-8",
        )
        return target


def _asset(row: dict[str, Any]) -> Asset:
    fields = ("id", "group_id", "status", "name", "asset_type", "error_code", "error_message", "source")
    return Asset(**{name: row[name] for name in fields})


def _short(prompt: Any) -> Any:
    return prompt[:59] + "…" if isinstance(prompt, str) and len(prompt) > 60 else prompt
