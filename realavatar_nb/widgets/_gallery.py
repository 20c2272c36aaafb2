"""Several generation previewers side by side in a grid, whose videos can be started and stopped together."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

import ipywidgets as widgets
import traitlets

from ._base import LiveWidget

if TYPE_CHECKING:
    from .._models import GenerationJob
    from .preview import GenerationPreviewer

__all__ = ["Gallery"]

log = logging.getLogger("realavatar_nb.widgets")

# The saved page's controls: one click acts on every <video> of its own grid in the same script turn.
# "Play all" brings every video to the first one's position before playing, so a clip scrubbed alone
# rejoins the others. Attribute-escaped below; single quotes only inside.
_SYNC_SCRIPTS: Final = {
    "Play all": "var vs=this.closest('.ra-gallery').querySelectorAll('video'),t=vs.length?vs[0].currentTime:0;"
                "vs.forEach(function(v){v.loop=true;v.currentTime=Math.min(t,v.duration||t);v.play();});",
    "Pause all": "this.closest('.ra-gallery').querySelectorAll('video').forEach(function(v){v.pause();});",
    "Restart all": "this.closest('.ra-gallery').querySelectorAll('video').forEach(function(v){v.loop=true;"
                   "v.currentTime=0;v.play();});",
}  # fmt: skip


class Gallery(LiveWidget):
    """Several previewers side by side in a grid; ``await gallery.done()`` returns every job.

    "Play all", "Pause all" and "Restart all" drive every video of the grid together, for comparing
    takes side by side. What "together" means depends on where the grid is seen:

    * **Live (JupyterLab, a running kernel).** The kernel cannot reach a browser player's position,
      so a control re-creates every player at once: "Play all" and "Restart all" make each start
      from its first frame as soon as the browser has it, looping (videos of one length stay
      aligned to within their load times, tens of milliseconds for clips held in the kernel);
      "Pause all" stops every player on its first frame. "Play all" leaves an already playing grid
      alone; "Restart all" always starts it over.
    * **Saved page (nbconvert HTML, a trusted notebook's output).** The same three buttons run one
      script over the grid's ``<video>`` elements in the same turn of the page: "Play all" aligns
      every video on the first one's position and plays, "Pause all" pauses each where it is,
      "Restart all" plays all from 0. Where scripts are stripped (GitHub, an untrusted notebook) the
      buttons do nothing and each video keeps its own controls.
    """

    columns = traitlets.Int(3, help="How many previewers per row.")
    playing = traitlets.Bool(False, help="Whether the grid's players were last started together (not paused).")

    def __init__(self, previewers: Iterable[GenerationPreviewer], *, columns: int = 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.previewers: tuple[GenerationPreviewer, ...] = tuple(previewers)
        self.columns = max(1, int(columns))
        grid = widgets.GridBox(
            children=self.previewers,
            layout=widgets.Layout(grid_template_columns=f"repeat({self.columns}, minmax(0, 1fr))", grid_gap="12px"),
        )
        self.play_button = widgets.Button(description="Play all", icon="play", tooltip="Start every video together")
        self.pause_button = widgets.Button(description="Pause all", icon="pause", tooltip="Stop every video")
        self.restart_button = widgets.Button(description="Restart all", icon="refresh",
                                             tooltip="Start every video again from its first frame")  # fmt: skip
        self.play_button.on_click(self.on_home(lambda _: self.play_all()))
        self.pause_button.on_click(self.on_home(lambda _: self.pause_all()))
        self.restart_button.on_click(self.on_home(lambda _: self.restart_all()))
        self.controls = widgets.HBox([self.play_button, self.pause_button, self.restart_button])
        self.children = (grid, self.controls)

    # -- playing together -----------------------------------------------------------------

    def play_all(self) -> None:
        """Start every previewer's video from its first frame, looping, unless the grid already plays."""
        if not self.playing:
            self.restart_all()

    def restart_all(self) -> None:
        """Start every previewer's video again from its first frame, together, looping."""
        for previewer in self.previewers:
            previewer.replay(autoplay=True, loop=True)
        self.playing = True

    def pause_all(self) -> None:
        """Stop every previewer's video on its first frame (the kernel cannot see where a player is)."""
        for previewer in self.previewers:
            previewer.replay(autoplay=False, loop=True)
        self.playing = False

    # -- the work -------------------------------------------------------------------------

    async def done(self) -> list[GenerationJob]:
        """Return every previewer's final job, in order; raises the first error that stopped one."""
        try:
            return list(await asyncio.gather(*(p.done() for p in self.previewers)))
        finally:
            self.publish()

    def _on_error(self, text: str) -> None:
        log.warning("Gallery: %s", text)  # the gallery runs no work of its own; each previewer shows its errors

    # -- what a saved notebook shows --------------------------------------------------------

    def fallback_text(self) -> str:
        """Return a count of the jobs by status, then each previewer's text."""
        counts: dict[str, int] = {}
        for p in self.previewers:
            counts[p.status or "starting"] = counts.get(p.status or "starting", 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in counts.items()) or "empty"
        return "\n\n".join([f"Gallery of {len(self.previewers)} generations: {summary}"] +
                           [p.fallback_text() for p in self.previewers])  # fmt: skip

    def fallback_html(self) -> str:
        """Return the previewers' static HTML in the same grid, under the buttons that play its videos together."""
        cells = "".join(f"<div>{p.fallback_html()}</div>" for p in self.previewers)
        grid = f"display:grid;grid-template-columns:repeat({self.columns}, minmax(0, 1fr));gap:12px"
        buttons = "".join(
            f'<button type="button" class="ra-sync" onclick="{html.escape(script)}">{name}</button> '
            for name, script in _SYNC_SCRIPTS.items()
        )
        return f'<div class="ra-gallery"><div style="{grid}">{cells}</div><div>{buttons}</div></div>'
