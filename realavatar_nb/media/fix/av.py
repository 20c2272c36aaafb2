"""Conforming copies of video and audio, written by ffmpeg through ffmpeg-python.

Clips that are too long are trimmed a little under the limit, frame rates out of range are
resampled to the nearest bound, pictures are scaled and padded (``geometry.plan_size``, even
sides, yuv420p), containers the profile does not take become H.264 + AAC in MP4 (audio becomes
MP3), and a file over the size limit is re-encoded at a bitrate computed to land under it.
``-map_metadata 0`` keeps the container's tags, the face-identity ``comment`` among them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Collection
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Final

from ..._display import printable
from ..._exceptions import FixError, MediaToolMissingError
from ..containers import open_container
from ..probe import MediaInfo
from ..rules import KindLimits, Range
from .geometry import SizePlan, plan_size

__all__ = ["AVCopy", "find_ffmpeg", "write_audio", "write_video"]

# A trimmed clip ends this far under the limit: muxers round the container's duration up by
# a frame or an audio packet, and a clip of exactly the limit can be judged over it.
_TRIM_MARGIN: Final = 0.1
_PRESET: Final = "veryfast"
_CRF: Final = 20
_AUDIO_BPS: Final = 128_000
# Share of the size limit the bitrate aims at; the rest absorbs container overhead and the
# rate control's overshoot.
_BUDGET: Final = 0.9
_MIN_VIDEO_BPS: Final = 64_000
_ENCODE_TRIES: Final = 3
_MP3_KBPS: Final = (320, 256, 224, 192, 160, 128, 112, 96, 80, 64, 56, 48, 40, 32)
_MP3_DEFAULT_KBPS: Final = 192


def find_ffmpeg(explicit: str | None = None) -> str:
    """Return the ffmpeg binary to run: ``explicit``, else ``ffmpeg`` on PATH, else imageio-ffmpeg's own.

    Raises ``MediaToolMissingError`` saying how to get one when there is none.
    """
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return explicit
        found = shutil.which(explicit)
        if found:
            return found
        raise MediaToolMissingError(
            f"ffmpeg={explicit!r} is not an executable file; pass the path of an ffmpeg binary."
        )
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        raise MediaToolMissingError(
            "Fixing video and audio needs ffmpeg: pip install imageio-ffmpeg, install your system's ffmpeg "
            "(Debian: apt-get install ffmpeg), or pass ffmpeg='/path/to/ffmpeg'."
        ) from None


def _last_line(stderr: bytes | None) -> str:
    lines = [line.strip() for line in (stderr or b"").decode("utf-8", "replace").splitlines() if line.strip()]
    return printable(lines[-1]) if lines else "it exited with an error and said nothing"  # ffmpeg quotes paths raw


def _run(spec: Any, binary: str) -> None:
    import ffmpeg

    # -nostdin: ffmpeg otherwise reads keystrokes from a terminal or a notebook's stdin.
    command = spec.global_args("-nostdin", "-hide_banner", "-loglevel", "error").overwrite_output()
    try:
        command.run(cmd=binary, capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        raise FixError(f"ffmpeg failed: {_last_line(exc.stderr)}") from None
    except OSError as exc:
        raise FixError(f"ffmpeg failed: cannot run {binary}: {exc.strerror or exc}") from None


def _mib(size: float) -> str:
    return f"{size / 1024 / 1024:.3g} MiB" if size >= 1024 * 1024 else f"{size / 1024:.3g} KiB"


def _limit(rule: Range | None) -> str:
    return _mib(rule.max) if rule is not None and rule.max is not None else "the size limit"


def _over(rule: Range | None, path: str) -> bool:
    return rule is not None and rule.above(os.path.getsize(path))


def trim_target(info: MediaInfo, problems: Collection[str], limits: KindLimits) -> float | None:
    """Return the duration to trim to, a little under the limit, or ``None`` when no trim is needed."""
    rng = limits.duration_s
    if "DurationTooLong" not in problems or rng is None or rng.max is None:
        return None
    floor = rng.min or 0.0
    return round(rng.max - min(_TRIM_MARGIN, (rng.max - floor) / 4), 3)


def rate_target(info: MediaInfo, problems: Collection[str], limits: KindLimits) -> float | None:
    """Return the frame rate to resample to (the nearest allowed bound), or ``None`` to keep it."""
    rng = limits.fps
    if rng is None:
        return None
    if "FpsTooLow" in problems and rng.min is not None:
        return rng.min if rng.min_inclusive else rng.min + 1
    if "FpsTooHigh" in problems and rng.max is not None:
        return rng.max if rng.max_inclusive else rng.max - 1
    return None


def _container(target: str, source_format: str | None = None, stream: str = "a") -> dict[str, Any]:
    options: dict[str, Any] = {"f": target, "map_metadata": 0}
    if source_format == "ogg":
        # Ogg keeps its tags (the face-identity comment among them) on a stream, not the
        # container: lift that stream's tags to the new file's global ones as well.
        options["map_metadata:g"] = f"0:s:{stream}:0"
    if target in ("mp4", "mov"):
        options["movflags"] = "+faststart"  # the index first, so a player or an upload check can start early
    return options


def _display_rotation(source: str) -> int:
    """Return the clockwise display rotation of the clip's first frame, in degrees (0, 90, 180 or 270)."""
    import av

    try:
        with open_container(source) as container:
            for frame in container.decode(video=0):
                return round(float(getattr(frame, "rotation", 0) or 0)) % 360
    except (av.FFmpegError, OSError, ValueError):
        pass  # a clip PyAV cannot decode is left for ffmpeg to judge
    return 0


def _video_spec(
    source: str,
    dest: str,
    target: str,
    info: MediaInfo,
    plan: SizePlan | None,
    *,
    rate: str | None,
    trim: float | None,
    bitrate: int | None,
) -> Any:
    import ffmpeg

    source_stream = ffmpeg.input(source)
    video = source_stream["v:0"]
    if rate is not None:
        video = video.filter("fps", fps=rate)
    if plan is not None and plan.changes:
        video = video.filter("scale", plan.content_width, plan.content_height)
        if plan.padded:
            video = video.filter("pad", plan.width, plan.height, plan.left, plan.top, color="gray")
    video = video.filter("setsar", 1).filter("format", "yuv420p")
    streams = [video, source_stream["a:0"]] if info.has_audio else [video]
    options = {
        **_container(target, info.format, "a" if info.has_audio else "v"),
        "vcodec": "libx264",
        "preset": _PRESET,
    }
    if info.has_audio:
        options.update(acodec="aac", audio_bitrate=_AUDIO_BPS)
    if trim is not None:
        options["t"] = trim
    if bitrate is None:
        options["crf"] = _CRF
    else:
        options.update(video_bitrate=bitrate, maxrate=int(bitrate * 1.5), bufsize=int(bitrate * 2))
    return ffmpeg.output(*streams, dest, **options)


@dataclass(frozen=True)
class AVCopy:
    """A conforming copy to write: the clip or sound at ``source``, its ``problems`` and where the copy goes."""

    source: str
    dest: str
    info: MediaInfo
    problems: Collection[str]
    limits: KindLimits
    target: str  # the format to write: mp4 or mov for a clip, mp3 or wav for a sound
    binary: str  # the ffmpeg to run


def _remux(job: AVCopy, stream: Any, **options: Any) -> list[str]:
    """Copy ``stream`` into the target container without re-encoding; return the one step."""
    _run(stream.output(job.dest, **options), job.binary)
    return [f"remuxed into {job.target} without re-encoding"]


def write_video(job: AVCopy) -> list[str]:
    """Write a conforming ``job.target`` (mp4 or mov) copy of the clip to ``job.dest``; return the steps.

    Raises ``FixError`` with the reason (ffmpeg's last word included) when no copy can be made.
    """
    import ffmpeg

    info, limits, wanted = job.info, job.limits, set(job.problems)
    if wanted == {"TypeMismatch"}:
        return _remux(job, ffmpeg.input(job.source), c="copy", **_container(job.target))
    trim = trim_target(info, wanted, limits)
    if wanted <= {"DurationTooLong", "TypeMismatch"} and trim is not None and job.target == info.format:
        # Cutting the end needs no re-encode: the clip still starts on its first keyframe.
        _run(ffmpeg.input(job.source).output(job.dest, c="copy", t=trim, **_container(job.target)), job.binary)
        return [f"trimmed to {trim:g} s without re-encoding"]

    rate = rate_target(info, wanted, limits)
    # ffmpeg turns a clip with a display rotation upright as it re-encodes, so the frames the
    # sizing plan applies to have the displayed shape, not the stored one the report measured.
    turn = _display_rotation(job.source)
    width, height = (info.height, info.width) if turn % 180 else (info.width, info.height)
    # Planned even when no size rule fails: 4:2:0 H.264 needs even sides whatever the source had.
    plan = plan_size(width, height, limits, even=True) if width and height else None
    if plan is not None and plan.refusal:
        raise FixError(plan.refusal)
    steps = _video_steps(job, turn, trim, rate, plan)
    # The fps filter runs even at the source's own rate: it makes the output constant-rate, where
    # a dropped or shifted first frame (AVI's placeholder frames) would otherwise leave an
    # average rate below the one the source was made at.
    pace = rate if rate is not None else info.fps
    pace_text = None if pace is None else str(Fraction(pace).limit_denominator(1001))
    bitrate = _encode_within_size(job, plan, pace_text, trim)
    if bitrate is not None:
        steps.append(f"re-encoded at {bitrate // 1000} kb/s to fit under {_limit(limits.size_bytes)}")
    return steps or ["re-encoded"]


def _video_steps(job: AVCopy, turn: int, trim: float | None, rate: float | None, plan: SizePlan | None) -> list[str]:
    """Return what a re-encode of the clip does, as steps for a person, before any bitrate is known."""
    info = job.info
    steps = []
    if job.target != info.format:
        steps.append(f"converted {info.format} → {job.target} (h264 + aac)")
    if turn:
        steps.append(f"turned upright (stored rotated {turn}°)")
    if trim is not None:
        steps.append(f"trimmed to {trim:g} s")
    if rate is not None:
        steps.append(f"resampled {info.fps or 0:.4g}→{rate:g} fps")
    if plan is not None and plan.changes:
        steps.append(plan.describe())
    return steps


def _encode_within_size(job: AVCopy, plan: SizePlan | None, pace: str | None, trim: float | None) -> int | None:
    """Re-encode the clip, lowering the bitrate until it fits the size rule; return the bitrate aimed at.

    ``None`` means a quality (crf) encode that fit at once, with no size problem to aim for.
    """
    info = job.info
    duration = trim or info.duration_s
    rule = job.limits.size_bytes
    bitrate = _video_bitrate(rule, duration, bool(info.has_audio)) if "FileSizeTooLarge" in job.problems else None
    for _ in range(_ENCODE_TRIES):
        spec = _video_spec(job.source, job.dest, job.target, info, plan, rate=pace, trim=trim, bitrate=bitrate)
        _run(spec, job.binary)
        if not _over(rule, job.dest):
            return bitrate
        # Over the limit (an overshoot, or a crf encode larger than its source): aim lower in
        # proportion to how far over this try landed.
        size = os.path.getsize(job.dest)
        if not duration or rule is None or rule.max is None:
            raise FixError(f"still {_mib(size)}, over {_limit(rule)}, and no bitrate can be computed")
        spent = bitrate or int(size * 8 / duration) - (_AUDIO_BPS if info.has_audio else 0)
        bitrate = int(spent * rule.max / size * _BUDGET)
        if bitrate < _MIN_VIDEO_BPS:
            raise FixError(f"cannot fit {duration:.1f} s of video under {_limit(rule)}")
    raise FixError(f"still {_mib(os.path.getsize(job.dest))} after {_ENCODE_TRIES} encodes, over {_limit(rule)}")


def _video_bitrate(rule: Range | None, duration: float | None, has_audio: bool) -> int:
    """Return the video bitrate (bit/s) that lands a ``duration`` clip under the size rule."""
    if rule is None or rule.max is None:
        raise FixError("the profile has no size limit to aim for")
    if not duration:
        raise FixError("the clip's duration is unknown, so no bitrate can be computed")
    bitrate = int(rule.max * 8 * _BUDGET / duration) - (_AUDIO_BPS if has_audio else 0)
    if bitrate < _MIN_VIDEO_BPS:
        raise FixError(f"cannot fit {duration:.1f} s of video under {_mib(rule.max)}")
    return bitrate


def _mp3_kbps(rule: Range | None, duration: float | None, oversize: bool) -> int:
    """Return the highest standard MP3 bitrate whose file fits the size rule (192 kb/s when size is no issue)."""
    ceiling = _MP3_KBPS[0] if oversize else _MP3_DEFAULT_KBPS
    if rule is None or rule.max is None or not duration:
        return ceiling
    fits = rule.max * 8 * _BUDGET / duration / 1000
    for kbps in _MP3_KBPS:
        if kbps <= min(ceiling, fits):
            return kbps
    raise FixError(f"cannot fit {duration:.1f} s of audio under {_mib(rule.max)} even at {_MP3_KBPS[-1]} kb/s")


def write_audio(job: AVCopy) -> list[str]:
    """Write a conforming ``job.target`` (mp3 or wav) copy of the sound to ``job.dest``; return the steps.

    Raises ``FixError`` with the reason (ffmpeg's last word included) when no copy can be made.
    """
    import ffmpeg

    source, dest, info, limits, target, binary = job.source, job.dest, job.info, job.limits, job.target, job.binary
    wanted = set(job.problems)
    sound = ffmpeg.input(source)["a:0"]
    container = _container(target, info.format)
    if wanted == {"TypeMismatch"}:
        return _remux(job, sound, acodec="copy", **container)
    trim = trim_target(info, wanted, limits)
    timing = {"t": trim} if trim is not None else {}
    steps = [f"converted {info.format} → {target}"] if target != info.format else []
    if trim is not None:
        steps.append(f"trimmed to {trim:g} s")
    rule = limits.size_bytes
    oversize = "FileSizeTooLarge" in wanted
    if target == "wav" or (target == info.format == "mp3" and not oversize):
        pcm = info.format == "wav" and (info.codec or "").startswith("pcm_")
        codec = "copy" if target == info.format and (target == "mp3" or pcm) else "pcm_s16le"
        _run(sound.output(dest, acodec=codec, **timing, **container), binary)
        if _over(rule, dest):
            raise FixError(f"still {_mib(os.path.getsize(dest))} as {target}, over {_limit(rule)}")
        return steps or ["rewritten"]
    kbps = _mp3_kbps(rule, trim or info.duration_s, oversize)
    for _ in range(_ENCODE_TRIES):
        _run(sound.output(dest, acodec="libmp3lame", audio_bitrate=f"{kbps}k", **timing, **container), binary)
        lower = [k for k in _MP3_KBPS if k < kbps]
        if not _over(rule, dest) or not lower:
            break
        kbps = lower[0]
    if _over(rule, dest):
        raise FixError(f"still {_mib(os.path.getsize(dest))} at {kbps} kb/s, over {_limit(rule)}")
    steps.append(f"encoded as mp3 at {kbps} kb/s" + (f" to fit under {_limit(rule)}" if oversize else ""))
    return steps
