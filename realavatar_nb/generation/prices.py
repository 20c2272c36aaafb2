"""Seedance 2.x prices as data: who charges what, per 1,000 tokens or per output second, with the source.

Every row is a figure a source states, read on ``as_of``; ``published`` is the source's own date when it has
one. Nothing is converted or guessed: a CNY list price stays CNY, a seller's credits stay credits, and a
reseller with no published price has no row (a reseller's price is never copied from upstream's). An
unknown price is simply absent, so :func:`price_for` returns ``None`` for it.

Billing (reference/upstream.md §4.6): ``tokens ≈ (input video s + output s) × W × H × fps / 1024``, charged
only for a successful output; the authoritative count is the task's ``usage.completion_tokens``. Sellers add
a minimum token count when the input has a video (docs.ai-tokenhub.com "Doubao-Seedance-2.0 Billing
Instructions"; Comfy-Org/docs pricing.mdx), which :func:`tokens_for` does not model.

Not found (so no rows): BytePlus's and Volcengine's own pricing pages could not be read in the stored copies
(docs.byteplus.com/api/docs/ModelArk/1544106 and volcengine.com/docs/82379/1544106 came back only as their
opening paragraphs); Volcengine's CNY prices for 2.0 1080p, 2.0 mini and 2.5; any published Seedance price
from toapis, APIMart (only third-party GitHub wikis quoting "observed" per-second figures), Crun, EasyRouter
or Anyfast. Other sellers of the same models publish prices too (Comfy, laozhang.ai, Crazyrouter,
cheapmodel.ai, PiAPI, read on the same day); they are not providers this client speaks, so they have no row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["PRICES", "READ_ON", "Price", "cost", "price_for", "tokens_for"]

READ_ON = "2026-12-03"
"""The day every figure below was read."""


@dataclass(frozen=True)
class Price:
    provider: str  # the seller who charges it: "byteplus", "volcengine" (the providers this client speaks)
    family: str  # "2.0", "2.0-fast", "2.0-mini", "2.5"
    resolution: str | None  # "480p"/"720p"/"1080p"/"4k", or None when one price covers all
    video_input: bool | None  # True: with a reference video; False: without; None: the same either way
    per_1k_tokens: float | None  # price per 1,000 tokens, or None if priced per second
    per_second: float | None  # price per output second where priced that way
    currency: str  # "USD" or "CNY", as stated
    as_of: str  # ISO date the figure was read
    source: str  # where it is stated (URL, or repo path @ commit)
    published: str | None = None  # the source's own ISO date, when it has one
    note: str = ""  # what the source does and does not say


# ---------------------------------------------------------------------------------------------------------
# Sources (quoted text in the comments is what the source says).

# comfyanonymous/ComfyUI comfy_api_nodes/apis/bytedance.py, SEEDANCE2_PRICE_PER_1K_TOKENS:
#   "# Dollars per 1K tokens, keyed by (model_id, has_video_input, resolution)."
#   ("dreamina-seedance-2-0-260128", False, "720p"): 0.007, (..., True, "720p"): 0.0043, ...
# The dict is keyed by BytePlus model ids and sits in the client of ComfyUI's BytePlus proxy; it does not say
# whose price it is. Comfy itself charges 1.43x these (Comfy-Org/docs PR #966, 2026-05-05, "Update Seedance
# 2.0 pricing: multiply by 1.43x"; Comfy-Org/ComfyUI@372f645 price badge: 720p 0.01001 / 0.006149 USD), so
# these are read as BytePlus's prices — an attribution made by ComfyUI's code, not by a BytePlus page.
_COMFYUI_CODE = (
    "https://github.com/comfyanonymous/ComfyUI/blob/117e1a77bcdb9e55f37c348b5c808b8451c74b00/"
    "comfy_api_nodes/apis/bytedance.py (SEEDANCE2_PRICE_PER_1K_TOKENS)"
)
_COMFYUI_NOTE = (
    "Stated in ComfyUI's BytePlus client code ('Dollars per 1K tokens', keyed by BytePlus model ids), "
    "not on a BytePlus page; commit date not available."
)

# Volcengine, standard 2.0: aicost.org (third party) "Official Pricing (announced March 4, 2026): Pure video
# generation costs 46 CNY per million tokens; video input/editing mode costs 28 CNY per million tokens."
_AICOST = "https://aicost.org/blog/seedance-2-0-api-pricing-breakdown-2026"
_AICOST_NOTE = (
    "Third-party blog quoting Volcengine's announcement; no resolution split stated. Rows are given for "
    "480p/720p only because laozhang's and Comfy's tables price 1080p separately (its CNY rate not stated)."
)
# Volcengine, 2.0 fast: volcengine.com article "Doubao-Seedance-2.0-fast API计费": "输入不含视频(仅文本prompt生成)
# 单价为37元/百万Token,输入包含参考视频的单价为22元/百万Token ... 该数据来源为火山引擎官方2026年公开价格体系".
# (Other volcengine.com/article pages quote contradictory per-second prices; they were not used.)
_VOLC_FAST = "https://www.volcengine.com/article/2687010 (步骤2:区分输入场景确认单价)"
_VOLC_FAST_NOTE = "Article on volcengine.com, not the pricing doc; no resolution split stated (fast is 480p/720p)."


def _k(per_million: float) -> float:
    """A per-1M-tokens figure as per-1K."""
    return per_million / 1000.0


def _rows(
    provider: str,
    family: str,
    resolutions: tuple[str | None, ...],
    without_video: float | None,
    with_video: float | None,
    *,
    currency: str,
    source: str,
    published: str | None = None,
    note: str = "",
    per_second: bool = False,
) -> tuple[Price, ...]:
    out: list[Price] = []
    for resolution in resolutions:
        for video_input, value in ((False, without_video), (True, with_video)):
            if value is None:
                continue
            out.append(
                Price(
                    provider=provider,
                    family=family,
                    resolution=resolution,
                    video_input=video_input,
                    per_1k_tokens=None if per_second else value,
                    per_second=value if per_second else None,
                    currency=currency,
                    as_of=READ_ON,
                    source=source,
                    published=published,
                    note=note,
                )
            )
    return tuple(out)


_SD = ("480p", "720p")

PRICES: tuple[Price, ...] = (
    # BytePlus ModelArk, USD per 1K tokens, as ComfyUI's code states them: (family, resolutions, without, with video)
    *(row for family, resolutions, without, with_video in (
        ("2.0", _SD, 0.007, 0.0043), ("2.0", ("1080p",), 0.0077, 0.0047), ("2.0", ("4k",), 0.004, 0.0024),
        ("2.0-fast", _SD, 0.0056, 0.0033), ("2.0-mini", _SD, 0.0035, 0.0021), ("2.5", _SD, 0.0107, 0.0064),
    ) for row in _rows("byteplus", family, resolutions, without, with_video, currency="USD",
                       source=_COMFYUI_CODE, note=_COMFYUI_NOTE)),
    # Volcengine Ark, CNY per 1K tokens (stated per 1M).
    *_rows("volcengine", "2.0", _SD, _k(46), _k(28), currency="CNY", source=_AICOST, published="2026-03-04",
           note=_AICOST_NOTE),
    *_rows("volcengine", "2.0-fast", (None,), _k(37), _k(22), currency="CNY", source=_VOLC_FAST, note=_VOLC_FAST_NOTE),
)  # fmt: skip


def _specificity(price: Price) -> tuple[int, int, str]:
    return (price.resolution is not None, price.video_input is not None, price.published or "")


def price_for(provider: str, family: str, resolution: str, video_input: bool) -> Price | None:
    """The row that prices this seller, family, output resolution and input kind, or None if no source states it.

    A row with ``resolution``/``video_input`` None covers every value; an exact row wins over a covering one,
    then the newer ``published`` date.
    """
    provider, family, resolution = provider.lower(), family.lower(), resolution.lower()
    matches = [
        p
        for p in PRICES
        if p.provider == provider
        and p.family == family
        and p.resolution in (resolution, None)
        and p.video_input in (video_input, None)
    ]
    return max(matches, key=_specificity, default=None)


def tokens_for(
    width: int,
    height: int,
    seconds: float,
    input_video_seconds: float = 0.0,
    fps: int = 24,
    *,
    plus_one_frame: bool = False,
) -> int:
    """Upstream's token estimate: ``(input video s + output s) × W × H × fps / 1024``, rounded down.

    ``plus_one_frame`` counts the output as ``fps × s + 1`` frames, which is what measured usage shows:
    Crazyrouter's 720p 4 s task returned ``completion_tokens = 87300`` = 1280 × 720 × 97 / 1024, and Comfy's
    docs bill 2.5 per frame over ``24 × duration + 1`` frames. The task's ``usage.completion_tokens`` is
    authoritative either way; sellers' minimum counts for video input are not modelled.
    """
    if width <= 0 or height <= 0 or fps <= 0 or seconds < 0 or input_video_seconds < 0:
        raise ValueError("width, height and fps must be positive; seconds must not be negative")
    frames = (input_video_seconds + seconds) * fps + (1 if plus_one_frame else 0)
    return math.floor(width * height * frames / 1024)


def cost(price: Price, tokens: int, seconds: float) -> float:
    """What ``price`` charges for a successful task of ``tokens`` tokens and ``seconds`` output seconds.

    In ``price.currency``; token-priced rows use ``tokens``, per-second rows use ``seconds``.
    """
    if price.per_1k_tokens is not None:
        return tokens / 1000.0 * price.per_1k_tokens
    if price.per_second is not None:
        return seconds * price.per_second
    raise ValueError(f"{price.provider} {price.family}: the row states neither a token nor a second price")
