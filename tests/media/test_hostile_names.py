"""File names that lie or act: RLO, terminal escapes and spreadsheet formulas, from disk to every report."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

import realavatar_nb as ra
from realavatar_nb.media.report import csv_text, spreadsheet_safe, write_report
from realavatar_nb.media.validate import validate_folder
from realavatar_nb.samples import make_image

RLO_NAME = "\u202egpj.exe"  # shows as "exe.jpg"
ESC_NAME = "wipe\x1b[2J\x1b[Hok.jpg"  # clears a terminal
CR_NAME = "cr\rforged.jpg"  # rewrites its own line
FORMULAS = ["=1+2.jpg", "+SUM(1).jpg", "-2+3.jpg", "@SUM(1).jpg"]
RAW = ("\u202e", "\x1b", "\r")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    make_image(folder / RLO_NAME, width=800, height=1000, format="jpeg")
    for name in (ESC_NAME, CR_NAME, *FORMULAS):
        make_image(folder / name, width=800, height=1000)
    assert (folder / RLO_NAME).exists() and (folder / ESC_NAME).exists()  # real names on disk, not mock ones
    return folder


@pytest.fixture(scope="module")
def report(hostile: Path) -> pd.DataFrame:
    return validate_folder(hostile, workers=1, progress=False)


def test_the_report_names_show_rlo_and_escapes_as_visible_text(report: pd.DataFrame) -> None:
    names = set(report["name"])
    assert {"\\u202egpj.exe", "wipe\\x1b[2J\\x1b[Hok.jpg", "cr\\rforged.jpg"} <= names
    assert not any(ch in name for name in names for ch in RAW)


def test_the_html_report_holds_no_raw_rlo_or_escape(report: pd.DataFrame, tmp_path: Path) -> None:
    page = write_report(report, tmp_path / "report.html").read_text(encoding="utf-8")
    assert not any(ch in page for ch in RAW)
    assert "\\u202egpj.exe" in page and "wipe\\x1b[2J" in page


def test_csv_export_neutralises_formula_names_and_keeps_numbers_numbers(report: pd.DataFrame, tmp_path: Path) -> None:
    target = write_report(report, tmp_path / "report.csv")
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    names = {row["name"] for row in rows}
    assert {"'" + name for name in FORMULAS} <= names
    assert not any(name.startswith(("=", "+", "-", "@", "\t", "\r")) for name in names)
    assert {row["width"] for row in rows} == {"800"} and all(row["size_bytes"].isdigit() for row in rows)
    assert not any(ch in target.read_text(encoding="utf-8") for ch in RAW)


def test_spreadsheet_safe_prefixes_only_text_cells_that_a_spreadsheet_would_run() -> None:
    frame = pd.DataFrame(
        {
            "mixed": pd.Series([-3, "-3", "=x", "+x", "@x", "\tx", "\rx", "ok", None, 2.5, "a=b"], dtype=object),
            "number": pd.Series([-1] * 11, dtype="Int64"),
        }
    )
    safe = spreadsheet_safe(frame)
    assert list(safe["mixed"]) == [-3, "'-3", "'=x", "'+x", "'@x", "'\tx", "'\rx", "ok", None, 2.5, "a=b"]
    assert list(safe["number"]) == [-1] * 11 and str(safe["number"].dtype) == "Int64"
    text = csv_text(frame)
    assert text.splitlines()[1] == "-3,-1"  # the number stays a bare number in the CSV


def test_a_missing_folder_with_an_escape_in_its_name_is_reported_escaped(tmp_path: Path) -> None:
    with pytest.raises(ra.MediaError) as caught:
        validate_folder(tmp_path / "gone\x1b[2J\u202e", progress=False)
    message = str(caught.value)
    assert not any(ch in message for ch in RAW)
    assert "gone\\x1b[2J\\u202e" in message


def test_a_single_file_keeps_its_name_escaped_too(hostile: Path) -> None:
    single = validate_folder(hostile / ESC_NAME, progress=False)
    assert list(single["name"]) == ["wipe\\x1b[2J\\x1b[Hok.jpg"]
