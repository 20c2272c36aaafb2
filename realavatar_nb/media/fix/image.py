"""Conforming copies of images, written with Pillow: converted, padded, scaled and re-encoded to fit.

``write_image`` decodes one image, applies the sizing plan (``geometry.plan_size``), encodes it in
the target format (stepping JPEG/WebP/HEIC quality down until it is under the size limit) and
carries its notes across: EXIF, PNG text chunks, GIF/JPEG comments and the ICC profile, so the
face-identity tag the emulator reads survives a change of format.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from ..._exceptions import FixError
from ..heif import register_heif
from ..probe import MediaInfo
from ..rules import KindLimits, Range
from ..tags import EXIF_IMAGE_DESCRIPTION, PNG_TAG_KEY, TAG_PREFIX
from .geometry import GEOMETRY_CODES, SizePlan, plan_size

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["LOSSLESS_FORMATS", "has_alpha", "too_large_to_decode", "write_image"]

_PIL_FORMATS: Final = {
    "jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "heic": "HEIF", "bmp": "BMP", "tiff": "TIFF",
}  # fmt: skip
_LOSSY: Final = frozenset({"jpeg", "webp", "heic"})
LOSSLESS_FORMATS: Final = frozenset({"png", "gif", "bmp", "tiff"})
_QUALITIES: Final = (90, 80, 70, 60, 50, 40, 30)
_NEUTRAL: Final = (128, 128, 128)
# EXIF tags worth keeping from a TIFF, whose own tag table also holds strip offsets and the like
# that would be wrong in any other file.
_TIFF_NOTES: Final = (0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298)
_WORKING_MODES: Final = frozenset({"L", "LA", "RGB", "RGBA", "CMYK"})


def too_large_to_decode(pixels: int | None) -> bool:
    """Return whether an image of ``pixels`` is past Pillow's decompression-bomb limit."""
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    return limit is not None and pixels is not None and pixels > limit


def _alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


def has_alpha(path: str) -> bool:
    """Return whether the image at ``path`` has transparency (reads the header only)."""
    from PIL import Image

    register_heif()
    with Image.open(path) as im:
        return _alpha(im)


@dataclass
class _Notes:
    """The free-text metadata of an image, to be written into whatever format the copy takes."""

    exif: Image.Exif
    texts: dict[str, str] = field(default_factory=dict)
    comment: str | None = None
    icc: bytes | None = None

    @property
    def description(self) -> str | None:
        value = self.exif.get(EXIF_IMAGE_DESCRIPTION)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str) and value.strip("\x00 "):
            return value.strip("\x00")
        return self.texts.get(PNG_TAG_KEY) or self.texts.get("Description") or self.comment

    @classmethod
    def read(cls, im: Image.Image, fmt: str | None) -> _Notes:
        from PIL import Image

        exif = im.getexif()
        if fmt == "tiff":
            kept = Image.Exif()
            for tag in _TIFF_NOTES:
                if tag in exif:
                    kept[tag] = exif[tag]
            exif = kept
        texts = {str(k): str(v) for k, v in getattr(im, "text", {}).items()} if fmt == "png" else {}
        comment = im.info.get("comment")
        if isinstance(comment, bytes):
            comment = comment.decode("utf-8", "replace")
        icc = im.info.get("icc_profile")
        return cls(exif=exif, texts=texts, comment=comment or None, icc=icc if isinstance(icc, bytes) else None)

    def save_options(self, target: str) -> dict[str, Any]:
        """Return Pillow ``save`` keywords that write these notes into a ``target`` file."""
        description = self.description
        options: dict[str, Any] = {}
        if self.icc and target in ("jpeg", "png", "webp", "tiff", "heic"):
            options["icc_profile"] = self.icc
        if target in ("jpeg", "webp", "heic", "png"):
            exif = self.exif
            if description and EXIF_IMAGE_DESCRIPTION not in exif and target != "png":
                exif[EXIF_IMAGE_DESCRIPTION] = description
            if len(exif):
                options["exif"] = exif.tobytes()
        if target == "png":
            from PIL.PngImagePlugin import PngInfo

            info = PngInfo()
            texts = dict(self.texts)
            if description and description not in texts.values():
                texts[PNG_TAG_KEY if description.startswith(TAG_PREFIX) else "Description"] = description
            for key, value in texts.items():
                # tEXt is Latin-1 only; iTXt holds any text.
                if value.isascii():
                    info.add_text(key, value)
                else:
                    info.add_itxt(key, value)
            options["pnginfo"] = info
        if target in ("gif", "jpeg") and (self.comment or (target == "gif" and description)):
            options["comment"] = self.comment or description
        if target == "tiff" and description:
            options["description"] = description
        return options


def _working(im: Image.Image) -> Image.Image:
    """Return ``im`` in a mode every resize, paste and encoder here accepts."""
    if im.mode in _WORKING_MODES:
        return im
    return im.convert("RGBA" if _alpha(im) else "RGB")


def _apply(im: Image.Image, plan: SizePlan | None) -> Image.Image:
    from PIL import Image

    im = _working(im)
    if plan is None or not plan.changes:
        return im
    if plan.scaled:
        im = im.resize((plan.content_width, plan.content_height), Image.Resampling.LANCZOS)
    if plan.padded:
        canvas = Image.new("RGB", (plan.width, plan.height), _NEUTRAL).convert(im.mode)
        canvas.paste(im, (plan.left, plan.top))
        im = canvas
    return im


def _for_target(im: Image.Image, target: str) -> Image.Image:
    """Return ``im`` in a mode the ``target`` encoder writes, flattening transparency where it has none."""
    from PIL import Image

    if target == "jpeg":
        if im.mode in ("RGBA", "LA"):
            flat = Image.new("RGB", im.size, _NEUTRAL)
            flat.paste(im.convert("RGBA"), mask=im.convert("RGBA").getchannel("A"))
            return flat
        return im if im.mode in ("RGB", "L", "CMYK") else im.convert("RGB")
    if target in ("webp", "heic", "png"):
        if im.mode == "CMYK":
            return im.convert("RGB")
        return im if target == "png" or im.mode in ("RGB", "RGBA") else im.convert("RGBA" if _alpha(im) else "RGB")
    return im


def _encode(frames: list[Image.Image], target: str, options: dict[str, Any], quality: int | None) -> bytes:
    buffer = io.BytesIO()
    extra = dict(options)
    if quality is not None:
        extra["quality"] = quality
    if len(frames) > 1:
        extra.update(save_all=True, append_images=frames[1:])
    frames[0].save(buffer, format=_PIL_FORMATS[target], **extra)
    return buffer.getvalue()


def _mib(size: float) -> str:
    return f"{size / 1024 / 1024:.3g} MiB" if size >= 1024 * 1024 else f"{size / 1024:.3g} KiB"


def _fit_under(
    frames: list[Image.Image], target: str, options: dict[str, Any], rule: Range | None
) -> tuple[bytes, int]:
    """Return the encoded file and its quality: the best quality whose size passes ``rule``."""
    qualities: tuple[int | None, ...] = _QUALITIES if target in _LOSSY else (None,)
    data = b""
    for quality in qualities:
        data = _encode(frames, target, options, quality)
        if rule is None or not rule.above(len(data)):
            return data, quality or 0
    needs = _mib(rule.max) if rule is not None and rule.max is not None else "the limit"
    lowest = f" at quality {qualities[-1]}" if target in _LOSSY else f" as {target}"
    raise FixError(f"still {_mib(len(data))}{lowest}, over {needs}")


def write_image(
    source: str, dest: str, info: MediaInfo, problems: Collection[str], limits: KindLimits, target: str
) -> list[str]:
    """Write a conforming ``target``-format copy of the image at ``source`` to ``dest``; return the steps taken.

    Raises ``FixError`` with the reason when no conforming copy can be made.
    """
    from PIL import Image, ImageSequence

    register_heif()
    if too_large_to_decode(info.pixels):
        raise FixError("too large to decode safely")
    steps: list[str] = []
    try:
        opened = Image.open(source)
    except Image.DecompressionBombError:
        raise FixError("too large to decode safely") from None
    with opened as im:
        if too_large_to_decode(im.width * im.height):
            raise FixError("too large to decode safely")
        notes = _Notes.read(im, info.format)
        plan = None
        if set(problems) & GEOMETRY_CODES:
            plan = plan_size(im.width, im.height, limits)
            if plan.refusal:
                raise FixError(plan.refusal)
        count = getattr(im, "n_frames", 1)
        animated = count > 1 and target == info.format and target in ("gif", "webp")
        sources = [frame.copy() for frame in ImageSequence.Iterator(im)] if animated else [im.copy()]
        timing: dict[str, Any] = {}
        if animated:
            timing = {"duration": [f.info.get("duration", 100) for f in sources], "loop": im.info.get("loop", 0)}
    if target != info.format:
        steps.append(f"converted {info.format} → {target}")
    if count > 1 and not animated and info.format in ("gif", "webp"):
        steps.append(f"kept the first of {count} frames")
    if plan is not None and plan.changes:
        steps.append(plan.describe())
    frames = [_for_target(_apply(frame, plan), target) for frame in sources]
    options = {**notes.save_options(target), **timing}
    data, quality = _fit_under(frames, target, options, limits.size_bytes)
    if "FileSizeTooLarge" in problems or quality not in (0, _QUALITIES[0]):
        at = f" at quality {quality}" if quality else ""
        steps.append(f"re-encoded as {target}{at} ({_mib(len(data))})")
    with open(dest, "wb") as fh:
        fh.write(data)
    return steps
