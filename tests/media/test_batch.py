"""The batch's final report: where each file ended, per-person counts, problems by code, one portable report."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import realavatar_nb as ra
from realavatar_nb.media.batch import (
    bar_chart_svg,
    final_report,
    person_summary,
    problems_by_code,
    with_person,
    write_batch_report,
)
from realavatar_nb.media.validate import validate_folder
from realavatar_nb.samples import demo_expected, make_demo_folder

PEOPLE = ("alice", "bob")
EXPECTED = demo_expected(PEOPLE)
UPSTREAM = {"other_person.jpg": "FaceMismatch", "two_faces.jpg": "MultipleFaces"}  # what the emulator would say
REUPLOADED = "alice/portrait.jpg"  # failed once with STALE, then uploaded again and active
STALE = "ServiceBusy"
STILL_PROCESSING = "bob/voice.wav"
ORIGINAL_UPLOADED = "bob/portrait.png"  # uploaded from the people folder, not from the fixed copies
SVG = "{http://www.w3.org/2000/svg}"


@dataclass
class Batch:
    root: Path
    report: pd.DataFrame  # validation of the people folder
    fixed: pd.DataFrame  # ra.fix of it
    assets: pd.DataFrame  # the ledger after uploading the fixed copies
    plain_assets: pd.DataFrame  # the ledger after uploading the passing originals, nothing fixed


def _upload(ledger: ra.Ledger, path: str, person: str, status: str, code: str | None = None) -> None:
    key = ledger.begin_upload("sandbox", f"group-{person}", sha256=path, source=path, asset_type="Image", name=None)
    asset = ra.Asset(id=f"asset-{key}", group_id=f"group-{person}", status=status, error_code=code)
    ledger.finish_upload(key, asset)


def _outcome(name: str) -> tuple[str, str | None]:
    """Return the upload status and upstream code the fabricated run gives a demo file that passed locally."""
    code = UPSTREAM.get(name.split("/")[-1])
    if code:
        return "failed", code
    return ("processing", None) if name == STILL_PROCESSING else ("active", None)


def _ledger(path: Path, rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Return ``Ledger.frame("assets")`` after uploading (path uploaded, person, demo name) as the run would."""
    ledger = ra.Ledger(path)
    for person in PEOPLE:
        ledger.record_group("sandbox", f"group-{person}", person=person)
    for uploaded, person, name in rows:
        if name == REUPLOADED:
            _upload(ledger, uploaded, person, "failed", STALE)
        _upload(ledger, uploaded, person, *_outcome(name))
    frame = ledger.frame("assets")
    ledger.close()
    return frame


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    tmp = tmp_path_factory.mktemp("batch")
    root = make_demo_folder(tmp / "people", people=PEOPLE)
    report = validate_folder(root, progress=False, workers=1)
    fixed = ra.fix(report, out_dir=tmp / "fixed", progress=False, workers=1)
    fix_rows = []
    for row in fixed[fixed["ok"]].itertuples():
        name = _demo_name(root, str(row.source))
        fix_rows.append((str(row.source if name == ORIGINAL_UPLOADED else row.path), name.split("/")[0], name))
    plain_rows = [(str(r.path), str(r.name).split("/")[0], str(r.name)) for r in report[report["ok"]].itertuples()]
    return Batch(
        root, report, fixed, _ledger(tmp / "fix.sqlite3", fix_rows), _ledger(tmp / "plain.sqlite3", plain_rows)
    )


def _demo_name(root: Path, source: str) -> str:
    return Path(source).relative_to(root).as_posix()


def _expected_stage(batch: Batch, name: str) -> str:
    codes = EXPECTED[name]
    fixable = bool(batch.report.set_index("name").loc[name, "fixable"])
    if codes and not fixable:
        return "not uploaded: " + ", ".join(codes)
    status, code = _outcome(name)
    return f"rejected upstream: {code}" if status == "failed" else status


def _by_demo_name(batch: Batch, final: pd.DataFrame) -> dict[str, pd.Series]:
    return {_demo_name(batch.root, str(row["source"])): row for _, row in final.iterrows()}


def test_person_is_the_first_folder_of_every_name_in_validation_and_fix_reports(batch: Batch) -> None:
    for report in (batch.report, batch.fixed):
        named = with_person(report)
        assert named["person"].tolist() == [name.split("/")[0] for name in report["name"]]
        assert list(named.columns).index("person") == list(named.columns).index("name") + 1
    # A fix report names the copy ("bob/scan.jpg" for "bob/scan.bmp"); the person is still its folder.
    renamed = batch.fixed[batch.fixed["name"] != [_demo_name(batch.root, s) for s in batch.fixed["source"]]]
    assert len(renamed) > 0
    assert set(with_person(renamed)["person"]) <= set(PEOPLE)


def test_a_file_in_the_folder_root_belongs_to_the_empty_person(tmp_path: Path) -> None:
    (tmp_path / "carol" / "sub").mkdir(parents=True)
    for rel in ("loose.jpg", "carol/empty.jpg", "carol/sub/deep.jpg"):
        (tmp_path / rel).write_bytes(b"")
    named = with_person(validate_folder(tmp_path, progress=False, workers=1))
    assert dict(zip(named["name"], named["person"], strict=True)) == {
        "loose.jpg": "",
        "carol/empty.jpg": "carol",
        "carol/sub/deep.jpg": "carol",
    }
    assert not named["person"].isna().any()
    assert person_summary(final_report(named))["person"].tolist() == ["", "carol"]


def test_every_file_ends_in_the_stage_demo_expected_and_the_uploads_say(batch: Batch) -> None:
    final = final_report(batch.fixed, batch.assets)
    assert len(final) == len(EXPECTED)
    stages = {name: row["stage"] for name, row in _by_demo_name(batch, final).items()}
    assert stages == {name: _expected_stage(batch, name) for name in EXPECTED}
    assert {"active", "processing", "rejected upstream: FaceMismatch"} <= set(stages.values())
    assert any(s.startswith("not uploaded: ") for s in stages.values())
    added = set(final.columns) - set(batch.fixed.columns)  # the ledger's sha256 and handle stay out
    assert added == {"person", "asset_id", "upload_status", "error_code", "error_message", "stage"}


def test_a_report_before_any_upload_says_why_each_file_is_not_uploaded(batch: Batch) -> None:
    final = final_report(batch.report)
    assert set(final["upload_status"]) == {"not uploaded"} and final["asset_id"].isna().all()
    stages = dict(zip(final["name"], final["stage"], strict=True))
    assert stages == {
        name: "not uploaded: " + (", ".join(codes) if codes else "passed locally") for name, codes in EXPECTED.items()
    }


def test_an_empty_report_gives_an_empty_but_complete_batch_report(batch: Batch, tmp_path: Path) -> None:
    final = final_report(batch.fixed.iloc[:0], batch.assets)
    assert len(final) == 0 and {"person", "stage", "upload_status", "asset_id"} <= set(final.columns)
    assert person_summary(final).empty and problems_by_code(final).empty
    paths = write_batch_report(final, tmp_path)
    assert "no problems" in paths["html"].read_text(encoding="utf-8") and len(pd.read_parquet(paths["parquet"])) == 0


def test_the_newest_upload_of_a_file_wins_whatever_the_row_order(batch: Batch) -> None:
    source = str(batch.fixed.set_index("name").loc[REUPLOADED, "path"])
    tries = batch.assets[batch.assets["source"] == source].sort_values("key")
    assert tries["status"].tolist() == ["failed", "active"]
    final = final_report(batch.fixed, batch.assets.iloc[::-1])
    row = _by_demo_name(batch, final)[REUPLOADED]
    assert (row["stage"], row["upload_status"], row["asset_id"]) == ("active", "active", tries["id"].iloc[-1])
    assert pd.isna(row["error_code"]) and STALE not in problems_by_code(final)


def test_an_upload_of_the_original_counts_for_its_fixed_copy(batch: Batch) -> None:
    row = _by_demo_name(batch, final_report(batch.fixed, batch.assets))[ORIGINAL_UPLOADED]
    assert row["path"] != row["source"]  # the copy in fixed/ was not what went up
    assert row["source"] in set(batch.assets["source"]) and row["path"] not in set(batch.assets["source"])
    assert row["stage"] == "active" and str(row["asset_id"]).startswith("asset-")


def test_person_summary_counts_each_persons_files_by_outcome(batch: Batch) -> None:
    summary = person_summary(final_report(batch.fixed, batch.assets)).set_index("person")
    for person in PEOPLE:
        names = [n for n in EXPECTED if n.split("/")[0] == person]
        stages = [_expected_stage(batch, n) for n in names]
        fixed = [n for n in names if EXPECTED[n] and not stages[names.index(n)].startswith("not uploaded")]
        expected = {
            "files": len(names),
            "ok_locally": sum(not s.startswith("not uploaded") for s in stages),
            "fixed": len(fixed),
            "uploaded": sum(not s.startswith("not uploaded") for s in stages),
            "active": stages.count("active"),
            "rejected_upstream": sum(s.startswith("rejected upstream") for s in stages),
            "processing": stages.count("processing"),
            "not_uploaded": sum(s.startswith("not uploaded") for s in stages),
        }
        assert summary.loc[person].to_dict() == expected, person


def test_problems_by_code_counts_local_codes_and_upstream_codes_most_first(batch: Batch) -> None:
    upstream = Counter(UPSTREAM.values())
    plain = problems_by_code(final_report(batch.report, batch.plain_assets))
    assert plain.to_dict() == dict(Counter(c for codes in EXPECTED.values() for c in codes) + upstream)
    assert plain.tolist() == sorted(plain.tolist(), reverse=True) and plain.iloc[0] > plain.iloc[-1]

    fixable = batch.report.set_index("name")["fixable"]
    left = Counter(c for name, codes in EXPECTED.items() if not fixable[name] for c in codes)
    assert problems_by_code(final_report(batch.fixed, batch.assets)).to_dict() == dict(left + upstream)


def _labels(svg: str) -> tuple[list[str], int]:
    root = ET.fromstring(svg)
    return [t.text or "" for t in root.iter(f"{SVG}text")], len(list(root.iter(f"{SVG}rect")))


def test_the_chart_is_an_svg_with_one_labelled_bar_per_code(batch: Batch) -> None:
    counts = problems_by_code(final_report(batch.report, batch.plain_assets))
    labels, bars = _labels(bar_chart_svg(counts, title="Problems by code"))
    assert bars == len(counts) and "Problems by code" in labels
    assert set(counts.index) <= set(labels)

    hostile = pd.Series({'<script>alert("x")</script>': 3, "A&B": 1})
    svg = bar_chart_svg(hostile, title="<b>t</b>")
    assert "<script" not in svg and "<b>" not in svg
    labels, bars = _labels(svg)
    assert set(hostile.index) <= set(labels) and "<b>t</b>" in labels and bars == 2


def test_an_empty_chart_says_there_are_no_problems() -> None:
    labels, bars = _labels(bar_chart_svg(pd.Series(dtype="int64"), title="Problems"))
    assert "no problems" in labels and bars == 0


def test_the_batch_report_is_three_portable_files_and_a_standalone_page(batch: Batch, tmp_path: Path) -> None:
    final = final_report(batch.fixed, batch.assets)
    rejected = final.index[final["upload_status"] == "failed"][0]
    final.loc[rejected, "error_message"] = "<script>alert(1)</script>"  # upstream text is data, never markup
    paths = write_batch_report(final, tmp_path / "out", title="Study 12 <batch>")
    assert paths == {fmt: tmp_path / "out" / f"final.{fmt}" for fmt in ("csv", "parquet", "html")}
    assert all(p.stat().st_size > 0 for p in paths.values())

    back = pd.read_parquet(paths["parquet"])
    assert list(back.columns) == list(final.columns) and back["ok"].dtype == bool
    for column in ("path", "name", "person", "stage", "upload_status", "asset_id", "error_code"):
        assert back[column].tolist() == final[column].astype(object).tolist(), column
    assert len(pd.read_csv(paths["csv"])) == len(final)

    page = paths["html"].read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "http://" not in page and "https://" not in page
    assert "<link" not in page and "src=" not in page and "&lt;script&gt;alert(1)" in page
    assert "Study 12 &lt;batch&gt;" in page and "<svg" in page and "#ffebe9" in page  # problem rows tinted
    assert all(f">{person}<" in page for person in PEOPLE)
    assert all(f">{code}<" in page for code in problems_by_code(final).index)


def test_a_file_whose_bytes_were_uploaded_from_another_path_counts_as_uploaded(batch: Batch, tmp_path: Path) -> None:
    """A rerun (or another notebook) made the same copy elsewhere: the client found it and sent nothing."""
    row = batch.fixed[batch.fixed["ok"]].iloc[0]
    person = str(row["name"]).split("/")[0]
    ledger = ra.Ledger(tmp_path / "l.sqlite3")
    ledger.record_group("sandbox", f"group-{person}", person=person)
    earlier = str(tmp_path / "earlier-run" / "copy.jpg")
    key = ledger.begin_upload("sandbox", f"group-{person}", sha256=str(row["sha256"]), source=earlier,
                              asset_type="Image", name=None)  # fmt: skip
    ledger.finish_upload(key, ra.Asset(id="asset-earlier", group_id=f"group-{person}", status="active"))
    final = final_report(batch.fixed, ledger.frame("assets")).set_index("path")
    assert final.loc[row["path"], "asset_id"] == "asset-earlier" and final.loc[row["path"], "stage"] == "active"
    others = final.drop(index=row["path"])
    assert (others["upload_status"] == "not uploaded").all()  # the hash matched one file, not the folder
    ledger.close()
