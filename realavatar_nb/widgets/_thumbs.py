"""Small pictures of each file with its face boxes drawn, for the validator's table."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any, Final

from ._base import is_missing

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["face_thumbnails"]

SIZE: Final = 96
MAX_FILES: Final = 300  # beyond that the table is for scrolling, not looking


def _picture(path: str, kind: str) -> Any:
    from PIL import Image, ImageOps

    if kind == "video":
        import av

        with av.open(path) as container:
            frame = next(container.decode(video=0))
            return frame.to_image()
    from ..media.heif import register_heif

    register_heif()

    with Image.open(path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def _thumbnail(path: str, kind: str, boxes: str) -> str:
    from PIL import ImageDraw

    picture = _picture(path, kind)
    scale = SIZE / max(picture.size)
    small = picture.resize((max(1, round(picture.width * scale)), max(1, round(picture.height * scale))))
    draw = ImageDraw.Draw(small)
    for box in filter(None, boxes.split(";")):
        left, top, right, bottom = (float(v) * scale for v in box.split(","))
        draw.rectangle((left, top, right, bottom), outline=(26, 127, 55), width=2)
    buffer = io.BytesIO()
    small.save(buffer, "PNG")
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img src="data:image/png;base64,{data}" width="{small.width}" height="{small.height}" alt="">'


def face_thumbnails(report: pd.DataFrame) -> dict[str, str]:
    """Return ``{path: <img> HTML}`` for the report's images and videos whose faces were looked at."""
    pictures: dict[str, str] = {}
    for row in report.head(MAX_FILES).itertuples(index=False):
        if str(row.face_check) not in ("faces", "tag"):
            continue
        boxes = "" if is_missing(row.face_boxes) else str(row.face_boxes)
        try:
            pictures[str(row.path)] = _thumbnail(str(row.path), str(row.kind), boxes)
        except Exception:  # a picture is a nicety: a file Pillow or PyAV cannot show gets none
            continue
    return pictures
