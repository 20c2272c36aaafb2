"""Synthetic portrait media made at run time: images, clips, voice tones and a demo folder.

Every builder returns the path it wrote (parents created) and draws the same cheap portrait
placeholder: a gradient background, one head-and-shoulders figure per face, coloured from
the person's name, and the name written on it. Clips move a small marker every frame, so no
two consecutive frames are equal; audio is a tone whose pitch comes from the name.

Face-identity tags (``realavatar_nb.media.tags``) tell the emulator who is in a file:
portraits carry ``person=<owner>;faces=1``; a BMP has nowhere to keep one.

``make_demo_folder`` builds the mixed folder that
``make demo`` and the tests validate, and ``DEMO_EXPECTED`` says what a validator must find in
it under the seedance-2.0 limits. ``make_image`` lives in ``_samples_images`` and the clip and
tone builders in ``_samples_av``; this module re-exports them and plans the demo folders.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ._samples_av import make_audio, make_video
from ._samples_images import make_image, prepared
from .media.tags import TAG_PREFIX, format_tag, parse_tag, read_tag

__all__ = [
    "DEMO_EXPECTED", "REAL_PEOPLE_EXPECTED", "TAG_PREFIX", "demo_expected", "format_tag", "make_audio",
    "make_demo_folder", "make_image", "make_real_people", "make_video", "parse_tag", "read_tag",
]  # fmt: skip


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


# Every person gets these: good files, and a phone clip at 480×640 (307,200 pixels), under
# upstream's minimum of 407,696 pixels a frame, which ``fix`` scales up to 554×738.
_EVERYONE: Final = (
    _DemoFile("portrait.jpg", "image", {"width": 800, "height": 1000, "faces": 1}),
    _DemoFile("portrait.png", "image", {"width": 1080, "height": 1350, "faces": 1}),
    _DemoFile("portrait.heic", "image", {"width": 900, "height": 1200, "faces": 1}),
    _DemoFile("clip.mp4", "video", {"width": 480, "height": 640, "duration": 3.0, "faces": 1}, ("PixelCountTooSmall",)),
    _DemoFile("voice.mp3", "audio", {"duration": 4.0}),
    _DemoFile("voice.wav", "audio", {"duration": 3.0}),
)
# The smallest 4:5 clip upstream takes (414,720 pixels a frame): each problem clip fails for its one reason.
_CLIP: Final = {"width": 576, "height": 720}
# Dealt to the people in turn, so every folder holds some trouble. Faces are judged by the
# server, so the last two are good files locally.
_PROBLEMS: Final = (
    _DemoFile("short.mp4", "video", {**_CLIP, "duration": 1.0}, ("DurationTooShort",)),
    _DemoFile("slow.mp4", "video", {**_CLIP, "fps": 15}, ("FpsTooLow",)),
    _DemoFile("long.mp4", "video", {**_CLIP, "duration": 20.0, "audio": False}, ("DurationTooLong",)),
    _DemoFile("tiny.jpg", "image", {"width": 200, "height": 250}, ("WidthTooSmall", "HeightTooSmall")),
    _DemoFile("banner.jpg", "image", {"width": 3000, "height": 800}, ("AspectRatioTooLarge",)),
    _DemoFile("screenshot.jpg", "image", {"format": "png"}, ("TypeMismatch",)),
    _DemoFile("clip.webm", "video", {**_CLIP, "duration": 2.5}, ("FormatUnsupported",)),
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
    for item, owner in [(item, owner) for owner in people for item in _EVERYONE] + dealt:
        after = people[(people.index(owner) + 1) % len(people)]
        plan[f"{owner}/{item.name}"] = (item, owner, after if after != owner else f"not-{owner}")
    return dict(sorted(plan.items()))


def demo_expected(people: Sequence[str] = ("alice", "bob")) -> dict[str, tuple[str, ...]]:
    """Return each file ``make_demo_folder(people=people)`` writes, with the codes it must fail."""
    return {rel: item.codes for rel, (item, _, _) in _demo_plan(people).items()}


DEMO_EXPECTED: Final[dict[str, tuple[str, ...]]] = demo_expected()
"""The default demo folder's files (posix paths) and the seedance-2.0 codes each must fail; ``()`` is good."""


def make_demo_folder(dest: str | os.PathLike[str], *, people: Sequence[str] = ("alice", "bob")) -> Path:
    """Return ``dest`` filled with ``dest/<person>/…``: good portraits and voices, a clip to fix, and problem files.

    The files and the codes a validator must report for each are ``demo_expected(people)``
    (``DEMO_EXPECTED`` for the default people).
    """
    root = Path(dest)
    for rel, (item, owner, other) in _demo_plan(people).items():
        _build(item, prepared(root / rel), owner, other)
    return root


REAL_PEOPLE_EXPECTED: Final[dict[str, tuple[str, ...]]] = {
    "collins/bright.jpg": (),
    "collins/large.jpg": (),
    "collins/portrait.jpg": (),
    "hopper/blown.jpg": (),
    "hopper/blurred.jpg": (),
    "hopper/crop.jpg": (),
    "hopper/dark.jpg": (),
    "hopper/far.jpg": (),
    "hopper/mirror.jpg": (),
    "hopper/portrait.jpg": (),
    "hopper/stray.jpg": ("FaceMismatch",),
    "hopper/tilted.jpg": (),
}
"""``make_real_people``'s files and the codes a face check (``people=True``) must give each."""


def make_real_people(dest: str | os.PathLike[str]) -> Path:
    """Return ``dest`` holding two real people's photos: ``hopper/`` (with a stray photo of Collins, and copies
    of her portrait with one quality fault each: far, blurred, dark, blown out, tilted) and ``collins/``.

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
    from PIL import Image, ImageEnhance, ImageFilter, ImageOps

    root = Path(dest)
    hopper = ImageOps.exif_transpose(Image.open(str(get_sample_data("grace_hopper.jpg", asfileobj=False)))).convert(
        "RGB"
    )
    collins = Image.fromarray(astronaut()).convert("RGB")
    w, h = hopper.size
    grey = (128, 128, 128)
    far = Image.new("RGB", (2400, 2400), grey)  # her face some 75 px wide: too small in the frame
    far.paste(hopper, ((2400 - w) // 2, (2400 - h) // 2))
    photos = {
        "hopper/portrait.jpg": hopper,
        # One fault each, as the face pass's quality hints are calibrated (docs/validation-and-faces.md).
        "hopper/far.jpg": far,
        "hopper/blurred.jpg": hopper.filter(ImageFilter.GaussianBlur(3)),
        "hopper/dark.jpg": ImageEnhance.Brightness(hopper).enhance(0.25),
        "hopper/blown.jpg": ImageEnhance.Brightness(hopper).enhance(2.0),
        "hopper/tilted.jpg": hopper.rotate(30, Image.Resampling.BICUBIC, fillcolor=grey),
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
