"""What a grid of requests will cost before it is sent, from the dated price table; unknown stays unknown.

A request's tokens follow upstream's billing (``prices.tokens_for``: input video seconds plus output
seconds, times the frame's pixels and 24 fps, over 1024, with the extra frame measured usage shows),
priced by the seller's row for its family, resolution and whether a reference video is sent. A seller
or model with no published price is a row with no cost, never a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from .catalog import model_spec
from .prices import Price, cost, price_for, tokens_for
from .request import SMART_DURATION, GenerationRequest

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Estimate", "EstimateRow", "estimate_one", "output_size"]

_SHORT_SIDE: Final = {"480p": 480, "720p": 720, "1080p": 1080, "4k": 2160}
_RATIOS: Final = {"16:9": (16, 9), "4:3": (4, 3), "1:1": (1, 1), "3:4": (3, 4), "9:16": (9, 16), "21:9": (21, 9)}


def output_size(ratio: str, resolution: str) -> tuple[int, int]:
    """Return the output's width and height: the short side is the resolution's number (1280x720 for 720p 16:9).

    ``adaptive`` follows the first image, unknown before the job runs: it is estimated as 16:9, whose
    pixel count every ratio of a resolution shares to within a few percent.
    """
    w, h = _RATIOS.get(ratio, (16, 9))
    short = _SHORT_SIDE.get(resolution, 720)
    return (round(short * w / h), short) if w >= h else (short, round(short * h / w))


@dataclass(frozen=True)
class EstimateRow:
    """One request's estimate: tokens always, cost only where a price is published."""

    label: str
    model: str
    family: str | None
    resolution: str
    seconds: int
    tokens: int
    price: Price | None
    cost: float | None
    note: str = ""


def estimate_one(request: GenerationRequest, provider: str, model: str, video_seconds: float = 0.0) -> EstimateRow:
    """Return one request's estimate at ``provider``'s ``model`` (``video_seconds``: its reference videos' total)."""
    spec = model_spec(provider, model)
    notes = []
    seconds = request.duration
    if seconds == SMART_DURATION:
        seconds = spec.max_duration if spec else 15
        notes.append(f"duration -1 estimated at its longest, {seconds} s")
    width, height = output_size(request.ratio, request.resolution)
    tokens = tokens_for(width, height, seconds, video_seconds, plus_one_frame=True)
    has_video = any(r.kind == "Video" for r in request.references)
    price = price_for(provider, spec.family, request.resolution, has_video) if spec else None
    if spec is None:
        notes.append(f"{model} is not in the model table")
    elif price is None:
        notes.append(f"no published price for {provider}'s {spec.title} at {request.resolution}")
    elif price.note:
        notes.append(price.note)
    return EstimateRow(label=request.label or request.prompt[:40], model=model, family=spec.family if spec else None,
                       resolution=request.resolution, seconds=seconds, tokens=tokens, price=price,
                       cost=cost(price, tokens, seconds) if price else None, note="; ".join(notes))  # fmt: skip


@dataclass(frozen=True)
class Estimate:
    """A grid's estimate: a row per request, the total of what is priced, and how many are not."""

    provider: str
    rows: tuple[EstimateRow, ...]

    @property
    def total(self) -> float:
        """The sum of the priced rows' costs (in ``currency``)."""
        return sum(r.cost for r in self.rows if r.cost is not None)

    @property
    def currency(self) -> str | None:
        currencies = {r.price.currency for r in self.rows if r.price is not None}
        return currencies.pop() if len(currencies) == 1 else None

    @property
    def unpriced(self) -> int:
        """How many requests have no published price (their cost is unknown, not zero)."""
        return sum(1 for r in self.rows if r.cost is None)

    @property
    def tokens(self) -> int:
        return sum(r.tokens for r in self.rows)

    def frame(self) -> pd.DataFrame:
        """Return the rows as a DataFrame: label, model, resolution, seconds, tokens, cost, currency, source, note."""
        import pandas as pd

        return pd.DataFrame([
            {"label": r.label, "model": r.model, "family": r.family, "resolution": r.resolution,
             "seconds": r.seconds, "tokens": r.tokens, "cost": r.cost,
             "currency": r.price.currency if r.price else None,
             "price_as_of": r.price.as_of if r.price else None, "source": r.price.source if r.price else None,
             "note": r.note}
            for r in self.rows
        ])  # fmt: skip

    def summary(self) -> str:
        """One line: the total, its currency and what is not priced."""
        priced = self.unpriced < len(self.rows)
        known = f"{self.total:.4f} {self.currency or '(mixed currencies)'}" if priced else "unknown"
        unknown = f"; {self.unpriced} of {len(self.rows)} have no published price" if self.unpriced else ""
        return f"{len(self.rows)} jobs at {self.provider}: {self.tokens:,} tokens, cost {known}{unknown}"

    def __repr__(self) -> str:
        return f"Estimate({self.summary()})"

    def _repr_html_(self) -> str:
        from html import escape

        return f"<p>{escape(self.summary())}</p>" + self.frame().to_html(index=False)

    def _repr_mimebundle_(self, **_: Any) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}


def estimate_many(rows: Sequence[EstimateRow], provider: str) -> Estimate:
    """Return the estimate of a grid from its rows."""
    return Estimate(provider=provider, rows=tuple(rows))
