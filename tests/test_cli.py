"""The command line: one clear line per bad file, exit codes that scripts can trust."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from realavatar_nb._display import printable
from realavatar_nb.cli import main
from realavatar_nb.samples import make_image, make_video


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    media = tmp_path / "faces"
    make_image(media / "front.jpg", width=800, height=1000)
    make_video(media / "short.mp4", width=320, height=400, duration=1.0, fps=24, audio=False)
    make_image(media / "tiny.png", width=200, height=250)
    return media


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_validate_prints_one_line_per_bad_file_and_exits_1(folder: Path) -> None:
    code, out = run("validate", str(folder), "--quiet")
    lines = out.splitlines()
    assert code == 1
    assert [line.split(":")[0] for line in lines[:-1]] == ["short.mp4", "tiny.png"]
    assert "DurationTooShort" in lines[0] and "WidthTooSmall" in lines[1] and "[fixable]" in lines[1]
    assert lines[-1] == "3 files: 1 ok, 2 with problems (1 fixable)"


def test_validate_exits_0_when_every_file_passes(folder: Path) -> None:
    code, out = run("validate", str(folder / "front.jpg"), "--quiet")
    assert code == 0 and out.strip() == "1 files: 1 ok, 0 with problems (0 fixable)"


@pytest.mark.parametrize("fmt", ["csv", "parquet", "html"])
def test_validate_writes_the_report_in_the_asked_format(folder: Path, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"report.{fmt}"
    code, out = run("validate", str(folder), "--quiet", f"--{fmt}", str(target))
    assert code == 1 and f"wrote {target}" in out
    if fmt == "csv":
        assert list(pd.read_csv(target)["name"]) == ["front.jpg", "short.mp4", "tiny.png"]
    elif fmt == "parquet":
        assert pd.read_parquet(target)["ok"].tolist() == [True, False, False]
    else:
        assert "DurationTooShort" in target.read_text() and "<table" in target.read_text()


def test_validate_with_fix_writes_copies_and_reports_what_still_fails(folder: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "fixed"
    code, out = run("validate", str(folder), "--quiet", "--fix", str(out_dir))
    assert code == 1  # the 1 s clip cannot be fixed
    assert "fixed tiny.png" in out
    assert "after fixing: 3 files: 2 ok, 1 with problems (0 fixable)" in out
    assert (out_dir / "tiny.png").exists() and not (out_dir / "short.mp4").exists()


def test_an_unknown_profile_is_a_one_line_error_with_exit_2(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("validate", str(folder), "--profile", "seedance-9")
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("realavatar-nb: Unknown profile 'seedance-9'") and "Traceback" not in err


def test_a_missing_folder_is_a_one_line_error_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("validate", str(tmp_path / "nowhere"))
    assert code == 2 and "nowhere" in capsys.readouterr().err


def test_the_installed_command_runs_as_a_module(folder: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "realavatar_nb", "validate", str(folder / "front.jpg"), "--quiet"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "1 ok" in done.stdout


# -- names that would act on the terminal ---------------------------------------------------

RLO = "\u202egpj.exe"  # a terminal shows "exe.jpg"
FORGER = "x\r3 files: 3 ok, 0 with problems (0 fixable)\x1b[K.png"  # CR + erase-line: a fake summary over its line
WIPER = "\x1b[2J\x1b[Hwipe.png"  # clears the screen


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    media = tmp_path / "hostile"
    make_image(media / RLO, width=200, height=250, format="jpeg")  # too small: each gets a line of its own
    make_image(media / FORGER, width=200, height=250)
    make_image(media / WIPER, width=200, height=250)
    assert len(list(media.iterdir())) == 3  # real names on disk
    return media


def _no_raw_controls(text: str) -> None:
    assert "\x1b" not in text and "\u202e" not in text and "\r" not in text


def test_names_with_escapes_and_rlo_print_escaped_and_cannot_forge_the_summary(hostile: Path) -> None:
    code, out = run("validate", str(hostile), "--quiet")
    _no_raw_controls(out)
    lines = out.split("\n")[:-1]
    assert code == 1 and len(lines) == 4  # three problem lines and the one real summary, no forged line
    assert lines[-1] == "3 files: 0 ok, 3 with problems (3 fixable)"
    shown = {line.split(": ")[0] for line in lines[:-1]}
    assert shown == {"\\u202egpj.exe", "x\\r3 files", "\\x1b[2J\\x1b[Hwipe.png"}


def test_the_fix_lines_show_names_escaped_too(hostile: Path, tmp_path: Path) -> None:
    code, out = run("fix", str(hostile), str(tmp_path / "out\x1b[2J"), "--quiet")
    _no_raw_controls(out)
    assert "fixed \\x1b[2J\\x1b[Hwipe.png: " in out and out.rstrip().endswith(
        "conforming copies in " + printable(tmp_path / "out\x1b[2J")
    )
    assert code == 0


def test_an_error_quoting_a_path_prints_it_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("validate", str(tmp_path / "gone\x1b[2J\u202e"))
    err = capsys.readouterr().err
    _no_raw_controls(err)
    assert code == 2 and "gone\\x1b[2J\\u202e" in err


def test_the_installed_command_prints_hostile_names_escaped(hostile: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "realavatar_nb", "validate", str(hostile), "--quiet"],
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    _no_raw_controls(done.stdout + done.stderr)
    assert done.returncode == 1 and done.stdout.splitlines()[-1] == "3 files: 0 ok, 3 with problems (3 fixable)"
    assert "\\u202egpj.exe: " in done.stdout
