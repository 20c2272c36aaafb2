"""validate_folder: one row per file, fixed columns, any executor, progress everywhere."""

from __future__ import annotations

import io
import multiprocessing
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import realavatar_nb as ra
from realavatar_nb.media.progress import TextProgress
from realavatar_nb.media.validate import CHECK_COLUMNS, REPORT_COLUMNS
from realavatar_nb.samples import make_video

from .conftest import GOOD


def _essentials(report: pd.DataFrame) -> list[tuple[Any, ...]]:
    cols = ["name", "kind", "format", "width", "height", "ok", "problems", "sha256"]
    return [tuple(r) for r in report[cols].astype(object).itertuples(index=False)]


def test_report_has_the_documented_columns_and_dtypes(good_media: Path) -> None:
    report = ra.validate_folder(good_media, progress=False)
    assert list(report.columns) == list(REPORT_COLUMNS)
    assert {c: str(t) for c, t in report.dtypes.items()} == {
        c: ("object" if t == "object" else str(pd.Series(dtype=t).dtype)) for c, t in REPORT_COLUMNS.items()
    }
    assert list(report["name"]) == sorted(GOOD)
    assert report["ok"].all(), report.loc[~report["ok"], "message"].tolist()


def test_an_empty_folder_gives_an_empty_report_with_the_same_columns(tmp_path: Path) -> None:
    report = ra.validate_folder(tmp_path, progress=False)
    assert report.empty and list(report.columns) == list(REPORT_COLUMNS)


def test_recursive_false_skips_subfolders(good_media: Path, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "top.jpg").write_bytes((good_media / "portrait.jpg").read_bytes())
    (tmp_path / "sub" / "deep.jpg").write_bytes((good_media / "portrait.jpg").read_bytes())
    assert list(ra.validate_folder(tmp_path, progress=False)["name"]) == ["sub/deep.jpg", "top.jpg"]
    assert list(ra.validate_folder(tmp_path, recursive=False, progress=False)["name"]) == ["top.jpg"]


def test_long_form_has_one_row_per_file_and_check(good_media: Path, tmp_path: Path) -> None:
    short = tmp_path / "short.mp4"
    make_video(short, width=576, height=720, duration=1.0, fps=15)
    report = ra.validate_folder([good_media / "clip.mp4", short], progress=False)
    long = ra.checks_frame(report)
    assert list(long.columns) == list(CHECK_COLUMNS)
    failing = long[~long["ok"]]
    assert set(failing["code"]) == {"DurationTooShort", "FpsTooLow"}
    assert set(failing["check"]) == {"duration_s", "fps"}
    assert failing.set_index("check").loc["fps", "required"] == "≥ 24 fps, ≤ 60 fps"
    assert long.groupby("name").size().nunique() == 1  # every video gets the same checks


def test_long_form_under_another_profile_rejudges_without_probing(tmp_path: Path) -> None:
    clip = tmp_path / "long.mp4"
    make_video(clip, width=320, height=400, duration=16.0, fps=24, audio=False)
    report = ra.validate_folder([clip], progress=False)
    assert report.loc[0, "problems"] == "PixelCountTooSmall;DurationTooLong"
    clip.unlink()  # nothing may be probed again
    newer = ra.checks_frame(report, "byteplus-2026-09")
    assert set(newer.loc[~newer["ok"], "code"]) == {"PixelCountTooSmall"}


@pytest.mark.parametrize(
    "make",
    [lambda: ThreadPoolExecutor(3), lambda: ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))],
)
def test_any_executor_gives_the_same_report_as_inline(good_media: Path, make: Any) -> None:
    inline = ra.validate_folder(good_media, workers=1, progress=False)
    with make() as pool:
        pooled = ra.validate_folder(good_media, executor=pool, progress=False)
    assert _essentials(pooled) == _essentials(inline)


@pytest.mark.slow
def test_a_dask_cluster_executor_gives_the_same_report(good_media: Path) -> None:
    import distributed

    inline = ra.validate_folder(good_media, workers=1, progress=False)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        report = ra.validate_folder(good_media, executor=client.get_executor(), progress=False)
    assert _essentials(report) == _essentials(inline)


class _LosingExecutor(Executor):
    """An executor whose worker dies on every other task, like a killed process-pool worker."""

    def __init__(self) -> None:
        self.n = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self.n += 1
        if self.n % 2:
            future.set_exception(RuntimeError("worker died"))
        else:
            future.set_result(fn(*args, **kwargs))
        return future


def test_tasks_an_executor_loses_become_rows_that_say_so(good_media: Path) -> None:
    report = ra.validate_folder(good_media, executor=_LosingExecutor(), progress=False)
    assert len(report) == len(GOOD)
    lost = report[report["problems"] == "ProbeCrashed"]
    assert len(lost) == (len(GOOD) + 1) // 2
    assert lost["message"].str.contains("worker probing this file died").all()


def test_progress_outside_a_notebook_is_a_text_line(good_media: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ra.validate_folder(good_media, progress="auto")
    err = capsys.readouterr().err
    assert f"{len(GOOD)}/{len(GOOD)} files" in err and "validating [" in err


def test_progress_callable_sees_every_file(good_media: Path) -> None:
    seen: list[tuple[int, int]] = []
    ra.validate_folder(good_media, progress=lambda done, total: seen.append((done, total)))
    assert [d for d, _ in seen] == list(range(1, len(GOOD) + 1))
    assert {t for _, t in seen} == {len(GOOD)}


def test_text_progress_redraws_in_place_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    bar = TextProgress(4, "validating", stream)
    for n in range(1, 5):
        bar.update(n)
    bar.close()
    text = stream.getvalue()
    assert text.startswith("\r") and text.endswith("4/4 files\n") and text.count("\n") == 1


def test_validate_accepts_a_single_file_and_a_profile(good_media: Path) -> None:
    result = ra.validate(good_media / "portrait.png", "byteplus-2026-09")
    assert result.ok and result.profile == "byteplus-2026-09"
    bundle = result._repr_mimebundle_()
    assert "ok" in bundle["text/plain"] and "<table>" in bundle["text/html"]


def test_a_list_of_paths_is_named_relative_to_their_common_folder(good_media: Path, tmp_path: Path) -> None:
    nested = tmp_path / "alice" / "more"
    nested.mkdir(parents=True)
    (nested / "copy.jpg").write_bytes((good_media / "portrait.jpg").read_bytes())
    (tmp_path / "alice" / "front.jpg").write_bytes((good_media / "portrait.jpg").read_bytes())
    report = ra.validate_folder([tmp_path / "alice" / "front.jpg", nested / "copy.jpg"], progress=False)
    assert list(report["name"]) == ["front.jpg", "more/copy.jpg"]


def test_progress_in_a_notebook_is_a_widget_bar(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from realavatar_nb import _progress as progress

    monkeypatch.setattr(progress, "_in_notebook", lambda: True)
    bar = progress.make_progress("auto", 3)
    bar.update(3)
    bar.close()
    assert type(bar).__name__ == "_WidgetProgress"
    assert (bar._bar.value, bar._bar.max, bar._text.value) == (3, 3, "3/3 files")  # type: ignore[attr-defined]
    assert bar._bar.bar_style == "success"  # type: ignore[attr-defined]
    assert "validating [" not in capsys.readouterr().err
