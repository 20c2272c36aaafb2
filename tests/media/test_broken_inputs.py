"""Every file gets a row, whatever it is: broken input is a problem code, never a traceback or a hang."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import ImageFile

from realavatar_nb.media.report import write_report
from realavatar_nb.media.validate import Validation, validate, validate_folder

from .broken import CATALOGUE, Broken


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("broken") / "inputs"
    folder.mkdir()
    return folder, {case.name: case.build(folder) for case in CATALOGUE}


def test_the_catalogue_holds_at_least_25_kinds_of_broken_input() -> None:
    assert len([c for c in CATALOGUE if c.codes]) >= 25


def _validate_within(path: Path, seconds: float = 60.0) -> Validation:
    box: dict[str, Validation] = {}
    worker = threading.Thread(target=lambda: box.update(v=validate(path)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"validate({path.name}) hung"
    return box["v"]


@pytest.mark.parametrize("case", CATALOGUE, ids=[c.name for c in CATALOGUE])
def test_broken_input_is_reported_with_its_code(built: tuple[Path, dict[str, Path]], case: Broken) -> None:
    result = _validate_within(built[1][case.name])
    assert result.problems == case.codes, result.message
    assert result.ok is (not case.codes)
    if case.codes:
        assert result.message and "Traceback" not in result.message


def test_folder_of_broken_inputs_gets_one_row_per_entry(built: tuple[Path, dict[str, Path]]) -> None:
    folder, _ = built
    report = validate_folder(folder, progress=False)
    expected = {c.name for c in CATALOGUE} | {"folder.mov/inside.txt"}
    assert set(report["name"]) == expected
    by_name = report.set_index("name")
    for case in CATALOGUE:
        assert tuple(filter(None, by_name.loc[case.name, "problems"].split(";"))) == case.codes, case.name
    assert by_name.loc["folder.mov/inside.txt", "problems"] == "FormatUndetectable"


def test_a_decompression_bomb_is_measured_but_never_decoded(
    built: tuple[Path, dict[str, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: object) -> None:
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    result = validate(built[1]["bomb.png"])
    assert (result.info.width, result.info.height) == (100_000, 100_000)
    assert result.problems == ("WidthTooLarge", "HeightTooLarge")


def test_non_utf8_names_survive_into_every_export(built: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    paths = built[1]
    report = validate_folder([paths["caf\\xe9.jpg"]], progress=False)
    assert os.path.exists(report.loc[0, "path"])  # the real path still opens the file
    for suffix in ("csv", "parquet", "html"):
        out = write_report(report, tmp_path / f"r.{suffix}")
        assert out.stat().st_size > 0
    assert "caf\\xe9.jpg" in (tmp_path / "r.csv").read_text()


@pytest.mark.skipif(os.geteuid() == 0 and shutil.which("setpriv") is None, reason="root without setpriv")
def test_an_unreadable_file_is_reported_as_permission_denied(tmp_path: Path) -> None:
    secret = tmp_path / "locked.jpg"
    secret.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    secret.chmod(0)
    code = (
        "import sys; from realavatar_nb.media.validate import validate; "
        "v = validate(sys.argv[1]); print(v.problems[0], '|', v.info.note)"
    )
    command = [sys.executable, "-c", code, str(secret)]
    if os.geteuid() == 0:  # root reads anything; drop the capabilities that let it
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "FileUnreadable | permission denied"


def test_a_missing_folder_raises_a_media_error_that_names_it(tmp_path: Path) -> None:
    from realavatar_nb import MediaError

    with pytest.raises(MediaError, match="no-such-folder"):
        validate_folder(tmp_path / "no-such-folder", progress=False)


def test_markup_in_a_file_name_is_escaped_in_the_html_report(tmp_path: Path) -> None:
    from realavatar_nb.samples import make_image

    hostile = make_image(tmp_path / "<img src=x onerror=alert(1)>.jpg", width=600, height=800)
    report = validate_folder([hostile], progress=False)
    page = write_report(report, tmp_path / "r.html").read_text()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
