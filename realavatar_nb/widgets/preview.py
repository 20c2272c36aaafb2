"""A generation job followed live, then played inline from a local copy; several side by side make a gallery.

The video is always the file the client downloaded, never the provider's URL: that URL expires
(24 h upstream) and needs a network, while a saved notebook should play offline for as long as
it is kept. The fallback HTML embeds small files as a data URI for the same reason.
"""

from __future__ import annotations

import asyncio
import base64
import html
import inspect
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, get_args

import ipywidgets as widgets
import traitlets

from .._config import default_data_dir
from .._display import html_table, printable
from .._models import Asset, GenerationJob
from .._polling import iter_status
from .._types import JOB_TERMINAL, JobStatus
from ..media.probe import MediaInfo, probe
from ._base import Clock, LiveWidget, Sleep, status_badge

if TYPE_CHECKING:
    from .._client import AsyncClient

__all__ = ["STATUSES", "Gallery", "GenerationPreviewer"]

STATUSES: Final = ("", "submitting", *get_args(JobStatus), "error")
"""Every ``GenerationPreviewer.status``: not started, being submitted, the job's own status, or failed here."""

log = logging.getLogger("realavatar_nb.widgets")

EMBED_LIMIT = 8 * 1024 * 1024
"""Videos up to this size are also embedded in the fallback HTML; bigger ones would bloat a saved notebook."""
PLAY_LIMIT = 256 * 1024 * 1024
"""Videos up to this size are read into memory and played inline; a bigger one (a hostile or broken server
can send up to REALAVATAR_MAX_DOWNLOAD_BYTES) is shown by its path instead of being held by the kernel."""

# A bar per stage: jobs report no reliable percentage on every provider, but the stage is always known.
_STAGE = {"": 0.05, "submitting": 0.1, "queued": 0.3, "running": 0.6}
_ENDED_BADLY = frozenset({"failed", "cancelled", "expired", "error"})


class GenerationPreviewer(LiveWidget):
    """A live view of one generation job: status and progress while it runs, then the video and its details."""

    status = traitlets.Unicode(STATUSES[0], help=f"Where the job stands: {' | '.join(map(repr, STATUSES))}")
    job_id = traitlets.Unicode("", help="The provider's id of the job, once known.")
    elapsed = traitlets.Float(0.0, help="Seconds since the previewer started following the job (injected clock).")
    path = traitlets.Unicode("", help="The local video file, once downloaded.")
    error_code = traitlets.Unicode("", help="The provider's error code when the job failed.")
    error_message = traitlets.Unicode("", help="The provider's message when the job failed, or what went wrong.")

    def __init__(
        self,
        client: AsyncClient,
        job_or_request: GenerationJob | str | Mapping[str, Any],
        *,
        out_dir: str | Path | None = None,
        embed_limit: int = EMBED_LIMIT,
        play_limit: int = PLAY_LIMIT,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(clock=clock, sleep=sleep, **kwargs)
        self._client = client
        self._out_dir = Path(out_dir) if out_dir is not None else default_data_dir() / "videos"
        self._embed_limit = int(embed_limit)
        self._play_limit = max(int(play_limit), self._embed_limit)
        self._job: GenerationJob | None = None
        self._request: dict[str, Any] | None = None
        self._prompt: str | None = None
        self._assets: tuple[str, ...] = ()
        self._info: MediaInfo | None = None
        self._video: bytes | None = None
        self._started: datetime | None = None
        if isinstance(job_or_request, GenerationJob):
            self._job = job_or_request
            self.job_id, self.status = job_or_request.id, job_or_request.status
        elif isinstance(job_or_request, str) and job_or_request.strip():
            self.job_id = job_or_request.strip()
        elif isinstance(job_or_request, Mapping):
            self._request = _checked_request(client, job_or_request)
            self._prompt = str(self._request["prompt"])
            self._assets = _uris(self._request.get("references", ()))
            self.status = "submitting"
        else:
            raise TypeError(
                "GenerationPreviewer takes a GenerationJob, a job id, or a dict of client.generate arguments "
                f"(prompt=..., references=[...]); got {type(job_or_request).__name__}."
            )
        self._header = widgets.HTML()
        self._bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, bar_style="info")
        self._details = widgets.HTML()
        self._player: widgets.DOMWidget | None = None  # a Video, or a note when the file is too large to embed
        self._refresh()
        self._task = self._spawn(self._run())  # None outside a running loop: done() starts it

    # -- the work -------------------------------------------------------------------------

    async def done(self) -> GenerationJob:
        """Return the job once it is terminal (and its video downloaded); a failed job is shown, not raised.

        Raises the typed error that stopped the previewer (a refused request, a network failure).
        """
        if self._task is None:
            self._task = self._spawn(self._run())
        assert self._task is not None  # we are awaited, so a loop runs
        try:
            # shield: interrupting the awaiting cell should not stop the widget following its job.
            return await asyncio.shield(self._task)
        except Exception as exc:
            if self.status != "error":
                self.show_error(exc)
            raise
        finally:
            self.publish()

    async def _run(self) -> GenerationJob:
        client = self._client
        self._started = self._clock()
        if self._request is not None:
            job = self._adopt(await client.generate(**self._request))
        else:
            job = self._adopt(self._job or await client.get_job(self.job_id))
            self._recall(job.id)
        if job.status not in JOB_TERMINAL:
            job_id = job.id
            # The client's one way to wait: a failed look or two (a 502, a dropped connection) is waited out.
            async for look in iter_status(
                lambda: client.get_job(job_id), is_terminal=lambda j: j.status in JOB_TERMINAL,
                interval=client.poll_interval, sleep=self._sleep,
            ):  # fmt: skip
                job = self._adopt(look)
        if job.status == "succeeded":
            await self._fetch(job)
        self._refresh()
        self.publish()
        return job

    def _adopt(self, job: GenerationJob) -> GenerationJob:
        """Take a fresh look at the job, keeping what an earlier look knew that this one omits."""
        if self._job is not None:
            job = replace(job, model=job.model or self._job.model, references=job.references or self._job.references)
        self._job = job
        self._assets = self._assets or _uris(job.references)
        self.job_id, self.status = job.id, job.status
        self.error_code, self.error_message = job.error_code or "", job.error_message or ""
        self._tick()
        return job

    def _recall(self, job_id: str) -> None:
        # A job passed by id or object carries no prompt (and often no references): the ledger has them.
        try:
            jobs = self._client.ledger.frame("jobs")
        except Exception:  # a client without a readable ledger still previews
            return
        row = jobs[(jobs["id"] == job_id) & (jobs["provider"] == self._client.ledger_name)]
        if not row.empty:
            self._prompt = self._prompt or str(row.iloc[0]["prompt"] or "") or None
            self._assets = self._assets or _uris(_json_list(row.iloc[0]["refs"]))

    async def _fetch(self, job: GenerationJob) -> None:
        target = self._out_dir / f"{re.sub(r'[^A-Za-z0-9._-]', '_', job.id)}.mp4"
        # A finished download is kept: rerunning the cell after the URL expired still plays it.
        if not target.exists():
            target = await self._client.download(job, target)
        self._info, self._video = await asyncio.to_thread(_read, target, self._play_limit)
        self.path = str(target)
        if self._video is not None:
            self._player = widgets.Video(value=self._video, format="mp4", controls=True, loop=False, autoplay=False,
                                         layout=_player_size(self._info))  # fmt: skip
        else:
            self._player = widgets.HTML(f"<p>{html.escape(_too_large_note(self._info, self._play_limit))}</p>")
        self._tick()

    def _tick(self) -> None:
        if self._started is not None:
            self.elapsed = round((self._clock() - self._started).total_seconds(), 3)
        self._refresh()
        self._notify()

    def _on_error(self, text: str) -> None:
        self.status, self.error_message = "error", text
        self._tick()

    # -- what it shows --------------------------------------------------------------------

    def _refresh(self) -> None:
        self._header.value = self._header_html()
        running = self.status in _STAGE
        self._bar.value, self._bar.description = _STAGE.get(self.status, 1.0), self.status or "starting"
        self._bar.layout.display = None if running else "none"
        self._details.value = self._body_html()
        self.children = [w for w in (self._header, self._bar, self._player, self._details) if w is not None]

    def _header_html(self) -> str:
        what = html.escape(printable(self.job_id or "new job"))
        return (
            f"<div><strong>Job {what}</strong> · {status_badge(self.status or 'starting')} · {self.elapsed:.1f} s</div>"
        )

    def _rows(self) -> list[tuple[str, Any]]:
        info = self._info
        rows: list[tuple[str, Any]] = []
        if info is not None:
            rows.append(("duration", f"{info.duration_s:.1f} s" if info.duration_s else "unknown"))
            rows.append(("resolution", f"{info.width}×{info.height}" if info.pixels else "unknown"))
            rows.append(("file size", _size(info.size_bytes)))
        rows.append(("model", (self._job.model if self._job else None) or ""))
        rows.append(("assets", ", ".join(self._assets) or "none"))
        rows.append(("prompt", self._prompt or ""))
        if self.path:
            rows.append(("saved to", self.path))
        return rows

    def _body_html(self) -> str:
        if self.status in _ENDED_BADLY:
            title = f"{self.status}: {printable(self.error_code)}" if self.error_code else self.status
            message = html.escape(printable(self.error_message or "no message"))
            problem = (
                '<div style="border-left:4px solid #cf222e;background:#ffebe9;padding:4px 8px">'
                f"<strong>{html.escape(title)}</strong><br>{message}</div>"
            )
            return problem + html_table("Details", self._rows())
        return html_table("Details", self._rows())

    def fallback_text(self) -> str:
        """Return one summary line (status, timing, video facts, where it was saved), then the details."""
        head = f"Job {self.job_id or '(new)'}: {self.status or 'starting'}"
        info = self._info
        if self.status == "succeeded" and info is not None:
            shape = f"{info.width}×{info.height}" if info.pixels else "unknown size"
            length = f"{info.duration_s:.1f} s" if info.duration_s else "unknown length"
            model = (self._job.model if self._job else None) or "unknown"
            head += f" in {self.elapsed:.1f} s — {length} {shape} video, {_size(info.size_bytes)}, model {model}"
            head += f", saved to {printable(self.path)}"
        elif self.status in _ENDED_BADLY:
            head += f" after {self.elapsed:.1f} s — {printable(self.error_code) + ': ' if self.error_code else ''}"
            head += printable(self.error_message)
        else:
            head += f" for {self.elapsed:.1f} s"
        extra = [f"  {label}: {value}" for label, value in self._rows() if label in ("assets", "prompt") and value]
        return "\n".join([head, *extra])

    def fallback_html(self) -> str:
        """Return the header and details as static HTML, with the video embedded when it is small."""
        parts = [self._header_html(), self._body_html()]
        if self._video is not None and len(self._video) <= self._embed_limit:
            data = base64.b64encode(self._video).decode("ascii")
            parts.append(f'<video controls style="max-width:100%" src="data:video/mp4;base64,{data}"></video>')
        elif self.path:
            note = "" if self._video is not None else f" ({_too_large_note(self._info, self._play_limit)})"
            parts.append(f"<p>Video: <code>{html.escape(printable(self.path))}</code>{html.escape(note)}</p>")
        return f"<div>{''.join(parts)}</div>"


class Gallery(LiveWidget):
    """Several previewers side by side in a grid; ``await gallery.done()`` returns every job."""

    columns = traitlets.Int(3, help="How many previewers per row.")

    def __init__(self, previewers: Iterable[GenerationPreviewer], *, columns: int = 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.previewers: tuple[GenerationPreviewer, ...] = tuple(previewers)
        self.columns = max(1, int(columns))
        grid = widgets.GridBox(
            children=self.previewers,
            layout=widgets.Layout(grid_template_columns=f"repeat({self.columns}, minmax(0, 1fr))", grid_gap="12px"),
        )
        self.children = (grid,)

    async def done(self) -> list[GenerationJob]:
        """Return every previewer's final job, in order; raises the first error that stopped one."""
        try:
            return list(await asyncio.gather(*(p.done() for p in self.previewers)))
        finally:
            self.publish()

    def _on_error(self, text: str) -> None:
        log.warning("Gallery: %s", text)  # the gallery runs no work of its own; each previewer shows its errors

    def fallback_text(self) -> str:
        """Return a count of the jobs by status, then each previewer's text."""
        counts: dict[str, int] = {}
        for p in self.previewers:
            counts[p.status or "starting"] = counts.get(p.status or "starting", 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in counts.items()) or "empty"
        return "\n\n".join([f"Gallery of {len(self.previewers)} generations: {summary}"] +
                           [p.fallback_text() for p in self.previewers])  # fmt: skip

    def fallback_html(self) -> str:
        """Return the previewers' static HTML in the same grid."""
        cells = "".join(f"<div>{p.fallback_html()}</div>" for p in self.previewers)
        grid = f"display:grid;grid-template-columns:repeat({self.columns}, minmax(0, 1fr));gap:12px"
        return f'<div style="{grid}">{cells}</div>'


def _checked_request(client: AsyncClient, request: Mapping[str, Any]) -> dict[str, Any]:
    """Return the request as a dict once it names a prompt and only arguments ``client.generate`` takes."""
    accepted = set(inspect.signature(client.generate).parameters)
    unknown = sorted(set(request) - accepted)
    if unknown or not isinstance(request.get("prompt"), str):
        why = f"unknown argument(s) {', '.join(unknown)}" if unknown else "no prompt"
        raise TypeError(f"The request has {why}; client.generate takes {', '.join(sorted(accepted))}.")
    return dict(request)


def _uris(references: Iterable[Asset | str]) -> tuple[str, ...]:
    return tuple(r.uri if isinstance(r, Asset) else f"asset://{str(r).removeprefix('asset://')}" for r in references)


def _json_list(raw: Any) -> list[str]:
    try:
        value = json.loads(raw) if isinstance(raw, str) else []
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _read(path: Path, limit: int) -> tuple[MediaInfo, bytes | None]:
    """Return the video's facts, and its bytes only when it fits ``limit`` (the size is looked at first)."""
    info = probe(path, hash=False)
    if path.stat().st_size > limit:
        return info, None
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)  # never more than the cap, even if the file grew since the stat
    return info, data if len(data) <= limit else None


def _too_large_note(info: MediaInfo | None, limit: int) -> str:
    size = _size(info.size_bytes) if info is not None else "the file"
    return f"{size}: too large to play inline (over {_size(limit)}); open the saved file instead"


def _size(n: int | None) -> str:
    if n is None:
        return "unknown size"
    if n < 1024:
        return f"{n} B"
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def _player_size(info: MediaInfo | None) -> widgets.Layout:
    """Return a player layout that fits a 480 × 360 box at the video's own aspect (portrait clips stay small)."""
    width, height = (info.width, info.height) if info is not None and info.width and info.height else (16, 9)
    scale = min(480 / width, 360 / height)
    return widgets.Layout(width=f"{round(width * scale)}px", height=f"{round(height * scale)}px")
