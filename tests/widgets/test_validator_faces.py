"""AssetValidator counts files whose faces could not be checked apart, and shows the face warnings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest

from realavatar_nb.media.faces import detect
from realavatar_nb.samples import make_image
from realavatar_nb.widgets.validator import AssetValidator


def _validated(widget: AssetValidator) -> pd.DataFrame:
    async def body() -> pd.DataFrame:
        return await asyncio.wait_for(widget.done(), timeout=120)

    return asyncio.run(body())


def test_files_whose_faces_could_not_be_checked_are_counted_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(detect, "available", lambda: False)  # no faces extra: no photo can be scanned
    for name in ("front.jpg", "side.jpg"):
        make_image(tmp_path / "carol" / name, width=600, height=800)
    widget = AssetValidator(tmp_path / "carol", person="carol", workers=1)
    report = _validated(widget)
    assert report["ok"].all() and widget.ok_count == 2  # a warning, not a refusal
    assert widget.face_skipped_count == 2
    first = widget.fallback_text().splitlines()[0]
    assert first.endswith("2 ok, 0 with problems (0 fixable); faces not checked in 2 (FaceCheckSkipped)")
    assert "2 files: faces not checked (FaceCheckSkipped)" in widget.counts_view.value
    assert ">warnings<" in widget.table_view.value and "FaceCheckSkipped" in widget.table_view.value


def test_without_face_checks_nothing_is_counted_as_skipped(tmp_path: Path) -> None:
    make_image(tmp_path / "plain.jpg", width=600, height=800)
    widget = AssetValidator(tmp_path, workers=1)
    _validated(widget)
    assert widget.face_skipped_count == 0
    assert "not checked" not in widget.fallback_text() and "FaceCheckSkipped" not in widget.counts_view.value
    assert ">warnings<" not in widget.table_view.value


def test_a_blurred_face_shows_its_warning_with_the_value_in_the_table(tmp_path: Path) -> None:
    from PIL import ImageFilter

    from tests.media.face_media import hopper

    folder = tmp_path / "hopper"
    folder.mkdir()
    hopper().save(folder / "portrait.jpg", quality=92)
    hopper().filter(ImageFilter.GaussianBlur(3)).save(folder / "soft.jpg", quality=92)
    widget = AssetValidator(folder, person="hopper", reference="portrait.jpg", workers=1)
    report = _validated(widget).set_index("name")
    assert "FaceBlurred" in str(report.loc["soft.jpg", "warnings"]) and report.loc["soft.jpg", "ok"]
    table = widget.table_view.value
    assert "FaceBlurred: face sharpness" in table and "needs ≥ 60" in table
    assert widget.face_skipped_count == 0
