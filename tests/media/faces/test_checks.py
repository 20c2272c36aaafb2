"""Face checks in the validation report: tags decide for synthetic media, the ledger keeps references."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import realavatar_nb as ra
from realavatar_nb.media.faces import checks, detect
from realavatar_nb.media.validate import REPORT_COLUMNS, validate_folder
from realavatar_nb.samples import demo_expected, make_demo_folder, make_image

PEOPLE = ("alice", "bob")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_folder(tmp_path_factory.mktemp("faces") / "people", people=PEOPLE)


def test_without_a_person_the_face_columns_stay_empty_and_nothing_is_scanned(demo: Path) -> None:
    report = validate_folder(demo, progress=False)
    assert list(report.columns) == list(REPORT_COLUMNS)
    assert (report["face_check"] == "").all() and report["faces"].isna().all()
    assert {tuple(filter(None, p.split(";"))) for p in report["problems"]} == set(demo_expected(PEOPLE).values())


def test_a_stray_photo_and_a_two_face_photo_are_caught_before_upload_by_their_tags(demo: Path) -> None:
    report = validate_folder(demo, people=True, progress=False).set_index("name")
    stray, pair = report.loc["alice/other_person.jpg"], report.loc["bob/two_faces.jpg"]
    assert not stray["ok"] and "FaceMismatch" in stray["problems"] and "this is bob, not alice" in stray["message"]
    assert not pair["ok"] and "MultipleFaces" in pair["problems"] and not pair["fixable"]
    assert (stray["face_check"], pair["face_check"], int(pair["faces"])) == ("tag", "tag", 2)
    portrait = report.loc["alice/portrait.jpg"]
    assert portrait["ok"] and portrait["face_check"] == "tag" and int(portrait["faces"]) == 1
    assert report.loc["alice/voice.wav", "face_check"] == "n/a"  # audio shows no face
    assert report.loc["alice/broken.mp4", "face_check"] == "n/a"  # unreadable: nothing to look at
    # A BMP cannot carry the tag, and dlib sees no face in the demo's drawn portrait: NoFace, honestly.
    assert report.loc["bob/scan.bmp", "face_check"] == "faces" and "NoFace" in report.loc["bob/scan.bmp", "problems"]
    others = report.drop(index=["alice/other_person.jpg", "bob/two_faces.jpg", "bob/scan.bmp"])
    expected = demo_expected(PEOPLE)
    assert {n: tuple(filter(None, p.split(";"))) for n, p in others["problems"].items()} == {
        n: c for n, c in expected.items() if n in others.index
    }


def test_fixing_keeps_the_face_verdicts_of_the_originals(demo: Path, tmp_path: Path) -> None:
    report = validate_folder(demo, people=True, progress=False)
    fixed = ra.fix(report, tmp_path / "fixed", progress=False).set_index("name")
    assert not fixed.loc["alice/other_person.jpg", "ok"]
    assert "FaceMismatch" in fixed.loc["alice/other_person.jpg", "problems"]
    assert fixed.loc["alice/other_person.jpg", "action"].startswith("not fixed")
    assert fixed.loc["bob/tiny.jpg", "ok"] and fixed.loc["bob/tiny.jpg", "face_check"] == "tag"  # fixed, face kept


def test_without_the_faces_extra_an_untagged_photo_says_not_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(detect, "available", lambda: False)
    make_image(tmp_path / "carol" / "plain.jpg", width=600, height=800)  # no tag: only a scan could tell
    report = validate_folder(tmp_path, people=True, progress=False)
    row = report.iloc[0]
    assert row["ok"] and str(row["face_check"]).startswith("not checked") and "faces" in row["face_check"]
    assert pd.isna(row["faces"])


class Store:
    """A reference store like the ledger's."""

    def __init__(self) -> None:
        self.kept: dict[str, tuple[tuple[float, ...], str]] = {}

    def face_reference(self, person: str) -> tuple[tuple[float, ...], str] | None:
        return self.kept.get(person)

    def record_face_reference(self, person: str, descriptor: object, source: str) -> None:
        self.kept[person] = (tuple(descriptor), source)  # type: ignore[arg-type]


def test_the_report_says_what_faces_were_compared_with(demo: Path) -> None:
    report = validate_folder(demo, people=True, progress=False)
    assert "liveness capture" in report.attrs["faces"]["note"]
    assert set(report.attrs["faces"]["references"]) == set(PEOPLE)


def test_the_ledger_is_a_reference_store(tmp_path: Path) -> None:
    ledger = ra.Ledger(tmp_path / "l.sqlite3")
    store: checks.FaceReferences = ledger
    store.record_face_reference("alice", [0.5] * 128, "alice/front.jpg")
    assert store.face_reference("alice") == ((0.5,) * 128, "alice/front.jpg")
    ledger.close()


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from realavatar_nb.samples import make_real_people

    return make_real_people(tmp_path_factory.mktemp("real") / "people")


def test_real_people_are_told_apart_by_their_faces_and_the_stray_photo_is_caught(real: Path, tmp_path: Path) -> None:
    from realavatar_nb.samples import REAL_PEOPLE_EXPECTED

    ledger = ra.Ledger(tmp_path / "l.sqlite3")
    report = validate_folder(real, people=True, references=ledger, progress=False).set_index("name")
    for name, codes in REAL_PEOPLE_EXPECTED.items():
        row = report.loc[name]
        assert tuple(filter(None, str(row["problems"]).split(";"))) == codes, (name, row["message"])
        assert row["face_check"] == "faces" and int(row["faces"]) == 1
        assert (row["face_distance"] >= detect.MATCH_DISTANCE) == bool(codes), (name, row["face_distance"])
    assert report.loc["hopper/stray.jpg", "face_distance"] >= 0.6 > report.loc["hopper/mirror.jpg", "face_distance"]
    assert "median face of 9 files in hopper's folder" in report.attrs["faces"]["references"]["hopper"]
    assert ledger.face_reference("hopper") is not None and ledger.face_reference("collins") is not None
    left, top, right, bottom = map(int, str(report.loc["hopper/portrait.jpg", "face_boxes"]).split(","))
    assert 0 <= left < right <= 512 and 0 <= top < bottom <= 600  # around the face, in the photo's pixels

    # Later files meet the same reference: the ledger's, not a new median.
    again = validate_folder(real / "hopper", person="hopper", references=ledger, progress=False)
    assert "kept in the ledger" in again.attrs["faces"]["references"]["hopper"]
    assert again.set_index("name").loc["stray.jpg", "problems"] == "FaceMismatch"
    ledger.close()


def test_a_named_reference_photo_decides_and_a_photo_of_two_is_refused_as_one(real: Path, tmp_path: Path) -> None:
    report = validate_folder(real / "hopper", person="collins", reference="stray.jpg", progress=False)
    by_name = report.set_index("name")
    assert by_name.loc["stray.jpg", "ok"] and by_name.loc["stray.jpg", "face_distance"] < 0.1  # the reference itself
    assert all("FaceMismatch" in by_name.loc[n, "problems"] for n in ("portrait.jpg", "crop.jpg", "mirror.jpg"))
    assert report.attrs["faces"]["references"]["collins"] == "stray.jpg"

    from PIL import Image

    pair = Image.new("RGB", (1024, 600), "white")
    pair.paste(Image.open(real / "hopper" / "portrait.jpg"), (0, 0))
    pair.paste(Image.open(real / "collins" / "portrait.jpg"), (512, 44))
    pair.save(tmp_path / "pair.jpg")
    with pytest.raises(ra.MediaError, match="shows 2 faces"):
        validate_folder(real / "hopper", person="hopper", reference=tmp_path / "pair.jpg", progress=False)


def test_a_two_person_video_fails_and_a_clip_of_the_person_passes(tmp_path: Path) -> None:
    from tests.media.face_media import collins, hopper, side_by_side, write_clip

    folder = tmp_path / "hopper"
    folder.mkdir()
    hopper().save(folder / "portrait.jpg", quality=92)
    write_clip(folder / "talk.mp4", hopper(), 720, 900)
    write_clip(folder / "both.mp4", side_by_side(hopper(), collins()), 1280, 640)
    report = validate_folder(folder, person="hopper", reference="portrait.jpg", progress=False).set_index("name")
    assert (
        report.loc["both.mp4", "problems"].split(";")[-1] == "MultipleFaces"
        and int(report.loc["both.mp4", "faces"]) == 2
    )
    assert not report.loc["both.mp4", "ok"]
    talk = report.loc["talk.mp4"]
    assert talk["ok"] and int(talk["faces"]) == 1 and talk["face_distance"] < detect.BORDERLINE_DISTANCE
