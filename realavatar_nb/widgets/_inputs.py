"""The inputs of a generation job, as the previewer shows them beside its video: one tile each.

A tile shows what the input *is* from the local file it came from: a thumbnail of an image, the
first frame of a reference video, a player for a reference audio. An asset's file is the one the
ledger says it was uploaded from; an http(s) input, or an asset whose file is gone, is shown by its
label and role only. Pictures are small data-URI PNGs, so the same HTML serves the live view and
the saved page; decoding is blocking work, done off the kernel's loop (``load``).
"""

from __future__ import annotations

import base64
import html
import io
import mimetypes
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import ipywidgets as widgets

from .._display import printable
from ..generation.request import DEFAULT_ROLE, GenerationRequest

__all__ = ["AUDIO_EMBED_LIMIT", "FAULT", "PLAIN", "InputItem", "InputView", "items_from_ledger", "items_from_request",
           "load", "still", "strip_html", "strip_text", "tile"]  # fmt: skip

SIZE: Final = 120
"""The longest side of an input's thumbnail, in pixels."""
AUDIO_PLAY_LIMIT: Final = 16 * 1024 * 1024
"""Upstream takes reference audio up to 15 MB; anything bigger is listed, not read into the kernel."""
AUDIO_EMBED_LIMIT: Final = 2 * 1024 * 1024
"""Audio up to this size is also embedded in the fallback HTML; bigger is named by its path."""
FAULT: Final = "2px solid #cf222e"
PLAIN: Final = "1px solid #d0d7de"
_AUDIO_FORMAT: Final = {".mp3": "mp3", ".wav": "wav", ".m4a": "mp4", ".aac": "aac", ".ogg": "ogg", ".flac": "flac"}

_DEFAULT_ROLE: Final[dict[str, str]] = {str(kind): str(role) for kind, role in DEFAULT_ROLE.items()}

AssetSource = Callable[[str], Mapping[str, Any] | None]
"""Asset id → its ledger row (``source``: the local file it was uploaded from; ``asset_type``), if known."""


@dataclass(frozen=True)
class InputItem:
    """One input of a job: its position in ``references`` (from 1), label, role, kind and local file."""

    position: int
    label: str
    role: str | None
    kind: str | None
    """``Image``, ``Video`` or ``Audio``; ``None`` when neither the request nor the ledger says."""
    asset: bool
    path: str | None
    """The local file it came from (a plain input's path, an asset's upload source), when it exists."""

    def describe(self) -> str:
        """Return "reference N (label, role)", as a failure names it."""
        return f"reference {self.position} ({printable(self.label)}, {self.role or 'role unknown'})"


@dataclass(frozen=True)
class InputView:
    """An input with what can be shown of it: a picture (``<img>`` HTML), an audio clip, or why neither."""

    item: InputItem
    picture: str | None = None
    audio: bytes | None = None
    note: str = ""


def _existing(path: str | None) -> str | None:
    if not path or urlsplit(path).scheme in ("http", "https", "data"):
        return None
    return path if os.path.isfile(path) else None


def _asset_file(asset_id: str, assets: AssetSource) -> tuple[str | None, str | None]:
    """Return (local upload source, asset type) of an asset, from the ledger."""
    try:
        row = assets(asset_id)
    except Exception:  # a client without a readable ledger still previews: the input is listed by its label
        return None, None
    if not row:
        return None, None
    source, kind = row.get("source"), row.get("asset_type")
    return _existing(str(source)) if source else None, str(kind) if kind else None


def items_from_request(request: GenerationRequest, assets: AssetSource) -> list[InputItem]:
    """Return the request's inputs, each asset's kind and file read from the ledger where the request omits them."""
    items = []
    for n, ref in enumerate(request.references, 1):
        kind: str | None = ref.kind
        role: str | None = ref.effective_role
        path = _existing(ref.local_path)
        if ref.asset_id is not None:
            path, recorded = _asset_file(ref.asset_id, assets)
            if kind is None and recorded:
                kind, role = recorded, ref.role or _DEFAULT_ROLE.get(recorded)
        items.append(InputItem(n, ref.label, role, kind, ref.is_asset, path))
    return items


def items_from_ledger(inputs: Iterable[Mapping[str, Any]], assets: AssetSource) -> list[InputItem]:
    """Return a recorded job's inputs (``ledger.job_request(...)["inputs"]``) with their local files."""
    items = []
    for n, item in enumerate(inputs, 1):
        source, is_asset = str(item.get("source") or ""), bool(item.get("asset"))
        kind = item.get("kind")
        path = _asset_file(source, assets)[0] if is_asset else _existing(source)
        items.append(InputItem(n, source, item.get("role"), str(kind) if kind else None, is_asset, path))
    return items


# -- reading the files (blocking: call from a thread) ----------------------------------------------


def _img(picture: Any, alt: str, size: int = SIZE) -> str:
    scale = size / max(picture.size)
    if scale < 1:
        picture = picture.resize((max(1, round(picture.width * scale)), max(1, round(picture.height * scale))))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" width="{picture.width}" height="{picture.height}"'
            f' alt="{html.escape(alt)}">')  # fmt: skip


def _kind(item: InputItem) -> str | None:
    if item.kind:
        return item.kind
    mime = mimetypes.guess_type(item.path or "")[0] or ""
    return {"image": "Image", "video": "Video", "audio": "Audio"}.get(mime.split("/", 1)[0])


def load(item: InputItem) -> InputView:
    """Return what can be shown of ``item``: decodes its file (blocking), never raises for a bad one."""
    if item.path is None:
        return InputView(item, note="no local file" if item.asset else "not a local file")
    kind = _kind(item)
    try:
        if kind == "Image":
            from ..media.pixels import open_image

            return InputView(item, picture=_img(open_image(item.path, draft=(SIZE * 2, SIZE * 2)), item.label))
        if kind == "Video":
            from ..media.pixels import sampled_frames

            frames = sampled_frames(item.path, max_frames=1)
            try:
                _, frame = next(frames)
            finally:
                frames.close()
            return InputView(item, picture=_img(frame, f"first frame of {item.label}"))
        if kind == "Audio":
            if os.path.getsize(item.path) > AUDIO_PLAY_LIMIT:
                return InputView(item, note="too large to play inline")
            with open(item.path, "rb") as fh:
                data = fh.read(AUDIO_PLAY_LIMIT + 1)
            return InputView(item, audio=data) if len(data) <= AUDIO_PLAY_LIMIT else InputView(item, note="too large")
    except Exception as exc:  # a picture is a nicety: a file Pillow or PyAV cannot read is listed
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        return InputView(item, note=f"cannot be shown ({printable(first)[:120]})")
    return InputView(item, note="kind unknown")


def still(path: str, size: int, alt: str) -> str:
    """Return a picture file as an ``<img>`` (data-URI PNG) no larger than ``size`` (blocking)."""
    from ..media.pixels import open_image

    return _img(open_image(path, draft=(size * 2, size * 2)), alt, size)


# -- what it looks like ---------------------------------------------------------------------------


def _caption(item: InputItem) -> str:
    what = "asset" if item.asset else "file" if item.path else "URL"
    return (f"<div><strong>{item.position}</strong> · {html.escape(item.role or 'role unknown')}"
            f' <small>({what})</small><br><code style="word-break:break-all">{html.escape(printable(item.label))}'
            "</code></div>")  # fmt: skip


def _audio_format(path: str | None) -> str:
    return _AUDIO_FORMAT.get(os.path.splitext(path or "")[1].lower(), "mp3")


def tile(view: InputView, at_fault: bool) -> widgets.VBox:
    """Return the live tile of one input: caption, then its picture, audio player or note; outlined red at fault."""
    media: widgets.DOMWidget
    if view.audio is not None:
        media = widgets.Audio(value=view.audio, format=_audio_format(view.item.path), autoplay=False, loop=False,
                              controls=True, layout=widgets.Layout(width=f"{SIZE + 80}px"))  # fmt: skip
    else:
        media = widgets.HTML(view.picture or f"<small>{html.escape(view.note)}</small>")
    layout = widgets.Layout(border=FAULT if at_fault else PLAIN, padding="4px", margin="0 0 6px 0")
    return widgets.VBox([widgets.HTML(_caption(view.item)), media], layout=layout)


def _tile_html(view: InputView, at_fault: bool) -> str:
    if view.audio is not None and len(view.audio) <= AUDIO_EMBED_LIMIT:
        mime = mimetypes.guess_type(view.item.path or "")[0] or "audio/mpeg"
        data = base64.b64encode(view.audio).decode("ascii")
        media = f'<audio controls style="width:{SIZE + 80}px" src="data:{mime};base64,{data}"></audio>'
    elif view.audio is not None:
        media = f"<small>audio: <code>{html.escape(printable(view.item.path or ''))}</code></small>"
    else:
        media = view.picture or f"<small>{html.escape(view.note)}</small>"
    style = f"border:{FAULT if at_fault else PLAIN};padding:4px;margin-bottom:6px"
    return f'<div class="ra-input" style="{style}">{_caption(view.item)}{media}</div>'


def strip_html(views: Sequence[InputView], at_fault: int | None) -> str:
    """Return the inputs as static HTML tiles (``at_fault``: the position in ``references`` from 0)."""
    if not views:
        return ""
    tiles = "".join(_tile_html(v, v.item.position - 1 == at_fault) for v in views)
    return f"<div><strong>Inputs</strong>{tiles}</div>"


def strip_text(items: Sequence[InputItem]) -> str:
    """Return the inputs on one line: "1. label (role, kind), 2. …"."""
    return ", ".join(
        f"{i.position}. {printable(i.label)} ({i.role or 'role unknown'}, {(i.kind or 'kind unknown').lower()})"
        for i in items
    )
