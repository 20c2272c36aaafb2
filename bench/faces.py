"""How fast ``media.faces`` scans portrait photos and clips, on one core and on all of them.

Prints seconds per photo (per portrait size) and per second of video for ``scan_many(workers=1)``,
then the throughput of ``scan_many(workers=None)`` (one process per core) as a ratio against it,
the throughput of ``scan_many(executor=...)`` on a 2-worker Dask LocalCluster against a 1-worker
one (both up side by side in this process), and three goals, each PASS or MISS:

* one core: at most 0.4 s per photo, at every size (800×1000 up to 3024×4032);
* all cores: at least 1.6× the files/s of one worker;
* Dask: a 2-worker LocalCluster scans at least 1.7× the photos/s of a 1-worker one (the photos
  three times over, 24 scans; all files, clips included, are printed beside it).

The clusters run with the workers' statistical profiler off (it samples the task's thread every
10 ms; ``--dask-profiler`` keeps Dask's default) and executors made with ``pure=False``, so every
pass scans every file. For scale, the machine's own ceiling is printed too: a pure-Python loop in two
processes against one.

For context it also times two threads calling ``scan`` (the descriptor network holds the GIL,
which is why ``scan_many`` uses processes), the first call's pool start-up, and what the face
quality hints (``media.faces.quality.measure``) add to a photo's scan.

Speed is measured, never asserted: the exit status is 0 whatever the figures (non-zero only on a
crash). Every method runs over the same files in the same process, round-robin within each repeat,
after one untimed warm-up pass (page cache, model loads, the worker pool's start).

    python bench/faces.py [--repeat R] [--media DIR] [--json OUT] [--no-dask] [--dask-profiler]

The inputs are generated once under ``build/bench/faces-media/`` (reused while the recipe version
matches): Grace Hopper (matplotlib's sample photo) and Eileen Collins (scikit-image's astronaut)
padded up to each portrait size as JPEG (q90), and three H.264 clips with a slow zoom.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

from _machine import machine_facts  # bench/ is on sys.path when a script runs

RECIPE_VERSION = 1
DEFAULT_MEDIA = Path(__file__).resolve().parent.parent / "build" / "bench" / "faces-media"
SIZES = ((800, 1000), (1080, 1350), (1080, 1920), (3024, 4032))
CLIPS = (  # name, person ("two": both side by side), width, height, seconds
    ("hopper-720x900-3s", "hopper", 720, 900, 3.0),
    ("collins-1080x1920-5s", "collins", 1080, 1920, 5.0),
    ("two-1280x640-3s", "two", 1280, 640, 3.0),
)
GOAL_PHOTO_S = 0.4  # seconds per photo on one core, at most
GOAL_SCALING = 1.6  # all-cores files/s ÷ one-worker files/s, at least
GOAL_DASK = 1.7  # 2-worker LocalCluster photos/s ÷ 1-worker LocalCluster photos/s, at least
DASK_PHOTO_ROUNDS = 3  # the Dask photo runs scan each photo this many times: 24 scans, enough to split evenly


# --- the media ------------------------------------------------------------------------------


def _people() -> dict[str, Any]:
    import matplotlib.cbook
    import skimage.data
    from PIL import Image

    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as hopper:
        people = {"hopper": hopper.convert("RGB"), "collins": Image.fromarray(skimage.data.astronaut())}
    pair = Image.new("RGB", (1024, 512), (128, 128, 128))
    pair.paste(people["hopper"].resize((437, 512)), (0, 0))
    pair.paste(people["collins"], (512, 0))
    return {**people, "two": pair}


def _fit(picture: Any, width: int, height: int) -> Any:
    """Return the picture scaled (up) into width×height, padded with grey."""
    from PIL import Image

    scale = min(width / picture.width, height / picture.height)
    scaled = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.Resampling.LANCZOS)
    out = Image.new("RGB", (width, height), (128, 128, 128))
    out.paste(scaled, ((width - scaled.width) // 2, (height - scaled.height) // 2))
    return out


def _clip(path: Path, picture: Any, width: int, height: int, seconds: float, fps: int = 24) -> None:
    import av
    import numpy as np
    from PIL import Image

    base = _fit(picture, width, height)
    frames = round(seconds * fps)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "20"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            z = 1 + 0.25 * i / max(1, frames - 1)  # a slow zoom, so no two sampled frames are alike
            box = (width * (1 - 1 / z) / 2, height * (1 - 1 / z) / 2, width * (1 + 1 / z) / 2, height * (1 + 1 / z) / 2)
            pixels = np.asarray(base.resize((width, height), Image.Resampling.BILINEAR, box=box))
            out.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        out.mux(stream.encode())


def media_folder(root: Path) -> tuple[dict[str, list[Path]], dict[str, float], str]:
    """Return the photos by size label, each clip's seconds, and where they came from (generating them if needed)."""
    marker = root / "recipe.json"
    photos = {f"{w}x{h}": [root / f"{p}-{w}x{h}.jpg" for p in ("hopper", "collins")] for w, h in SIZES}
    clips = {str(root / f"{name}.mp4"): seconds for name, _, _, _, seconds in CLIPS}
    if marker.exists() and json.loads(marker.read_text()).get("version") == RECIPE_VERSION:
        return photos, clips, "cached"
    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    people = _people()
    for w, h in SIZES:
        for person in ("hopper", "collins"):
            _fit(people[person], w, h).save(root / f"{person}-{w}x{h}.jpg", "JPEG", quality=90)
    for name, person, w, h, seconds in CLIPS:
        _clip(root / f"{name}.mp4", people[person], w, h, seconds)
    took = time.perf_counter() - started
    marker.write_text(json.dumps({"version": RECIPE_VERSION, "generated_s": round(took, 1)}) + "\n")
    return photos, clips, f"generated in {took:.1f} s"


# --- the methods ----------------------------------------------------------------------------


@dataclass
class Method:
    label: str
    paths: list[str]
    run: Callable[[list[str]], list[Any]]
    seconds: list[float] = field(default_factory=list)
    failed: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def once(self) -> float:
        started = time.perf_counter()
        results = self.run(self.paths)
        took = time.perf_counter() - started
        self.failed = sum(isinstance(r, Exception) for r in results)
        return took


def _workers(n: int | None) -> Callable[[list[str]], list[Any]]:
    from realavatar_nb.media import faces

    return lambda paths: faces.scan_many(paths, workers=n)


def _threads(paths: list[str]) -> list[Any]:
    from realavatar_nb.media import faces

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(faces.scan, paths))


@contextmanager
def dask_clusters(sizes: tuple[int, ...], *, profiler: bool = False) -> Iterator[dict[int, Any]]:
    """Yield an executor per size: a Dask LocalCluster of that many one-thread worker processes each.

    ``profiler``: keep Dask's default of sampling each worker's task thread every 10 ms. The
    executors are ``pure=False``: every call scans, none is answered from an earlier one.
    """
    import dask
    from distributed import Client, LocalCluster

    with ExitStack() as stack:
        stack.enter_context(dask.config.set({"distributed.worker.profile.enabled": profiler}))
        executors = {}
        for n in sizes:
            cluster = stack.enter_context(LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                       dashboard_address=":0", silence_logs=logging.ERROR))  # fmt: skip
            executors[n] = stack.enter_context(Client(cluster)).get_executor(pure=False)
        yield executors


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def cpu_ceiling(repeat: int = 3, n: int = 4_000_000) -> float:
    """Return what two processes give over one on pure arithmetic here: the most any 2-way split can reach."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_spin, [10, 10])
        ratios = []
        for _ in range(repeat):
            one = _timed(lambda: (_spin(n), _spin(n)))
            two = _timed(lambda: pool.map(_spin, [n, n]))
            ratios.append(one / two)
    return statistics.median(ratios)


def _on(executor: Any) -> Callable[[list[str]], list[Any]]:
    from realavatar_nb.media import faces

    return lambda paths: faces.scan_many(paths, executor=executor)


def quality_cost(photo: Path, repeat: int = 50) -> tuple[float, float]:
    """Return (seconds the quality hints add to one photo's scan, seconds of the whole scan), best of ``repeat``."""
    import numpy as np

    from realavatar_nb.media.faces import detect
    from realavatar_nb.media.faces.quality import measure
    from realavatar_nb.media.pixels import open_image

    scan_s = min(_timed(lambda: detect.scan(photo)) for _ in range(3))
    picture = open_image(str(photo), draft=(detect.DETECT_MAX_SIDE, detect.DETECT_MAX_SIDE))
    ratio = float(picture.info.get("ra_scale", 1.0))
    box = [round(v / ratio) for v in astuple(detect.scan(photo).boxes[0])[:4]]
    region = np.asarray(picture)
    with detect._borrowed() as models:  # the landmarks the scan computes anyway, for the descriptor
        landmarks = models.predictor(region, models.dlib.rectangle(box[0], box[1], box[2] - 1, box[3] - 1))
    cost = min(_timed(lambda: measure(region, tuple(box), landmarks, picture.size, ratio)) for _ in range(repeat))
    return cost, scan_s


def _timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def machine() -> dict[str, Any]:
    import av
    import dlib
    import PIL

    return machine_facts(
        **{
            "dlib": dlib.__version__,
            "av": av.__version__,
            "pillow": PIL.__version__,
            "load_average": os.getloadavg(),
        }
    )


def goal(name: str, value: float, target: str, passed: bool) -> dict[str, Any]:
    return {"goal": name, "value": value, "target": target, "result": "PASS" if passed else "MISS"}


def measure_all(methods: list[Method], repeat: int) -> float:
    """Run every method once untimed, then ``repeat`` times round-robin; return the first call's seconds of the last."""
    started, cold = time.perf_counter(), 0.0
    for m in methods:  # warm-up: page cache, models, the worker pool's and clusters' first tasks
        took = m.once()
        if "workers=None" in m.label:
            cold = took
    print(f"warm-up: every method once, untimed ({time.perf_counter() - started:.1f} s)")
    for r in range(repeat):
        for m in methods:  # round-robin, so drift in the machine's speed hits every method alike
            m.seconds.append(m.once())
        print(f"  pass {r + 1}/{repeat} done", flush=True)
    return cold


def print_table(methods: list[Method], clips: dict[str, float], repeat: int, video: Method) -> float:
    print(f"\n{'method':<44} {'files':>5} {'seconds':>8} {'per file':>9} {'files/s':>8} {'failed':>6}")
    for m in methods:
        n = len(m.paths)
        print(f"{m.label:<44} {n:>5} {m.median:>8.3f} {m.median / n:>9.3f} {n / m.median:>8.2f} {m.failed:>6}")
    video_seconds = sum(clips.values())
    per_video_second = video.median / video_seconds
    print(f"(seconds: median of {repeat}; clips: {video_seconds:g} s of video, {per_video_second:.3f} s per second)")
    return per_video_second


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed passes per method; the median is reported")
    parser.add_argument("--media", type=Path, default=DEFAULT_MEDIA, help=f"media folder (default {DEFAULT_MEDIA})")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster runs")
    parser.add_argument("--dask-profiler", action="store_true", help="keep Dask's default: workers' profiler on")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat needs at least 1")

    from realavatar_nb.media import faces

    if not faces.available():
        print(f"faces: {faces.unavailable_reason()}")
        return 0
    photos, clips, origin = media_folder(args.media)
    facts = machine()
    print(f"machine: {facts['cores']} cores ({facts['cpu']}), {facts['platform']}, python {facts['python']}")
    print(f"         dlib {facts['dlib']}, av {facts['av']}, pillow {facts['pillow']}, load {facts['load_average']}")
    print(f"media:   {args.media}: {sum(map(len, photos.values()))} photos, {len(clips)} clips ({origin})")
    with dask_clusters(() if args.no_dask else (1, 2), profiler=args.dask_profiler) as executors:
        figures = run(args, facts, photos, clips, executors)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\nfigures written to {args.json}")
    return 0


def run(args: argparse.Namespace, facts: dict[str, Any], photos: dict[str, list[Path]], clips: dict[str, float],
        executors: dict[int, Any]) -> dict[str, Any]:  # fmt: skip
    """Measure every method, print the table, the goals and the context; return the figures."""
    cores = facts["cores"] or 1
    every = [*clips, *(str(p) for group in photos.values() for p in group)]  # scan_many hands out clips first
    per_size = {size: Method(f"photos {size}, workers=1", [str(p) for p in group], _workers(1))
                for size, group in photos.items()}  # fmt: skip
    video = Method("clips, workers=1", list(clips), _workers(1))
    single = Method("all files, workers=1", every, _workers(1))
    auto = Method(f"all files, workers=None ({cores} processes)", every, _workers(None))
    threads = Method(f"all files, {cores} threads calling scan", every, _threads)
    on_dask = {n: Method(f"all files, Dask LocalCluster {n} worker{'s' * (n > 1)}", every, _on(ex))
               for n, ex in executors.items()}  # fmt: skip
    shots = [str(p) for _ in range(DASK_PHOTO_ROUNDS) for group in reversed(photos.values()) for p in group]
    dask_photos = {n: Method(f"photos x{DASK_PHOTO_ROUNDS}, Dask LocalCluster {n} worker{'s' * (n > 1)}", shots,
                             _on(ex)) for n, ex in executors.items()}  # fmt: skip
    methods = [*per_size.values(), video, single, auto, threads, *on_dask.values(), *dask_photos.values()]
    cold = measure_all(methods, args.repeat)
    per_video_second = print_table(methods, clips, args.repeat, video)

    worst_size, worst = max(((s, m.median / len(m.paths)) for s, m in per_size.items()), key=lambda item: item[1])
    scaling = single.median / auto.median
    goals = [
        goal(f"one core, s per photo (worst size {worst_size})", worst, f"<= {GOAL_PHOTO_S:g} s",
             worst <= GOAL_PHOTO_S),
        goal("all cores files/s ÷ workers=1 files/s", scaling, f">= {GOAL_SCALING:g}x", scaling >= GOAL_SCALING),
    ]  # fmt: skip
    if len(dask_photos) == 2:
        dask_ratio = dask_photos[1].median / dask_photos[2].median
        goals.append(goal("Dask 2 workers photos/s ÷ 1 worker photos/s", dask_ratio, f">= {GOAL_DASK:g}x",
                          dask_ratio >= GOAL_DASK))  # fmt: skip
    print()
    for g in goals:
        print(f"{g['result']:<5} {g['goal']:<52} {g['value']:>7.3f}  (goal {g['target']})")
    sizes = ", ".join(f"{size} {m.median / len(m.paths):.3f} s" for size, m in per_size.items())
    print(f"context: per photo by size (goal <= {GOAL_PHOTO_S:g} s at each): {sizes}")
    thread_ratio = single.median / threads.median
    print(f"context: {cores} threads ÷ workers=1 = {thread_ratio:.2f}x (the descriptor holds the GIL)")
    print(f"context: first workers=None call, pool start-up included: {cold:.2f} s ({auto.median:.2f} s warm)")
    for n, m in on_dask.items():
        print(f"context: Dask {n} worker{'s' * (n > 1)} ÷ workers=1 = {single.median / m.median:.2f}x")
    if len(on_dask) == 2:
        profiler = "on" if args.dask_profiler else "off"
        print(f"context: Dask 2 workers ÷ 1 worker over all files, clips included: "
              f"{on_dask[1].median / on_dask[2].median:.2f}x (workers' profiler {profiler})")  # fmt: skip
    ceiling = cpu_ceiling()
    print(f"context: this machine's ceiling, a pure-Python loop in 2 processes ÷ 1: {ceiling:.2f}x")
    hints, whole = quality_cost(Path(photos[max(photos)][0]))
    print(f"context: quality hints add {hints * 1000:.2f} ms to a {whole:.3f} s photo scan ({hints / whole:.1%})")
    return {
        "machine": facts,
        "repeat": args.repeat,
        "methods": [
            {"method": m.label, "files": len(m.paths), "seconds": m.median, "runs_s": m.seconds, "failed": m.failed}
            for m in methods
        ],
        "per_photo_s": {s: m.median / len(m.paths) for s, m in per_size.items()},
        "per_video_second_s": per_video_second,
        "pool_cold_start_s": cold,
        "threads_ratio": thread_ratio,
        "cpu_ceiling": ceiling,
        "quality_hints_s": hints,
        "goals": goals,
    }


if __name__ == "__main__":
    sys.exit(main())
