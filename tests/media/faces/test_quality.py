"""Face quality hints on real photos: small, blurred, dark, blown-out and turned faces warn; good ones do not."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from realavatar_nb.media.faces import detect
from realavatar_nb.media.faces import quality as face_quality
from realavatar_nb.media.faces.checks import FACE_WARNINGS
from realavatar_nb.media.faces.quality import QUALITY_WARNINGS, FaceQuality, quality_warnings
from realavatar_nb.media.validate import validate_folder

from ..face_media import GREY, FaceMedia, collins, face_media, hopper  # noqa: F401  (a fixture)

GOOD = FaceQuality(
    face_px=187, face_share=0.37, sharpness=950.0, brightness=139.0, clipped=0.0, roll_deg=-3.0, yaw_deg=2.0
)  # fmt: skip  (Grace Hopper's photo, as measured)


def _turned(picture: Image.Image, k: float) -> Image.Image:
    """Return the photo with the part left of the face's middle squeezed to ``k``: the far half of a turned head."""
    middle = 273  # the middle of Hopper's face box (HOPPER_FACE in test_faces.py)
    left = picture.crop((0, 0, middle, picture.height)).resize((round(middle * k), picture.height))
    out = Image.new("RGB", (left.width + picture.width - middle, picture.height), GREY)
    out.paste(left, (0, 0))
    out.paste(picture.crop((middle, 0, picture.width, picture.height)), (left.width, 0))
    return ImageOps.mirror(out)


def _degraded() -> dict[str, tuple[Image.Image, str]]:
    """Return Hopper's photo degraded one way each, with the one warning each must earn (see the calibration)."""
    photo = hopper()
    canvas = Image.new("RGB", (2400, 2400), GREY)
    canvas.paste(photo, ((2400 - photo.width) // 2, (2400 - photo.height) // 2))  # face 75 px, 7% of the side
    return {
        "small": (canvas, "FaceTooSmall"),
        "blurred": (photo.filter(ImageFilter.GaussianBlur(3)), "FaceBlurred"),  # sharpness ~15
        "dark": (ImageEnhance.Brightness(photo).enhance(0.25), "FaceTooDark"),  # brightness ~34
        "blown": (ImageEnhance.Brightness(photo).enhance(2.0), "FaceOverexposed"),  # ~31% clipped
        "tilted": (photo.rotate(30, Image.Resampling.BICUBIC, fillcolor=GREY), "FaceTurned"),  # roll ~33°
        "turned": (_turned(photo, 0.3), "FaceTurned"),  # yaw ~34°
    }


@pytest.fixture(scope="module")
def degraded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    folder = tmp_path_factory.mktemp("quality") / "hopper"
    folder.mkdir()
    out = {}
    for name, (picture, code) in _degraded().items():
        picture.save(folder / f"{name}.jpg", quality=92)
        out[name] = (folder / f"{name}.jpg", code)
    hopper().save(folder / "portrait.jpg", quality=92)
    return out


def test_a_good_face_earns_no_hint_and_each_bad_figure_earns_its_own() -> None:
    assert quality_warnings(GOOD) == []
    bad = {
        "FaceTooSmall": replace(GOOD, face_px=40, face_share=0.2),
        "FaceBlurred": replace(GOOD, sharpness=20.0),
        "FaceTooDark": replace(GOOD, brightness=30.0),
        "FaceOverexposed": replace(GOOD, clipped=0.4),
        "FaceTurned": replace(GOOD, yaw_deg=-40.0),
    }
    for code, quality in bad.items():
        assert [c for c, _ in quality_warnings(quality)] == [code]
    assert [c for c, _ in quality_warnings(replace(GOOD, face_share=0.05))] == ["FaceTooSmall"]  # a share alone
    assert [c for c, _ in quality_warnings(replace(GOOD, roll_deg=25.0))] == ["FaceTurned"]  # a tilt alone


def test_every_hint_states_the_measured_value_and_the_threshold() -> None:
    worst = FaceQuality(face_px=40, face_share=0.05, sharpness=12.0, brightness=31.0, clipped=0.42, roll_deg=24.0,
                        yaw_deg=-37.0)  # fmt: skip
    said = dict(quality_warnings(worst))
    assert set(said) == set(QUALITY_WARNINGS)
    assert "40 px" in said["FaceTooSmall"] and f"≥ {face_quality.MIN_FACE_PX} px" in said["FaceTooSmall"]
    assert "5%" in said["FaceTooSmall"] and "≥ 10%" in said["FaceTooSmall"]
    assert "sharpness 12" in said["FaceBlurred"] and "≥ 60" in said["FaceBlurred"]
    assert "brightness 31" in said["FaceTooDark"] and "≥ 50" in said["FaceTooDark"]
    assert "42%" in said["FaceOverexposed"] and "≤ 15%" in said["FaceOverexposed"]
    assert "tilted 24°" in said["FaceTurned"] and "about 37°" in said["FaceTurned"] and "≤ 25°" in said["FaceTurned"]


@pytest.mark.parametrize("person", ["hopper", "collins"])
def test_the_original_photos_are_measured_as_good_faces(face_media: FaceMedia, person: str) -> None:  # noqa: F811
    quality = detect.scan(face_media.originals[person]).quality
    assert quality is not None
    assert quality_warnings(quality) == []
    assert abs(quality.roll_deg) < 5 and abs(quality.yaw_deg) < 5  # both look at the camera
    assert quality.sharpness > 4 * face_quality.MIN_SHARPNESS


@pytest.mark.parametrize("name", ["small", "blurred", "dark", "blown", "tilted", "turned"])
def test_a_degraded_photo_earns_exactly_its_hint(degraded: dict[str, tuple[Path, str]], name: str) -> None:
    path, code = degraded[name]
    result = detect.scan(path)
    assert result.faces == 1 and result.quality is not None
    assert [c for c, _ in quality_warnings(result.quality)] == [code]


def test_turning_the_other_way_flips_the_sign_of_yaw_and_roll(degraded: dict[str, tuple[Path, str]]) -> None:
    turned, tilted = (detect.scan(degraded[n][0]).quality for n in ("turned", "tilted"))
    assert turned is not None and tilted is not None
    mirrored = degraded["turned"][0].with_name("turned-mirrored.jpg")
    ImageOps.mirror(Image.open(degraded["turned"][0])).save(mirrored, quality=92)
    other = detect.scan(mirrored).quality
    assert other is not None
    assert turned.yaw_deg > face_quality.MAX_YAW_DEG and other.yaw_deg < -face_quality.MAX_YAW_DEG
    assert tilted.roll_deg < -face_quality.MAX_ROLL_DEG  # turned counter-clockwise: the right eye rises


def test_shipped_variants_small_and_blown_out_warn_and_the_rest_do_not(face_media: FaceMedia) -> None:  # noqa: F811
    warned = {}
    for name, (_, path) in face_media.singles.items():
        quality = detect.scan(path).quality
        assert quality is not None, name
        warned[name] = [c for c, _ in quality_warnings(quality)]
    # Collins's face is 45 px wide at half size, and a 1.4× brightness blows out 36% of it (calibration table).
    assert warned.pop("collins-half") == ["FaceTooSmall"]
    assert warned.pop("collins-bright") == ["FaceOverexposed"]
    assert {n: w for n, w in warned.items() if w} == {}


def test_a_clip_is_judged_by_its_typical_frame(face_media: FaceMedia) -> None:  # noqa: F811
    result = detect.scan(face_media.videos["hopper"][1])
    assert result.quality is not None and result.frames == 3
    assert quality_warnings(result.quality) == []
    assert result.quality.face_px >= 187  # 720×900 zooming in: a larger face than the 512×600 photo's


def test_the_report_warns_with_values_and_still_passes_the_file(degraded: dict[str, tuple[Path, str]]) -> None:
    folder = degraded["small"][0].parent
    report = validate_folder(folder, person="hopper", reference="portrait.jpg", progress=False).set_index("name")
    # Only face warnings count here: the degraded copies are also near-duplicates of the portrait.
    said = {n: [w for w in str(w).split(";") if w in FACE_WARNINGS] for n, w in report["warnings"].items()}
    assert said.pop("portrait.jpg") == [] and not any(c in report.loc["portrait.jpg", "message"] for c in FACE_WARNINGS)
    for name, (_, code) in degraded.items():
        row = report.loc[f"{name}.jpg"]
        assert said[f"{name}.jpg"] == [code], (name, row["warnings"])
        assert f"{code}: " in row["message"] and "needs" in row["message"]
        assert row["problems"] == "" and bool(row["ok"])  # a hint, not a refusal
