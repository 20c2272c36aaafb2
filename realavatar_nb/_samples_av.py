"""Sample clips and voice tones: ``make_video`` and ``make_audio``, re-exported by ``realavatar_nb.samples``.

A clip shows the portrait placeholder (``_samples_images.portrait``) with a small marker that
moves every frame, so no two consecutive frames are equal; audio is a tone whose pitch comes
from the person's name. Both carry the face-identity tag in the container's ``comment``.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction
from typing import TYPE_CHECKING, Final

from ._samples_images import name_hue, portrait, prepared
from .media.tags import format_tag

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    from av.audio.stream import AudioStream
    from av.container import OutputContainer
    from av.video.stream import VideoStream

__all__ = ["make_audio", "make_video"]

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


def _tone(duration: float, rate: int, person: str | None) -> np.ndarray:
    """Return a mono float32 tone shaped like slow syllables, pitched from the person's name."""
    import numpy as np

    t = np.arange(round(duration * rate), dtype=np.float64) / rate
    pitch = 180.0 + 160.0 * name_hue(person or "sample")
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


def _clip_codecs(out: Path, codec: str | None) -> tuple[str, str, int]:
    """Return the video codec, audio codec and audio rate for a clip written to ``out``."""
    suffix = out.suffix.lstrip(".").lower()
    if suffix not in _VIDEO_CODECS:
        raise ValueError(f"Cannot write a clip as {suffix or '(no suffix)'!r}; use one of {', '.join(_VIDEO_CODECS)}.")
    video_codec, audio_codec, rate = _VIDEO_CODECS[suffix]
    return codec or video_codec, audio_codec, rate


def _video_stream(container: OutputContainer, codec: str, fps: int, width: int, height: int) -> VideoStream:
    import av

    stream = container.add_stream(codec, rate=fps, options=_FAST_OPTIONS.get(codec, {}))
    if not isinstance(stream, av.VideoStream):
        raise ValueError(f"{codec!r} is not a video encoder.")
    stream.width, stream.height = width, height
    # An encoder lists its preferred pixel format first (yuv420p for H.264, yuvj420p for MJPEG).
    stream.pix_fmt = next((f.name for f in stream.codec.video_formats or ()), "yuv420p")
    return stream


def _encode_frames(container: OutputContainer, stream: VideoStream, base: np.ndarray, frames: int) -> None:
    """Encode ``frames`` copies of the yuv420p planes ``base``, each with the marker moved on."""
    import av

    width, height = stream.width, stream.height
    marker = max(4, min(width, height) // 16) // 2 * 2
    row = height - 2 * marker
    span = width - marker
    for i in range(frames):
        planes = base.copy()
        x = (i * 2) % span  # two pixels a frame: slow, and never the same place twice in a row
        planes[row : row + marker, x : x + marker] = 235
        frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        frame.pts = i
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def make_video(
    path: str | os.PathLike[str],
    *,
    width: int = 480,
    height: int = 854,
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
    chroma needs. The default 480×854 (480p, portrait) is about the smallest frame upstream takes:
    at least 407,696 pixels and 300 px a side. The tag goes into the container's ``comment``.
    """
    import av
    import numpy as np

    if width % 2 or height % 2 or width < 2 or height < 2:
        raise ValueError(f"A clip needs even, positive sides for 4:2:0 chroma, not {width}×{height}.")
    frames = round(duration * fps)
    if frames < 1:
        raise ValueError(f"{duration} s at {fps} fps is less than one frame.")
    out = prepared(path)
    video_codec, audio_codec, rate = _clip_codecs(out, codec)

    # Draw once, convert once; each frame is then a copy of the planes with a marker moved.
    picture = av.VideoFrame.from_ndarray(np.asarray(portrait(width, height, person, faces)), format="rgb24")
    base = picture.reformat(format="yuv420p").to_ndarray()

    with av.open(os.fspath(out), "w") as container:
        tag = format_tag(person, faces)
        if tag:
            container.metadata["comment"] = tag
        stream = _video_stream(container, video_codec, fps, width, height)
        sound = container.add_stream(audio_codec, rate=rate, layout="mono") if audio else None
        _encode_frames(container, stream, base, frames)
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
    out = prepared(path)
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
