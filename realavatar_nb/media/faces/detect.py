"""Faces in a photo or clip, found offline: ``scan(path) -> FaceScan`` (how many, where, and whose).

dlib's HOG detector counts the faces; its ResNet model turns the main face into a 128-d
descriptor, and ``distance`` between two descriptors says whether they are one person
(``reference/faces.md``: below 0.6, with 0.5–0.6 a borderline worth a look). Everything runs
from the ``faces`` extra (dlib-bin, face-recognition-models), no download at run time; without
it ``available()`` is False and ``scan`` raises ``FacesUnavailableError`` naming what to install.

Measured on 2 cores: the detector releases the GIL but the descriptor network holds it (two
threads compute descriptors no faster than one), so ``scan_many`` spreads files over worker
processes, or the caller's executor (``bench/faces.py``: 1.85–1.88× one worker; threads
1.57–1.63×; where they run is ``media.faces.workers``). ``scan`` itself is safe from any thread:
each concurrent caller borrows its own set of models. Each scan also measures the main face's
quality (``FaceScan.quality``: size, sharpness, exposure, pose; ``media.faces.quality``).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import io
import math
import os
import statistics
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any, Final

from ..._display import printable
from ..._exceptions import MediaError, MediaToolMissingError
from ..pixels import open_image, sampled_frames
from ..sniff import AUDIO_FORMATS, HEAD_BYTES, IMAGE_FORMATS, family_of_extension, sniff
from .quality import FaceQuality, measure, median_quality

__all__ = [
    "BORDERLINE_DISTANCE", "DETECT_MAX_SIDE", "MATCH_DISTANCE", "MIN_SCORE", "FaceBox", "FaceScan",
    "FacesUnavailableError", "available", "distance", "median_descriptor", "scan", "scan_many", "thumbnail",
    "unavailable_reason",
]  # fmt: skip

MATCH_DISTANCE: Final = 0.6  # at or above: another person (FaceMismatch); dlib's own threshold
BORDERLINE_DISTANCE: Final = 0.5  # [0.5, 0.6): same person by the threshold, but worth a look (FaceBorderline)
MIN_SCORE: Final = 0.5  # HOG hits on badges and patches score 0.03–0.29, real faces 0.66+ (faces.md §3)
DETECT_MAX_SIDE: Final = 1024  # detection runs on a copy this size: 12 MP in 0.37 s instead of 4.7 s
UPSAMPLE: Final = 1  # finds faces down to ~28 px in that copy (background faces count too)
MAX_FRAMES: Final = 30  # a video is sampled about once a second, never more than this many frames

_MODEL_FILES: Final = ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")
_INSTALL_HINT: Final = "install realavatar-nb[faces] (dlib-bin, face-recognition-models)"
_OFF_VALUES: Final = frozenset({"off", "0", "false", "no"})


class FacesUnavailableError(MediaToolMissingError):
    """Faces cannot be scanned here: the ``faces`` extra is missing (or turned off). The message says what to do."""


@dataclass(frozen=True)
class FaceBox:
    """One face, in full-resolution pixels of the image as displayed (Pillow's box: right/bottom exclusive)."""

    left: int
    top: int
    right: int
    bottom: int
    score: float  # the detector's confidence; only faces at MIN_SCORE or above are kept


@dataclass(frozen=True)
class FaceScan:
    """What one file shows: how many faces, where, and the main face's descriptor."""

    kind: str  # "image" | "video"
    faces: int  # images: faces found; videos: the most found in any sampled frame
    boxes: tuple[FaceBox, ...]  # largest first: the image's, or those of the video frame with the most faces
    descriptor: tuple[float, ...] | None  # 128-d of the largest face (a video: element-wise median over frames)
    frames: int  # frames sampled (1 for an image)
    width: int  # of the image / frame the boxes refer to, as displayed
    height: int
    time_s: float | None = None  # a video: when the frame the boxes refer to is shown (seconds from the start)
    quality: FaceQuality | None = None  # the largest face's size, sharpness, exposure, pose (a video: medians)


# --- is the extra there? ---------------------------------------------------------------------------


def _models_dir() -> str | None:
    # find_spec does not run the package's __init__, which needs pkg_resources (gone in setuptools ≥ 81).
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(next(iter(spec.submodule_search_locations)), "models")


@functools.cache
def _missing() -> str | None:
    """Return what part of the extra is missing, or ``None`` when everything is there."""
    for module, package in (("numpy", "numpy"), ("dlib", "dlib-bin")):
        if importlib.util.find_spec(module) is None:
            return f"{package} is not installed"
    models = _models_dir()
    if models is None:
        return "face-recognition-models is not installed"
    for name in _MODEL_FILES:
        if not os.path.isfile(os.path.join(models, name)):
            return f"{name} is missing from {models}"
    return None


def _turned_off() -> bool:
    return os.environ.get("REALAVATAR_FACES", "").strip().lower() in _OFF_VALUES


def available() -> bool:
    """Return whether faces can be scanned here (the extra is installed and REALAVATAR_FACES is not ``off``)."""
    return not _turned_off() and _missing() is None


def unavailable_reason() -> str | None:
    """Return why faces are not scanned, as a report cell ("not checked: …"), or ``None`` when they are."""
    if available():
        return None
    if _turned_off():
        return "not checked: faces are not scanned while REALAVATAR_FACES=off"
    missing = _missing()
    return f"not checked: {_INSTALL_HINT}" + (f"; {missing}" if missing else "")


def _require() -> None:
    if _turned_off():
        raise FacesUnavailableError("Faces are not scanned while REALAVATAR_FACES=off: unset it to scan them.")
    if not available():
        missing = _missing() or "the faces extra is not installed"
        raise FacesUnavailableError(f"Faces cannot be scanned: {missing}. To check them offline, {_INSTALL_HINT}.")


# --- the models: one set per concurrent caller, loaded on first need ---------------------------------


@dataclass(frozen=True)
class _Models:
    dlib: Any
    detector: Any
    predictor: Any
    encoder: Any


_idle: list[_Models] = []
_idle_lock = threading.Lock()


def _load() -> _Models:
    models = _models_dir() or ""
    try:
        dlib: Any = importlib.import_module("dlib")
        predictor, encoder = (os.path.join(models, name) for name in _MODEL_FILES)
        detector = dlib.get_frontal_face_detector()
        return _Models(dlib, detector, dlib.shape_predictor(predictor), dlib.face_recognition_model_v1(encoder))
    except (ImportError, RuntimeError, OSError) as exc:
        raise FacesUnavailableError(f"The face models cannot be loaded ({exc}); reinstall: {_INSTALL_HINT}.") from exc


@contextmanager
def _borrowed() -> Iterator[_Models]:
    # dlib's detector and network keep scratch state inside the object, so two threads must never
    # share one set; a set is returned to the shelf after use, so sequential callers load once.
    with _idle_lock:
        models = _idle.pop() if _idle else None
    if models is None:
        models = _load()
    try:
        yield models
    finally:
        with _idle_lock:
            _idle.append(models)


_Found = tuple[tuple[FaceBox, ...], tuple[float, ...] | None, FaceQuality | None]


def _analyse(models: _Models, picture: Any, scale: float = 1.0) -> _Found:
    """Return the faces in an upright RGB Pillow image (largest first), the largest one's descriptor and quality.

    ``scale``: full-size pixels per pixel of ``picture`` (a JPEG decoded smaller), for the face's width.
    """
    import numpy as np
    from PIL import Image

    width, height = picture.size
    small = picture
    if max(width, height) > DETECT_MAX_SIDE:
        scale = DETECT_MAX_SIDE / max(width, height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        # reducing_gap=1: an integer box-reduce first, then bilinear; 2x faster than bilinear alone on 12 MP.
        small = picture.resize(size, Image.Resampling.BILINEAR, reducing_gap=1.0)
    sx, sy = small.width / width, small.height / height
    rects, scores, _ = models.detector.run(np.asarray(small), UPSAMPLE, 0.0)
    found = []
    for rect, score in zip(rects, scores, strict=True):
        if score < MIN_SCORE:
            continue
        # dlib's right/bottom are inclusive; unclamped edges keep the predictor's view of edge faces intact.
        edges = (rect.left() / sx, rect.top() / sy, (rect.right() + 1) / sx, (rect.bottom() + 1) / sy)
        full = tuple(round(v) for v in edges)
        box = FaceBox(max(0, full[0]), max(0, full[1]), min(width, full[2]), min(height, full[3]), float(score))
        found.append((box, full))
    found.sort(key=lambda item: -(item[1][2] - item[1][0]) * (item[1][3] - item[1][1]))
    if not found:
        return (), None, None
    # The descriptor comes from full-resolution pixels, cut to the face and ¾ of its width around it:
    # dlib cuts its chip (the aligned face, padded, turned up to 45°) from that neighbourhood anyway, so
    # the result is bit-identical to passing the whole image, and a 12 MP photo is never copied whole.
    left, top, right, bottom = found[0][1]
    dx, dy = (right - left) * 3 // 4, (bottom - top) * 3 // 4
    x, y = max(0, left - dx), max(0, top - dy)
    region = np.asarray(picture.crop((x, y, min(width, right + dx), min(height, bottom + dy))))
    rect = models.dlib.rectangle(left - x, top - y, right - 1 - x, bottom - 1 - y)
    landmarks = models.predictor(region, rect)
    vector = models.encoder.compute_face_descriptor(region, landmarks, 0)
    quality = measure(region, (left - x, top - y, right - x, bottom - y), landmarks, (width, height), scale)
    return tuple(box for box, _ in found), tuple(float(v) for v in vector), quality


# --- scanning ---------------------------------------------------------------------------------------


def _kind_of(path: str) -> str:
    try:
        with open(path, "rb") as fp:
            head = fp.read(HEAD_BYTES)
    except OSError as exc:
        raise MediaError(
            f"{printable(os.path.basename(path))}: cannot be read ({printable(str(exc.strerror or exc))})"
        ) from exc
    found = sniff(head)
    family = found.format if found else family_of_extension(path.rpartition(".")[2] if "." in path else "")
    if family in AUDIO_FORMATS:
        raise MediaError(f"{printable(os.path.basename(path))}: an audio file shows no face")
    if family is None:
        raise MediaError(f"{printable(os.path.basename(path))}: neither an image nor a video this package can read")
    return "image" if family in IMAGE_FORMATS else "video"


def scan(path: str | os.PathLike[str], kind: str | None = None) -> FaceScan:
    """Return the faces in the image or video at ``path`` (``kind`` ``"image"``/``"video"``, else sniffed).

    Raises ``FacesUnavailableError`` without the ``faces`` extra, ``MediaError`` for a file that
    cannot be decoded. Safe to call from several threads at once.
    """
    _require()
    spath = os.fspath(path)
    kind = kind or _kind_of(spath)
    if kind == "image":
        return _scan_image(spath)
    if kind != "video":
        raise ValueError(f"kind must be 'image', 'video' or None, not {kind!r}")
    return _scan_video(spath)


def _scan_image(path: str) -> FaceScan:
    # A large JPEG decodes at 1/2–1/8 scale while both sides stay ≥ DETECT_MAX_SIDE: detection runs on a
    # 1024 copy anyway, and a portrait's face keeps hundreds of pixels for the 150-pixel descriptor chip.
    # That decode is what keeps a 12 MP photo under 0.4 s; boxes are reported in full-size pixels.
    picture = open_image(path, draft=(DETECT_MAX_SIDE, DETECT_MAX_SIDE))
    ratio = float(picture.info.get("ra_scale", 1.0))
    with _borrowed() as models:
        boxes, descriptor, quality = _analyse(models, picture, ratio)
    width, height = round(picture.width * ratio), round(picture.height * ratio)
    if ratio != 1.0:
        boxes = tuple(
            FaceBox(round(b.left * ratio), round(b.top * ratio), min(width, round(b.right * ratio)),
                    min(height, round(b.bottom * ratio)), b.score)
            for b in boxes
        )  # fmt: skip
    return FaceScan("image", len(boxes), boxes, descriptor, 1, width, height, quality=quality)


def _scan_video(path: str) -> FaceScan:
    best: FaceScan | None = None
    descriptors: list[tuple[float, ...]] = []
    qualities: list[FaceQuality] = []
    frames = 0
    with _borrowed() as models, closing(sampled_frames(path, max_frames=MAX_FRAMES)) as sampled:
        for time_s, picture in sampled:
            frames += 1
            boxes, descriptor, quality = _analyse(models, picture)
            if descriptor is not None:
                descriptors.append(descriptor)
            if quality is not None:
                qualities.append(quality)
            if best is None or len(boxes) > best.faces:
                best = FaceScan("video", len(boxes), boxes, None, 0, picture.width, picture.height, time_s)
    if best is None:
        raise MediaError(f"{printable(os.path.basename(path))}: no video frame could be decoded")
    median = median_descriptor(descriptors) if descriptors else None
    typical = median_quality(qualities) if qualities else None
    return FaceScan("video", best.faces, best.boxes, median, frames, best.width, best.height, best.time_s, typical)


def scan_many(
    paths: Sequence[str | os.PathLike[str]], *, workers: int | None = None, executor: Executor | None = None
) -> list[FaceScan | Exception]:
    """Return ``scan(path)`` for every path, in order; a file that fails gives its exception instead.

    ``executor``: any ``concurrent.futures.Executor`` (a ``dask.distributed`` client's
    ``get_executor()`` included) to scan on. Without one, ``workers`` processes (default: one per
    core) scan in parallel and stay up for the next call; ``workers=1``, or a call from a worker
    process, scans here in turn. Workers that cannot start, and files an executor loses, are scanned
    in this process (``media.faces.workers``). The results equal sequential ``scan`` calls.
    Raises ``FacesUnavailableError`` without the extra.
    """
    from .workers import scan_all

    _require()
    return scan_all([os.fspath(p) for p in paths], workers=workers, executor=executor)


# --- descriptors and pictures -------------------------------------------------------------------------


def distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Return the Euclidean distance between two descriptors (below MATCH_DISTANCE: the same person)."""
    return math.dist(a, b)


def median_descriptor(descriptors: Iterable[Sequence[float]]) -> tuple[float, ...]:
    """Return the element-wise median of descriptors; ``ValueError`` when there are none."""
    rows = [tuple(d) for d in descriptors]
    if not rows:
        raise ValueError("median_descriptor needs at least one descriptor")
    if len({len(r) for r in rows}) != 1:
        raise ValueError("descriptors differ in length")
    return tuple(float(statistics.median(column)) for column in zip(*rows, strict=True))


def thumbnail(path: str | os.PathLike[str], scan: FaceScan, *, size: int = 160) -> bytes:
    """Return a PNG at most ``size`` px a side of the file (a video: the frame the boxes refer to), boxes in green."""
    from PIL import Image, ImageDraw

    spath = os.fspath(path)
    if scan.kind == "video":
        with closing(sampled_frames(spath, max_frames=1, start_s=scan.time_s or 0.0)) as frames:
            picture = next((picture for _, picture in frames), None)
        if picture is None:
            raise MediaError(f"{printable(os.path.basename(spath))}: no video frame could be decoded")
    else:
        picture = open_image(spath, draft=(size, size))
    picture.thumbnail((size, size), Image.Resampling.LANCZOS)
    fx, fy = picture.width / max(1, scan.width), picture.height / max(1, scan.height)
    draw = ImageDraw.Draw(picture)
    for box in scan.boxes:
        left, top = box.left * fx, box.top * fy
        corners = (left, top, max(left, box.right * fx - 1), max(top, box.bottom * fy - 1))
        draw.rectangle(corners, outline=(0, 200, 0), width=max(1, round(size / 80)))
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()
