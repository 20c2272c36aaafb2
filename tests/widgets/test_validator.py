"""AssetValidator built without a frontend (ipywidgets falls back to a DummyComm), driven by asyncio.run."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import pytest

from realavatar_nb._exceptions import FixError, InvalidArgumentError, MediaError
from realavatar_nb.samples import DEMO_EXPECTED, make_demo_folder, make_image
from realavatar_nb.widgets import validator as validator_module
from realavatar_nb.widgets.validator import AssetValidator

T = TypeVar("T")

EXPECTED_OK = sorted(name for name, codes in DEMO_EXPECTED.items() if not codes)
EXPECTED_PROBLEMS = sorted(name for name, codes in DEMO_EXPECTED.items() if codes)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built once: validation only reads it, and each fix test writes to its own out_dir.
    return make_demo_folder(tmp_path_factory.mktemp("widgets") / "demo")


def run(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a test body on a fresh loop, failing instead of hanging if the widget never settles."""

    async def bounded() -> T:
        return await asyncio.wait_for(factory(), timeout=60)

    return asyncio.run(bounded())


def table_rows(value: str) -> list[str]:
    """Return the body rows of the first table in ``value`` that follows the view caption."""
    table = value[value.index("</p>") :]
    body = table[table.index("<tbody>") : table.index("</tbody>")]
    return re.findall(r"<tr.*?</tr>", body)


def test_counts_by_verdict_match_the_known_demo_verdicts(demo: Path) -> None:
    async def body() -> AssetValidator:
        validator = AssetValidator(demo, workers=2)
        assert validator.state == "validating"
        report = await validator.done()
        assert report is validator.report
        return validator

    validator = run(body)
    report = validator.report
    assert report is not None
    assert validator.state == "done"
    assert sorted(report["name"]) == sorted(DEMO_EXPECTED)
    for name, problems in zip(report["name"], report["problems"], strict=True):
        assert set(filter(None, problems.split(";"))) == set(DEMO_EXPECTED[name]), name
    assert (validator.total, validator.ok_count, validator.problem_count) == (
        len(DEMO_EXPECTED),
        len(EXPECTED_OK),
        len(EXPECTED_PROBLEMS),
    )
    counts = validator.counts()
    assert int(counts["ok"].sum()) == len(EXPECTED_OK)
    assert int(counts["problem"].sum()) == len(EXPECTED_PROBLEMS)
    assert counts.loc["unknown", "ok"] == 0  # the junk and the empty file are never ok
    assert counts.loc["unknown", "problem"] == 2
    fixable = int((~report["ok"] & report["fixable"]).sum())
    assert validator.fixable_count == int(counts["fixable"].sum()) == fixable > 0

    text = validator.fallback_text()
    assert text.splitlines()[0] == (
        f"AssetValidator: {len(DEMO_EXPECTED)} files in {demo}/ — {len(EXPECTED_OK)} ok, "
        f"{len(EXPECTED_PROBLEMS)} with problems ({fixable} fixable)"
    )
    assert "  FormatUnsupported: 2" in text.splitlines()
    bundle = validator._repr_mimebundle_()
    assert bundle["text/plain"] == text
    assert "FormatUndetectable" in bundle["text/html"]
    assert 'style="background:#ffebe9"' in validator.table_view.value  # problem rows are tinted


def test_view_filters_the_rows_the_table_shows(demo: Path) -> None:
    async def body() -> AssetValidator:
        validator = AssetValidator(demo, workers=2)
        await validator.done()
        return validator

    validator = run(body)
    report = validator.report
    assert report is not None
    fixable = int((~report["ok"] & report["fixable"]).sum())
    expected = {"all": len(DEMO_EXPECTED), "problems": len(EXPECTED_PROBLEMS), "fixable": fixable}
    for view, rows in expected.items():
        validator.view = view
        assert validator.view_buttons.value == view
        shown = validator.visible()
        assert shown is not None and len(shown) == rows, view
        assert len(table_rows(validator.table_view.value)) == rows, view
        assert f"{view}: {rows} of {len(DEMO_EXPECTED)} files" in validator.table_view.value

    validator.view_buttons.value = "problems"  # the toggle drives the trait too
    assert validator.view == "problems"
    html = validator.table_view.value
    assert "alice/portrait.jpg" not in html and "alice/short.mp4" in html
    validator.view = "fixable"
    assert "alice/short.mp4" not in validator.table_view.value  # DurationTooShort cannot be fixed
    assert "bob/tiny.jpg" in validator.table_view.value


def test_fix_writes_conforming_copies_and_shows_the_new_report(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"

    async def body() -> AssetValidator:
        validator = AssetValidator(demo, out_dir=out, workers=2)
        fixed = await validator.fix()
        assert fixed is validator.report
        return validator

    validator = run(body)
    report, validated = validator.report, validator.validated
    assert report is not None and validated is not None
    assert validator.state == "fixed"
    assert {"source", "action", "fixed"} <= set(report.columns)
    assert "action" not in validated.columns  # the original report is kept as it was
    assert int(report["ok"].sum()) > int(validated["ok"].sum())
    assert validator.ok_count == int(report["ok"].sum())
    assert validator.fixed_count == int(validated["fixable"].sum())
    for path in report.loc[report["fixed"], "path"]:
        assert Path(path).is_file() and Path(path).is_relative_to(out)
    assert (out / "bob" / "tiny.jpg").is_file()
    assert "scaled 200×250" in validator.table_view.value  # the table shows the new report's actions
    assert validator.fix_button.disabled
    assert validator.fallback_text().splitlines()[0].startswith(f"AssetValidator: fixed {demo}/ into {out}/ — ")


def test_fix_button_click_fixes_once_into_the_sibling_folder(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = validator_module.fix_report

    def counting(*args: Any, **kwargs: Any) -> pd.DataFrame:
        calls.append(str(args[1]))
        return real(*args, **kwargs)

    monkeypatch.setattr(validator_module, "fix_report", counting)

    async def body() -> AssetValidator:
        validator = AssetValidator(demo, workers=2)
        assert validator.fix_button.disabled  # nothing to fix before the report exists
        await validator.done()
        assert not validator.fix_button.disabled
        validator.fix_button.click()
        assert validator.fix_button.disabled  # at once, before the task has run
        validator.fix_button.click()
        await validator.done()  # waits for the fix the click started
        return validator

    validator = run(body)
    assert len(calls) == 1
    sibling = demo.parent / "demo_fixed"
    assert validator.out_dir == str(sibling)
    assert validator.state == "fixed"
    assert (sibling / "bob" / "tiny.jpg").is_file()
    assert validator.report is not None and "fixed" in validator.report.columns


def test_fix_button_stays_disabled_when_nothing_is_fixable(tmp_path: Path) -> None:
    make_image(tmp_path / "good" / "portrait.jpg")

    async def body() -> AssetValidator:
        validator = AssetValidator(tmp_path / "good")
        await validator.done()
        return validator

    validator = run(body)
    assert (validator.total, validator.ok_count, validator.fixable_count) == (1, 1, 0)
    assert validator.fix_button.disabled


def test_progress_bar_reaches_its_max_updated_on_the_loop_thread(demo: Path) -> None:
    seen: list[tuple[int, str]] = []

    async def body() -> AssetValidator:
        validator = AssetValidator(demo, workers=3)
        validator.progress_bar.observe(
            lambda change: seen.append((change["new"], threading.current_thread().name)), names="value"
        )
        await validator.done()
        return validator

    validator = run(body)
    bar = validator.progress_bar
    assert bar.max == len(DEMO_EXPECTED)
    assert bar.value == bar.max
    assert validator.progress_label.value == f"{len(DEMO_EXPECTED)}/{len(DEMO_EXPECTED)} files"
    assert len({value for value, _ in seen}) > 1  # moved step by step, not only set at the end
    assert {thread for _, thread in seen} == {threading.main_thread().name}  # never from a worker


def test_missing_folder_shows_the_error_and_done_raises_a_media_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"

    async def body() -> tuple[AssetValidator, MediaError]:
        validator = AssetValidator(missing)
        with pytest.raises(MediaError) as caught:
            await validator.done()
        return validator, caught.value

    validator, error = run(body)
    assert "Check the path" in str(error)
    assert validator.state == "error"
    assert validator.message == str(error)
    assert "Check the path" in validator.heading.value
    assert validator.fallback_text().startswith(f"AssetValidator: {missing}/ — error: ")
    assert validator.report is None
    assert validator.fix_button.disabled


def test_unexpected_failure_becomes_a_typed_error(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> pd.DataFrame:
        raise OSError("disk on fire")

    monkeypatch.setattr(validator_module, "validate_folder", broken)

    async def body() -> AssetValidator:
        validator = AssetValidator(demo)
        with pytest.raises(MediaError, match=re.escape("OSError: disk on fire. Check the folder")):
            await validator.done()
        return validator

    assert run(body).state == "error"


def test_done_twice_validates_once_and_starts_work_when_built_outside_a_loop(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = validator_module.validate_folder

    def counting(*args: Any, **kwargs: Any) -> pd.DataFrame:
        calls.append(str(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(validator_module, "validate_folder", counting)
    validator = AssetValidator(demo, workers=2)  # no running loop: nothing starts yet
    assert calls == [] and validator.state == "validating"

    async def body() -> list[pd.DataFrame]:
        together = await asyncio.gather(validator.done(), validator.done())
        return [*together, await validator.done()]

    first, second, third = run(body)
    assert calls == [str(demo)]
    assert first is second is third is validator.report
    assert validator.state == "done"


def test_failed_fix_shows_the_error_and_can_be_tried_again(demo: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "out"
    blocked.write_text("a file where the copies should go")

    async def body() -> tuple[AssetValidator, FixError]:
        validator = AssetValidator(demo, out_dir=blocked, workers=2)
        with pytest.raises(FixError) as caught:
            await validator.fix()
        assert validator.state == "error"
        assert not validator.fix_button.disabled  # the person may fix the cause and press Fix again
        blocked.unlink()
        await validator.fix()
        return validator, caught.value

    validator, error = run(body)
    assert "pass a folder" in str(error)
    assert validator.state == "fixed" and validator.message == ""
    assert (blocked / "bob" / "tiny.jpg").is_file()


def test_with_faces_each_file_shows_a_thumbnail_with_its_face_box_and_the_stray_photo_fails(tmp_path: Path) -> None:
    import base64
    import io

    from PIL import Image

    import realavatar_nb as ra
    from realavatar_nb.samples import make_real_people

    root = make_real_people(tmp_path / "people")
    ledger = ra.Ledger(tmp_path / "l.sqlite3")
    widget = AssetValidator(root, people=True, references=ledger)
    report = run(widget.done)
    stray = report.set_index("name").loc["hopper/stray.jpg"]
    assert "FaceMismatch" in stray["problems"] and not stray["ok"]
    table = widget.table_view.value
    thumbs = re.findall(r'<img src="data:image/png;base64,([^"]+)"', table)
    assert len(thumbs) == len(report)  # one picture per photo
    picture = Image.open(io.BytesIO(base64.b64decode(thumbs[0])))
    assert max(picture.size) == 96
    rgb = picture.convert("RGB")
    green = sum(1 for x in range(rgb.width) for y in range(rgb.height) if rgb.getpixel((x, y)) == (26, 127, 55))
    assert green > 40  # the face box is drawn
    assert "face_distance" in table and "FaceMismatch" in widget.fallback_text()
    ledger.close()


def test_names_with_rlo_and_escapes_show_escaped_in_the_table_and_every_fallback(tmp_path: Path) -> None:
    folder = tmp_path / "hostile\x1b[2J"
    make_image(folder / "\u202egpj.exe", width=800, height=1000, format="jpeg")
    make_image(folder / "cr\rforged\x1b[K.jpg", width=120, height=120)  # a problem row: it also shows in "problems"

    async def body() -> AssetValidator:
        validator = AssetValidator(folder, workers=1)
        await validator.done()
        validator.view = "all"
        return validator

    validator = run(body)
    shown = "\n".join(
        [validator.table_view.value, validator.heading.value, validator.fallback_text(), validator.fallback_html()]
        + [str(value) for value in validator._repr_mimebundle_().values()]
    )
    assert not any(ch in shown for ch in ("\u202e", "\x1b", "\r"))
    assert "\\u202egpj.exe" in validator.table_view.value and "cr\\rforged\\x1b[K.jpg" in validator.table_view.value
    assert "hostile\\x1b[2J/" in validator.fallback_text()


@pytest.mark.parametrize("folder", [None, 7])
def test_a_folder_that_is_not_a_path_is_refused_by_name(folder: object) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^AssetValidator\(folder=.*\): pass a folder path"):
        AssetValidator(folder)  # type: ignore[arg-type]
