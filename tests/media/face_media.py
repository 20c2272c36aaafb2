"""Real faces for the face tests, built once per session from photos that ship inside packages.

Grace Hopper (matplotlib's ``grace_hopper.jpg``) and Eileen Collins (``skimage.data.astronaut()``)
are two real people; every variant, composite and clip below is made from them, so the tests
need no download. The recipe follows ``reference/faces.md`` §2.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

GREY = (128, 128, 128)
PEOPLE = ("hopper", "collins")
VARIANTS = ("half", "double", "crop", "flip", "rot+5", "rot-10", "dark", "bright", "grey", "q40", "exif6")
# What ``build`` writes, by name (parametrize needs the names before the files exist).
SINGLES = [f"{person}-{variant}" for person in PEOPLE for variant in VARIANTS] + ["hopper-heic"]
PAIRS = ["hopper+collins", "hopper+hopper", "collins+collins-flipped"]
EMPTY = ["coffee", "chelsea", "rocket", "gradient", "noise"]


@dataclass
class FaceMedia:
    """Paths of the built media, grouped by what a scan must find in them."""

    originals: dict[str, Path] = field(default_factory=dict)  # person -> the original photo
    singles: dict[str, tuple[str, Path]] = field(default_factory=dict)  # name -> (person, one-face variant)
    pairs: dict[str, Path] = field(default_factory=dict)  # two faces side by side
    empty: dict[str, Path] = field(default_factory=dict)  # no face at all
    videos: dict[str, tuple[str | None, Path]] = field(default_factory=dict)  # name -> (person or None for two)
    large: Path = Path()  # Hopper at 5.9× on a 3024×4032 canvas: detection runs on a copy 3.9× smaller


def hopper() -> Image.Image:
    """Return Grace Hopper's photo (512×600) as RGB."""
    import matplotlib.cbook

    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as picture:
        return picture.convert("RGB")


def collins() -> Image.Image:
    """Return Eileen Collins's photo (skimage's astronaut, 512×512) as RGB."""
    import skimage.data

    return Image.fromarray(skimage.data.astronaut())


def _jpeg(picture: Image.Image, path: Path, quality: int = 92, **kw: Any) -> Path:
    picture.save(path, "JPEG", quality=quality, **kw)
    return path


def _variants(picture: Image.Image) -> dict[str, Image.Image]:
    """Return the one-face variants of a photo: scaled, cropped, flipped, rotated, lit differently."""
    w, h = picture.size
    return {
        "half": picture.resize((w // 2, h // 2), Image.Resampling.LANCZOS),
        "double": picture.resize((w * 2, h * 2), Image.Resampling.LANCZOS),
        "crop": picture.crop((w // 10, h // 20, w * 9 // 10, h * 3 // 4)),
        "flip": ImageOps.mirror(picture),
        # Collins's head is tilted already: a further 12° left loses her (HOG is upright-only), 10° right does not.
        "rot+5": picture.rotate(5, Image.Resampling.BICUBIC, fillcolor=GREY),
        "rot-10": picture.rotate(-10, Image.Resampling.BICUBIC, fillcolor=GREY),
        "dark": ImageEnhance.Brightness(picture).enhance(0.6),
        "bright": ImageEnhance.Brightness(picture).enhance(1.4),
        "grey": ImageOps.grayscale(picture),
    }


def side_by_side(left: Image.Image, right: Image.Image, height: int = 512) -> Image.Image:
    """Return two photos scaled to one height and placed next to each other."""
    scaled = [p.resize((round(p.width * height / p.height), height), Image.Resampling.LANCZOS) for p in (left, right)]
    out = Image.new("RGB", (scaled[0].width + scaled[1].width, height), GREY)
    out.paste(scaled[0], (0, 0))
    out.paste(scaled[1], (scaled[0].width, 0))
    return out


def fit(picture: Image.Image, width: int, height: int, *, cover: bool = False) -> Image.Image:
    """Return ``picture`` scaled into ``width``×``height``: padded with grey, or (``cover``) cropped to fill."""
    scale = (max if cover else min)(width / picture.width, height / picture.height)
    scaled = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.Resampling.LANCZOS)
    out = Image.new("RGB", (width, height), GREY)
    out.paste(scaled, ((width - scaled.width) // 2, (height - scaled.height) // 2))
    return out


def write_clip(path: Path, picture: Image.Image, width: int, height: int, *, seconds: float = 3.0, fps: int = 24,
               zoom: float = 1.25, sideways: bool = False) -> Path:  # fmt: skip
    """Write an H.264 MP4 slowly zooming into ``picture`` (1.0→``zoom``).

    ``sideways``: store each frame turned a quarter left with a display matrix that turns it back,
    as phones store portrait clips.
    """
    import av

    base = fit(picture, width, height)
    frames = round(seconds * fps)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "20"})
        stream.width, stream.height = (height, width) if sideways else (width, height)
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            z = 1 + (zoom - 1) * i / max(1, frames - 1)
            cw, ch = width / z, height / z
            box = ((width - cw) / 2, (height - ch) / 2, (width + cw) / 2, (height + ch) / 2)
            pixels = np.asarray(base.resize((width, height), Image.Resampling.BILINEAR, box=box))
            if sideways:
                pixels = np.ascontiguousarray(np.rot90(pixels, 1))
            out.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        out.mux(stream.encode())
    if sideways:
        _turn_right_on_display(path)
    return path


def _turn_right_on_display(path: Path) -> None:
    """Set the video track's matrix so players turn it a quarter right (what an iPhone writes)."""
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd")
    version = data[at + 4]
    # tkhd: version/flags, times and ids (20 or 32 bytes), 8 reserved, layer, group, volume, 2 reserved
    matrix = at + 8 + (32 if version == 1 else 20) + 16
    data[matrix : matrix + 36] = struct.pack(">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
    path.write_bytes(bytes(data))


def exif_rotated(picture: Image.Image, path: Path) -> Path:
    """Write a JPEG whose pixels lie a quarter turn left, with EXIF orientation 6 to show them upright."""
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    return _jpeg(picture.transpose(Image.Transpose.ROTATE_90), path, exif=exif.tobytes())


def build(folder: Path) -> FaceMedia:
    """Write every face test file into ``folder`` and return where each is."""
    import skimage.data
    from pillow_heif import register_heif_opener

    register_heif_opener()
    media = FaceMedia()
    people = {"hopper": hopper(), "collins": collins()}
    for person, picture in people.items():
        media.originals[person] = _jpeg(picture, folder / f"{person}.jpg", quality=95)
        for name, variant in _variants(picture).items():
            media.singles[f"{person}-{name}"] = (person, _jpeg(variant, folder / f"{person}-{name}.jpg"))
        recompressed = folder / f"{person}-q40.jpg"
        media.singles[f"{person}-q40"] = (person, _jpeg(picture, recompressed, quality=40))
        media.singles[f"{person}-exif6"] = (person, exif_rotated(picture, folder / f"{person}-exif6.jpg"))
    heic = folder / "hopper.heic"
    people["hopper"].save(heic, "HEIF", quality=80)
    media.singles["hopper-heic"] = ("hopper", heic)

    hop, col = people["hopper"], people["collins"]
    media.large = _jpeg(fit(hop, 3024, 4032), folder / "hopper-large.jpg")
    for name, (left, right) in {
        "hopper+collins": (hop, col),
        "hopper+hopper": (hop, hop),
        "collins+collins-flipped": (col, ImageOps.mirror(col)),
    }.items():
        media.pairs[name] = _jpeg(side_by_side(left, right), folder / f"pair-{name}.jpg")

    rng = np.random.default_rng(7)
    ramp = np.linspace(0, 255, 1000, dtype=np.float32)[:, None, None] * np.array([1.0, 0.7, 0.4], np.float32)
    for name, pixels in {
        "coffee": skimage.data.coffee(),
        "chelsea": skimage.data.chelsea(),  # a cat
        "rocket": skimage.data.rocket(),
        "gradient": np.broadcast_to(ramp, (1000, 800, 3)).astype(np.uint8),
        "noise": rng.integers(0, 256, (1000, 800, 3), dtype=np.uint8),
    }.items():
        media.empty[name] = _jpeg(Image.fromarray(np.ascontiguousarray(pixels)), folder / f"none-{name}.jpg")

    media.videos["hopper"] = ("hopper", write_clip(folder / "hopper-720x900.mp4", hop, 720, 900))
    media.videos["collins"] = ("collins", write_clip(folder / "collins-720x720.mp4", col, 720, 720))
    media.videos["hopper-phone"] = ("hopper", write_clip(folder / "hopper-phone.mp4", hop, 540, 960, sideways=True))
    media.videos["two"] = (None, write_clip(folder / "two-1280x640.mp4", side_by_side(hop, col), 1280, 640))
    assert (list(media.singles), list(media.pairs), list(media.empty)) == (SINGLES, PAIRS, EMPTY)
    return media


def png_size(data: bytes) -> tuple[int, int]:
    """Return the size of an encoded picture (raises when it does not decode)."""
    with Image.open(io.BytesIO(data)) as picture:
        picture.load()
        return picture.size


@pytest.fixture(scope="session")
def face_media(tmp_path_factory: pytest.TempPathFactory) -> FaceMedia:
    """Build the face media once per test session."""
    return build(tmp_path_factory.mktemp("faces"))
