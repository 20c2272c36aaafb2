"""ra.fix: conforming copies of what can be fixed, a new report on them, originals untouched."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from realavatar_nb._exceptions import FixError, InvalidArgumentError, MediaToolMissingError
from realavatar_nb.media.fix import FIX_COLUMNS, conform, fix
from realavatar_nb.media.fix import av as fix_av
from realavatar_nb.media.fix.geometry import SizePlan, plan_size
from realavatar_nb.media.fix.names import Output, output_names, relative_name
from realavatar_nb.media.rules import KindLimits, Range, get_profile
from realavatar_nb.media.validate import REPORT_COLUMNS, validate, validate_folder
from realavatar_nb.samples import make_audio, make_image, make_video, read_tag

SEEDANCE = get_profile("seedance-2.0")
BYTEPLUS = get_profile("byteplus-2026-09")


def _sha(path: str | os.PathLike[str]) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _tree(folder: Path) -> dict[str, str]:
    return {os.fsdecode(p.relative_to(folder)): _sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _copy(source: Path, dest: Path) -> Path:
    dest.write_bytes(source.read_bytes())
    return dest


def _row(report: pd.DataFrame, source_name: str) -> pd.Series:
    hits = report[[os.path.basename(s) == source_name for s in report["source"]]]
    assert len(hits) == 1, f"{source_name}: {len(hits)} rows"
    return hits.iloc[0]


def _custom(**changes: dict[str, Any]) -> dict[str, Any]:
    """Return the seedance-2.0 profile with some kinds' limits changed."""
    data = SEEDANCE.to_dict()
    data["name"] = "custom"
    for kind, limits in changes.items():
        data[kind] = {**data[kind], **limits}
    return data


# -- the sizing plan (pure) -----------------------------------------------------------------


def _satisfies(plan: SizePlan, limits: KindLimits) -> bool:
    checks = (
        (limits.width, plan.width),
        (limits.height, plan.height),
        (limits.aspect, plan.width / plan.height),
        (limits.pixels, plan.width * plan.height),
    )
    return all(rng is None or not (rng.below(v) or rng.above(v)) for rng, v in checks)


def test_plan_pads_a_too_narrow_picture_in_width_centred() -> None:
    plan = plan_size(300, 900, SEEDANCE.image)
    assert (plan.width, plan.height) == (360, 900)
    assert (plan.content_width, plan.content_height) == (300, 900)
    assert (plan.left, plan.top) == (30, 0)
    assert plan.padded and not plan.scaled


def test_plan_pads_a_too_wide_picture_in_height_centred() -> None:
    plan = plan_size(900, 300, SEEDANCE.image)
    assert (plan.width, plan.height) == (900, 360)
    assert (plan.left, plan.top) == (0, 30)
    assert plan.describe() == "padded 900×300 → 900×360 (aspect 2.5)"


def test_plan_scales_a_too_small_picture_up_to_the_minimum_side() -> None:
    plan = plan_size(200, 250, SEEDANCE.image)
    assert (plan.width, plan.height) == (300, 375)
    assert not plan.padded
    assert plan.scale == pytest.approx(1.5)


def test_plan_scales_a_too_large_picture_down_to_the_maximum_side() -> None:
    plan = plan_size(8000, 6000, SEEDANCE.image)
    assert (plan.width, plan.height) == (6000, 4500)


def test_plan_pads_then_scales_when_both_are_needed() -> None:
    plan = plan_size(100, 400, SEEDANCE.image)
    assert (plan.width, plan.height) == (300, 750)
    assert plan.content_height == 750 and plan.content_width == 188
    assert plan.left == (300 - 188) // 2
    assert _satisfies(plan, SEEDANCE.image)


def test_plan_refuses_an_upscale_beyond_four_times() -> None:
    plan = plan_size(60, 60, SEEDANCE.image)
    assert plan.refusal is not None and plan.refusal.startswith("too small to upscale meaningfully")
    assert not plan.changes
    assert plan_size(75, 75, SEEDANCE.image).refusal is None  # exactly 4× is allowed


def test_plan_reaches_the_minimum_pixel_count_with_even_sides() -> None:
    plan = plan_size(480, 640, BYTEPLUS.video, even=True)
    assert plan.width * plan.height >= 407_696
    assert plan.width % 2 == 0 and plan.height % 2 == 0
    assert plan.width * plan.height < 407_696 * 1.02  # the smallest step up, not a big one


def test_plan_stays_under_the_maximum_pixel_count() -> None:
    plan = plan_size(3840, 2400, BYTEPLUS.video, even=True)
    assert plan.width * plan.height <= 8_295_044
    assert plan.width / plan.height == pytest.approx(1.6, abs=0.005)


def test_plan_leaves_a_conforming_picture_alone_and_only_evens_odd_video_sides() -> None:
    assert not plan_size(800, 1000, SEEDANCE.image).changes
    odd = plan_size(601, 721, SEEDANCE.video, even=True)
    assert odd.width % 2 == 0 and odd.height % 2 == 0
    assert abs(odd.width - 601) == 1 and abs(odd.height - 721) == 1


def test_plan_honours_exclusive_bounds() -> None:
    limits = KindLimits(formats=("jpeg",), aspect=Range(0.5, 2.0, min_inclusive=False, max_inclusive=False))
    tall, wide = plan_size(100, 300, limits), plan_size(300, 100, limits)
    assert (tall.width, tall.height, tall.content_width) == (151, 300, 100)
    assert (wide.width, wide.height, wide.content_height) == (300, 151, 100)


@pytest.mark.parametrize(
    ("width", "height"),
    [(w, h) for w in (77, 120, 301, 999, 2500, 7001, 15000) for h in (80, 299, 640, 1001, 6001, 12000)],
)
def test_every_plan_that_is_not_refused_satisfies_every_limit(width: int, height: int) -> None:
    for limits, even in ((SEEDANCE.image, False), (BYTEPLUS.video, True)):
        plan = plan_size(width, height, limits, even=even)
        if plan.refusal:
            assert plan.refusal.startswith(("too small to upscale meaningfully", "no size fits", "no whole-pixel"))
            continue
        assert _satisfies(plan, limits), plan
        assert plan.left + plan.content_width <= plan.width and plan.top + plan.content_height <= plan.height
        if even:
            assert all(v % 2 == 0 for v in (plan.width, plan.height, plan.content_width, plan.content_height))


# -- output names (pure) -----------------------------------------------------------------------


def test_outputs_keep_a_valid_extension_and_take_the_canonical_one_otherwise() -> None:
    names = output_names(
        [
            Output("/s/photo.jpeg", "photo.jpeg", "jpeg"),
            Output("/s/clip.MOV", "clip.MOV", "mp4"),  # an MP4 in .mov is no mismatch
            Output("/s/scan.bmp", "scan.bmp", "jpeg"),
            Output("/s/voice.flac", "voice.flac", "mp3"),
            Output("/s/noext", "noext", "png"),
            Output("/s/good.jpeg", "good.jpeg", None),
        ]
    )
    assert names == ["photo.jpeg", "clip.MOV", "scan.jpg", "voice.mp3", "noext.png", "good.jpeg"]


def test_colliding_outputs_get_suffixes_in_row_order_avoiding_every_natural_name() -> None:
    names = output_names(
        [
            Output("/s/a.mp4", "a.mp4", None),
            Output("/s/a.webm", "a.webm", "mp4"),
            Output("/s/A.mkv", "A.mkv", "mp4"),  # case-folded: a.mp4 and A.mp4 are one file on macOS
            Output("/s/a-2.mp4", "a-2.mp4", None),  # a later row's own name is never taken from it
        ]
    )
    assert names == ["a.mp4", "a-3.mp4", "A-4.mp4", "a-2.mp4"]


def test_relative_layout_comes_from_the_real_path_and_absolute_names_keep_the_file_name() -> None:
    real = os.fsdecode(b"/data/faces/al\xe9/front.jpg")
    assert relative_name(real, "al\\xe9/front.jpg") == os.fsdecode(b"al\xe9/front.jpg")
    assert relative_name("/data/faces/x.jpg", "/data/faces/x.jpg") == "x.jpg"
    assert relative_name("/data/faces/x.jpg", "../faces/x.jpg") == "x.jpg"


# -- one mixed folder, fixed once ------------------------------------------------------------

NON_UTF8 = os.fsdecode(b"caf\xe9.bmp")


def _build_sources(src: Path, scratch: Path) -> None:
    # 576×720 (414,720 pixels) is a frame upstream takes: those clips are fixed for their one other problem.
    make_video(src / "long.mp4", width=576, height=720, duration=17.0, person="alice")
    make_video(src / "long_slow.mp4", width=576, height=720, duration=16.0, fps=15, person="alice")
    make_video(src / "fast.mp4", width=576, height=720, duration=2.5, fps=90, audio=False)
    make_video(src / "narrow.mp4", width=200, height=640, duration=2.5)
    make_video(src / "wide.mp4", width=640, height=200, duration=2.5, audio=False)
    make_video(src / "clip.mp4", width=576, height=720, duration=2.5, person="bob")
    make_video(src / "clip.webm", width=576, height=720, duration=2.5, person="carol")
    _copy(make_video(scratch / "real.mp4", width=576, height=720, duration=2.5, person="dave"), src / "misnamed.avi")
    make_video(src / "short.mp4", width=576, height=720, duration=1.0)
    make_audio(src / "voice.flac", duration=3.0, person="erin")
    make_audio(src / "note.ogg", duration=3.0, person="olga")
    make_audio(src / "memo.m4a", duration=3.0, person="mia")
    make_audio(src / "long.wav", duration=17.0, person="erin")
    _copy(make_audio(scratch / "real.mp3", duration=3.0, person="frank"), src / "misnamed.wav")
    make_image(src / "portrait.jpg", width=400, height=500, person="alice")
    make_image(src / "narrow.jpg", width=300, height=900, person="alice")
    make_image(src / "wide.png", width=900, height=300, person="bob")
    make_image(src / "tiny.jpg", width=200, height=250, person="carol")
    make_image(src / "tiny.heic", width=200, height=250, person="carol")
    make_image(src / "tiny.gif", width=200, height=250, person="dave")
    make_image(src / "wide.webp", width=640, height=200, person="erin")
    make_image(src / "speck.jpg", width=60, height=60)
    make_image(src / "scan.tiff", width=400, height=500, person="frank")
    make_image(src / NON_UTF8, width=400, height=500)
    make_image(src / "screenshot.jpg", width=400, height=500, format="png", person="gina")
    (src / "empty.jpg").write_bytes(b"")
    (src / "junk.mp4").write_bytes(bytes(range(256)) * 40)


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str], pd.DataFrame]:
    root = tmp_path_factory.mktemp("batch")
    src, out = root / "src", root / "out"
    src.mkdir()
    (root / "scratch").mkdir()
    _build_sources(src, root / "scratch")
    before = _tree(src)
    report = fix(src, out, progress=False)
    return src, out, before, report


def test_result_has_report_columns_then_source_action_fixed_in_input_order(batch: Any) -> None:
    src, _, _, report = batch
    assert list(report.columns) == [*REPORT_COLUMNS, *FIX_COLUMNS]
    assert list(report["source"]) == list(validate_folder(src, progress=False)["path"])
    assert report.attrs["profile"]["name"] == "seedance-2.0"
    assert report["fixed"].dtype == bool and report["source"].dtype == object


def test_originals_are_byte_identical_after_fix(batch: Any) -> None:
    src, _, before, _ = batch
    assert _tree(src) == before


def test_every_fixed_file_revalidates_ok_and_every_fixable_file_was_fixed(batch: Any) -> None:
    _, out, _, report = batch
    fixed = report[report["fixed"]]
    assert len(fixed) == 21  # 7 clips, 5 sounds, 9 images
    for path in fixed["path"]:
        assert path.startswith(str(out))
        assert validate(path).ok, path
    not_fixed = {os.path.basename(s) for s in report.loc[~report["fixed"] & ~report["action"].eq("copied"), "source"]}
    assert not_fixed == {"short.mp4", "speck.jpg", "empty.jpg", "junk.mp4"}


def test_no_temporary_files_are_left_in_out_dir(batch: Any) -> None:
    _, out, _, _ = batch
    assert [p for p in out.rglob("*") if p.name.startswith(".") or p.name.endswith(".part")] == []


def test_written_copies_are_readable_by_others_like_any_new_file(batch: Any) -> None:
    _, out, _, _ = batch
    mode = (out / "narrow.jpg").stat().st_mode
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(mode) == 0o666 & ~umask


def test_ok_files_are_copied_unchanged(batch: Any) -> None:
    src, out, _, report = batch
    row = _row(report, "portrait.jpg")
    assert (row["action"], row["ok"], bool(row["fixed"])) == ("copied", True, False)
    assert _sha(out / "portrait.jpg") == _sha(src / "portrait.jpg")


def test_too_long_clip_is_trimmed_just_under_the_limit_keeping_its_tag(batch: Any) -> None:
    _, out, _, report = batch
    row = _row(report, "long.mp4")
    assert row["action"] == "trimmed to 14.9 s without re-encoding"
    assert 14.5 < row["duration_s"] <= 15.0
    assert read_tag(out / "long.mp4") == {"person": "alice"}


def test_slow_long_clip_is_trimmed_and_resampled_up_to_the_minimum_fps(batch: Any) -> None:
    _, _, _, report = batch
    row = _row(report, "long_slow.mp4")
    assert row["action"] == "trimmed to 14.9 s; resampled 15→24 fps"
    assert row["fps"] == 24 and row["duration_s"] <= 15.0 and bool(row["has_audio"])


def test_fast_clip_is_resampled_down_to_the_maximum_fps(batch: Any) -> None:
    row = _row(batch[3], "fast.mp4")
    assert row["action"] == "resampled 90→60 fps"
    assert row["fps"] == 60


def test_narrow_clip_is_padded_in_width_and_wide_clip_in_height(batch: Any) -> None:
    narrow, wide = _row(batch[3], "narrow.mp4"), _row(batch[3], "wide.mp4")
    # Padded to 256×640 (aspect 0.4), then scaled up to upstream's 407,696 pixels a frame.
    assert (narrow["width"], narrow["height"]) == (404, 1010)
    assert (wide["width"], wide["height"]) == (1010, 404)
    assert narrow["action"] == "padded and scaled 200×640 → 404×1010 (aspect 0.4)"
    assert narrow["codec"] == "h264" and bool(narrow["has_audio"])


def test_webm_becomes_mp4_with_its_tag_and_takes_a_free_name(batch: Any) -> None:
    _, out, _, report = batch
    row = _row(report, "clip.webm")
    assert row["action"] == "converted webm → mp4 (h264 + aac)"
    assert row["name"] == "clip-2.mp4"  # clip.mp4 is the good clip's copy, earlier in row order
    assert (row["format"], row["codec"]) == ("mp4", "h264")
    assert read_tag(out / "clip-2.mp4") == {"person": "carol"}
    assert read_tag(out / "clip.mp4") == {"person": "bob"}


def test_misnamed_video_is_remuxed_under_its_real_extension(batch: Any) -> None:
    _, out, _, report = batch
    row = _row(report, "misnamed.avi")
    assert row["action"] == "remuxed into mp4 without re-encoding"
    assert row["name"] == "misnamed.mp4" and row["frames"] == 60
    assert read_tag(out / "misnamed.mp4") == {"person": "dave"}


def test_too_short_clip_stays_listed_with_the_reason_and_no_file(batch: Any) -> None:
    src, out, _, report = batch
    row = _row(report, "short.mp4")
    assert row["action"] == "not fixed: DurationTooShort needs a longer source clip"
    assert row["path"] == str(src / "short.mp4") and row["problems"] == "DurationTooShort"
    assert not (out / "short.mp4").exists()


def test_corrupt_and_empty_files_stay_listed_with_the_reason(batch: Any) -> None:
    _, out, _, report = batch
    junk, empty = _row(report, "junk.mp4"), _row(report, "empty.jpg")
    assert junk["action"].startswith("not fixed: FormatUndetectable")
    assert empty["action"] == "not fixed: FileEmpty: the file is empty (0 bytes); replace it"
    assert not (out / "junk.mp4").exists() and not (out / "empty.jpg").exists()


def test_flac_becomes_mp3_with_its_tag(batch: Any) -> None:
    _, out, _, report = batch
    row = _row(report, "voice.flac")
    assert row["action"] == "converted flac → mp3; encoded as mp3 at 192 kb/s"
    assert row["name"] == "voice.mp3" and row["format"] == "mp3"
    assert read_tag(out / "voice.mp3") == {"person": "erin"}


@pytest.mark.parametrize(("source", "person"), [("note.ogg", "olga"), ("memo.m4a", "mia")])
def test_ogg_and_m4a_become_mp3_with_their_tag(batch: Any, source: str, person: str) -> None:
    _, out, _, report = batch
    row = _row(report, source)
    output = source.rsplit(".", 1)[0] + ".mp3"
    assert (row["name"], row["format"], bool(row["fixed"])) == (output, "mp3", True)
    assert read_tag(out / output) == {"person": person}  # Ogg keeps it on the stream, M4A in the container


def test_too_long_wav_is_trimmed_and_stays_wav(batch: Any) -> None:
    _, out, _, report = batch
    row = _row(report, "long.wav")
    assert row["action"] == "trimmed to 14.9 s"
    assert row["format"] == "wav" and 14.8 < row["duration_s"] < 15.0
    assert read_tag(out / "long.wav") == {"person": "erin"}


def test_misnamed_audio_is_remuxed_under_its_real_extension(batch: Any) -> None:
    _, out, _, report = batch
    row = _row(report, "misnamed.wav")
    assert (row["action"], row["name"], row["format"]) == (
        "remuxed into mp3 without re-encoding",
        "misnamed.mp3",
        "mp3",
    )
    assert read_tag(out / "misnamed.mp3") == {"person": "frank"}


@pytest.mark.parametrize(
    ("source", "output", "size", "person"),
    [
        ("narrow.jpg", "narrow.jpg", (360, 900), "alice"),
        ("wide.png", "wide.png", (900, 360), "bob"),
        ("tiny.jpg", "tiny.jpg", (300, 375), "carol"),
        ("tiny.heic", "tiny.heic", (300, 375), "carol"),
        ("tiny.gif", "tiny.gif", (300, 375), "dave"),
        ("wide.webp", "wide.webp", (750, 300), "erin"),  # padded to 640×256, then up to the 300 px minimum
    ],
)
def test_images_are_padded_or_scaled_in_their_own_format_keeping_the_tag(
    batch: Any, source: str, output: str, size: tuple[int, int], person: str
) -> None:
    _, out, _, report = batch
    row = _row(report, source)
    assert row["name"] == output and bool(row["fixed"])
    assert (row["width"], row["height"]) == size
    assert read_tag(out / output) == {"person": person}


@pytest.mark.parametrize("suffix", ["gif", "webp"])
def test_animated_images_keep_every_frame_and_its_timing_when_padded(tmp_path: Path, suffix: str) -> None:
    from PIL import Image

    from realavatar_nb.media.tags import EXIF_IMAGE_DESCRIPTION, format_tag

    frames = [Image.new("RGB", (100, 300), (i * 50, 80, 160)) for i in range(4)]
    notes: dict[str, Any] = {"comment": format_tag("gus")}
    if suffix == "webp":
        exif = Image.Exif()
        exif[EXIF_IMAGE_DESCRIPTION] = format_tag("gus")
        notes = {"exif": exif.tobytes()}
    source = tmp_path / "src" / f"wave.{suffix}"
    source.parent.mkdir()
    frames[0].save(source, save_all=True, append_images=frames[1:], duration=[50, 60, 70, 80], loop=0, **notes)
    row = fix(source, tmp_path / "out", progress=False).iloc[0]
    assert bool(row["fixed"]) and (row["width"], row["height"]) == (300, 750)
    with Image.open(row["path"]) as im:
        durations = []
        for n in range(im.n_frames):
            im.seek(n)
            im.load()
            durations.append(im.info.get("duration"))
    assert durations == [50, 60, 70, 80]
    assert read_tag(row["path"]) == {"person": "gus"}


def test_unsupported_images_become_jpeg_keeping_the_tag(batch: Any) -> None:
    _, out, _, report = batch
    tiff = _row(report, "scan.tiff")
    assert (tiff["action"], tiff["name"], tiff["format"]) == ("converted tiff → jpeg", "scan.jpg", "jpeg")
    assert read_tag(out / "scan.jpg") == {"person": "frank"}
    bmp = _row(report, NON_UTF8)
    assert bmp["name"] == "caf\\xe9.jpg"  # printable in the report …
    assert os.path.exists(bmp["path"]) and os.fsencode(bmp["path"]).endswith(b"caf\xe9.jpg")  # … real on disk


def test_misnamed_image_is_copied_byte_for_byte_under_its_real_extension(batch: Any) -> None:
    src, out, _, report = batch
    row = _row(report, "screenshot.jpg")
    assert row["action"] == "copied as .png (the content is png)"
    assert _sha(out / "screenshot.png") == _sha(src / "screenshot.jpg")
    assert read_tag(out / "screenshot.png") == {"person": "gina"}


def test_more_than_four_times_upscale_is_refused_with_the_reason(batch: Any) -> None:
    _, out, _, report = batch
    row = _row(report, "speck.jpg")
    assert row["action"] == "not fixed: too small to upscale meaningfully (needs ×5, at most ×4)"
    assert (row["width"], row["height"]) == (60, 60) and not (out / "speck.jpg").exists()


# -- one behaviour per run ---------------------------------------------------------------------


def test_pixel_count_too_small_clip_is_scaled_up_under_the_report_profile(tmp_path: Path) -> None:
    make_video(tmp_path / "src" / "small.mp4", width=480, height=640, duration=2.5, person="alice")
    report = validate_folder(tmp_path / "src", "byteplus-2026-09", progress=False)
    assert report.loc[0, "problems"] == "PixelCountTooSmall"
    result = fix(report, tmp_path / "out", progress=False)
    row = result.iloc[0]
    assert result.attrs["profile"]["name"] == "byteplus-2026-09"
    assert bool(row["fixed"]) and row["ok"] and row["pixels"] >= 407_696
    assert row["action"] == "scaled 480×640 → 554×738"
    assert read_tag(row["path"]) == {"person": "alice"}


def test_clips_under_upstreams_minimum_are_scaled_up_to_pass_the_default_profile(tmp_path: Path) -> None:
    make_video(tmp_path / "src" / "phone.mp4", width=480, height=640, duration=2.5, person="alice")
    make_video(tmp_path / "src" / "thin.mp4", width=200, height=360, duration=2.5, audio=False, person="bob")
    report = validate_folder(tmp_path / "src", progress=False)
    assert list(report["problems"]) == ["PixelCountTooSmall", "WidthTooSmall;PixelCountTooSmall"]
    assert report["fixable"].all()
    result = fix(report, tmp_path / "out", progress=False)
    assert result.attrs["profile"]["name"] == "seedance-2.0"
    assert list(result["action"]) == ["scaled 480×640 → 554×738", "scaled 200×360 → 476×858"]
    assert result["fixed"].all() and result["ok"].all() and result["pixels"].ge(407_696).all()
    assert list(result["width"] / result["height"]) == pytest.approx([480 / 640, 200 / 360], abs=0.005)  # not stretched
    assert [read_tag(p) for p in result["path"]] == [{"person": "alice"}, {"person": "bob"}]


def test_rotated_clip_is_sized_by_its_displayed_shape_not_stretched(tmp_path: Path) -> None:
    import av

    stored = make_video(tmp_path / "stored.mp4", width=320, height=400, duration=2.5, audio=False)
    (tmp_path / "src").mkdir()
    with av.open(str(stored)) as source, av.open(str(tmp_path / "src" / "phone.mp4"), "w") as rotated:
        stream = rotated.add_stream_from_template(source.streams.video[0])
        stream.set_display_rotation(90)  # shown 400×320, as a phone held sideways records
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                rotated.mux(packet)
    row = fix(tmp_path / "src", tmp_path / "out", "byteplus-2026-09", progress=False).iloc[0]
    assert row["action"] == "turned upright (stored rotated 90°); scaled 400×320 → 714×572"
    assert bool(row["fixed"]) and row["width"] / row["height"] == pytest.approx(400 / 320, abs=0.005)


def test_too_large_image_is_scaled_down(tmp_path: Path) -> None:
    make_image(tmp_path / "src" / "big.jpg", width=600, height=500)
    profile = _custom(image={"width": {"min": 100, "max": 400}, "height": {"min": 100, "max": 400}})
    row = fix(tmp_path / "src", tmp_path / "out", profile, progress=False).iloc[0]
    assert (row["width"], row["height"]) == (400, 333)
    assert row["action"] == "scaled 600×500 → 400×333" and bool(row["fixed"])


def test_oversize_jpeg_steps_quality_down_until_it_fits(tmp_path: Path) -> None:
    source = make_image(tmp_path / "src" / "photo.jpg", width=600, height=750, quality=98, person="alice")
    limit = source.stat().st_size // 3
    row = fix(source, tmp_path / "out", _custom(image={"size_bytes": {"max": limit}}), progress=False).iloc[0]
    assert bool(row["fixed"]) and row["size_bytes"] <= limit
    assert row["action"].startswith("re-encoded as jpeg at quality ")
    assert read_tag(row["path"]) == {"person": "alice"}


def test_oversize_png_becomes_jpeg_under_the_limit(tmp_path: Path) -> None:
    source = make_image(tmp_path / "src" / "shot.png", width=600, height=750, person="bob")
    limit = source.stat().st_size // 2
    row = fix(tmp_path / "src", tmp_path / "out", _custom(image={"size_bytes": {"max": limit}}), progress=False).iloc[0]
    assert (row["name"], row["format"]) == ("shot.jpg", "jpeg")
    assert row["size_bytes"] <= limit and bool(row["fixed"])
    assert read_tag(row["path"]) == {"person": "bob"}


def test_oversize_clip_is_reencoded_at_a_bitrate_that_fits(tmp_path: Path) -> None:
    make_video(tmp_path / "src" / "clip.mp4", width=576, height=720, duration=4.0, audio=False, person="carol")
    row = fix(tmp_path / "src", tmp_path / "out", _custom(video={"size_bytes": {"max": 40_000}}), progress=False)
    row = row.iloc[0]
    assert bool(row["fixed"]) and row["size_bytes"] <= 40_000
    assert row["action"].startswith("re-encoded at ") and "kb/s to fit under" in row["action"]
    assert read_tag(row["path"]) == {"person": "carol"}


def test_oversize_wav_becomes_an_mp3_that_fits(tmp_path: Path) -> None:
    make_audio(tmp_path / "src" / "voice.wav", duration=5.0, person="dave")
    row = fix(tmp_path / "src", tmp_path / "out", _custom(audio={"size_bytes": {"max": 100_000}}), progress=False)
    row = row.iloc[0]
    assert (row["name"], bool(row["fixed"])) == ("voice.mp3", True)
    assert row["size_bytes"] <= 100_000
    assert row["action"] == "converted wav → mp3; encoded as mp3 at 128 kb/s to fit under 97.7 KiB"


def test_profile_argument_rejudges_a_report_made_under_another(tmp_path: Path) -> None:
    make_image(tmp_path / "src" / "big.jpg", width=600, height=500)
    report = validate_folder(tmp_path / "src", progress=False)
    assert bool(report.loc[0, "ok"])
    profile = _custom(image={"width": {"max": 400}})
    result = fix(report, tmp_path / "out", profile, progress=False)
    assert result.attrs["profile"]["name"] == "custom" and result.loc[0, "width"] == 400


def test_image_past_the_decompression_bomb_limit_is_not_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    make_image(tmp_path / "src" / "narrow.jpg", width=300, height=900)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)
    row = fix(tmp_path / "src", tmp_path / "out", progress=False).iloc[0]
    assert row["action"] == "not fixed: too large to decode safely"
    assert not bool(row["fixed"]) and not (tmp_path / "out" / "narrow.jpg").exists()


def test_out_dir_that_would_overwrite_a_source_raises_and_writes_nothing(tmp_path: Path) -> None:
    make_image(tmp_path / "portrait.jpg", width=400, height=500)
    make_image(tmp_path / "tiny.bmp", width=200, height=250)
    before = _tree(tmp_path)
    with pytest.raises(FixError, match=r"would overwrite the original .*portrait\.jpg.*out_dir outside"):
        fix(tmp_path, tmp_path, progress=False)
    assert _tree(tmp_path) == before


def test_an_out_dir_inside_the_source_folder_is_not_fixed_again_on_a_rerun(tmp_path: Path) -> None:
    make_image(tmp_path / "tiny.jpg", width=200, height=250)
    first = fix(tmp_path, tmp_path / "fixed", progress=False)
    second = fix(tmp_path, tmp_path / "fixed", progress=False)
    assert list(first["source"]) == list(second["source"]) == [str(tmp_path / "tiny.jpg")]
    assert sorted(os.listdir(tmp_path / "fixed")) == ["tiny.jpg"]


def test_include_ok_false_writes_only_the_fixes(tmp_path: Path) -> None:
    make_image(tmp_path / "src" / "good.jpg", width=400, height=500)
    make_image(tmp_path / "src" / "tiny.jpg", width=200, height=250)
    result = fix(tmp_path / "src", tmp_path / "out", include_ok=False, progress=False)
    assert list(result["action"]) == ["skipped: already ok (include_ok=False)", "scaled 200×250 → 300×375"]
    assert sorted(os.listdir(tmp_path / "out")) == ["tiny.jpg"]


def test_a_copy_that_still_fails_is_reported_not_hidden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_image(tmp_path / "src" / "tiny.jpg", width=200, height=250)

    def careless(source: str, dest: str, *args: object) -> list[str]:
        Path(dest).write_bytes(Path(source).read_bytes())
        return ["did nothing"]

    monkeypatch.setattr(conform, "write_image", careless)
    row = fix(tmp_path / "src", tmp_path / "out", progress=False).iloc[0]
    assert not row["ok"] and not bool(row["fixed"])
    assert row["action"] == "did nothing; the written copy still fails validation: WidthTooSmall;HeightTooSmall"
    assert (tmp_path / "out" / "tiny.jpg").exists()


def test_ffmpeg_failure_costs_its_row_not_the_batch(tmp_path: Path) -> None:
    make_video(tmp_path / "src" / "slow.mp4", width=320, height=400, duration=2.5, fps=15)
    make_image(tmp_path / "src" / "tiny.jpg", width=200, height=250)
    broken = tmp_path / "ffmpeg"
    broken.write_text("#!/bin/sh\necho 'starting' >&2\necho 'Error: the encoder exploded' >&2\nexit 1\n")
    broken.chmod(0o755)
    result = fix(tmp_path / "src", tmp_path / "out", ffmpeg=str(broken), progress=False)
    assert list(result["action"]) == [
        "not fixed: ffmpeg failed: Error: the encoder exploded",
        "scaled 200×250 → 300×375",
    ]
    assert list(result["fixed"]) == [False, True]
    assert sorted(os.listdir(tmp_path / "out")) == ["tiny.jpg"]  # no half-written clip


def test_imageio_ffmpeg_binary_is_used_when_none_is_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import imageio_ffmpeg

    # An AVI also proves the output stays at its 24 fps with imageio's newer ffmpeg, which drops
    # the AVI's placeholder frame and used to leave an average rate of 23.2.
    make_video(tmp_path / "src" / "clip.avi", width=576, height=720, duration=2.5, fps=24, person="erin")
    monkeypatch.setattr(fix_av.shutil, "which", lambda *args, **kwargs: None)
    assert fix_av.find_ffmpeg() == imageio_ffmpeg.get_ffmpeg_exe()
    row = fix(tmp_path / "src", tmp_path / "out", progress=False).iloc[0]
    assert row["action"] == "converted avi → mp4 (h264 + aac)"
    assert bool(row["fixed"]) and row["fps"] == 24 and row["name"] == "clip.mp4"
    assert read_tag(row["path"]) == {"person": "erin"}


def test_no_ffmpeg_anywhere_raises_media_tool_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import imageio_ffmpeg

    def missing() -> str:
        raise RuntimeError("no ffmpeg exe could be found")

    make_video(tmp_path / "src" / "slow.mp4", width=320, height=400, duration=2.5, fps=15)
    monkeypatch.setattr(fix_av.shutil, "which", lambda *args, **kwargs: None)
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", missing)
    with pytest.raises(MediaToolMissingError, match="imageio-ffmpeg"):
        fix(tmp_path / "src", tmp_path / "out", progress=False)


def test_progress_is_reported_from_the_calling_thread(tmp_path: Path) -> None:
    import threading

    make_image(tmp_path / "src" / "a.jpg", width=200, height=250)
    make_image(tmp_path / "src" / "b.jpg", width=400, height=500)
    (tmp_path / "src" / "c.jpg").write_bytes(b"")
    seen: list[tuple[int, int, str]] = []
    callback: Callable[[int, int], None] = lambda done, total: seen.append(  # noqa: E731
        (done, total, threading.current_thread().name)
    )
    report = validate_folder(tmp_path / "src", progress=False)
    fix(report, tmp_path / "out", workers=3, progress=callback)
    assert seen[-1][:2] == (3, 3) and [done for done, *_ in seen] == sorted(done for done, *_ in seen)
    assert {name for *_, name in seen} == {threading.current_thread().name}


class _RecordingExecutor(Executor):
    """Runs each task at once on the calling thread and keeps what it was given; loses every ``lose``-th task."""

    def __init__(self, lose: int = 0) -> None:
        self.tasks: list[str] = []
        self.lose = lose

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self.tasks.append(fn.__name__)
        if self.lose and len(self.tasks) % self.lose == 0:
            future.set_exception(RuntimeError("worker died"))
        else:
            future.set_result(fn(*args, **kwargs))
        return future


def test_fix_runs_its_copies_and_validations_on_the_executor_it_is_given(tmp_path: Path) -> None:
    make_image(tmp_path / "src" / "a.jpg", width=200, height=250)
    make_image(tmp_path / "src" / "b.jpg", width=600, height=800)
    pool = _RecordingExecutor()
    result = fix(tmp_path / "src", tmp_path / "out", executor=pool, progress=False)
    assert pool.tasks.count("_validate_row") == 2 * 2  # the sources, then the written copies
    assert pool.tasks.count("_carry_out") == 2
    assert list(result["fixed"]) == [True, False] and result["ok"].all()
    assert result.equals(fix(tmp_path / "src", tmp_path / "again", workers=1, progress=False).assign(
        path=result["path"]))  # fmt: skip


def test_a_copy_the_executor_loses_costs_its_row_only(tmp_path: Path) -> None:
    make_image(tmp_path / "src" / "a.jpg", width=200, height=250)
    make_image(tmp_path / "src" / "b.jpg", width=600, height=800)
    report = validate_folder(tmp_path / "src", progress=False)
    result = fix(report, tmp_path / "out", executor=_RecordingExecutor(lose=2), progress=False)
    lost = result[result["action"].str.contains("worker died")]
    assert len(lost) == 1 and not lost["fixed"].any() and result["fixed"].sum() + len(lost) <= len(result)
    assert len(os.listdir(tmp_path / "out")) == 1


# -- arguments that are not a report, a folder or paths -------------------------------------


@pytest.mark.parametrize("value", [None, 42])
def test_fix_of_a_non_report_names_report_or_paths(value: object, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        fix(value, tmp_path / "out", progress=False)  # type: ignore[arg-type]
    assert str(caught.value).startswith(
        f"fix(report_or_paths={value}): pass a report from ra.validate_folder, a folder path, or a list of paths"
    )
    assert not (tmp_path / "out").exists()


def test_fix_of_a_report_without_its_ok_column_names_the_missing_column(tmp_path: Path) -> None:
    make_image(tmp_path / "src" / "small.jpg", width=200, height=250)
    report = validate_folder(tmp_path / "src", progress=False).drop(columns=["ok"])
    with pytest.raises(InvalidArgumentError, match=r"^fix\(report_or_paths=<DataFrame without ok>\): pass a report"):
        fix(report, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_fix_without_an_out_dir_names_out_dir(tmp_path: Path) -> None:
    make_image(tmp_path / "src" / "small.jpg", width=200, height=250)
    with pytest.raises(InvalidArgumentError, match=r"^fix\(out_dir=None\): pass a folder path \(str or pathlib"):
        fix(tmp_path / "src", None, progress=False)  # type: ignore[arg-type]


def test_a_fixed_copy_keeps_its_real_control_character_name_on_disk_and_shows_it_escaped(tmp_path: Path) -> None:
    name = "\u202egpj\x1b[2J.png"
    make_image(tmp_path / "src" / name, width=200, height=250)
    report = fix(os.fsencode(tmp_path / "src"), os.fsencode(tmp_path / "out"), progress=False)  # bytes paths too
    row = report.iloc[0]
    assert row["name"] == "\\u202egpj\\x1b[2J.png" and bool(row["fixed"])
    assert os.path.basename(row["path"]) == name and (tmp_path / "out" / name).is_file()
