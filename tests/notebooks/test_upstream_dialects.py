"""The tutorial notebook, unchanged, on the emulator speaking upstream itself (BytePlus), by a real kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

from realavatar_nb.simulator import Sandbox

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (
    "import json, sys, papermill; papermill.execute_notebook(sys.argv[1], sys.argv[2], "
    "parameters=json.loads(sys.argv[3]), kernel_name='python3', cwd=sys.argv[4], progress_bar=False)"
)


def test_the_tutorial_runs_through_in_the_byteplus_dialect(tmp_path: Path) -> None:
    executed = tmp_path / "tutorial.ipynb"
    parameters = {"PROVIDER": "sandbox", "AUTOPILOT": True, "OUT_DIR": str(tmp_path / "out"),
                  "CONSENT_BY": "Alice (test)"}  # fmt: skip
    with Sandbox(processing_seconds=0.3, job_seconds=1.0) as sb:
        env = {**os.environ, "REALAVATAR_SANDBOX_URL": sb.url, "REALAVATAR_SANDBOX_DIALECT": "byteplus",
               "REALAVATAR_HOME": str(tmp_path / "home")}  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(ROOT / "notebooks" / "01_tutorial.ipynb"), str(executed),
             json.dumps(parameters), str(ROOT / "notebooks")],
            env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        accounts = sb.stats()["accounts"]
    book = nbformat.read(executed, as_version=4)
    errors = [
        o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert errors == []
    # The work happened upstream-side: a signed account holds the person's group and assets.
    (account,) = accounts.values()
    assert account["groups"] == 1 and account["assets"] >= 1
    assert sorted((tmp_path / "out").glob("**/*.mp4")), "the tutorial ends with a downloaded video"
    text = executed.read_text()
    assert "byteplus" in text and "SecretAccessKey" not in text
