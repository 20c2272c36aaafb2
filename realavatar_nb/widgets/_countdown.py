"""The link's 120 s as a countdown that keeps ticking in the browser while the kernel is busy.

The kernel sends ``seconds_left`` whenever it looks at the clock; the page counts down from the
last value it was sent on its own timer, so a long-running cell does not freeze the countdown,
and the page's clock never has to agree with the kernel's.
"""

from __future__ import annotations

import anywidget
import traitlets

__all__ = ["Countdown"]

_ESM = """
function render({ model, el }) {
  el.classList.add("ra-countdown");
  el.innerHTML = '<span class="ra-seconds"></span><div class="ra-track"><div class="ra-bar"></div></div>';
  const label = el.querySelector(".ra-seconds");
  const bar = el.querySelector(".ra-bar");
  let base = model.get("seconds_left");
  let at = performance.now();
  function draw() {
    const running = model.get("running");
    const left = Math.max(0, running ? base - (performance.now() - at) / 1000 : base);
    const total = Math.max(1, model.get("total"));
    label.textContent = running ? Math.ceil(left) + " s left" : model.get("label");
    bar.style.width = (100 * Math.min(left, total) / total) + "%";
    bar.style.background = left < 20 ? "#cf222e" : "#1a7f37";
  }
  model.on("change:seconds_left", () => { base = model.get("seconds_left"); at = performance.now(); draw(); });
  model.on("change:running", draw);
  model.on("change:label", draw);
  const timer = setInterval(draw, 250);
  draw();
  return () => clearInterval(timer);
}
export default { render };
"""

_CSS = """
.ra-countdown { font-family: sans-serif; min-width: 220px; }
.ra-countdown .ra-seconds { font-size: 1.6em; font-weight: 600; font-variant-numeric: tabular-nums; }
.ra-countdown .ra-track { height: 10px; background: #eaeef2; border-radius: 5px; overflow: hidden; margin-top: 4px; }
.ra-countdown .ra-bar { height: 100%; width: 100%; transition: width 0.25s linear; }
"""


class Countdown(anywidget.AnyWidget):
    """Seconds left and a shrinking bar; ticks in the page between the kernel's updates."""

    _esm = _ESM
    _css = _CSS
    seconds_left = traitlets.Float(0.0, help="Seconds left when the kernel last looked").tag(sync=True)
    total = traitlets.Float(120.0, help="The link's whole life in seconds (the bar's full width)").tag(sync=True)
    running = traitlets.Bool(False, help="Whether the page counts down on its own").tag(sync=True)
    label = traitlets.Unicode("", help="What shows instead of the seconds when not running").tag(sync=True)
