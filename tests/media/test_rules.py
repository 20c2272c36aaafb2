"""Limit profiles are data; every upstream failure code is reachable from facts alone."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from realavatar_nb import ProfileError
from realavatar_nb.media.probe import MediaInfo
from realavatar_nb.media.rules import (
    BUILTIN_PROFILES,
    FIXABLE_CODES,
    Profile,
    evaluate,
    get_profile,
    problems_of,
)

MB = 1024 * 1024
IMAGE = MediaInfo(
    path="a.jpg", kind="image", format="jpeg", extension="jpg", size_bytes=100_000, width=800, height=1000
)
VIDEO = MediaInfo(
    path="v.mp4", kind="video", format="mp4", extension="mp4", size_bytes=MB, width=720, height=1280,
    duration_s=5.0, fps=30.0,
)  # fmt: skip
AUDIO = MediaInfo(path="a.mp3", kind="audio", format="mp3", extension="mp3", size_bytes=MB, duration_s=5.0)


def codes(info: MediaInfo, profile: str = "seedance-2.0") -> tuple[str, ...]:
    return problems_of(evaluate(info, get_profile(profile)))


def test_good_files_pass_both_builtin_profiles() -> None:
    for name in BUILTIN_PROFILES:
        assert codes(IMAGE, name) == codes(VIDEO, name) == codes(AUDIO, name) == ()


@pytest.mark.parametrize(
    ("info", "code"),
    [
        (replace(VIDEO, duration_s=1.5), "DurationTooShort"),
        (replace(VIDEO, duration_s=15.2), "DurationTooLong"),
        (replace(AUDIO, duration_s=1.0), "DurationTooShort"),
        (replace(AUDIO, duration_s=16.0), "DurationTooLong"),
        (replace(IMAGE, width=299, height=400), "WidthTooSmall"),
        (replace(IMAGE, width=6001, height=5000), "WidthTooLarge"),
        (replace(IMAGE, width=400, height=299), "HeightTooSmall"),
        (replace(IMAGE, width=5000, height=6001), "HeightTooLarge"),
        (replace(IMAGE, width=390, height=1000), "AspectRatioTooSmall"),
        (replace(IMAGE, width=2600, height=1000), "AspectRatioTooLarge"),
        (replace(VIDEO, width=300, height=800), "AspectRatioTooSmall"),
        (replace(IMAGE, size_bytes=30 * MB), "FileSizeTooLarge"),
        (replace(VIDEO, size_bytes=50 * MB + 1), "FileSizeTooLarge"),
        (replace(AUDIO, size_bytes=15 * MB + 1), "FileSizeTooLarge"),
        (replace(VIDEO, fps=15.0), "FpsTooLow"),
        (replace(VIDEO, fps=23.976), "FpsTooLow"),
        (replace(VIDEO, fps=120.0), "FpsTooHigh"),
        (replace(IMAGE, format="bmp"), "FormatUnsupported"),
        (replace(VIDEO, format="webm", extension="webm"), "FormatUnsupported"),
        (replace(AUDIO, format="flac", extension="flac"), "FormatUnsupported"),
        (replace(IMAGE, format="png"), "TypeMismatch"),
        (replace(AUDIO, extension="wav"), "TypeMismatch"),
        (replace(IMAGE, extension=""), "TypeMismatch"),
        (
            MediaInfo(path="x.mp4", extension="mp4", error="FormatUndetectable", note="html"),
            "FormatUndetectable",
        ),
        (MediaInfo(path="x.jpg", extension="jpg", error="FileEmpty", size_bytes=0), "FileEmpty"),
        (replace(VIDEO, fps=None), "FormatUndetectable"),
    ],
)
def test_each_limit_yields_its_upstream_code(info: MediaInfo, code: str) -> None:
    assert code in codes(info)


@pytest.mark.parametrize(
    ("info", "code"),
    [
        (replace(VIDEO, width=320, height=400), "PixelCountTooSmall"),
        (replace(VIDEO, width=4000, height=2100, size_bytes=MB), "PixelCountTooLarge"),
        (replace(VIDEO, width=298, height=700), "WidthTooSmall"),
        (replace(VIDEO, duration_s=31.0), "DurationTooLong"),
        (replace(VIDEO, size_bytes=200 * MB + 1), "FileSizeTooLarge"),
        (replace(AUDIO, duration_s=30.5), "DurationTooLong"),
    ],
)
def test_newer_byteplus_profile_adds_pixel_and_side_limits_for_video(info: MediaInfo, code: str) -> None:
    assert code in codes(info, "byteplus-2026-09")


def test_limits_differ_between_profiles_where_upstream_changed_them() -> None:
    long_clip = replace(VIDEO, duration_s=20.0)
    assert codes(long_clip) == ("DurationTooLong",)
    assert codes(long_clip, "byteplus-2026-09") == ()
    big_file = replace(VIDEO, size_bytes=100 * MB)
    assert codes(big_file) == ("FileSizeTooLarge",)
    assert codes(big_file, "byteplus-2026-09") == ()


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (480, 640, ("PixelCountTooSmall",)),  # 307,200 pixels
        (406, 720, ("PixelCountTooSmall",)),  # the crop upstream refused (field notes, Anyfast)
        (200, 360, ("WidthTooSmall", "PixelCountTooSmall")),
        (360, 200, ("HeightTooSmall", "PixelCountTooSmall")),
        (664, 613, ("PixelCountTooSmall",)),  # 407,032: one row short of the minimum
        (664, 614, ()),  # 407,696: exactly the minimum
        (640, 640, ()),
        (480, 854, ()),
        (1080, 1920, ()),
        (2560, 3240, ()),  # 8,294,400
        (2600, 3240, ("PixelCountTooLarge",)),  # 8,424,000
        (6002, 2402, ("WidthTooLarge", "PixelCountTooLarge")),
        (2402, 6002, ("HeightTooLarge", "PixelCountTooLarge")),
    ],
)
def test_default_profile_holds_video_to_upstreams_sides_and_pixel_count(
    width: int, height: int, expected: tuple[str, ...]
) -> None:
    clip = replace(VIDEO, width=width, height=height)
    assert codes(clip) == expected
    assert codes(clip, "byteplus-2026-09") == expected  # the same frame limits in both document versions


def test_a_clip_too_short_and_too_small_lists_both_problems_in_check_order() -> None:
    assert codes(replace(VIDEO, width=480, height=640, duration_s=1.0)) == ("PixelCountTooSmall", "DurationTooShort")


def test_every_builtin_profile_names_its_sources() -> None:
    default = get_profile("seedance-2.0")
    for needle in ("§3.8", "2026-09-24", "field-notes.md", "PixelCountTooSmall", "providers.md"):
        assert needle in default.source, needle
    newer = get_profile("byteplus-2026-09")
    assert "§3.8" in newer.source and "2026-09-24" in newer.source and newer.version == "2026-09-24"


def test_bounds_are_inclusive_or_exclusive_as_the_table_says() -> None:
    assert codes(replace(IMAGE, size_bytes=30 * MB - 1)) == ()  # images: less than 30 MB
    assert codes(replace(VIDEO, size_bytes=50 * MB)) == ()  # videos: up to 50 MB
    assert codes(replace(VIDEO, duration_s=2.0)) == codes(replace(VIDEO, duration_s=15.0)) == ()
    assert codes(replace(VIDEO, duration_s=1.9996)) == ()  # container rounding of an exact 2 s clip
    assert codes(replace(IMAGE, width=400, height=1000)) == ()  # aspect exactly 0.4


def test_a_user_profile_from_a_mapping_or_a_json_file_is_used(tmp_path: Path) -> None:
    data = get_profile("seedance-2.0").to_dict() | {"name": "strict-lab"}
    data["image"]["width"] = {"min": 1000}
    path = tmp_path / "strict.json"
    path.write_text(json.dumps(data))
    for source in (data, path, str(path), Profile.from_dict(data)):
        profile = get_profile(source)
        assert profile.name == "strict-lab"
        assert problems_of(evaluate(IMAGE, profile)) == ("WidthTooSmall",)


def test_profile_round_trips_through_its_json_form() -> None:
    for name in BUILTIN_PROFILES:
        profile = get_profile(name)
        assert Profile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("seedance-1.0", "Unknown profile"),
        ({"name": "x", "image": {"formats": ["jpeg"]}}, "video"),
        ({"name": "x", "image": {"formats": ["jpg2000"]}, "video": {}, "audio": {}}, "Unknown formats"),
        ({"name": "x", "image": {"formats": [], "widht": {"min": 1}}, "video": {}, "audio": {}}, "widht"),
        (
            {"name": "x", "image": {"formats": [], "width": {"minimum": 1}}, "video": {}, "audio": {}},
            "minimum",
        ),
    ],
)
def test_a_bad_profile_raises_a_profile_error_naming_the_problem(source: object, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        get_profile(source)  # type: ignore[arg-type]


def test_a_profile_file_that_is_not_json_raises_a_profile_error(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text("{not json")
    with pytest.raises(ProfileError, match="not valid JSON"):
        get_profile(path)


def test_fixable_codes_are_all_upstream_media_codes() -> None:
    from realavatar_nb._types import MEDIA_PROBLEM_CODES

    assert FIXABLE_CODES <= MEDIA_PROBLEM_CODES
    assert "DurationTooShort" not in FIXABLE_CODES


def test_every_size_and_shape_problem_is_one_a_sizing_plan_can_fix() -> None:
    from realavatar_nb.media.fix.geometry import GEOMETRY_CODES

    sized = {c for c in FIXABLE_CODES if c.startswith(("Width", "Height", "AspectRatio", "PixelCount"))}
    assert sized == GEOMETRY_CODES


def test_fixable_only_when_the_profile_accepts_a_format_fix_can_write() -> None:
    from realavatar_nb.media.rules import fixable

    wav_only = get_profile("seedance-2.0").to_dict()
    wav_only["audio"]["formats"] = ["wav"]
    strict = Profile.from_dict(wav_only | {"name": "wav-only"})
    assert fixable("audio", ("FileSizeTooLarge",), get_profile("seedance-2.0"))
    assert not fixable("audio", ("FileSizeTooLarge",), strict)  # shrinking audio means mp3
    assert fixable("audio", ("FormatUnsupported",), strict)  # flac -> wav is still possible
    assert not fixable("audio", ("DurationTooShort",), strict)
    assert not fixable("unknown", ("TypeMismatch",))
