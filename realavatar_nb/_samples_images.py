"""Portrait placeholders: the picture every sample draws, and ``make_image`` that saves it tagged.

The picture is a gradient background with one head-and-shoulders figure per face, coloured
from the person's name, and the name written on it. ``realavatar_nb.samples`` re-exports
``make_image``; the clip and tone builders (``_samples_av``) draw frames with ``portrait``.
"""

from __future__ import annotations

import colorsys
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Final

from .media.tags import EXIF_IMAGE_DESCRIPTION, PNG_TAG_KEY, format_tag

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["make_image", "name_hue", "portrait", "prepared"]

_IMAGE_FORMATS: Final[dict[str, str]] = {
    "jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF",
    "heic": "HEIF", "heif": "HEIF", "bmp": "BMP", "tif": "TIFF", "tiff": "TIFF",
}  # fmt: skip
_EXIF_FORMATS: Final = frozenset({"JPEG", "WEBP", "HEIF", "TIFF"})


def name_hue(name: str) -> float:
    """Return the hue (0–1) a name colours its portrait and pitches its tone with."""
    # A digest, not hash(): the same name must give the same colour in every process.
    return hashlib.sha256(name.encode("utf-8")).digest()[0] / 256


def _rgb(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(r * 255), round(g * 255), round(b * 255)


_SKIN_TONES: Final = ((241, 194, 167), (224, 172, 105), (198, 134, 66), (141, 85, 36), (255, 219, 172))


def portrait(width: int, height: int, person: str | None, faces: int | None) -> Image.Image:
    """Return an RGB head-and-shoulders placeholder of ``faces`` figures (one by default)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    name = person or "sample"
    hue = name_hue(name)
    top = np.array(_rgb(hue + 0.5, 0.18, 0.96), dtype=np.float32)
    bottom = np.array(_rgb(hue + 0.55, 0.45, 0.55), dtype=np.float32)
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    mix = 0.8 * y + 0.2 * x
    img = Image.fromarray((top * (1 - mix) + bottom * mix).astype(np.uint8), "RGB")

    draw = ImageDraw.Draw(img)
    count = 1 if faces is None else max(faces, 0)
    skin = _SKIN_TONES[hashlib.sha256(name.encode("utf-8")).digest()[1] % len(_SKIN_TONES)]
    clothes = _rgb(hue, 0.65, 0.7)
    hair = _rgb(hue + 0.08, 0.5, 0.25)
    for k in range(count):
        cx = width * (2 * k + 1) / (2 * count)
        s = min(width / count, height * 0.8)
        hw, hh, cy = 0.18 * s, 0.23 * s, height * 0.42
        draw.rounded_rectangle(
            (cx - 0.45 * s, cy + hh + 0.03 * s, cx + 0.45 * s, height + 0.3 * s), radius=0.25 * s, fill=clothes
        )
        draw.rectangle((cx - 0.07 * s, cy + hh * 0.7, cx + 0.07 * s, cy + hh + 0.06 * s), fill=skin)  # neck
        draw.ellipse((cx - hw * 1.08, cy - hh * 1.1, cx + hw * 1.08, cy + hh * 0.4), fill=hair)
        draw.ellipse((cx - hw, cy - hh, cx + hw, cy + hh), fill=skin)
        for side in (-1, 1):
            ex, ey, er = cx + side * 0.38 * hw, cy - 0.1 * hh, max(0.06 * hw, 1.0)
            draw.ellipse((ex - er, ey - er, ex + er, ey + er), fill=(40, 30, 30))
        draw.arc((cx - 0.35 * hw, cy + 0.2 * hh, cx + 0.35 * hw, cy + 0.55 * hh), 20, 160, fill=(150, 60, 60))

    size = max(10, min(width, height) // 14)
    try:
        font: ImageFont.ImageFont | ImageFont.FreeTypeFont = ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # no FreeType: the small bitmap font still labels it
        font = ImageFont.load_default()
    draw.text((size // 2, size // 2), name, fill=(20, 20, 30), font=font)
    return img


def prepared(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a ``Path`` whose parent folders exist."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def make_image(
    path: str | os.PathLike[str],
    *,
    width: int = 800,
    height: int = 1000,
    format: str | None = None,
    person: str | None = None,
    faces: int | None = None,
    quality: int = 90,
) -> Path:
    """Return the path of a new portrait image, tagged with ``person``/``faces`` when given.

    ``format`` (jpeg, png, webp, gif, heic, bmp, tiff) defaults to the suffix's; passing
    another than the suffix's writes a misnamed file on purpose. BMP carries no tag.
    """
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    if width < 1 or height < 1:
        raise ValueError(f"An image needs a positive size, not {width}×{height}.")
    out = prepared(path)
    key = (format or out.suffix.lstrip(".")).lower()
    if key not in _IMAGE_FORMATS:
        raise ValueError(f"Cannot write an image as {key or '(no suffix)'!r}; use one of {', '.join(_IMAGE_FORMATS)}.")
    fmt = _IMAGE_FORMATS[key]
    img = portrait(width, height, person, faces)
    tag = format_tag(person, faces)
    options: dict[str, object] = {}
    if fmt in ("JPEG", "WEBP", "HEIF"):
        options["quality"] = quality
    if fmt == "HEIF":
        from .media.heif import register_heif

        register_heif()
    if tag and fmt in _EXIF_FORMATS:
        exif = Image.Exif()
        exif[EXIF_IMAGE_DESCRIPTION] = tag
        options["exif"] = exif.tobytes()
    elif tag and fmt == "PNG":
        info = PngInfo()
        info.add_text(PNG_TAG_KEY, tag)
        options["pnginfo"] = info
    elif tag and fmt == "GIF":
        options["comment"] = tag
    if fmt == "GIF":
        img = img.convert("P", palette=Image.Palette.ADAPTIVE, colors=128)
    img.save(out, format=fmt, **options)
    return out
