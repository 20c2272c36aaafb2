"""`make demo`'s job: the three notebooks executed on the emulator, their outputs checked, a rerun free."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import nbformat
import pandas as pd
import pytest

from realavatar_nb.cli import main
from realavatar_nb.demo import NOTEBOOKS, DemoResult, _parameters
from realavatar_nb.samples import DEMO_EXPECTED, REAL_PEOPLE_EXPECTED
from realavatar_nb.simulator import Sandbox

ROOT = Path(__file__).resolve().parents[1]
# The batch checks faces before upload: these never reach the provider.
# scan.bmp: a BMP carries no tag, and dlib finds no face in the demo's drawn portrait; with a face
# problem no copy helps, so its format is not fixed either.
CAUGHT = {"other_person.jpg": "FaceMismatch", "two_faces.jpg": "MultipleFaces", "scan.bmp": "FormatUnsupported, NoFace"}

pytestmark = pytest.mark.slow


@dataclass
class Demo:
    result: DemoResult
    sandbox: Sandbox
    tokens: list[str]
    printed: str


def _env(sb: Sandbox, out: Path) -> dict[str, str]:
    return {**os.environ, "REALAVATAR_SANDBOX_URL": sb.url, "REALAVATAR_HOME": str(out / "home")}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    # The command a user runs, in its own process, against an emulator served from this one (so the test
    # can list every token it handed out). In-process, papermill would leave jupyter_core's event loop
    # open on pytest's thread.
    out = tmp_path_factory.mktemp("demo")
    with Sandbox(processing_seconds=0.5, job_seconds=1.5) as sb:
        command = [
            sys.executable,
            "-m",
            "realavatar_nb",
            "demo",
            "--out",
            str(out),
            "--notebooks",
            str(ROOT / "notebooks"),
        ]
        done = subprocess.run(command, env=_env(sb, out), capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        result = DemoResult(
            out=out,
            notebooks=[out / f"{name}.ipynb" for name in NOTEBOOKS],
            html=[out / f"{name}.html" for name in NOTEBOOKS],
            reports=sorted((out / "batch" / "report").glob("final.*")),
            videos=sorted(out.glob("*/videos/*.mp4")),
        )
        yield Demo(result, sb, [session.token for session in sb.state.sessions.values()], done.stdout)


def _outputs(path: Path) -> list[dict[str, object]]:
    book = nbformat.read(path, as_version=4)
    return [o for cell in book.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def test_every_notebook_ran_every_cell_without_an_error(demo: Demo) -> None:
    assert [p.stem for p in demo.result.notebooks] == list(NOTEBOOKS)
    for path in demo.result.notebooks:
        book = nbformat.read(path, as_version=4)
        code = [c for c in book.cells if c.cell_type == "code"]
        assert all(c.get("execution_count") for c in code), path.name
        errors = [o for o in _outputs(path) if o.get("output_type") == "error"]
        assert errors == [], (path.name, errors)
        assert "Traceback" not in path.read_text()


def test_the_batch_report_matches_the_demo_medias_known_verdicts(demo: Demo) -> None:
    assert sorted(p.name for p in demo.result.reports) == ["final.csv", "final.html", "final.parquet"]
    final = pd.read_parquet(demo.result.out / "batch" / "report" / "final.parquet")
    by_source = {Path(str(s)).relative_to(demo.result.out / "batch" / "people").as_posix(): r for s, r in zip(
        final["source"], final.to_dict("records"), strict=True
    )}  # fmt: skip
    assert set(by_source) == set(DEMO_EXPECTED) | set(REAL_PEOPLE_EXPECTED)
    for name, codes in {**DEMO_EXPECTED, **REAL_PEOPLE_EXPECTED}.items():
        row = by_source[name]
        caught = CAUGHT.get(name.split("/")[-1])
        if caught:
            assert row["stage"] == f"not uploaded: {caught}", (name, row["stage"])
        elif codes and not row["ok"]:  # not fixable: never uploaded, with the local codes
            assert row["stage"] == "not uploaded: " + ", ".join(codes), (name, row["stage"])
        else:  # good, or fixed into shape
            assert row["stage"] == "active", (name, row["stage"])
    for person in ("alice", "bob"):  # 480×640 phone clips, under upstream's pixel minimum, went up as fixed copies
        clip = by_source[f"{person}/clip.mp4"]
        assert DEMO_EXPECTED[f"{person}/clip.mp4"] == ("PixelCountTooSmall",)
        assert (clip["fixed"], clip["action"], clip["stage"]) == (True, "scaled 480×640 → 554×738", "active")
        assert clip["pixels"] >= 407_696 and clip["path"] != clip["source"]
    stray = by_source["hopper/stray.jpg"]
    assert stray["face_distance"] >= 0.6 and stray["face_check"] == "faces"  # told apart by the face alone
    page = (demo.result.out / "batch" / "report" / "final.html").read_text()
    assert "<svg" in page and "FaceMismatch" in page and "alice" in page and "bob" in page


def test_the_generated_videos_decode(demo: Demo) -> None:
    assert len(demo.result.videos) == 1 + 12  # the tutorial's preview and the 2 × 2 × 3 grid
    for video in demo.result.videos:
        with av.open(str(video)) as container:
            frames = sum(1 for _ in container.decode(video=0))
        assert frames >= 24, video


def test_the_batch_report_shows_each_new_warning_with_its_value(demo: Demo) -> None:
    """Issue 15: upstream's limits, faces' quality hints and near-duplicates, each at least once, measured."""
    final = pd.read_parquet(demo.result.out / "batch" / "report" / "final.parquet")
    text = final.to_csv(index=False)
    shown = {code for codes in final["warnings"].dropna().astype(str) for code in codes.split(";") if code}
    expected = {"FaceTooSmall", "FaceBlurred", "FaceTooDark", "FaceOverexposed", "FaceTurned", "NearDuplicate"}
    assert expected <= shown, expected - shown
    assert re.search(r"sharpness \d+", text) and re.search(r"hash distance \d+", text)


def test_the_generation_study_reports_usage_and_cost_per_job(demo: Demo) -> None:
    results = pd.read_csv(demo.result.out / "generate" / "results.csv")
    assert len(results) == 12 and set(results["status"]) == {"succeeded"}
    assert results["tokens"].gt(0).all() and results["cost"].gt(0).all() and set(results["currency"]) == {"USD"}
    assert results["estimated_cost"].sum() == pytest.approx(results["cost"].sum(), rel=0.05)
    assert results["label"].is_unique


def test_no_key_token_or_h5_link_is_in_any_file_the_demo_wrote(demo: Demo) -> None:
    assert demo.tokens  # the emulator handed some out: the check is not empty
    secrets = [t.encode() for t in demo.tokens] + [b"sandbox-key", b"/h5/"]
    for path in demo.result.out.rglob("*"):
        if path.is_file() and path.suffix != ".mp4":
            data = path.read_bytes()
            leaked = [s for s in secrets if s in data]
            assert not leaked, (path, leaked)


def test_the_html_exports_show_the_widgets_fallbacks_offline(demo: Demo) -> None:
    tutorial = demo.result.html[0].read_text()
    assert "Liveness check for alice" in tutorial and "verified" in tutorial
    assert 'src="data:video/mp4;base64,' in tutorial  # the preview plays from the file, no network
    assert "application/vnd.jupyter.widget-view+json" not in tutorial


def test_the_summary_names_what_was_produced_and_how_to_open_it(demo: Demo) -> None:
    text = demo.printed
    for path in [*demo.result.notebooks, *demo.result.html, *demo.result.reports, *demo.result.videos]:
        assert str(path.relative_to(demo.result.out)) in text
    assert text.rstrip().endswith("make lab")


def test_rerunning_the_batch_uploads_nothing_and_verifies_nobody_again(demo: Demo) -> None:
    before = demo.sandbox.stats()["accounts"]
    rerun = demo.result.out / "rerun.ipynb"
    script = (
        "import json, sys, papermill; papermill.execute_notebook(sys.argv[1], sys.argv[2], "
        "parameters=json.loads(sys.argv[3]), kernel_name='python3', cwd=sys.argv[4], progress_bar=False)"
    )
    arguments = [str(ROOT / "notebooks" / "02_batch.ipynb"), str(rerun),
                 json.dumps(_parameters("02_batch", demo.result.out)), str(ROOT / "notebooks")]  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script, *arguments], env=_env(demo.sandbox, demo.result.out),
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    after = demo.sandbox.stats()["accounts"]
    assert after == before
    assert demo.sandbox.stats()["duplicates"] == []
    stdout = "".join(str(o.get("text", "")) for o in _outputs(rerun))
    assert "reused from the ledger: ['alice', 'bob', 'collins', 'hopper'] - verifying: []" in stdout


def test_the_command_says_what_to_do_when_the_notebooks_are_not_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo", "--out", str(tmp_path), "--notebooks", str(tmp_path / "nowhere")], out=io.StringIO())
    assert code == 2
    assert "run the demo from the repository's root" in capsys.readouterr().err
