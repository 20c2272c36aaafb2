"""How fast ``validate_folder`` reads a folder, against the two baselines it must beat.

Prints a table (method, files, median seconds, files/s) and two goals, each PASS or MISS:

* ``validate_folder`` (default workers) at least 25× a sequential ``ffmpeg.probe()`` loop;
* ``validate_folder(workers=1)`` no slower than 1.5× a bare PyAV/Pillow open loop
  (``av.open`` + container/stream fields, ``PIL.Image.open`` + ``.size``, nothing else).

Speed is measured, never asserted: the exit status is 0 whatever the figures (non-zero only
on a crash). Every method runs over the same folder in the same process, round-robin within
each repeat, after one untimed warm-up pass that also fills the page cache.

    python bench/probe.py [--files N] [--repeat R] [--media DIR] [--json OUT] [--no-ffprobe]

The media folder is generated once under ``build/bench/probe-media/`` (reused while its
recipe version and file count match): ~60 distinct originals built by
``realavatar_nb.samples``, then byte-identical copies up to ``--files``. Probing reads headers,
so distinct bytes would not change its speed. ``--media DIR`` points at another cache folder,
or at a folder of your own media (any non-empty folder without a ``recipe.json``), measured as is.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _machine import machine_facts  # bench/ is on sys.path when a script runs

RECIPE_VERSION = 1
DEFAULT_MEDIA = Path(__file__).resolve().parent.parent / "build" / "bench" / "probe-media"
GOAL_VS_FFPROBE = 25.0  # validate_folder files/s ÷ ffprobe loop files/s, at least
GOAL_VS_BARE = 1.5  # validate_folder(workers=1) seconds ÷ bare loop seconds, at most
EXTRA_WORKERS = (2, 4)  # for context only

_AV_SUFFIXES = frozenset({"mp4", "mov", "webm", "mkv", "m4a", "mp3", "wav", "flac", "ogg", "aac"})


# --- the media ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Original:
    """One distinct file of the mix: which ``samples`` builder makes it, and with what."""

    name: str
    builder: str  # image | video | audio
    kwargs: dict[str, Any] = field(default_factory=dict)


def _recipe() -> list[Original]:
    """Return the distinct originals, modelled on environment.md §3: 20% video, 20% audio, 60% images."""
    videos = [
        # (suffix, width, height, fps, seconds, audio, codec)
        ("mp4", 320, 240, 15, 2.0, True, None),
        ("mp4", 480, 640, 24, 3.0, True, None),
        ("mp4", 640, 360, 30, 2.0, True, None),
        ("mp4", 720, 1280, 30, 1.5, True, None),
        ("mp4", 540, 960, 25, 2.5, True, None),
        ("mp4", 360, 640, 60, 1.0, False, None),
        ("mp4", 720, 1280, 24, 4.0, True, None),
        ("mp4", 480, 854, 30, 3.0, False, None),
        ("mov", 360, 640, 30, 2.0, False, None),
        ("mov", 480, 640, 24, 3.0, True, None),
        ("mov", 720, 1280, 25, 1.5, True, None),
        ("webm", 320, 240, 24, 1.0, False, None),
    ]
    audio = [
        # (suffix, seconds, sample rate)
        *(
            ("mp3", s, r)
            for s, r in ((1.0, 44100), (2.0, 48000), (3.0, 16000), (4.0, 44100), (5.0, 48000), (2.5, 44100))
        ),
        *(
            ("wav", s, r)
            for s, r in ((1.0, 16000), (2.0, 44100), (3.0, 48000), (4.0, 16000), (5.0, 44100), (1.5, 48000))
        ),
    ]
    portrait = [(600, 800), (720, 1280), (800, 1000), (1080, 1350), (480, 640), (900, 1200), (1080, 1920)]
    images = [("jpg", 10), ("png", 8), ("webp", 7), ("gif", 5), ("heic", 6)]
    out = [
        Original(
            f"clip-{w}x{h}-{fps}fps-{secs:g}s{'' if codec is None else '-' + codec}.{suffix}",
            "video",
            {"width": w, "height": h, "fps": fps, "duration": secs, "audio": sound}
            | ({} if codec is None else {"codec": codec}),
        )
        for suffix, w, h, fps, secs, sound, codec in videos
    ]
    out += [
        Original(f"voice-{secs:g}s-{rate // 1000}k.{suffix}", "audio", {"duration": secs, "sample_rate": rate})
        for suffix, secs, rate in audio
    ]
    n = 0
    for suffix, count in images:
        for i in range(count):
            w, h = portrait[n % len(portrait)]
            n += 1
            out.append(Original(f"portrait-{i}-{w}x{h}.{suffix}", "image", {"width": w, "height": h}))
    return out


def _break(folder: Path, good: list[Path]) -> list[Path]:
    """Write the few broken files of the mix, derived from good originals."""
    mp4 = next(p for p in good if p.suffix == ".mp4")
    jpg = next(p for p in good if p.suffix == ".jpg")
    broken = {
        "broken-truncated.mp4": mp4.read_bytes()[: mp4.stat().st_size * 2 // 5],
        "broken-truncated.jpg": jpg.read_bytes()[: jpg.stat().st_size // 2],
        "broken-empty.png": b"",
        "broken-not-media.mp4": b"this upload was an error page, not a video\n" * 40,
    }
    for name, data in broken.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in broken]


def _samples() -> Any:
    """Import ``realavatar_nb.samples``, waiting a little if it is being written right now."""
    for attempt in range(30):
        try:
            from realavatar_nb import samples

            return samples
        except ImportError:
            if attempt == 29:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


def _generate(folder: Path, files: int) -> dict[str, Any]:
    samples = _samples()
    builders: dict[str, Callable[..., Any]] = {
        "image": samples.make_image,
        "video": samples.make_video,
        "audio": samples.make_audio,
    }
    folder.mkdir(parents=True)
    recipe = _recipe()
    started = time.perf_counter()
    # The builders mostly wait on ffmpeg/encoders that release the GIL: threads fill both cores.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        paths = [folder / f"orig-{o.name}" for o in recipe]
        jobs = [pool.submit(builders[o.builder], p, **o.kwargs) for o, p in zip(recipe, paths, strict=True)]
        for job in jobs:
            job.result()
    broken = _break(folder, paths)
    copies = max(0, files - len(paths) - len(broken))
    for i in range(copies):
        source = paths[i % len(paths)]
        shutil.copyfile(source, folder / f"copy{i:04d}-{source.name.removeprefix('orig-')}")
    return {
        "originals": len(paths),
        "broken": len(broken),
        "copies": copies,
        "generated_s": round(time.perf_counter() - started, 1),
    }


def media_folder(root: Path, files: int) -> tuple[Path, str]:
    """Return the folder to measure and one line saying where it came from (generating it if needed)."""
    marker = root / "recipe.json"
    want = {"version": RECIPE_VERSION, "files": files}
    folder, scratch = root / "files", root / "files.partial"
    ours = marker.exists() or scratch.exists()  # a half-built folder from an interrupted run is ours too
    if root.is_dir() and not ours and any(root.iterdir()):
        return root, f"your own folder {root}, measured as is"
    if marker.exists():
        have = json.loads(marker.read_text())
        if {k: have.get(k) for k in want} == want and folder.is_dir():
            return folder, _describe_cache(have, cached=True)
        shutil.rmtree(folder, ignore_errors=True)  # ours: the marker says this script made it
        marker.unlink()
    shutil.rmtree(scratch, ignore_errors=True)
    facts = _generate(scratch, files)
    scratch.rename(folder)
    marker.write_text(json.dumps({**want, **facts}, indent=2) + "\n")
    return folder, _describe_cache({**want, **facts}, cached=False)


def _describe_cache(facts: dict[str, Any], *, cached: bool) -> str:
    how = "cached" if cached else f"generated in {facts['generated_s']} s"
    return (
        f"{facts['originals']} distinct originals + {facts['broken']} broken + {facts['copies']} byte-identical "
        f"copies (probing reads headers; distinct bytes would not change its speed), {how}"
    )


def listing(folder: Path) -> list[str]:
    """Return every file under ``folder``, sorted, as the baselines walk it."""
    out = []
    for here, dirs, names in os.walk(folder):
        dirs.sort()
        out += [os.path.join(here, n) for n in sorted(names)]
    return out


# --- the methods ----------------------------------------------------------------------------


def ffprobe_loop(folder: Path) -> int:
    """Probe every file with ``ffmpeg.probe()`` in turn; return how many it could not read."""
    import ffmpeg

    failed = 0
    for path in listing(folder):
        try:
            ffmpeg.probe(path)
        except ffmpeg.Error:
            failed += 1
    return failed


def bare_loop(folder: Path, quick: bool = False) -> int:
    """Open every file with PyAV or Pillow, read its basic fields, nothing else; return the failures.

    ``quick`` passes the same no-read-ahead options validate_folder uses for mp4/mov/wav/mp3, so
    the gap to validate_folder is its own overhead (hashing, sniffing, rules, the DataFrame).
    """
    import av
    from PIL import Image

    from realavatar_nb.media.probe import _HEADER_COMPLETE, _QUICK_PROBE

    failed = 0
    for path in listing(folder):
        try:
            suffix = path.rpartition(".")[2].lower()
            if suffix in _AV_SUFFIXES:
                options = _QUICK_PROBE if quick and suffix in _HEADER_COMPLETE else None
                with av.open(path, options=options) as container:
                    _ = container.format.name, container.duration
                    for s in container.streams:
                        _ = s.type, s.codec_context.name, s.duration, s.time_base
                        if s.type == "video":
                            _ = s.codec_context.width, s.codec_context.height, s.average_rate, s.frames
                        elif s.type == "audio":
                            _ = s.codec_context.sample_rate, s.codec_context.channels
            else:
                with Image.open(path) as im:
                    _ = im.size, im.format
        except Exception:  # a broken file is part of the mix: count it and go on
            failed += 1
    return failed


def validate_run(workers: int | None) -> Callable[[Path], int]:
    def run(folder: Path) -> int:
        from realavatar_nb.media.validate import validate_folder

        report = validate_folder(folder, workers=workers, progress=False)
        if len(report) != len(listing(folder)):  # a figure over fewer rows than files would flatter it
            raise RuntimeError(f"validate_folder returned {len(report)} rows for {len(listing(folder))} files")
        return int((~report["ok"]).sum())

    return run


@dataclass
class Method:
    label: str
    run: Callable[[Path], int]
    seconds: list[float] = field(default_factory=list)
    not_ok: int = 0  # files the method could not read, or (validate_folder) that failed a check

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def warm(folder: Path, methods: list[Method]) -> None:
    """Fill the page cache and pay every one-off cost (imports, plugin registry, quarantine worker)."""
    for path in listing(folder):
        with open(path, "rb") as fp:
            while fp.read(1 << 20):
                pass
    for m in methods:
        if m.label.startswith("ffmpeg.probe"):
            import ffmpeg

            # One call (the binary's first load from disk), not a pass: a pass costs ~35 s.
            with contextlib.suppress(ffmpeg.Error):
                ffmpeg.probe(listing(folder)[-1])
        else:
            m.not_ok = m.run(folder)


# --- the report -----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    import av
    import pandas
    import PIL
    import pillow_heif

    try:
        ffprobe = subprocess.run(["ffprobe", "-version"], capture_output=True, text=True, check=True).stdout
        ffprobe_version = ffprobe.splitlines()[0].split(" Copyright")[0]
    except (OSError, subprocess.CalledProcessError):
        ffprobe_version = "not found"
    return machine_facts(
        **{
            "av": f"{av.__version__} (FFmpeg {getattr(av, 'ffmpeg_version_info', '?')})",
            "pillow": PIL.__version__,
            "pillow_heif": pillow_heif.__version__,
            "pandas": pandas.__version__,
            "ffprobe": ffprobe_version,
        }
    )


def mix(folder: Path) -> dict[str, Any]:
    paths = listing(folder)
    return {
        "files": len(paths),
        "bytes": sum(os.path.getsize(p) for p in paths),
        "by_extension": dict(sorted(Counter(p.rpartition(".")[2].lower() for p in paths).items())),
    }


def goal(name: str, ratio: float | None, target: str, passed: bool | None) -> dict[str, Any]:
    return {"goal": name, "ratio": ratio, "target": target, "result": {True: "PASS", False: "MISS"}.get(passed, "n/a")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=600, help="files in the generated folder (default 600)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes per method; the median is reported")
    parser.add_argument("--media", type=Path, default=DEFAULT_MEDIA, help=f"media folder (default {DEFAULT_MEDIA})")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--no-ffprobe", action="store_true", help="skip the slow ffprobe loop (goal 1 becomes n/a)")
    args = parser.parse_args(argv)
    least = len(_recipe()) + 4  # the originals and the broken files
    if args.files < least or args.repeat < 1:
        parser.error(f"--files needs at least {least} and --repeat at least 1")

    folder, origin = media_folder(args.media, args.files)
    facts, contents = machine(), mix(folder)
    print(f"machine: {facts['cores']} cores ({facts['cpu']}), {facts['platform']}, python {facts['python']}")
    versions = ", ".join(f"{k} {facts[k]}" for k in ("av", "pillow", "pillow_heif", "pandas"))
    print(f"         {versions}")
    print(f"         {facts['ffprobe']}")
    kinds = " ".join(f"{ext}:{n}" for ext, n in contents["by_extension"].items())
    print(f"media:   {folder}: {contents['files']} files, {contents['bytes'] / 1e6:.1f} MB ({kinds})")
    print(f"         {origin}")

    cores = os.cpu_count() or 1
    auto = Method(f"validate_folder (workers=None: {cores} threads)", validate_run(None))
    single = Method("validate_folder (workers=1, inline)", validate_run(1))
    bare = Method("bare PyAV/Pillow open loop", bare_loop)
    bare_quick = Method("bare loop, same no-read-ahead options", lambda folder: bare_loop(folder, quick=True))
    ffprobe = Method("ffmpeg.probe() loop (sequential)", ffprobe_loop)
    extra = [Method(f"validate_folder (workers={w})", validate_run(w)) for w in EXTRA_WORKERS]
    methods = [auto, single, *extra, bare, bare_quick] + ([] if args.no_ffprobe else [ffprobe])

    print("warm-up: read every file once (page cache) and ran each in-process method once, untimed")
    warm(folder, methods)
    for r in range(args.repeat):
        for m in methods:  # round-robin, so drift in the machine's speed hits every method alike
            started = time.perf_counter()
            m.not_ok = m.run(folder)
            m.seconds.append(time.perf_counter() - started)
        print(f"  pass {r + 1}/{args.repeat} done", flush=True)

    n = contents["files"]
    print(f"\n{'method':<46} {'files':>6} {'seconds':>9} {'files/s':>9} {'not ok':>7}")
    for m in methods:
        print(f"{m.label:<46} {n:>6} {m.median:>9.3f} {n / m.median:>9.1f} {m.not_ok:>7}")
    print(f"(seconds: median of {args.repeat}; 'not ok': files the baseline could not read, or that validate flagged)")

    vs_ffprobe = None if args.no_ffprobe else ffprobe.median / auto.median
    vs_bare = single.median / bare.median
    goals = [
        goal(
            "validate_folder vs ffprobe loop (files/s)",
            vs_ffprobe,
            f">= {GOAL_VS_FFPROBE:g}x",
            None if vs_ffprobe is None else vs_ffprobe >= GOAL_VS_FFPROBE,
        ),
        goal(
            "validate_folder(workers=1) vs bare loop (seconds)",
            vs_bare,
            f"<= {GOAL_VS_BARE:g}x",
            vs_bare <= GOAL_VS_BARE,
        ),
    ]
    print("\nratios: goal 1 = validate_folder files/s ÷ ffprobe loop files/s (default workers);")
    print("        goal 2 = validate_folder(workers=1) seconds ÷ bare loop seconds")
    for g in goals:
        shown = "n/a" if g["ratio"] is None else f"{g['ratio']:.2f}x"
        print(f"{g['result']:<5} {g['goal']:<52} {shown:>8}  (goal {g['target']})")
    overhead = single.median / bare_quick.median
    print(f"context: validate_folder(workers=1) ÷ bare loop with the same open options = {overhead:.2f}x")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        figures = {
            "machine": facts,
            "media": {**contents, "folder": str(folder), "origin": origin},
            "repeat": args.repeat,
            "warm_page_cache": True,
            "methods": [
                {
                    "method": m.label,
                    "files": n,
                    "seconds": m.median,
                    "files_per_s": n / m.median,
                    "runs_s": m.seconds,
                    "not_ok": m.not_ok,
                }
                for m in methods
            ],
            "goals": goals,
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
