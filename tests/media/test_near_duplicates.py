"""Near-duplicates: burst twins warned of within a person's files and against their uploads, on real media."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import skimage.data
from PIL import Image, ImageEnhance

import realavatar_nb as ra
from realavatar_nb.media import near_duplicates
from realavatar_nb.media.near_duplicates import NEAR_DUPLICATE_DISTANCE, UploadedHashes, carry_near_duplicates
from realavatar_nb.media.validate import validate_folder
from realavatar_nb.samples import make_video

from .face_media import collins, hopper, write_clip


@pytest.fixture(autouse=True)
def _no_face_scans(monkeypatch: pytest.MonkeyPatch) -> None:
    # person= turns the face check on; what is tested here is the near-duplicate check alone.
    monkeypatch.setenv("REALAVATAR_FACES", "off")


def burst(picture: Image.Image, path: Path, *, crop: float = 0.0, light: float = 1.0, quality: int = 90) -> Path:
    """Write ``picture`` as another shot of a burst would be: cropped a little, lit a little differently."""
    w, h = picture.size
    dx, dy = round(w * crop), round(h * crop)
    shot = ImageEnhance.Brightness(picture.crop((dx, dy, w - dx, h - dy))).enhance(light)
    path.parent.mkdir(parents=True, exist_ok=True)
    shot.save(path, "JPEG", quality=quality)
    return path


def distinct(folder: Path) -> dict[str, Path]:
    """Write five different pictures: two people, a cup of coffee, a cat and a rocket."""
    samples = {name: Image.fromarray(getattr(skimage.data, name)()) for name in ("coffee", "chelsea", "rocket")}
    pictures = {"hopper": hopper(), "collins": collins(), **samples}
    return {name: burst(picture, folder / f"{name}.jpg") for name, picture in pictures.items()}


def flagged(report: pd.DataFrame) -> dict[str, str]:
    """Return the message of every row warned as a near-duplicate, by name."""
    return {
        str(row.name): str(row.message)
        for row in report.itertuples(index=False)
        if "NearDuplicate" in str(row.warnings).split(";")
    }


def distance(message: str) -> int:
    found = re.search(r"hash distance (\d+) of 64", message)
    assert found, message
    return int(found.group(1))


def test_burst_shots_flag_every_later_twin_and_leave_the_first_clean(tmp_path: Path) -> None:
    picture = hopper()
    burst(picture, tmp_path / "shot-1.jpg", quality=92)
    burst(picture, tmp_path / "shot-2.jpg", quality=70)  # the same picture re-encoded
    burst(picture, tmp_path / "shot-3.jpg", crop=0.02, light=1.1)  # slightly cropped and brightened
    burst(collins(), tmp_path / "other-pose.jpg")
    report = validate_folder(tmp_path, progress=False)
    found = flagged(report)
    assert sorted(found) == ["shot-2.jpg", "shot-3.jpg"]
    for message in found.values():
        assert "NearDuplicate: near-identical to shot-1.jpg" in message
        assert 0 <= distance(message) <= NEAR_DUPLICATE_DISTANCE
    assert report["ok"].all()  # a warning, never an error: every shot could still be uploaded
    assert report.attrs["near_duplicates"]["flagged"] == 2


def test_distinct_pictures_are_not_flagged(tmp_path: Path) -> None:
    distinct(tmp_path)
    report = validate_folder(tmp_path, progress=False)
    assert flagged(report) == {}
    assert report.attrs["near_duplicates"]["hashed"] == 5
    assert set(report["message"]) == {"ok"}


def test_byte_identical_copies_are_decoded_once_and_each_still_compared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    originals = distinct(tmp_path)
    for n in range(3):
        shutil.copyfile(originals["hopper"], tmp_path / f"hopper-copy-{n}.jpg")
    decoded: list[str] = []
    real = near_duplicates.file_hashes
    monkeypatch.setattr(near_duplicates, "file_hashes", lambda path, kind: decoded.append(path) or real(path, kind))
    report = validate_folder(tmp_path, progress=False, workers=1)
    assert len(decoded) == 5  # the five distinct pictures; the copies share the original's hashes
    assert report.attrs["near_duplicates"]["hashed"] == 8  # flagged below: every copy but the first by name
    assert sorted(flagged(report)) == ["hopper-copy-1.jpg", "hopper-copy-2.jpg", "hopper.jpg"]


def test_a_video_twin_is_found_by_its_keyframes_and_never_matched_with_a_photo(tmp_path: Path) -> None:
    write_clip(tmp_path / "take-1.mp4", hopper(), 720, 900)
    write_clip(tmp_path / "take-2.mp4", hopper(), 360, 450, seconds=2.5)  # the same take, smaller and shorter
    write_clip(tmp_path / "take-3.mp4", collins(), 720, 720)
    burst(hopper(), tmp_path / "still.jpg")
    found = flagged(validate_folder(tmp_path, progress=False))
    assert list(found) == ["take-2.mp4"]
    assert "near-identical to take-1.mp4" in found["take-2.mp4"]


def test_a_synthetic_clip_re_encoded_at_another_size_is_a_twin(tmp_path: Path) -> None:
    make_video(tmp_path / "a.mp4", width=480, height=640, duration=3.0, person="alice")
    make_video(tmp_path / "b.mov", width=360, height=480, duration=2.5, fps=30, person="alice", audio=False)
    found = flagged(validate_folder(tmp_path, progress=False))
    assert list(found) == ["b.mov"] and "near-identical to a.mp4" in found["b.mov"]


def _uploaded_on_monday(tmp_path: Path, status: str, given_as: str) -> ra.Ledger:
    """Return a ledger where Monday's front.jpg of alice (validated with the ledger as ``given_as``) is asset-7."""
    ledger = ra.Ledger(tmp_path / "ledger.sqlite3")
    ledger.record_group("crun", "group-1", person="alice")
    first = burst(hopper(), tmp_path / "monday" / "front.jpg")
    monday = validate_folder(tmp_path / "monday", person="alice", progress=False, **{given_as: ledger})
    key = ledger.begin_upload("crun", "group-1", sha256=str(monday.loc[0, "sha256"]), source=str(first),
                              asset_type="Image", name="front")  # fmt: skip
    ledger.finish_upload(key, ra.Asset(id="asset-7", group_id="group-1", status=status))
    return ledger


def test_a_twin_of_an_already_uploaded_file_is_flagged_naming_the_asset(tmp_path: Path) -> None:
    ledger = _uploaded_on_monday(tmp_path, "active", given_as="uploaded")

    burst(hopper(), tmp_path / "tuesday" / "front-again.jpg", crop=0.01, light=1.1, quality=80)
    burst(collins(), tmp_path / "tuesday" / "someone.jpg")
    found = flagged(validate_folder(tmp_path / "tuesday", person="alice", uploaded=ledger, progress=False))
    assert list(found) == ["front-again.jpg"]
    assert "near-identical to already uploaded: asset-7 (front.jpg)" in found["front-again.jpg"]
    assert distance(found["front-again.jpg"]) <= NEAR_DUPLICATE_DISTANCE


def test_the_ledger_given_as_references_is_where_uploads_are_looked_up(tmp_path: Path) -> None:
    ledger = _uploaded_on_monday(tmp_path, "processing", given_as="references")
    assert isinstance(ledger, UploadedHashes)
    burst(hopper(), tmp_path / "tuesday" / "front-again.jpg", quality=75)
    found = flagged(validate_folder(tmp_path / "tuesday", person="alice", references=ledger, progress=False))
    assert "already uploaded: asset-7 (front.jpg)" in found["front-again.jpg"]


def test_a_file_already_uploaded_is_not_its_own_twin_and_a_refused_upload_is_no_twin(tmp_path: Path) -> None:
    ledger = ra.Ledger(tmp_path / "ledger.sqlite3")
    ledger.record_group("crun", "group-1", person="alice")
    folder = tmp_path / "alice"
    front, refused = burst(hopper(), folder / "front.jpg"), burst(collins(), folder / "refused.jpg")
    report = validate_folder(folder, person="alice", uploaded=ledger, progress=False).set_index("name")
    for path, status in ((front, "active"), (refused, "failed")):
        key = ledger.begin_upload("crun", "group-1", sha256=str(report.loc[path.name, "sha256"]), source=str(path),
                                  asset_type="Image", name=path.stem)  # fmt: skip
        ledger.finish_upload(key, ra.Asset(id=f"asset-{path.stem}", group_id="group-1", status=status))
    assert [u.asset for u in ledger.uploaded_hashes("alice")] == ["asset-front (front.jpg)"]
    burst(collins(), folder / "retake.jpg", quality=70)
    found = flagged(validate_folder(folder, person="alice", uploaded=ledger, progress=False))
    # front.jpg is the upload itself; retake.jpg is a twin of refused.jpg in the folder, not of the refusal.
    assert found == {"retake.jpg": found["retake.jpg"]}
    assert "near-identical to refused.jpg" in found["retake.jpg"]


def test_the_threshold_is_the_largest_distance_that_still_flags(tmp_path: Path) -> None:
    burst(hopper(), tmp_path / "a.jpg")
    burst(hopper(), tmp_path / "b.jpg", crop=0.03, light=1.1)
    gap = distance(flagged(validate_folder(tmp_path, near_duplicates=64, progress=False))["b.jpg"])
    assert 1 <= gap <= NEAR_DUPLICATE_DISTANCE
    assert "b.jpg" in flagged(validate_folder(tmp_path, near_duplicates=gap, progress=False))
    assert flagged(validate_folder(tmp_path, near_duplicates=gap - 1, progress=False)) == {}


def test_none_turns_the_check_off(tmp_path: Path) -> None:
    burst(hopper(), tmp_path / "a.jpg")
    burst(hopper(), tmp_path / "b.jpg", quality=60)
    report = validate_folder(tmp_path, near_duplicates=None, progress=False)
    assert flagged(report) == {} and "near_duplicates" not in report.attrs
    assert "b.jpg" in flagged(validate_folder(tmp_path, progress=False))  # the same files, with the default


@pytest.mark.parametrize("bad", [-1, 65, 2.5, True, "10"])
def test_a_threshold_that_is_no_distance_is_refused_naming_the_argument(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ra.InvalidArgumentError, match=r"near_duplicates=.*from 0 to 64"):
        validate_folder(tmp_path, near_duplicates=bad, progress=False)  # type: ignore[arg-type]


def test_with_people_only_a_persons_own_files_are_compared(tmp_path: Path) -> None:
    for person in ("alice", "bob"):
        burst(hopper(), tmp_path / person / "a.jpg")
    burst(hopper(), tmp_path / "alice" / "b.jpg", quality=70)
    found = flagged(validate_folder(tmp_path, people=True, progress=False))
    assert list(found) == ["alice/b.jpg"] and "near-identical to alice/a.jpg" in found["alice/b.jpg"]
    whole = flagged(validate_folder(tmp_path, progress=False))  # without people: one folder, one burst
    assert sorted(whole) == ["alice/b.jpg", "bob/a.jpg"]


def test_the_ledger_keeps_hashes_by_sha256_for_a_persons_uploads(tmp_path: Path) -> None:
    ledger = ra.Ledger(tmp_path / "ledger.sqlite3")
    ledger.record_group("crun", "group-1", person="alice")
    ledger.record_hashes("f" * 64, "video", ["00ff00ff00ff00ff", "0f0f0f0f0f0f0f0f"])
    ledger.record_hashes("e" * 64, "image", ["00ff00ff00ff00ff"])  # validated, never uploaded
    key = ledger.begin_upload("crun", "group-1", sha256="f" * 64, source="/x/clip.mp4", asset_type="Video", name=None)
    assert [tuple(u) for u in ledger.uploaded_hashes("alice")] == [
        ("f" * 64, "video", "clip.mp4", ("00ff00ff00ff00ff", "0f0f0f0f0f0f0f0f"))
    ]  # claimed, not answered yet: named by its file
    ledger.finish_upload(key, ra.Asset(id="asset-1", group_id="group-1", status="active"))
    assert [u.asset for u in ledger.uploaded_hashes("alice")] == ["asset-1 (clip.mp4)"]
    assert ledger.uploaded_hashes("bob") == []


def test_a_fix_report_carries_the_verdicts_made_per_person_on_the_originals(tmp_path: Path) -> None:
    for person in ("alice", "bob"):
        burst(hopper(), tmp_path / "people" / person / "shot-1.jpg")
    burst(hopper(), tmp_path / "people" / "alice" / "shot-2.jpg", quality=70)
    report = validate_folder(tmp_path / "people", people=True, progress=False)
    fixed = carry_near_duplicates(ra.fix(report, tmp_path / "fixed", progress=False), report)
    found = flagged(fixed)
    # The copies alone are one folder, where bob's shot would be alice's twin; judged per person, it is not.
    assert list(found) == ["alice/shot-2.jpg"] and "near-identical to alice/shot-1.jpg" in found["alice/shot-2.jpg"]
    assert "NearDuplicate" not in fixed.set_index("name").loc["bob/shot-1.jpg", "message"]
