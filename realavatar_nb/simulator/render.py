"""The emulator's stand-in for Seedance: a real short H.264 MP4 made from the reference images.

Each reference image gets a slow Ken Burns pan and zoom (cover-fit into the frame), one
cross-fading into the next, with the prompt as a small caption; no image gives a generated
gradient. The clip is 24 fps (upstream's output rate), ``job.duration`` seconds long, and the
same inputs always give the same bytes: motion comes from a seed derived from the job, and
x264 runs with a fixed thread count.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import tempfile
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from realavatar_nb.media.heif import register_heif

from . import soundtrack
from .generation import FPS, MAX_DURATION, RATIOS, output_size
from .generation import RESOLUTIONS as _ASKED

RESOLUTIONS = {name: side for name, side in _ASKED.items() if name != "4k"}  # the emulator draws no 4k

__all__ = ["FPS", "RATIOS", "RESOLUTIONS", "frame_size", "render_video"]

_ZOOM = 1.12  # the Ken Burns travel: far enough to read as motion, slow enough to stay calm
_FADE = 0.5  # seconds of cross-fade between two references
_AHEAD = 4  # frames drawn ahead of the encoder
_ENCODER = {"preset": "ultrafast", "crf": "23", "threads": "2"}  # fixed threads: same bytes everywhere


class RenderJob(Protocol):
    """What the renderer reads from a generation job (``state.Job`` has all of it)."""

    id: str
    prompt: str
    duration: int
    ratio: str
    resolution: str
    seed: int | None


def frame_size(ratio: str, resolution: str, first_image: tuple[int, int] | None = None) -> tuple[int, int]:
    """Return (width, height) of the output frames, both even, the short side the resolution's."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {sorted(RESOLUTIONS)}, got {resolution!r}")
    return output_size(ratio, resolution, first_image)


def _check(job: RenderJob) -> None:
    duration = job.duration
    if isinstance(duration, bool) or not isinstance(duration, int) or not 1 <= duration <= MAX_DURATION:
        raise ValueError(f"duration must be a whole number of seconds from 1 to {MAX_DURATION}, got {duration!r}")
    if not job.id or os.path.basename(job.id) != job.id or job.id.startswith("."):
        raise ValueError(f"job id {job.id!r} cannot name a file")


def _seed(job: RenderJob) -> int:
    basis = f"{job.seed}|{job.prompt}|{job.ratio}|{job.resolution}|{job.duration}"
    return int.from_bytes(hashlib.sha256(basis.encode()).digest()[:8], "big")


def _open(path: str) -> Image.Image:
    """Return the image upright in RGB (transparency over black), decoded no larger than needed."""
    register_heif()
    try:
        with Image.open(path) as source:
            source.draft("RGB", (2048, 2048))  # JPEG decodes at a reduced scale: big photos stay fast
            im = ImageOps.exif_transpose(source)
            if im.mode in ("RGBA", "LA", "P", "PA") and (im.mode != "P" or "transparency" in im.info):
                rgba = im.convert("RGBA")
                flat = Image.new("RGB", rgba.size)
                flat.paste(rgba, mask=rgba.getchannel("A"))
                return flat
            return im.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"reference image {os.path.basename(path)!r} cannot be read: {exc}") from None


def _cover(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale ``im`` so it covers ``size`` times the zoom travel (no upscaling blur at full zoom)."""
    aspect = size[0] / size[1]
    if im.width > 2 * aspect * im.height:  # a panorama: keep the middle, not a huge strip to pan over
        keep = max(1, round(2 * aspect * im.height))
        im = im.crop(((im.width - keep) // 2, 0, (im.width - keep) // 2 + keep, im.height))
    elif im.height > 2 * im.width / aspect:  # a tall strip: keep the upper part, where a face would be
        keep = max(1, round(2 * im.width / aspect))
        im = im.crop((0, (im.height - keep) // 4, im.width, (im.height - keep) // 4 + keep))
    need_w, need_h = size[0] * _ZOOM, size[1] * _ZOOM
    scale = max(need_w / im.width, need_h / im.height)
    target = (max(math.ceil(im.width * scale), math.ceil(need_w)), max(math.ceil(im.height * scale), math.ceil(need_h)))
    return im.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _gradient(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Return a soft two-colour gradient with a few glows, large enough to pan over."""
    w, h = max(2, size[0] // 4), max(2, size[1] // 4)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.array([rng.randrange(15, 90) for _ in range(3)], np.float32)
    b = np.array([rng.randrange(80, 190) for _ in range(3)], np.float32)
    t = (x / w + y / h) / 2
    img = a * (1 - t[..., None]) + b * t[..., None]
    for _ in range(3):
        cx, cy, r = rng.random() * w, rng.random() * h, (0.15 + rng.random() * 0.25) * max(w, h)
        glow = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))[..., None]
        img += glow * np.array([rng.randrange(10, 60) for _ in range(3)], np.float32)
    small = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    return small.resize((math.ceil(size[0] * _ZOOM), math.ceil(size[1] * _ZOOM)), Image.Resampling.BICUBIC)


@dataclass(frozen=True)
class _Shot:
    """One reference's moment on screen: its cover image and where the camera travels."""

    image: Image.Image
    start: float
    end: float
    zoom: tuple[float, float]
    pan: tuple[float, float, float, float]  # x0, y0 -> x1, y1, each in [0, 1] of the slack

    def frame(self, t: float, size: tuple[int, int]) -> Image.Image:
        u = min(max((t - self.start) / max(self.end - self.start, 1e-6), 0.0), 1.0)
        u = u * u * (3 - 2 * u)  # ease in and out
        z = self.zoom[0] + (self.zoom[1] - self.zoom[0]) * u
        px = self.pan[0] + (self.pan[2] - self.pan[0]) * u
        py = self.pan[1] + (self.pan[3] - self.pan[1]) * u
        bw, bh = size[0] * _ZOOM / z, size[1] * _ZOOM / z
        x0 = px * (self.image.width - bw)
        y0 = py * (self.image.height - bh)
        return self.image.resize(size, Image.Resampling.BILINEAR, box=(x0, y0, x0 + bw, y0 + bh))


def _shots(images: Sequence[Image.Image], duration: float, rng: random.Random) -> list[_Shot]:
    span = duration / len(images)
    fade = min(_FADE, span / 3) if len(images) > 1 else 0.0
    shots = []
    for i, image in enumerate(images):
        zoom = (1.0, _ZOOM) if rng.random() < 0.5 else (_ZOOM, 1.0)
        # Faces sit in the upper part of a portrait: keep the camera's vertical travel there.
        pan = (rng.random(), rng.uniform(0.1, 0.4), rng.random(), rng.uniform(0.1, 0.4))
        start, end = max(0.0, i * span - fade / 2), min(duration, (i + 1) * span + fade / 2)
        shots.append(_Shot(image, start, end, zoom, pan))
    return shots


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _caption(prompt: str, size: tuple[int, int]) -> tuple[Image.Image, Image.Image, tuple[int, int]] | None:
    """Return (pixels, mask, position) of the prompt's caption box, or None for no prompt."""
    text = " ".join(prompt.split())
    if not text:
        return None
    w, h = size
    pad = max(4, h // 60)
    font = _font(max(10, h // 28))
    room = w - 4 * pad
    if font.getlength(text) > room:  # the longest prefix that fits with an ellipsis
        fits, over = 0, len(text)
        while over - fits > 1:
            mid = (fits + over) // 2
            fits, over = (mid, over) if font.getlength(text[:mid].rstrip() + "…") <= room else (fits, mid)
        text = text[:fits].rstrip() + "…"
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    box_w, box_h = min(w - 2 * pad, right - left + 2 * pad), bottom - top + 2 * pad
    pixels = Image.new("RGB", (box_w, box_h), (16, 16, 16))
    ImageDraw.Draw(pixels).text((pad - left, pad - top), text, font=font, fill=(245, 245, 245))
    mask = Image.new("L", (box_w, box_h), 150)  # the box lets some picture through
    text_mask = Image.new("L", (box_w, box_h), 0)
    ImageDraw.Draw(text_mask).text((pad - left, pad - top), text, font=font, fill=255)
    mask.paste(255, mask=text_mask)
    return pixels, mask, (pad, h - box_h - pad)


def render_video(
    job: RenderJob,
    reference_images: list[str],
    out_dir: str,
    *,
    sound: bool = False,
    audio: str | None = None,
    last_frame: bool = False,
) -> str:
    """Render ``<out_dir>/<job.id>.mp4`` from the reference images and return its path.

    ``sound`` adds an AAC track (``audio`` decoded when given, else a synthesized tone); ``last_frame``
    also writes the clip's last picture as ``<out_dir>/<job.id>.png``. Raises ValueError for a
    duration outside 1–30 s, an unknown ratio or resolution, or an image that cannot be read.
    """
    _check(job)
    images = [_open(p) for p in reference_images[: job.duration]]  # at least a second per image
    size = frame_size(job.ratio, job.resolution, images[0].size if images else None)
    rng = random.Random(_seed(job))
    covers = [_cover(im, size) for im in images] or [_gradient(size, rng)]
    shots = _shots(covers, float(job.duration), rng)
    caption = _caption(job.prompt, size)
    pcm = soundtrack.samples(float(job.duration), audio) if sound else None

    os.makedirs(out_dir, exist_ok=True)
    final = os.path.join(out_dir, f"{job.id}.mp4")
    frames = job.duration * FPS
    _write(final, lambda path: _encode(path, shots, caption, size, frames, pcm), job.id)
    if last_frame:
        _write(os.path.join(out_dir, f"{job.id}.png"), lambda path: _still(frames - 1, shots, caption, size).save(
            path, format="PNG"), job.id)  # fmt: skip
    return final


def _write(final: str, make: Callable[[str], object], name: str) -> None:
    """Make ``final`` through a temporary file beside it, so a reader never sees half a file."""
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=os.path.dirname(final))
    os.close(fd)
    try:
        make(temporary)
        os.replace(temporary, final)
    except BaseException:
        os.unlink(temporary)
        raise


def _still(
    i: int, shots: list[_Shot], caption: tuple[Image.Image, Image.Image, tuple[int, int]] | None, size: tuple[int, int]
) -> Image.Image:
    """Return frame ``i`` as an RGB picture."""
    t = (i + 0.5) / FPS
    live = [s for s in shots if s.start <= t < s.end] or [shots[-1]]
    picture = live[0].frame(t, size)
    if len(live) > 1:  # inside a cross-fade: blend towards the next shot
        alpha = (t - live[1].start) / (live[0].end - live[1].start)
        picture = Image.blend(picture, live[1].frame(t, size), min(max(alpha, 0.0), 1.0))
    if caption is not None:
        picture.paste(caption[0], caption[2], mask=caption[1])
    return picture


def _picture(
    i: int, shots: list[_Shot], caption: tuple[Image.Image, Image.Image, tuple[int, int]] | None, size: tuple[int, int]
) -> av.VideoFrame:
    """Return frame ``i`` as a yuv420p video frame."""
    frame = av.VideoFrame.from_image(_still(i, shots, caption, size)).reformat(format="yuv420p")
    frame.pts, frame.time_base = i, Fraction(1, FPS)
    return frame


def _encode(
    path: str,
    shots: list[_Shot],
    caption: tuple[Image.Image, Image.Image, tuple[int, int]] | None,
    size: tuple[int, int],
    frames: int,
    pcm: np.ndarray | None = None,
) -> None:
    with av.open(path, "w", format="mp4", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=FPS, options=_ENCODER)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = 2 * FPS  # a keyframe every 2 s keeps previews seekable
        sound = soundtrack.add_sound(container) if pcm is not None else None  # every stream before the header
        # Pillow and swscale release the GIL: drawing runs a few frames ahead of the encoder.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="render-frames") as pool:
            ahead: deque[Future[av.VideoFrame]] = deque()
            for i in range(frames):
                ahead.append(pool.submit(_picture, i, shots, caption, size))
                if len(ahead) > _AHEAD:
                    container.mux(stream.encode(ahead.popleft().result()))
            while ahead:
                container.mux(stream.encode(ahead.popleft().result()))
        container.mux(stream.encode())
        if sound is not None and pcm is not None:
            soundtrack.mux_sound(container, sound, pcm)
