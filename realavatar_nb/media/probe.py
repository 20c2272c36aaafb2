"""Probe a media file into the facts the rules judge: ``probe(path) -> MediaInfo``.

Content decides the kind, never the extension: the first bytes are matched against known
signatures (``sniff``), images are read by Pillow (pillow-heif for HEIC) from their header
only, so a decompression bomb is measured but never decoded, and video/audio are read by
PyAV in-process. ffprobe (through ffmpeg-python) is a second backend, used to cross-check.

What cannot be trusted is isolated: a file with no known signature, or whose in-process
probe runs past ``timeout``, is probed by a separate worker process (``quarantine``) that
is killed when it hangs or crashes; the result says so in ``note``.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import shutil
import stat
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from typing import Any, Final, Literal

from .._exceptions import MediaToolMissingError
from . import quarantine as _quarantine
from .containers import open_container, video_streams
from .image_facts import image_facts
from .integrity import Damage, check_structure
from .paths import path_argument
from .sniff import HEAD_BYTES, IMAGE_FORMATS, Sniffed, sniff

__all__ = ["Backend", "MediaInfo", "probe"]

Backend = Literal["auto", "pyav", "ffprobe"]
Isolate = Literal["untrusted", "always", "never"]

_IN_MEMORY_LIMIT: Final = 8 * 1024 * 1024
# FFmpeg reads ahead (up to 5 MB / 5 s) to analyse streams; these containers state every fact
# in their header, and skipping the read-ahead makes a WAV open ~20x faster (bench/probe.py).
_HEADER_COMPLETE: Final = frozenset({"mp4", "mov", "m4a", "wav", "mp3"})
_QUICK_PROBE: Final = {"probesize": "32", "analyzeduration": "0"}
_CHUNK: Final = 1024 * 1024

# PyAV/ffprobe demuxer names for files no signature recognised.
_DEMUXER_FAMILY: Final = {
    "matroska,webm": "mkv", "avi": "avi", "mp3": "mp3", "wav": "wav", "flac": "flac", "ogg": "ogg",
    "flv": "flv", "mpegts": "mpegts", "aac": "aac", "aiff": "aiff", "asf": "asf", "mpeg": "mpeg",
    "mov,mp4,m4a,3gp,3g2,mj2": "mp4",
}  # fmt: skip


@dataclass(frozen=True)
class MediaInfo:
    """The facts about one file. ``error`` holds a problem code when the file could not be read whole."""

    path: str
    kind: str = "unknown"
    format: str | None = None
    extension: str = ""
    container: str | None = None
    codec: str | None = None
    size_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    fps: float | None = None
    frames: int | None = None
    has_audio: bool | None = None
    sha256: str | None = None
    backend: str = "stat"
    error: str | None = None
    note: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def aspect(self) -> float | None:
        """Width over height, or ``None`` without both."""
        if self.width and self.height:
            return self.width / self.height
        return None

    @property
    def pixels(self) -> int | None:
        """Width times height, or ``None`` without both."""
        if self.width and self.height:
            return self.width * self.height
        return None

    def to_dict(self) -> dict[str, Any]:
        """Return the facts as plain values (picklable, JSON-ready apart from ``path`` bytes)."""
        out = asdict(self)
        out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MediaInfo:
        """Rebuild facts from ``to_dict`` output (unknown keys are ignored)."""
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in data.items() if k in names})


def _extension(path: str) -> str:
    name = os.path.basename(path.rstrip("/"))
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def _stat_problem(path: str) -> tuple[MediaInfo | None, int]:
    base = MediaInfo(path=path, extension=_extension(path))
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            note = "a symbolic link loop: the link points back at itself"
        elif exc.errno == errno.ENOENT:
            note = "a broken symbolic link, or the file vanished" if os.path.islink(path) else "no such file"
        elif exc.errno == errno.EACCES:
            note = "permission denied"
        else:
            note = f"cannot stat the file: {exc.strerror}"
        return replace(base, error="FileUnreadable", note=note), 0
    if stat.S_ISDIR(st.st_mode):
        return replace(base, error="FileUnreadable", note="a directory, not a file"), 0
    if not stat.S_ISREG(st.st_mode):
        return replace(base, error="FileUnreadable", note="not a regular file (a pipe, socket or device)"), 0
    if st.st_size == 0:
        return replace(base, error="FileEmpty", size_bytes=0, note="the file is empty (0 bytes)"), 0
    return None, st.st_size


def _read(path: str, size: int, want_hash: bool) -> tuple[bytes, bytes | None, str | None]:
    """Return the head, the whole content when small, and the sha256 (one pass over the file)."""
    with open(path, "rb") as fp:
        if size <= _IN_MEMORY_LIMIT:
            data = fp.read()
            return data[:HEAD_BYTES], data, hashlib.sha256(data).hexdigest() if want_hash else None
        head = fp.read(HEAD_BYTES)
        if not want_hash:
            return head, None, None
        digest = hashlib.sha256(head)
        while chunk := fp.read(_CHUNK):
            digest.update(chunk)
        return head, None, digest.hexdigest()


def _rate(value: Any) -> float | None:
    if value is None:
        return None
    rate = float(Fraction(value)) if not isinstance(value, float) else value
    return rate if rate > 0 else None


def pyav_facts(
    path: str, timeout: float | None = None, *, decode_check: bool = False, family: str | None = None
) -> dict[str, Any]:
    """Return what PyAV reads from a video or audio file (raises on files it cannot open).

    ``timeout`` reaches FFmpeg's interrupt callback, so a demuxer stuck reading or analysing
    streams gives up (``av.error.ExitError``). With ``decode_check`` the first frame of the main
    stream must decode: used for files whose signature was unknown, so that text or random bytes
    are never taken for media. For ``family`` values whose headers hold every fact (mp4, mov,
    wav, mp3) FFmpeg is told not to read ahead; a fact missing then is read again the long way.
    """
    if family in _HEADER_COMPLETE:
        facts = _pyav_read(path, timeout, decode_check, _QUICK_PROBE)
        wanted = ("duration_s",) if facts["kind"] == "audio" else ("duration_s", "width", "height", "fps")
        if all(facts.get(key) for key in wanted):
            return facts
    return _pyav_read(path, timeout, decode_check, None)


def _pyav_read(path: str, timeout: float | None, decode_check: bool, options: dict[str, str] | None) -> dict[str, Any]:
    with open_container(path, timeout=timeout, options=options) as container:
        video = video_streams(container)
        audio = list(container.streams.audio)
        main = video[0] if video else (audio[0] if audio else None)
        if main is None:
            raise ValueError("no video or audio stream")
        duration = container.duration / 1_000_000 if container.duration else None
        if duration is None and main.duration and main.time_base:
            duration = float(main.duration * main.time_base)
        facts: dict[str, Any] = {
            "kind": "video" if video else "audio",
            "container": container.format.name,
            "codec": main.codec_context.codec.canonical_name,
            "duration_s": duration,
            "has_audio": bool(audio),
            "backend": "pyav",
        }
        if video:
            v = video[0]
            facts.update(
                width=v.codec_context.width or None,
                height=v.codec_context.height or None,
                fps=_rate(v.average_rate) or _rate(v.guessed_rate),
                frames=v.frames or None,
            )
        else:
            a = audio[0]
            facts["extra"] = {
                "sample_rate": a.codec_context.sample_rate,
                "channels": a.codec_context.channels,
            }
        if decode_check:
            for frame in container.decode(main):
                del frame
                break
            else:
                raise ValueError("no frame decodes")
        return facts


def _ffprobe_facts(path: str) -> dict[str, Any]:
    import ffmpeg

    if shutil.which("ffprobe") is None:
        raise MediaToolMissingError(
            "backend='ffprobe' needs an ffprobe binary on PATH (Debian: apt-get install ffmpeg); "
            "the default backend needs none."
        )
    data = ffmpeg.probe(path)
    streams = data.get("streams", [])
    fmt = data.get("format", {})
    video = [s for s in streams if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    main = video[0] if video else (audio[0] if audio else None)
    if main is None:
        raise ValueError("no video or audio stream")
    still = fmt.get("format_name", "").endswith("_pipe") or fmt.get("format_name") == "image2"
    duration = fmt.get("duration") or main.get("duration")
    facts: dict[str, Any] = {
        "kind": "image" if still else ("video" if video else "audio"),
        "container": fmt.get("format_name"),
        "codec": main.get("codec_name"),
        "duration_s": None if still or duration is None else float(duration),
        "has_audio": bool(audio),
        "backend": "ffprobe",
    }
    if video:
        v = video[0]
        frames = v.get("nb_frames")
        facts.update(
            width=v.get("width"),
            height=v.get("height"),
            fps=None if still else _rate(v.get("avg_frame_rate") if v.get("avg_frame_rate") != "0/0" else None),
            frames=int(frames) if frames and not still else None,
        )
    return facts


def _ffmpeg_exit_error() -> type[Exception]:
    import av

    return av.error.ExitError  # what FFmpeg's interrupt callback raises once ``timeout`` passes


def _family_from_demuxer(name: str | None, sniffed: Sniffed | None) -> str | None:
    if sniffed is not None:
        return sniffed.format
    if not name:
        return None
    return _DEMUXER_FAMILY.get(name, name.split(",")[0])


def probe(
    path: str | bytes | os.PathLike[str],
    *,
    backend: Backend = "auto",
    timeout: float = 30.0,
    isolate: Isolate = "untrusted",
    hash: bool = True,
) -> MediaInfo:
    """Return the facts about the file at ``path``; never raises for a bad file.

    ``backend``: ``"auto"``/``"pyav"`` (Pillow for images, PyAV for video and audio) or
    ``"ffprobe"``. ``isolate``: ``"untrusted"`` probes files without a known signature (and
    in-process probes that run past ``timeout``) in a separate process; ``"always"`` probes every
    video/audio file there; ``"never"`` keeps everything in-process. A ``path`` that is no path at
    all (``None``, a number, a NUL in it) raises ``InvalidArgumentError``.
    """
    spath = path_argument(path, call="probe", name="path")
    early, size = _stat_problem(spath)
    if early is not None:
        return early
    base = MediaInfo(path=spath, extension=_extension(spath), size_bytes=size)
    try:
        head, data, digest = _read(spath, size, hash)
    except OSError as exc:
        why = "permission denied" if exc.errno == errno.EACCES else f"cannot read the file: {exc.strerror}"
        return replace(base, error="FileUnreadable", note=why)
    base = replace(base, sha256=digest)
    sniffed = sniff(head)

    damage = None
    if sniffed is not None:
        with io.BytesIO(data) if data is not None else open(spath, "rb") as fp:
            damage = check_structure(fp, sniffed.format, size, head, data)
        if damage is not None and damage.code == "FormatUndetectable":
            return replace(base, format=sniffed.format, error=damage.code, note=damage.note)

    try:
        facts, note = _read_facts(spath, sniffed, data, backend, timeout, isolate)
    except MediaToolMissingError:
        raise
    except _quarantine.ProbeFailure as failure:
        return replace(base, format=sniffed.format if sniffed else None, error=failure.code, note=failure.note)
    except Exception as exc:
        why = f"the file cannot be read as media ({_short(exc)})"
        # Box and chunk sizes are firm evidence of a cut-off file; a missing end marker is not,
        # when the header itself does not parse: that image is corrupt, not merely short.
        if damage is not None and (sniffed is None or sniffed.format not in IMAGE_FORMATS):
            return replace(base, format=sniffed.format if sniffed else None, error=damage.code, note=damage.note)
        return replace(base, format=sniffed.format if sniffed else None, error="FormatUndetectable", note=why)
    return _with_facts(base, facts, sniffed, damage, note)


def _read_facts(
    path: str, sniffed: Sniffed | None, data: bytes | None, backend: Backend, timeout: float, isolate: Isolate
) -> tuple[dict[str, Any], str | None]:
    """Return the facts the chosen reader gives, and a note when they came from an isolated process.

    Raises whatever the reader raises for a file it cannot read.
    """
    if backend == "ffprobe":
        return _ffprobe_facts(path), None
    if sniffed is not None and sniffed.format in IMAGE_FORMATS:
        return image_facts(path, sniffed.format, data), None
    if sniffed is None or isolate == "always":
        facts = _quarantine.probe(path, timeout=timeout, decode_check=sniffed is None)
        return facts, "probed in an isolated process" + ("" if sniffed else " (no known signature)")
    started = time.monotonic()
    try:
        return pyav_facts(path, timeout, family=sniffed.format), None
    except Exception as exc:
        # An interrupt can surface as ExitError or, mid-parse, as any demuxer error.
        if not isinstance(exc, _ffmpeg_exit_error()) and time.monotonic() - started < timeout:
            raise
        facts = _quarantine.probe(path, timeout=timeout, decode_check=False)
        return facts, f"the in-process probe ran past {timeout:g} s; probed in an isolated process"


def _with_facts(
    base: MediaInfo, facts: Mapping[str, Any], sniffed: Sniffed | None, damage: Damage | None, note: str | None
) -> MediaInfo:
    """Return ``base`` filled in with ``facts``, the kind the signature vouches for kept, and damage or note added."""
    fmt = _family_from_demuxer(facts.get("container"), sniffed)
    info = replace(base, format=fmt, **{k: v for k, v in facts.items() if k in MediaInfo.__dataclass_fields__})
    if sniffed is not None and sniffed.kind == "audio" and info.kind == "video":
        info = replace(info, kind="audio")  # cover art in an mp3 or m4a is not a video
    if sniffed is not None and sniffed.kind == "image" and info.kind != "image":
        # ffprobe reads a GIF or WebP as a short video; the signature says it is an image.
        info = replace(info, kind="image", duration_s=None, fps=None, frames=None)
    if damage is not None:
        info = replace(info, error=damage.code, note=damage.note)
    elif note:
        info = replace(info, note=note)
    return info


def _short(exc: BaseException) -> str:
    # FFmpeg errors carry the path and an errno in str(); strerror alone reads better in a report.
    text = str(getattr(exc, "strerror", None) or exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:160]
