"""An image's facts read from its header by Pillow (pillow-heif for HEIC and AVIF), never its pixels.

Calling the format plugin directly skips Pillow's decompression-bomb refusal, so an enormous
image is measured (and rejected by the rules), never decoded. ``probe`` uses this for every
file whose signature names an image format.
"""

from __future__ import annotations

import io
from typing import Any, Final

__all__ = ["image_facts"]

# Pillow's format ids for our families.
_PIL_IDS: Final = {
    "jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP", "bmp": "BMP", "tiff": "TIFF",
    "heic": "HEIF", "avif": "AVIF",
}  # fmt: skip


def image_facts(path: str, fmt: str, data: bytes | None) -> dict[str, Any]:
    """Return what Pillow reads from the header of the ``fmt`` image at ``path`` (or in ``data``, when read already).

    Raises ``OSError`` or Pillow's own errors for a picture it cannot read.
    """
    from PIL import Image

    if fmt in ("heic", "avif"):
        from .heif import register_heif

        register_heif()
    Image.init()
    pil_id = _PIL_IDS[fmt]
    if pil_id not in Image.OPEN:
        raise OSError(f"no Pillow reader for {fmt}")
    factory, _accept = Image.OPEN[pil_id]
    fp: Any = io.BytesIO(data) if data is not None else open(path, "rb")  # noqa: SIM115
    try:
        # Calling the plugin directly reads the header only and skips Pillow's decompression-bomb
        # refusal, so an enormous image is measured (and rejected by the rules), never decoded.
        im = factory(fp, path)
        width, height = im.size
        frames = getattr(im, "n_frames", 1) if fmt in ("jpeg", "png", "bmp") else None
        return {
            "kind": "image",
            "container": im.format,
            "codec": fmt,
            "width": int(width),
            "height": int(height),
            "frames": frames,
            "has_audio": False,
            "backend": "pillow",
            "extra": {"mode": im.mode},
        }
    finally:
        fp.close()
