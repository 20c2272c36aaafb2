"""Media built once per session at test time: one good file of every format in the tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from realavatar_nb.samples import make_audio, make_image, make_video

# name -> (builder, kwargs, expected facts)
GOOD: dict[str, tuple[str, dict[str, object], dict[str, object]]] = {
    "portrait.jpg": ("image", {"width": 800, "height": 1000}, {"kind": "image", "format": "jpeg"}),
    "portrait.jpeg": ("image", {"width": 640, "height": 800}, {"kind": "image", "format": "jpeg"}),
    "portrait.png": ("image", {"width": 1080, "height": 1350}, {"kind": "image", "format": "png"}),
    "portrait.webp": ("image", {"width": 600, "height": 900}, {"kind": "image", "format": "webp"}),
    "portrait.gif": ("image", {"width": 400, "height": 500}, {"kind": "image", "format": "gif"}),
    "portrait.heic": ("image", {"width": 900, "height": 1200}, {"kind": "image", "format": "heic"}),
    "clip.mp4": (
        "video",
        {"width": 600, "height": 800, "duration": 3.0, "fps": 24},
        {"kind": "video", "format": "mp4", "has_audio": True},
    ),
    "clip.mov": (
        "video",
        {"width": 540, "height": 960, "duration": 2.5, "fps": 30, "audio": False},
        {"kind": "video", "format": "mov", "has_audio": False},
    ),
    "voice.mp3": ("audio", {"duration": 4.0}, {"kind": "audio", "format": "mp3"}),
    "voice.wav": ("audio", {"duration": 3.0}, {"kind": "audio", "format": "wav"}),
}

BUILDERS = {"image": make_image, "video": make_video, "audio": make_audio}


@pytest.fixture(scope="session")
def good_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("good")
    for name, (kind, kwargs, _) in GOOD.items():
        BUILDERS[kind](folder / name, **kwargs)  # type: ignore[operator]
    return folder
