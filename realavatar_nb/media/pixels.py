"""Pixels as a person sees them: EXIF-rotated photos, display-matrix-rotated video frames.

The face scan's HOG detector finds upright faces only, and near-duplicate hashes must not tell a
sideways copy from its original, so a photo stored sideways (EXIF orientation) and a phone clip
stored sideways (a display matrix) are turned upright before anything looks at them.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any, Final

from .._display import printable
from .._exceptions import MediaError
from .containers import open_container, video_streams

__all__ = ["open_image", "sampled_frames", "short_error"]

_SEEK_GAP: Final = 10.0  # seconds to the next sample beyond which seeking beats decoding through


def open_image(path: str, draft: tuple[int, int] | None = None) -> Any:
    """Return the image as displayed, RGB and loaded (``draft``: a JPEG may decode smaller, for a thumbnail)."""
    from PIL import Image, ImageOps

    from .heif import register_heif

    register_heif()
    try:
        with Image.open(path) as picture:
            full = picture.size
            if draft is not None:
                picture.draft("RGB", draft)
            picture.load()
            ImageOps.exif_transpose(picture, in_place=True)  # the HOG detector only finds upright faces
            upright = picture if picture.mode == "RGB" else picture.convert("RGB")
            upright.info["ra_scale"] = max(full) / max(picture.size)  # > 1 when a JPEG decoded smaller
            return upright
    except Exception as exc:
        raise MediaError(
            f"{printable(os.path.basename(path))}: cannot be decoded as an image ({short_error(exc)})"
        ) from exc


def sampled_frames(path: str, *, max_frames: int, start_s: float = 0.0) -> Generator[tuple[float, Any], None, None]:
    """Yield (seconds from the first frame, RGB Pillow image as displayed) about once a second from ``start_s``."""
    from PIL import Image

    name = printable(os.path.basename(path))
    try:
        container = open_container(path)
    except Exception as exc:
        raise MediaError(f"{name}: cannot be opened as a video ({short_error(exc)})") from exc
    with container:
        streams = video_streams(container)
        if not streams:
            raise MediaError(f"{name}: has no video stream")
        stream = streams[0]
        stream.thread_type = "AUTO"
        length = container.duration / 1_000_000 if container.duration else None
        step = 1.0 if length is None else max(1.0, (length - start_s) / max_frames)
        targets = [start_s + k * step for k in range(max_frames)]
        targets = [t for t in targets if length is None or t < length] or [start_s]
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        frames, first, index, want, sought, given = container.decode(stream), None, 0, 0, -1, 0
        while want < len(targets):
            try:
                frame = next(frames)
            except StopIteration:
                break
            except Exception as exc:  # damage part-way: the frames already read still count
                if given:
                    break
                raise MediaError(f"{name}: cannot be decoded as a video ({short_error(exc)})") from exc
            now = frame.time if frame.time is not None else index / rate
            index += 1
            first = now if first is None else first
            now -= first
            if targets[want] - now > _SEEK_GAP and sought != want:
                sought = want  # once per sample: a far keyframe must not make this loop forever
                container.seek(int((first + targets[want]) / (stream.time_base or 1)), stream=stream)
                frames = container.decode(stream)
                continue
            if now < targets[want] - 0.5 / rate:
                continue
            picture = frame.to_image()  # RGB
            # Phones store portrait clips sideways with a display matrix; rotation is counter-clockwise.
            turn = {1: Image.Transpose.ROTATE_90, 2: Image.Transpose.ROTATE_180, 3: Image.Transpose.ROTATE_270}
            quarter_turns = round((getattr(frame, "rotation", 0) or 0) / 90) % 4
            yield now, picture.transpose(turn[quarter_turns]) if quarter_turns else picture
            given += 1
            while want < len(targets) and targets[want] <= now + 0.5 / rate:
                want += 1


def short_error(exc: BaseException) -> str:
    text = str(getattr(exc, "strerror", None) or exc).strip()
    return printable((text.splitlines()[0] if text else type(exc).__name__)[:160])  # it may quote the file's name
