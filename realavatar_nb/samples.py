"""Synthetic portrait media made at run time: images, clips, voice tones and a demo folder.

Every builder returns the path it wrote (parents created) and draws the same cheap portrait
placeholder: a gradient background, one head-and-shoulders figure per face, coloured from
the person's name, and the name written on it. Clips move a small marker every frame, so no
two consecutive frames are equal; audio is a tone whose pitch comes from the name.

Face-identity tags (``realavatar_nb.media.tags``) tell the emulator who is in a file:
portraits carry ``person=<owner>;faces=1``; a BMP has nowhere to keep one.

``make_demo_folder`` builds the mixed folder that
``make demo`` and the tests validate, and ``DEMO_EXPECTED`` says what a validator must find in
it under the seedance-2.0 limits.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .media.tags import EXIF_IMAGE_DESCRIPTION, PNG_TAG_KEY, TAG_PREFIX, format_tag, parse_tag, read_tag

if TYPE_CHECKING:
    import numpy as np
    from av.audio.stream import AudioStream
    from av.container import OutputContainer
    from PIL import Image

__all__ = [
    "DEMO_EXPECTED", "REAL_PEOPLE_EXPECTED", "TAG_PREFIX", "demo_expected", "format_tag", "make_audio",
    "make_demo_folder", "make_image", "make_real_people", "make_video", "parse_tag", "read_tag",
]  # fmt: skip


_IMAGE_FORMATS: Final[dict[str, str]] = {
    "jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF",
    "heic": "HEIF", "heif": "HEIF", "bmp": "BMP", "tif": "TIFF", "tiff": "TIFF",
}  # fmt: skip
_EXIF_FORMATS: Final = frozenset({"JPEG", "WEBP", "HEIF", "TIFF"})

# suffix -> (video codec, audio codec, audio rate); AVI gets MP3 because it has no clean way to hold AAC
_VIDEO_CODECS: Final[dict[str, tuple[str, str, int]]] = {
    "mp4": ("libx264", "aac", 44100), "m4v": ("libx264", "aac", 44100), "mov": ("libx264", "aac", 44100),
    "mkv": ("libx264", "aac", 44100), "webm": ("libvpx-vp9", "libopus", 48000), "avi": ("mpeg4", "libmp3lame", 44100),
}  # fmt: skip
# Encoder settings that favour speed: samples are small and thrown away after the test.
_FAST_OPTIONS: Final[dict[str, dict[str, str]]] = {
    "libx264": {"preset": "ultrafast"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8"},
}
# suffix -> (container format, audio codec)
_AUDIO_CODECS: Final[dict[str, tuple[str, str]]] = {
    "mp3": ("mp3", "libmp3lame"), "wav": ("wav", "pcm_s16le"), "flac": ("flac", "flac"),
    "ogg": ("ogg", "libopus"), "opus": ("ogg", "libopus"), "m4a": ("ipod", "aac"),
}  # fmt: skip
_OPUS_RATES: Final = frozenset({8000, 12000, 16000, 24000, 48000})


# -- the portrait -------------------------------------------------------------------------


def _name_hue(name: str) -> float:
    # A digest, not hash(): the same name must give the same colour in every process.
    return hashlib.sha256(name.encode("utf-8")).digest()[0] / 256


def _rgb(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(r * 255), round(g * 255), round(b * 255)


_SKIN_TONES: Final = ((241, 194, 167), (224, 172, 105), (198, 134, 66), (141, 85, 36), (255, 219, 172))


def _portrait(width: int, height: int, person: str | None, faces: int | None) -> Image.Image:
    """Return an RGB head-and-shoulders placeholder of ``faces`` figures (one by default)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    name = person or "sample"
    hue = _name_hue(name)
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


def _prepared(path: str | os.PathLike[str]) -> Path:
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
    out = _prepared(path)
    key = (format or out.suffix.lstrip(".")).lower()
    if key not in _IMAGE_FORMATS:
        raise ValueError(f"Cannot write an image as {key or '(no suffix)'!r}; use one of {', '.join(_IMAGE_FORMATS)}.")
    fmt = _IMAGE_FORMATS[key]
    img = _portrait(width, height, person, faces)
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


# -- clips and tones ------------------------------------------------------------------------


def _tone(duration: float, rate: int, person: str | None) -> np.ndarray:
    """Return a mono float32 tone shaped like slow syllables, pitched from the person's name."""
    import numpy as np

    t = np.arange(round(duration * rate), dtype=np.float64) / rate
    pitch = 180.0 + 160.0 * _name_hue(person or "sample")
    envelope = 0.55 + 0.45 * np.sin(2 * math.pi * 3.0 * t) ** 2
    wave = 0.3 * envelope * np.sin(2 * math.pi * pitch * t)
    return wave.astype(np.float32)[None, :]


def _encode_tone(container: OutputContainer, stream: AudioStream, samples: np.ndarray, rate: int) -> None:
    import av

    frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
    frame.sample_rate = rate
    frame.pts = 0
    frame.time_base = Fraction(1, rate)
    # The codec context re-chunks one long frame into its own frame size.
    container.mux([*stream.encode(frame), *stream.encode(None)])


def make_video(
    path: str | os.PathLike[str],
    *,
    width: int = 480,
    height: int = 640,
    duration: float = 3.0,
    fps: int = 24,
    codec: str | None = None,
    audio: bool = True,
    person: str | None = None,
    faces: int | None = None,
) -> Path:
    """Return the path of a new clip of exactly ``round(duration * fps)`` frames.

    The suffix picks the container: mp4, m4v, mov, mkv (H.264 + AAC), webm (VP9 + Opus) or
    avi (MPEG-4 + MP3); ``codec`` overrides the video encoder. Sides must be even, as 4:2:0
    chroma needs. The tag goes into the container's ``comment``.
    """
    import av
    import numpy as np

    if width % 2 or height % 2 or width < 2 or height < 2:
        raise ValueError(f"A clip needs even, positive sides for 4:2:0 chroma, not {width}×{height}.")
    frames = round(duration * fps)
    if frames < 1:
        raise ValueError(f"{duration} s at {fps} fps is less than one frame.")
    out = _prepared(path)
    suffix = out.suffix.lstrip(".").lower()
    if suffix not in _VIDEO_CODECS:
        raise ValueError(f"Cannot write a clip as {suffix or '(no suffix)'!r}; use one of {', '.join(_VIDEO_CODECS)}.")
    video_codec, audio_codec, rate = _VIDEO_CODECS[suffix]
    video_codec = codec or video_codec

    # Draw once, convert once; each frame is then a copy of the planes with a marker moved.
    picture = av.VideoFrame.from_ndarray(np.asarray(_portrait(width, height, person, faces)), format="rgb24")
    base = picture.reformat(format="yuv420p").to_ndarray()
    marker = max(4, min(width, height) // 16) // 2 * 2
    row = height - 2 * marker
    span = width - marker

    with av.open(os.fspath(out), "w") as container:
        tag = format_tag(person, faces)
        if tag:
            container.metadata["comment"] = tag
        stream = container.add_stream(video_codec, rate=fps, options=_FAST_OPTIONS.get(video_codec, {}))
        if not isinstance(stream, av.VideoStream):
            raise ValueError(f"{video_codec!r} is not a video encoder.")
        stream.width, stream.height = width, height
        # An encoder lists its preferred pixel format first (yuv420p for H.264, yuvj420p for MJPEG).
        stream.pix_fmt = next((f.name for f in stream.codec.video_formats or ()), "yuv420p")
        sound = container.add_stream(audio_codec, rate=rate, layout="mono") if audio else None
        for i in range(frames):
            planes = base.copy()
            x = (i * 2) % span  # two pixels a frame: slow, and never the same place twice in a row
            planes[row : row + marker, x : x + marker] = 235
            frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if isinstance(sound, av.AudioStream):
            _encode_tone(container, sound, _tone(frames / fps, rate, person), rate)
    return out


def make_audio(
    path: str | os.PathLike[str],
    *,
    duration: float = 3.0,
    format: str | None = None,
    sample_rate: int = 44100,
    person: str | None = None,
) -> Path:
    """Return the path of a new mono voice-like tone tagged with ``person`` when given.

    ``format`` (mp3, wav, flac, ogg, opus, m4a) defaults to the suffix's. Opus only runs at
    8, 12, 16, 24 or 48 kHz, so ogg and opus files use 48 kHz for any other ``sample_rate``.
    """
    import av

    if duration <= 0:
        raise ValueError(f"A tone needs a positive duration, not {duration} s.")
    out = _prepared(path)
    key = (format or out.suffix.lstrip(".")).lower()
    if key not in _AUDIO_CODECS:
        raise ValueError(f"Cannot write audio as {key or '(no suffix)'!r}; use one of {', '.join(_AUDIO_CODECS)}.")
    container_format, codec = _AUDIO_CODECS[key]
    rate = 48000 if codec == "libopus" and sample_rate not in _OPUS_RATES else sample_rate
    with av.open(os.fspath(out), "w", format=container_format) as container:
        tag = format_tag(person)
        if tag:
            container.metadata["comment"] = tag
        stream = container.add_stream(codec, rate=rate, layout="mono")
        assert isinstance(stream, av.AudioStream)  # every codec in _AUDIO_CODECS is an audio one
        _encode_tone(container, stream, _tone(duration, rate, person), rate)
    return out


# -- the demo folder -------------------------------------------------------------------------

_OTHER: Final = "<another person>"
"""Stands for someone other than the folder's owner in a recipe's ``person``."""


@dataclass(frozen=True)
class _DemoFile:
    """One demo file: how to make it (a builder's options) and the codes a validator must report."""

    name: str
    kind: str  # image | video | audio | junk | empty
    options: Mapping[str, Any]
    codes: tuple[str, ...] = ()


_GOOD: Final = (
    _DemoFile("portrait.jpg", "image", {"width": 800, "height": 1000, "faces": 1}),
    _DemoFile("portrait.png", "image", {"width": 1080, "height": 1350, "faces": 1}),
    _DemoFile("portrait.heic", "image", {"width": 900, "height": 1200, "faces": 1}),
    _DemoFile("clip.mp4", "video", {"width": 480, "height": 640, "duration": 3.0, "fps": 24, "faces": 1}),
    _DemoFile("voice.mp3", "audio", {"duration": 4.0}),
    _DemoFile("voice.wav", "audio", {"duration": 3.0}),
)
_SMALL: Final = {"width": 320, "height": 400}
# Dealt to the people in turn, so every folder holds some trouble. Faces are judged by the
# server, so the last two are good files locally.
_PROBLEMS: Final = (
    _DemoFile("short.mp4", "video", {**_SMALL, "duration": 1.0}, ("DurationTooShort",)),
    _DemoFile("slow.mp4", "video", {**_SMALL, "fps": 15}, ("FpsTooLow",)),
    _DemoFile("long.mp4", "video", {**_SMALL, "duration": 20.0, "audio": False}, ("DurationTooLong",)),
    _DemoFile("tiny.jpg", "image", {"width": 200, "height": 250}, ("WidthTooSmall", "HeightTooSmall")),
    _DemoFile("banner.jpg", "image", {"width": 3000, "height": 800}, ("AspectRatioTooLarge",)),
    _DemoFile("screenshot.jpg", "image", {"format": "png"}, ("TypeMismatch",)),
    _DemoFile("clip.webm", "video", {**_SMALL, "duration": 2.5}, ("FormatUnsupported",)),
    _DemoFile("scan.bmp", "image", {"width": 600, "height": 750}, ("FormatUnsupported",)),
    _DemoFile("broken.mp4", "junk", {}, ("FormatUndetectable",)),
    _DemoFile("empty.jpg", "empty", {}, ("FileEmpty",)),
    _DemoFile("other_person.jpg", "image", {"person": _OTHER, "faces": 1}),
    _DemoFile("two_faces.jpg", "image", {"width": 1000, "height": 800, "faces": 2}),
)


def _build(item: _DemoFile, path: Path, owner: str, other: str) -> None:
    options: dict[str, Any] = {"person": owner, **item.options}
    if options["person"] == _OTHER:
        options["person"] = other
    if item.kind == "image":
        make_image(path, **options)
    elif item.kind == "video":
        make_video(path, **options)
    elif item.kind == "audio":
        make_audio(path, **options)
    elif item.kind == "junk":
        # A download that returned garbage: no signature any sniffer or demuxer recognises.
        path.write_bytes(random.Random(f"broken:{owner}").randbytes(8192))
    else:
        path.write_bytes(b"")


def _demo_plan(people: Sequence[str]) -> dict[str, tuple[_DemoFile, str, str]]:
    """Return each demo file's relative path with its recipe, its owner and someone else."""
    if isinstance(people, str):  # one name, not a sequence of one-letter people
        people = (people,)
    if not people or len(set(people)) != len(people):
        raise ValueError(f"The demo needs one or more distinct people, not {list(people)!r}.")
    for name in people:
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"{name!r} cannot name a folder.")
    dealt = [(item, people[n % len(people)]) for n, item in enumerate(_PROBLEMS)]
    plan = {}
    for item, owner in [(item, owner) for owner in people for item in _GOOD] + dealt:
        after = people[(people.index(owner) + 1) % len(people)]
        plan[f"{owner}/{item.name}"] = (item, owner, after if after != owner else f"not-{owner}")
    return dict(sorted(plan.items()))


def demo_expected(people: Sequence[str] = ("alice", "bob")) -> dict[str, tuple[str, ...]]:
    """Return each file ``make_demo_folder(people=people)`` writes, with the codes it must fail."""
    return {rel: item.codes for rel, (item, _, _) in _demo_plan(people).items()}


DEMO_EXPECTED: Final[dict[str, tuple[str, ...]]] = demo_expected()
"""The default demo folder's files (posix paths) and the seedance-2.0 codes each must fail; ``()`` is good."""


def make_demo_folder(dest: str | os.PathLike[str], *, people: Sequence[str] = ("alice", "bob")) -> Path:
    """Return ``dest`` filled with ``dest/<person>/…``: good portraits, clips and voices, and problem files.

    The files and the codes a validator must report for each are ``demo_expected(people)``
    (``DEMO_EXPECTED`` for the default people).
    """
    root = Path(dest)
    for rel, (item, owner, other) in _demo_plan(people).items():
        _build(item, _prepared(root / rel), owner, other)
    return root


REAL_PEOPLE_EXPECTED: Final[dict[str, tuple[str, ...]]] = {
    "collins/bright.jpg": (),
    "collins/large.jpg": (),
    "collins/portrait.jpg": (),
    "hopper/crop.jpg": (),
    "hopper/mirror.jpg": (),
    "hopper/portrait.jpg": (),
    "hopper/stray.jpg": ("FaceMismatch",),
}
"""``make_real_people``'s files and the codes a face check (``people=True``) must give each."""


def make_real_people(dest: str | os.PathLike[str]) -> Path:
    """Return ``dest`` holding two real people's photos: ``hopper/`` (with a stray photo of Collins) and ``collins/``.

    The photos ship offline inside packages (matplotlib's ``grace_hopper.jpg``; scikit-image's
    ``astronaut()``, Eileen Collins), public domain by their sources. They carry no tag: only a real
    face check tells them apart, which is what they are for. Needs matplotlib and scikit-image.
    """
    try:
        from matplotlib.cbook import get_sample_data
        from skimage.data import astronaut
    except ImportError as exc:
        raise ImportError(
            "make_real_people needs matplotlib and scikit-image: pip install 'realavatar-nb[test]'"
        ) from exc
    from PIL import Image, ImageEnhance, ImageOps

    root = Path(dest)
    hopper = ImageOps.exif_transpose(Image.open(str(get_sample_data("grace_hopper.jpg", asfileobj=False)))).convert(
        "RGB"
    )
    collins = Image.fromarray(astronaut()).convert("RGB")
    w, h = hopper.size
    photos = {
        "hopper/portrait.jpg": hopper,
        "hopper/crop.jpg": hopper.crop((w // 10, 0, w - w // 10, h - h // 8)),
        "hopper/mirror.jpg": ImageOps.mirror(hopper),
        "hopper/stray.jpg": collins,  # a photo of someone else, filed in the wrong folder
        "collins/portrait.jpg": collins,
        "collins/large.jpg": collins.resize((collins.width * 2, collins.height * 2), Image.Resampling.LANCZOS),
        "collins/bright.jpg": ImageEnhance.Brightness(collins).enhance(1.3),
    }
    for rel, image in photos.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        image.save(target, "JPEG", quality=92)
    return root
