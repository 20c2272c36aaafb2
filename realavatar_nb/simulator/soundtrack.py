"""The generated video's sound: the first reference audio, decoded, or a synthesized tone, encoded as AAC.

Seedance 2.x makes sound with the picture unless ``generate_audio`` is false (reference/upstream.md
§4.4). The emulator's stand-in: a reference audio is decoded (PyAV), mixed down to mono at 48 kHz,
and looped or cut to the clip's length; without one, a soft chord that swells and fades. The same
inputs give the same samples.
"""

from __future__ import annotations

from typing import Any, Final

import av
import numpy as np

__all__ = ["RATE", "add_sound", "mux_sound", "samples"]

RATE: Final = 48_000
_FRAME: Final = 1024  # AAC's samples per frame
_CHORD: Final = (220.0, 277.18, 329.63)  # A major: audibly a tone, never a test beep


def samples(seconds: float, audio: str | None = None) -> np.ndarray:
    """Return ``seconds`` of mono float32 samples at ``RATE``: ``audio`` decoded, else the chord."""
    count = max(1, round(seconds * RATE))
    source = _decoded(audio) if audio else None
    if source is None or not source.size:
        t = np.arange(count, dtype=np.float32) / RATE
        tone = sum(np.sin(2 * np.pi * f * t) for f in _CHORD) / len(_CHORD)
        envelope = np.minimum(1.0, np.minimum(t / 0.3, (seconds - t) / 0.3)).clip(0.0, 1.0)
        return (0.2 * tone * envelope).astype(np.float32)
    repeats = -(-count // source.size)
    return np.tile(source, repeats)[:count].astype(np.float32)


def _decoded(path: str) -> np.ndarray | None:
    """Return the file's audio as mono float32 at ``RATE``, or ``None`` if it has none or cannot be read."""
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=RATE)
    chunks: list[np.ndarray] = []
    try:
        with av.open(path) as container:
            if not container.streams.audio:
                return None
            for frame in container.decode(audio=0):
                chunks += [f.to_ndarray()[0] for f in resampler.resample(frame)]
        chunks += [f.to_ndarray()[0] for f in resampler.resample(None)]
    except (av.FFmpegError, OSError, ValueError):
        return None
    return np.concatenate(chunks).astype(np.float32) if chunks else None


def add_sound(container: Any) -> Any:
    """Add a mono AAC stream at ``RATE`` to an open output container; return it."""
    stream = container.add_stream("aac", rate=RATE)
    stream.layout = "mono"
    return stream


def mux_sound(container: Any, stream: Any, pcm: np.ndarray) -> None:
    """Encode ``pcm`` into ``stream`` and mux it, flushing the encoder at the end."""
    for start in range(0, pcm.size, _FRAME):
        frame = av.AudioFrame.from_ndarray(pcm[None, start : start + _FRAME], format="fltp", layout="mono")
        frame.sample_rate = RATE
        frame.pts = start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
