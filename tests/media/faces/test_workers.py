"""Where face scans run, and what a row says when they cannot: the caller's executor, a fallback, FaceCheckSkipped."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from concurrent.futures import CancelledError, Executor, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from realavatar_nb._exceptions import MediaError
from realavatar_nb.media.faces import checks, detect, workers
from realavatar_nb.media.faces.checks import SKIPPED, faces_skipped
from realavatar_nb.media.faces.workers import FaceWorkersWarning
from realavatar_nb.media.report import summary_line, write_report
from realavatar_nb.media.validate import validate_folder

from ..face_media import collins, fit, hopper, side_by_side, write_clip

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Hopper's folder: her portrait, a crop of it, and a stray photo of Collins."""
    out = tmp_path_factory.mktemp("workers") / "hopper"
    out.mkdir()
    picture = hopper()
    picture.save(out / "portrait.jpg", quality=92)
    picture.crop((40, 20, 480, 460)).save(out / "crop.jpg", quality=92)
    collins().save(out / "stray.jpg", quality=92)
    return out


@pytest.fixture(scope="module")
def expected(folder: Path) -> dict[str, detect.FaceScan]:
    return {p.name: detect.scan(p) for p in sorted(folder.iterdir())}


@pytest.fixture
def fresh_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget, for this test, whether worker processes could start here."""
    monkeypatch.setattr(workers, "_cannot_start", [])


# --- a script whose workers cannot start -------------------------------------------------------------

SCRIPT = """
import json, os, sys
{before}
from realavatar_nb.media.validate import validate_folder
report = validate_folder(sys.argv[1], person="hopper", reference="portrait.jpg", workers=2, progress=False)
rows = report[["name", "face_check", "faces", "problems", "warnings"]].astype(str).to_dict("records")
print(json.dumps({{"rows": rows, "workers": report.attrs["faces"]["workers"]}}))
"""
HOW = {  # how the script runs: (a line before the call, how it is given to Python, whether workers can start)
    # No `if __name__ == "__main__":` guard: each spawned worker runs the script again as it starts.
    "unguarded file": ("", "file", False),
    # The script is gone before the workers start: they cannot import the __main__ they are told to rebuild.
    "file deleted": ("os.remove(os.path.abspath(__file__))", "file", False),
    # From stdin, __main__'s file is "<stdin>": spawned workers look for a file of that name and die.
    "stdin": ("", "stdin", False),
    # With -c, __main__ has no file: spawned workers rebuild nothing and start.
    "-c": ("", "-c", True),
}


@pytest.mark.parametrize("how", list(HOW))
def test_a_script_whose_workers_cannot_start_still_judges_every_face(folder: Path, tmp_path: Path, how: str) -> None:
    before, source, workers_start = HOW[how]
    script = textwrap.dedent(SCRIPT.format(before=before))
    path = tmp_path / "check.py"
    path.write_text(script)
    command = {
        "file": [sys.executable, str(path)],
        "stdin": [sys.executable, "-"],
        "-c": [sys.executable, "-c", script],
    }
    command[source].append(str(folder))
    done = subprocess.run(command[source], input=script if source == "stdin" else None, capture_output=True, text=True,
                          cwd=ROOT, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    rows = {row["name"]: row for row in result["rows"]}
    assert {n: (r["face_check"], r["faces"]) for n, r in rows.items()} == {
        n: ("faces", "1") for n in ("crop.jpg", "portrait.jpg", "stray.jpg")
    }
    assert rows["stray.jpg"]["problems"] == "FaceMismatch" and rows["portrait.jpg"]["problems"] == ""
    assert not any(SKIPPED in r["warnings"] for r in rows.values())
    if workers_start:
        assert result["workers"] is None and "FaceWorkersWarning" not in done.stderr
    else:  # the fallback said why
        assert "exited as they started" in result["workers"] and "FaceWorkersWarning" in done.stderr
    if how == "unguarded file":  # and the worker told the script's author what to change
        assert 'Put that call under `if __name__ == "__main__":`' in done.stderr


# --- our pool: cannot start, dies -----------------------------------------------------------------------


class _Pool:
    """A stand-in for the process pool: answers each submit with ``outcome``."""

    def __init__(self, outcome: Callable[[], Any]) -> None:
        self.outcome, self.submitted, self.shut = outcome, 0, False

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        self.submitted += 1
        future: Future[Any] = Future()
        try:
            future.set_result(self.outcome())
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.shut = True


def _broken() -> Any:
    raise BrokenProcessPool("a worker died")


def test_workers_that_cannot_start_are_given_up_and_faces_are_scanned_here(
    folder: Path, expected: dict[str, detect.FaceScan], monkeypatch: pytest.MonkeyPatch, fresh_workers: None
) -> None:
    pool = _Pool(_broken)
    monkeypatch.setattr(workers, "_pool", lambda workers, broken=None: (pool, True))
    paths = sorted(folder.iterdir())
    with pytest.warns(FaceWorkersWarning, match="exited as they started"):
        results = detect.scan_many(paths, workers=2)
    assert results == [expected[p.name] for p in paths] and pool.shut
    assert "exited as they started" in (workers.workers_unavailable() or "")
    monkeypatch.setattr(workers, "_pool", lambda *a, **k: pytest.fail("a pool that cannot start was tried again"))
    assert detect.scan_many(paths[:2], workers=2) == [expected[p.name] for p in paths[:2]]


def test_a_file_that_kills_workers_twice_is_never_scanned_in_the_calling_process(
    folder: Path, monkeypatch: pytest.MonkeyPatch, fresh_workers: None
) -> None:
    pools: list[_Pool] = []

    def pool(workers: int, broken: Any = None) -> tuple[_Pool, bool]:
        pools.append(_Pool(_broken))  # workers that start, then die on every file
        return pools[-1], True

    monkeypatch.setattr(workers, "_pool", pool)
    monkeypatch.setattr(workers, "_started", lambda p: None)
    monkeypatch.setattr(workers, "_scan_or_error", lambda path: pytest.fail(f"{path} scanned in this process"))
    results = detect.scan_many([folder / "portrait.jpg", folder / "crop.jpg"], workers=2)
    assert all(isinstance(r, MediaError) and "died twice on this file" in str(r) for r in results)
    assert "portrait.jpg" in str(results[0]) and "crop.jpg" in str(results[1])
    assert [p.submitted for p in pools] == [2, 2]  # tried once more, in fresh workers, then given up
    assert workers.workers_unavailable() is None  # they did start: later calls use workers again


# --- the caller's executor ----------------------------------------------------------------------------


class Recording(ThreadPoolExecutor):
    """A thread pool that remembers which functions it ran, and on which file."""

    def __init__(self, max_workers: int = 2) -> None:
        super().__init__(max_workers=max_workers)
        self.ran: list[str] = []
        self.files: list[str] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.ran.append(f"{fn.__module__}.{fn.__name__}")
        self.files.append(Path(args[0]).name)
        return super().submit(fn, *args, **kwargs)


class Memoizing(Executor):
    """Answers equal arguments from its store, as a Dask client does by default (``pure=True``)."""

    def __init__(self) -> None:
        self.store: dict[tuple[Any, ...], Any] = {}

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        key = (fn, *args)
        if key not in self.store:
            self.store[key] = fn(*args, **kwargs)
        future.set_result(self.store[key])
        return future


def test_validate_folder_scans_faces_on_the_executor_it_is_given(folder: Path) -> None:
    with Recording() as executor:
        report = validate_folder(folder, person="hopper", reference="portrait.jpg", executor=executor, progress=False)
    assert executor.ran.count("realavatar_nb.media.faces.workers.scan_as_of") == 3  # every photo, none locally
    by_name = report.set_index("name")
    assert (by_name["face_check"] == "faces").all() and by_name.loc["stray.jpg", "problems"] == "FaceMismatch"


def test_the_longest_scans_are_handed_out_first_and_results_keep_the_callers_order(tmp_path: Path) -> None:
    fit(hopper(), 320, 400).save(tmp_path / "a-small.jpg", quality=80)
    write_clip(tmp_path / "b-clip.mp4", hopper(), 320, 400, seconds=2.0)
    fit(hopper(), 900, 1100).save(tmp_path / "c-large.jpg", quality=95)
    paths = sorted(tmp_path.iterdir())
    with Recording(max_workers=1) as executor:
        results = detect.scan_many(paths, executor=executor)
    assert executor.files == ["b-clip.mp4", "c-large.jpg", "a-small.jpg"]  # a video's frames, then the most bytes
    assert [r.kind for r in results] == ["image", "video", "image"]  # type: ignore[union-attr]
    assert results == [detect.scan(p) for p in paths]


def test_an_executor_that_reuses_results_scans_a_changed_file_again(tmp_path: Path) -> None:
    photo = tmp_path / "portrait.jpg"
    hopper().save(photo, quality=92)
    executor = Memoizing()
    assert detect.scan_many([photo], executor=executor)[0].faces == 1  # type: ignore[union-attr]
    assert detect.scan_many([photo], executor=executor)[0].faces == 1  # type: ignore[union-attr]
    assert len(executor.store) == 1  # unchanged: the same task, answered from the store
    side_by_side(hopper(), collins()).save(photo, quality=92)
    assert detect.scan_many([photo], executor=executor)[0].faces == 2  # type: ignore[union-attr]


class Losing(Executor):
    """An executor that loses every task, as a cluster whose workers die does."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_exception(CancelledError())
        return future


def test_files_an_executor_loses_or_refuses_are_scanned_in_the_calling_process(
    folder: Path, expected: dict[str, detect.FaceScan]
) -> None:
    paths = sorted(folder.iterdir())
    assert detect.scan_many(paths, executor=Losing(), workers=1) == [expected[p.name] for p in paths]
    closed = ThreadPoolExecutor(1)
    closed.shutdown()  # submit now raises RuntimeError
    assert detect.scan_many(paths, executor=closed, workers=1) == [expected[p.name] for p in paths]


def test_a_dask_executor_scans_faces_like_sequential_scans(folder: Path, expected: dict[str, detect.FaceScan]) -> None:
    from distributed import Client, LocalCluster

    paths = sorted(folder.iterdir())
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:  # fmt: skip
        assert detect.scan_many(paths, executor=client.get_executor()) == [expected[p.name] for p in paths]


# --- FaceCheckSkipped ---------------------------------------------------------------------------------


def test_without_the_extra_each_photo_warns_that_its_face_was_not_checked(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(detect, "available", lambda: False)
    monkeypatch.setattr(detect, "unavailable_reason", lambda: "not checked: install realavatar-nb[faces]")
    report = validate_folder(folder, person="hopper", progress=False)
    assert (report["warnings"].str.contains(SKIPPED)).all() and report["ok"].all()
    assert all(m.startswith(f"{SKIPPED}: faces not checked (install realavatar-nb[faces]), then validate again")
               for m in report["message"])  # fmt: skip
    assert faces_skipped(report) == 3 == report.attrs["faces"]["skipped"]
    assert summary_line(report).endswith(
        "; faces not checked in 3 (FaceCheckSkipped: the message says why and what to do)"
    )
    page = write_report(report, tmp_path / "report.html").read_text()
    assert "faces not checked in 3" in page and "<th" in page and ">warnings<" in page


def test_a_file_the_scan_could_not_read_warns_with_the_reason(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = detect.scan_many

    def scan_many(paths: list[str], **options: Any) -> list[Any]:
        results = real(paths, **options)
        return [MediaError("crop.jpg: a face-scanning process died twice on this file") if "crop" in str(p) else r
                for p, r in zip(paths, results, strict=True)]  # fmt: skip

    monkeypatch.setattr(detect, "scan_many", scan_many)
    report = validate_folder(folder, person="hopper", reference="portrait.jpg", progress=False).set_index("name")
    crop = report.loc["crop.jpg"]
    assert crop["warnings"] == SKIPPED and crop["face_check"].startswith("not checked: crop.jpg: a face-scanning")
    assert "died twice on this file" in crop["message"] and "validate again or check the face by eye" in crop["message"]
    assert report.loc["portrait.jpg", "face_check"] == "faces" and SKIPPED not in report.loc["portrait.jpg", "warnings"]
    assert faces_skipped(report) == 1


def test_a_fixed_copy_keeps_its_face_warnings_and_their_sentences() -> None:
    message = "FpsTooLow: 15 fps; FaceBlurred: face sharpness 12, needs ≥ 60; NoFace: no face found; the asset must"
    assert checks._face_sentences(message) == [
        "FaceBlurred: face sharpness 12, needs ≥ 60", "NoFace: no face found; the asset must",
    ]  # fmt: skip
