"""A probe that hangs or crashes costs one row that says so; the caller goes on."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from realavatar_nb.media import probe as probe_module
from realavatar_nb.media import quarantine
from realavatar_nb.media.validate import validate, validate_folder
from realavatar_nb.samples import make_video


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_video(tmp_path / "clip.mp4", width=576, height=720, duration=2.5, fps=24)


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "page.mp4"
    path.write_text("<html>not a video</html>")
    return path


@pytest.fixture
def isolated() -> Iterator[list[quarantine.Quarantine]]:
    """Quarantines a test installs as this process's shared one; closed afterwards."""
    made: list[quarantine.Quarantine] = []
    yield made
    for q in made:
        q.close()


def _use(monkeypatch: pytest.MonkeyPatch, q: quarantine.Quarantine, made: list[quarantine.Quarantine]) -> None:
    made.append(q)
    monkeypatch.setattr(quarantine, "_default", q)


def test_an_in_process_probe_that_runs_past_its_timeout_is_retried_in_isolation(
    clip: Path, monkeypatch: pytest.MonkeyPatch, isolated: list[quarantine.Quarantine]
) -> None:
    real = probe_module.pyav_facts

    def interrupted(path: str, timeout: float | None = None, **kwargs: Any) -> dict[str, Any]:
        # A real FFmpeg interrupt: a deadline that has passed before the demuxer starts.
        return real(path, 1e-9, **kwargs)

    _use(monkeypatch, quarantine.Quarantine(), isolated)
    monkeypatch.setattr(probe_module, "pyav_facts", interrupted)
    result = validate(clip, timeout=5)
    assert result.ok, result.message
    assert result.info.duration_s == pytest.approx(2.5, abs=0.1)
    assert "ran past 5 s" in (result.info.note or "")


def test_an_isolated_probe_that_hangs_is_killed_and_reported(
    page: Path, monkeypatch: pytest.MonkeyPatch, isolated: list[quarantine.Quarantine]
) -> None:
    hanging = [sys.executable, "-c", "import sys, time; sys.stdin.readline(); time.sleep(600)"]
    q = quarantine.Quarantine(hanging, startup_allowance=0)
    _use(monkeypatch, q, isolated)
    result = validate(page, timeout=0.5)
    assert result.problems == ("ProbeTimeout",)
    assert "0.5 s" in result.message


def test_an_isolated_probe_that_crashes_is_reported_and_the_next_file_still_probes(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: list[quarantine.Quarantine]
) -> None:
    crashing = [sys.executable, "-c", "import os, sys; sys.stdin.readline(); os.abort()"]
    _use(monkeypatch, quarantine.Quarantine(crashing), isolated)
    result = validate(page, timeout=5)
    assert result.problems == ("ProbeCrashed",)
    assert "exit code -6" in result.message

    _use(monkeypatch, quarantine.Quarantine(), isolated)
    assert validate(page, timeout=5).problems == ("FormatUndetectable",)


def test_a_crash_in_one_file_does_not_cost_the_rest_of_the_batch(
    clip: Path, page: Path, monkeypatch: pytest.MonkeyPatch, isolated: list[quarantine.Quarantine]
) -> None:
    crashing = [sys.executable, "-c", "import os, sys; sys.stdin.readline(); os.abort()"]
    _use(monkeypatch, quarantine.Quarantine(crashing), isolated)
    report = validate_folder([clip, page], workers=2, progress=False).set_index("name")
    assert report.loc["page.mp4", "problems"] == "ProbeCrashed"
    assert bool(report.loc["clip.mp4", "ok"])


def test_isolate_always_probes_trusted_files_in_the_worker_process(
    clip: Path, monkeypatch: pytest.MonkeyPatch, isolated: list[quarantine.Quarantine]
) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("probed in-process")

    _use(monkeypatch, quarantine.Quarantine(), isolated)
    monkeypatch.setattr(probe_module, "pyav_facts", forbidden)
    result = validate(clip, isolate="always")
    assert result.ok and "isolated process" in (result.info.note or "")
