"""A generation job followed live, then played inline from a local copy beside its inputs; several make a gallery.

The video is always the file the client downloaded, never the provider's URL: that URL expires
(24 h upstream) and needs a network, while a saved notebook should play offline for as long as
it is kept. The fallback HTML embeds small files as a data URI for the same reason. The inputs
(``_inputs``) are shown from the local files they came from; a failure that names one outlines it.
"""

from __future__ import annotations

import asyncio
import base64
import html
import logging
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, get_args

import ipywidgets as widgets
import traitlets

from .._config import default_data_dir
from .._display import html_table, printable
from .._exceptions import RealAvatarError
from .._models import GenerationJob
from .._polling import iter_status
from .._types import JOB_TERMINAL, JobStatus
from ..generation.blame import blamed
from ..generation.request import GenerationRequest, request_from
from ..media.probe import MediaInfo
from ._base import Clock, LiveWidget, Sleep, status_badge
from ._gallery import Gallery
from ._inputs import (
    FAULT,
    PLAIN,
    InputItem,
    InputView,
    items_from_ledger,
    items_from_request,
    load,
    still,
    strip_html,
    strip_text,
    tile,
)
from ._job_ledger import fault_of, recall, spend, usage
from ._video_file import player_size, size_text, too_large_note
from ._video_file import read_video as _read  # the name tests and older callers use

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
LAST_FRAME_SIZE: Final = 240

# A bar per stage: jobs report no reliable percentage on every provider, but the stage is always known.
_STAGE = {"": 0.05, "submitting": 0.1, "queued": 0.3, "running": 0.6}
_ENDED_BADLY = frozenset({"failed", "cancelled", "expired", "error"})
# The previewer is a wrapping row: full-width lines (header, bar, last frame, details) around the player
# and its inputs, which sit side by side when the cell is wide enough and the inputs drop below when not.
_LINE: Final = "100%"


class GenerationPreviewer(LiveWidget):
    """A live view of one generation job: status and progress while it runs, then the video beside its inputs.

    Each input is a tile (position, role, label) with a thumbnail, a reference video's first frame or
    an audio player, read from its local file; the last frame (when asked for), the tokens billed and
    the cost follow. A failure that names an input (a refusal's ``index``, ``content[N]`` in a failed
    job's message) outlines that tile in red and says "reference N (label, role)".
    """

    status = traitlets.Unicode(STATUSES[0], help=f"Where the job stands: {' | '.join(map(repr, STATUSES))}")
    job_id = traitlets.Unicode("", help="The provider's id of the job, once known.")
    elapsed = traitlets.Float(0.0, help="Seconds since the previewer started following the job (injected clock).")
    path = traitlets.Unicode("", help="The local video file, once downloaded.")
    last_frame_path = traitlets.Unicode("", help="The local last-frame picture, once downloaded (return_last_frame).")
    error_code = traitlets.Unicode("", help="The provider's error code when the job failed.")
    error_message = traitlets.Unicode("", help="The provider's message when the job failed, or what went wrong.")
    at_fault = traitlets.Int(None, allow_none=True, help="The position in references (from 0) a failure names.")

    def __init__(
        self,
        client: AsyncClient,
        job_or_request: GenerationJob | GenerationRequest | str | Mapping[str, Any],
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
        self._request: GenerationRequest | None = None
        self._prompt: str | None = None
        self._label: str | None = None
        self._assets: tuple[str, ...] = ()
        self._items: list[InputItem] = []
        self._views: list[InputView] = []
        self._order: list[int | None] = []  # upstream's content[N] → position in references
        self._wants_last_frame = False
        self._last_frame_html = ""
        self._last_frame_note = ""
        self._spend: dict[str, Any] = {}
        self._info: MediaInfo | None = None
        self._video: bytes | None = None
        self._started: datetime | None = None
        self._take(job_or_request)
        self._header = widgets.HTML(layout=widgets.Layout(width=_LINE))
        self._bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, bar_style="info",
                                          layout=widgets.Layout(width=_LINE))  # fmt: skip
        self._details = widgets.HTML(layout=widgets.Layout(width=_LINE))
        self._frame = widgets.HTML(layout=widgets.Layout(width=_LINE))
        self._tiles: list[widgets.VBox] = []
        self._strip_title = widgets.HTML("<strong>Inputs</strong>")
        self._strip = widgets.VBox(layout=widgets.Layout(margin="0 0 0 12px"))
        self._player: widgets.DOMWidget | None = None  # a Video, or a note when the file is too large to embed
        self.layout = widgets.Layout(display="flex", flex_flow="row wrap", align_items="flex-start")
        self._refresh()
        self._task = self._spawn(self._run())  # None outside a running loop: done() starts it

    def _take(self, job_or_request: GenerationJob | GenerationRequest | str | Mapping[str, Any]) -> None:
        """Follow a job (or its id), or submit a request (``GenerationRequest``, or ``client.generate``'s arguments)."""
        if isinstance(job_or_request, GenerationJob):
            self._job = job_or_request
            self.job_id, self.status = job_or_request.id, job_or_request.status
        elif isinstance(job_or_request, str) and job_or_request.strip():
            self.job_id = job_or_request.strip()
        elif isinstance(job_or_request, GenerationRequest | Mapping):
            request = job_or_request if isinstance(job_or_request, GenerationRequest) else request_from(
                job_or_request)  # fmt: skip
            self._request, self._prompt, self._label = request, request.prompt, request.label
            self._assets = tuple(r.uri for r in request.references if r.is_asset and r.uri)
            self._wants_last_frame = request.return_last_frame
            self.status = "submitting"
        else:
            raise TypeError(
                "GenerationPreviewer takes a GenerationJob, a job id, a GenerationRequest or a dict of "
                f"client.generate arguments (prompt=..., references=[...]); got {type(job_or_request).__name__}."
            )

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
            self._items = items_from_request(self._request, self._asset_row)
            await self._show_inputs()
            try:
                job = self._adopt(await client.generate(self._request))
            except Exception as exc:
                self.at_fault = fault_of(exc, len(self._items))
                raise
            self._recall(job.id)
        else:
            job = self._adopt(self._job or await client.get_job(self.job_id))
            self._recall(job.id)
            await self._show_inputs()
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
        elif job.status in _ENDED_BADLY:
            self.at_fault = blamed(job.error_message, self._order)
        self._spend = spend(self._client, job.id) or self._spend
        self._refresh()
        self.publish()
        return job

    def _adopt(self, job: GenerationJob) -> GenerationJob:
        """Take a fresh look at the job, keeping what an earlier look knew that this one omits."""
        if self._job is not None:
            job = replace(job, model=job.model or self._job.model, references=job.references or self._job.references,
                          last_frame_url=job.last_frame_url or self._job.last_frame_url,
                          tokens=job.tokens if job.tokens is not None else self._job.tokens)  # fmt: skip
        self._job = job
        self._assets = self._assets or tuple(r if r.startswith("asset://") else f"asset://{r}" for r in job.references)
        self.job_id, self.status = job.id, job.status
        self.error_code, self.error_message = job.error_code or "", job.error_message or ""
        self._tick()
        return job

    def _asset_row(self, asset_id: str) -> Mapping[str, Any] | None:
        return self._client.ledger.asset_row(self._client.ledger_name, asset_id)

    def _recall(self, job_id: str) -> None:
        found = recall(self._client, job_id)
        self._prompt, self._label = self._prompt or found.prompt, self._label or found.label
        self._assets = self._assets or found.references
        self._order, self._spend = found.order, found.spend
        self._wants_last_frame = self._wants_last_frame or found.return_last_frame
        if not self._items and found.inputs:
            self._items = items_from_ledger(found.inputs, self._asset_row)

    async def _show_inputs(self) -> None:
        items = list(self._items)
        self._views = await asyncio.to_thread(lambda: [load(item) for item in items])  # decoding: off the loop
        self._tiles = [tile(view, view.item.position - 1 == self.at_fault) for view in self._views]
        self._tick()

    async def _fetch(self, job: GenerationJob) -> None:
        target = self._out_dir / f"{re.sub(r'[^A-Za-z0-9._-]', '_', job.id)}.mp4"
        # A finished download is kept: rerunning the cell after the URL expired still plays it.
        if not target.exists():
            target = await self._client.download(job, target)
        self._info, self._video = await asyncio.to_thread(_read, target, self._play_limit)
        self.path = str(target)
        self.replay(autoplay=False, loop=False)
        if self._wants_last_frame or job.last_frame_url:
            await self._fetch_last_frame(job, target.with_suffix(".png"))
        self._tick()

    async def _fetch_last_frame(self, job: GenerationJob, frame: Path) -> None:
        try:
            if not frame.exists() and job.last_frame_url:
                frame = await self._client.download(job, frame, last_frame=True)
            if frame.exists():
                self._last_frame_html = await asyncio.to_thread(still, str(frame), LAST_FRAME_SIZE, "last frame")
                self.last_frame_path = str(frame)
        except (RealAvatarError, OSError) as exc:  # the video is what was paid for: a missing still does not fail it
            self._last_frame_note = f"not fetched ({printable(str(exc))})"

    def replay(self, *, autoplay: bool, loop: bool) -> None:
        """Put a new player in place of the video's: it starts from its first frame at once (``autoplay``) or waits.

        The kernel cannot start or pause a browser's player; a new one, sent now, is how a gallery
        starts its videos together.
        """
        old = self._player
        if self._video is not None:
            self._player = widgets.Video(value=self._video, format="mp4", controls=True, loop=loop, autoplay=autoplay,
                                         layout=player_size(self._info))  # fmt: skip
        elif self.path and old is None:
            self._player = widgets.HTML(f"<p>{html.escape(too_large_note(self._info, self._play_limit))}</p>")
        else:
            return
        self._refresh()
        if old is not None:
            old.close()

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
        self._frame.value = f"<div><small>last frame</small><br>{self._last_frame_html}</div>" \
            if self._last_frame_html else ""  # fmt: skip
        for n, box in enumerate(self._tiles):
            box.layout.border = FAULT if n == self.at_fault else PLAIN
        if self._tiles:
            self._strip.children = [self._strip_title, *self._tiles]
        parts = (self._header, self._bar, self._player, self._strip, self._frame, self._details)
        self.children = [w for w in parts if w is not None]

    def _header_html(self) -> str:
        what = html.escape(printable(self.job_id or "new job"))
        label = f" · {html.escape(printable(self._label))}" if self._label else ""
        return f"<div><strong>Job {what}</strong>{label} · {status_badge(self.status or 'starting')} · " \
               f"{self.elapsed:.1f} s</div>"  # fmt: skip

    def _fault(self) -> str:
        """Return "reference N (label, role)" for the input a failure names, else ""."""
        n = self.at_fault
        return self._items[n].describe() if n is not None and 0 <= n < len(self._items) else ""

    def _rows(self) -> list[tuple[str, Any]]:
        info = self._info
        rows: list[tuple[str, Any]] = []
        if info is not None:
            rows.append(("duration", f"{info.duration_s:.1f} s" if info.duration_s else "unknown"))
            rows.append(("resolution", f"{info.width}×{info.height}" if info.pixels else "unknown"))
            rows.append(("file size", size_text(info.size_bytes)))
        rows.append(("model", (self._job.model if self._job else None) or ""))
        rows.append(("assets", ", ".join(self._assets) or "none"))
        if self._items:
            rows.append(("inputs", strip_text(self._items)))
        rows.append(("prompt", self._prompt or ""))
        tokens, cost = usage(self._spend, self._job.tokens if self._job else None)
        rows += [("tokens", tokens), ("cost", cost)]
        if self.last_frame_path:
            rows.append(("last frame", self.last_frame_path))
        elif self._wants_last_frame and self.status == "succeeded":
            rows.append(("last frame", self._last_frame_note or "asked for, not returned"))
        if self.path:
            rows.append(("saved to", self.path))
        return rows

    def _body_html(self) -> str:
        if self.status in _ENDED_BADLY:
            title = f"{self.status}: {printable(self.error_code)}" if self.error_code else self.status
            message = html.escape(printable(self.error_message or "no message"))
            fault = f"<br>At fault: {html.escape(self._fault())}" if self._fault() else ""
            problem = (
                '<div style="border-left:4px solid #cf222e;background:#ffebe9;padding:4px 8px">'
                f"<strong>{html.escape(title)}</strong><br>{message}{fault}</div>"
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
            head += f" in {self.elapsed:.1f} s — {length} {shape} video, {size_text(info.size_bytes)}, model {model}"
            head += f", saved to {printable(self.path)}"
        elif self.status in _ENDED_BADLY:
            head += f" after {self.elapsed:.1f} s — {printable(self.error_code) + ': ' if self.error_code else ''}"
            head += printable(self.error_message)
        else:
            head += f" for {self.elapsed:.1f} s"
        shown = ("assets", "inputs", "prompt", "tokens", "cost", "last frame")
        extra = [f"  {label}: {value}" for label, value in self._rows() if label in shown and value]
        if self._fault():
            extra.append(f"  at fault: {self._fault()}")
        return "\n".join([head, *extra])

    def fallback_html(self) -> str:
        """Return the header and details as static HTML: the video (embedded when small) beside its inputs."""
        media = []
        if self._video is not None and len(self._video) <= self._embed_limit:
            data = base64.b64encode(self._video).decode("ascii")
            media.append(f'<video controls style="max-width:100%" src="data:video/mp4;base64,{data}"></video>')
        elif self.path:
            note = "" if self._video is not None else f" ({too_large_note(self._info, self._play_limit)})"
            media.append(f"<p>Video: <code>{html.escape(printable(self.path))}</code>{html.escape(note)}</p>")
        if self._last_frame_html:
            media.append(f"<div><small>last frame</small><br>{self._last_frame_html}</div>")
        row = (f'<div style="display:flex;gap:12px;align-items:flex-start"><div>{"".join(media)}</div>'
               f"{strip_html(self._views, self.at_fault)}</div>")  # fmt: skip
        return f"<div>{self._header_html()}{row}{self._body_html()}</div>"
