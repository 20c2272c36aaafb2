"""Offline face scans on real photos: counts, same-person distances, boxes, clips, and life without the extra."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from realavatar_nb._exceptions import MediaError
from realavatar_nb.media.faces import detect
from realavatar_nb.media.faces.detect import (
    BORDERLINE_DISTANCE,
    MATCH_DISTANCE,
    FaceBox,
    FaceScan,
    FacesUnavailableError,
)

from ..face_media import EMPTY, PAIRS, SINGLES, FaceMedia, face_media, png_size  # noqa: F401  (a fixture)

Scan = Callable[[Path], FaceScan]

OTHER = {"hopper": "collins", "collins": "hopper"}
# Grace Hopper's face in matplotlib's 512×600 photo (left, top, right, bottom): brow to chin, checked by eye.
HOPPER_FACE = (180, 139, 367, 326)


@pytest.fixture(scope="session")
def media(face_media: FaceMedia) -> FaceMedia:  # noqa: F811  (the builder's session fixture, under a short name)
    """Return the face media, built once per session."""
    return face_media


@pytest.fixture(scope="session")
def scanned() -> Scan:
    """Return ``detect.scan`` remembered per path, so each file is scanned once per session."""

    @functools.cache
    def scan(path: Path) -> FaceScan:
        return detect.scan(path)

    return scan


def _near(box: FaceBox, expected: tuple[float, float, float, float], tolerance: float) -> bool:
    """Return whether every edge of ``box`` is within ``tolerance`` × the expected face width."""
    slack = tolerance * (expected[2] - expected[0])
    edges = (box.left, box.top, box.right, box.bottom)
    return all(abs(got - want) <= slack for got, want in zip(edges, expected, strict=True))


# --- counts --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SINGLES)
def test_every_single_face_variant_shows_one_face(media: FaceMedia, scanned: Scan, name: str) -> None:
    result = scanned(media.singles[name][1])
    assert (result.kind, result.faces, len(result.boxes), result.frames) == ("image", 1, 1, 1)
    assert result.descriptor is not None and len(result.descriptor) == 128


@pytest.mark.parametrize("name", PAIRS)
def test_every_two_face_composite_shows_two_faces(media: FaceMedia, scanned: Scan, name: str) -> None:
    result = scanned(media.pairs[name])
    assert result.faces == 2
    left, right = sorted(result.boxes, key=lambda b: b.left)
    assert left.right <= right.left  # one face on each side, not one face found twice
    assert result.boxes[0].right - result.boxes[0].left >= result.boxes[1].right - result.boxes[1].left  # largest first


@pytest.mark.parametrize("name", EMPTY)
def test_pictures_without_a_person_show_no_face(media: FaceMedia, scanned: Scan, name: str) -> None:
    result = scanned(media.empty[name])
    assert (result.faces, result.boxes, result.descriptor) == (0, (), None)


def test_low_score_hits_on_the_mission_patch_are_not_counted(
    media: FaceMedia,
    scanned: Scan,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    photo = media.originals["collins"]
    assert scanned(photo).faces == 1
    monkeypatch.setattr(detect, "MIN_SCORE", 0.0)  # every hit the detector makes, as dlib gives them
    assert detect.scan(photo).faces > 1  # so the threshold is what keeps the count right


# --- who it is ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SINGLES)
def test_a_variant_is_near_its_own_photo_and_far_from_the_other_person(
    media: FaceMedia,
    scanned: Scan,
    name: str,
) -> None:
    person, path = media.singles[name]
    descriptor = scanned(path).descriptor
    assert descriptor is not None
    own = scanned(media.originals[person]).descriptor
    other = scanned(media.originals[OTHER[person]]).descriptor
    assert own is not None and other is not None
    assert detect.distance(descriptor, own) < BORDERLINE_DISTANCE
    assert detect.distance(descriptor, other) >= MATCH_DISTANCE


def test_the_two_people_are_told_apart(media: FaceMedia, scanned: Scan) -> None:
    hopper, collins = (scanned(media.originals[p]).descriptor for p in ("hopper", "collins"))
    assert hopper is not None and collins is not None
    assert detect.distance(hopper, collins) >= MATCH_DISTANCE
    assert detect.distance(hopper, hopper) == 0.0


# --- where ------------------------------------------------------------------------------------------


def test_boxes_are_in_full_resolution_pixels_around_the_face(media: FaceMedia, scanned: Scan) -> None:
    original = scanned(media.originals["hopper"])
    assert (original.width, original.height) == (512, 600)
    assert _near(original.boxes[0], HOPPER_FACE, 0.1)
    # 1024×1200: detection ran on a 874×1024 copy; the box must come back at twice the original's.
    double = scanned(media.singles["hopper-double"][1])
    assert (double.width, double.height) == (1024, 1200)
    assert _near(double.boxes[0], tuple(2 * v for v in HOPPER_FACE), 0.1)  # type: ignore[arg-type]
    # 3024×4032 (the photo 5.9× on a padded canvas): detected on a copy 3.9× smaller.
    large = scanned(media.large)
    scale = 3024 / 512
    top = (4032 - round(600 * scale)) // 2
    expected = (
        HOPPER_FACE[0] * scale,
        HOPPER_FACE[1] * scale + top,
        HOPPER_FACE[2] * scale,
        HOPPER_FACE[3] * scale + top,
    )
    assert (large.width, large.height, large.faces) == (3024, 4032, 1)
    assert _near(large.boxes[0], expected, 0.1)
    for result in (original, double, large):
        box = result.boxes[0]
        assert 0 <= box.left < box.right <= result.width and 0 <= box.top < box.bottom <= result.height


def test_a_12_mp_photo_decoded_smaller_keeps_full_size_boxes_and_the_same_face(media: FaceMedia, scanned: Scan) -> None:
    # The recipe of faces.md, run by hand on the whole 3024×4032 array. scan decodes the JPEG at half size
    # (the time it saves keeps a 12 MP photo under 0.4 s): its boxes are still in full-size pixels, and its
    # descriptor is the same face, far closer than any same-person variant (≤ 0.26 in faces.md).
    import importlib
    import importlib.util

    import numpy as np
    from PIL import Image

    dlib = importlib.import_module("dlib")
    spec = importlib.util.find_spec("face_recognition_models")
    assert spec is not None and spec.submodule_search_locations
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    predictor = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
    encoder = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))
    result = scanned(media.large)
    with Image.open(media.large) as picture:
        whole = np.asarray(picture.convert("RGB"))
    box = result.boxes[0]
    rect = dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)
    by_hand = tuple(encoder.compute_face_descriptor(whole, predictor(whole, rect), 0))
    assert (result.width, result.height) == whole.shape[1::-1]
    assert detect.distance(result.descriptor, by_hand) < 0.1  # type: ignore[arg-type]


def test_an_exif_rotated_photo_is_scanned_as_displayed(media: FaceMedia, scanned: Scan) -> None:
    # Stored 600×512 lying on its side, EXIF orientation 6: shown, and scanned, upright at 512×600.
    result = scanned(media.singles["hopper-exif6"][1])
    assert (result.width, result.height, result.faces) == (512, 600, 1)
    assert _near(result.boxes[0], HOPPER_FACE, 0.1)


# --- clips -----------------------------------------------------------------------------------------


def test_a_two_person_clip_shows_two_faces(media: FaceMedia, scanned: Scan) -> None:
    result = scanned(media.videos["two"][1])
    assert (result.kind, result.faces, len(result.boxes), result.frames) == ("video", 2, 2, 3)
    assert (result.width, result.height) == (1280, 640)


@pytest.mark.parametrize("name", ["hopper", "collins", "hopper-phone"])
def test_a_one_person_clip_matches_their_photo(media: FaceMedia, scanned: Scan, name: str) -> None:
    person, path = media.videos[name]
    assert person is not None
    result = scanned(path)
    assert (result.kind, result.faces, result.frames) == ("video", 1, 3)  # 3 s sampled once a second
    photo, other = (scanned(media.originals[p]).descriptor for p in (person, OTHER[person]))
    assert result.descriptor is not None and photo is not None and other is not None
    assert detect.distance(result.descriptor, photo) < BORDERLINE_DISTANCE
    assert detect.distance(result.descriptor, other) >= MATCH_DISTANCE


def test_a_phone_clip_stored_sideways_is_scanned_upright(media: FaceMedia, scanned: Scan) -> None:
    # Encoded 960×540 with a display matrix that turns it a quarter right, as phones write portrait clips.
    result = scanned(media.videos["hopper-phone"][1])
    assert (result.width, result.height, result.faces) == (540, 960, 1)


# --- pictures ---------------------------------------------------------------------------------------


def _green(data: bytes) -> int:
    """Return how many pixels of an encoded picture are the boxes' green."""
    import io

    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as picture:
        r, g, b = np.asarray(picture.convert("RGB")).astype(int).transpose(2, 0, 1)
    return int(((g > 150) & (r < 90) & (b < 90)).sum())


def test_a_thumbnail_is_a_small_picture_with_the_face_boxed_in_green(media: FaceMedia, scanned: Scan) -> None:
    pair = media.pairs["hopper+collins"]
    data = detect.thumbnail(pair, scanned(pair))
    assert data.startswith(b"\x89PNG") and max(png_size(data)) == 160
    coffee = media.empty["coffee"]
    assert _green(data) > 2 * _green(detect.thumbnail(coffee, scanned(coffee)))  # the boxes, not the picture
    clip = media.videos["two"][1]
    small = detect.thumbnail(clip, scanned(clip), size=96)
    assert png_size(small) == (96, 48) and _green(small) > 0


# --- many at once, threads, and bad files -------------------------------------------------------------


def test_scan_many_in_worker_processes_equals_scanning_one_by_one(
    media: FaceMedia,
    scanned: Scan,
    tmp_path: Path,
) -> None:
    missing = tmp_path / "gone.jpg"
    paths = [
        media.originals["hopper"],
        media.singles["collins-double"][1],
        media.pairs["hopper+collins"],
        media.empty["noise"],
        missing,
        media.videos["two"][1],
    ]
    results = detect.scan_many(paths, workers=2)
    assert len(results) == len(paths)
    for path, result in zip(paths, results, strict=True):
        if path == missing:
            assert isinstance(result, MediaError) and "gone.jpg" in str(result)
        else:
            assert result == scanned(path)  # bit for bit: same floats, same boxes, same order
    assert detect.scan_many(paths[:2], workers=1) == [scanned(p) for p in paths[:2]]


def test_scan_is_safe_from_several_threads_at_once(media: FaceMedia, scanned: Scan) -> None:
    paths = [media.originals["hopper"], media.originals["collins"], media.pairs["hopper+hopper"]] * 2
    results: dict[int, FaceScan] = {}

    def work(n: int) -> None:
        results[n] = detect.scan(paths[n])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(paths))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[n] for n in range(len(paths))] == [scanned(p) for p in paths]


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("cut.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64, "cannot be decoded as an image"),
        ("notes.jpg", b"this is a text file, not a photo\n" * 8, "cannot be decoded as an image"),
        ("clip.mp4", b"\x00\x00\x00\x18ftypisom" + b"\x00" * 200, "cannot be opened as a video"),
        ("voice.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 64, "audio file shows no face"),
    ],
)
def test_a_file_that_cannot_be_decoded_raises_a_clear_media_error(
    tmp_path: Path, name: str, data: bytes, says: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(MediaError, match=says) as caught:
        detect.scan(path)
    assert name in str(caught.value) and not isinstance(caught.value, FacesUnavailableError)


# --- descriptors ------------------------------------------------------------------------------------


def test_median_descriptor_is_element_wise_and_refuses_none() -> None:
    assert detect.median_descriptor([(0.0, 5.0), (1.0, 3.0), (9.0, 4.0)]) == (1.0, 4.0)
    assert detect.distance((0.0, 0.0), (3.0, 4.0)) == 5.0
    with pytest.raises(ValueError):
        detect.median_descriptor([])


# --- without the extra ------------------------------------------------------------------------------


def test_without_the_extra_scan_says_what_to_install_and_reports_not_checked(tmp_path: Path) -> None:
    # A fresh interpreter where dlib cannot be imported (sys.modules[name] = None blocks an import):
    # the module still imports, and every entry point says what is missing.
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff")
    script = textwrap.dedent("""
        import sys
        sys.modules["dlib"] = None
        from realavatar_nb._exceptions import MediaError
        from realavatar_nb.media.faces import detect
        assert not detect.available(), "available() with dlib blocked"
        print(detect.unavailable_reason())
        for call in (lambda: detect.scan(sys.argv[1]), lambda: detect.scan_many([sys.argv[1]])):
            try:
                call()
            except detect.FacesUnavailableError as exc:
                assert isinstance(exc, MediaError)
                print(exc)
            else:
                raise AssertionError("no FacesUnavailableError")
    """)
    env = {k: v for k, v in os.environ.items() if k != "REALAVATAR_FACES"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(photo)], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    reason, scan_error, many_error = done.stdout.splitlines()
    assert reason.startswith("not checked") and "realavatar-nb[faces]" in reason and "dlib-bin" in reason
    assert "realavatar-nb[faces]" in scan_error and "dlib-bin is not installed" in scan_error
    assert many_error == scan_error


def test_faces_can_be_turned_off_by_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REALAVATAR_FACES", "off")
    assert not detect.available()
    assert (detect.unavailable_reason() or "").startswith("not checked")
    with pytest.raises(FacesUnavailableError, match="REALAVATAR_FACES"):
        detect.scan(tmp_path / "any.jpg")
    monkeypatch.delenv("REALAVATAR_FACES")
    assert detect.available() and detect.unavailable_reason() is None
