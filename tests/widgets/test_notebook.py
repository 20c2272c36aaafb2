"""All four widgets in a real kernel (nbclient) against the emulator: saved outputs, fallbacks, no secrets."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from realavatar_nb.simulator import Sandbox

API_KEY = "sk-anyfast-notebook-0123456789abcdef"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    # In the test's process, so the test can list every token the emulator handed out.
    with Sandbox(autopilot=2.0, autopilot_person="alice", processing_seconds=0.3, job_seconds=0.6) as sb:
        yield sb


def _cells(base_url: str, home: Path) -> list[str]:
    return [
        f"""
        import os, time
        os.environ["REALAVATAR_HOME"] = {str(home)!r}
        import realavatar_nb as ra
        from realavatar_nb.samples import make_image, make_video
        folder = os.path.join(os.environ["REALAVATAR_HOME"], "alice")
        make_image(os.path.join(folder, "front.jpg"), width=720, height=960, person="alice")
        make_image(os.path.join(folder, "tiny.jpg"), width=200, height=200, person="alice")
        make_video(os.path.join(folder, "clip.mp4"), width=600, height=800, duration=4.0, fps=24, person="alice")
        # Local files to Anyfast: a stager (stage=), or multipart chosen explicitly (it warns) as here.
        client = ra.AsyncClient("anyfast", base_url={base_url!r}, poll_interval=0.2, upload="multipart")  # key from env
        """,
        """
        launcher = ra.VerificationLauncher(client, person="alice", consent=ra.Consent(given_by="Alice", purpose="nb"))
        launcher
        """,
        # Runs while the link is live (autopilot passes it after 2 s): it must not wait for it.
        """
        print("while counting:", launcher.state, "qr bytes:", len(launcher._qr.value) > 0)
        """,
        """
        verification = await launcher.verified(timeout=60)
        print("verified group:", launcher.group_id)
        print("qr model:", launcher._qr.model_id)
        """,
        """
        validator = ra.AssetValidator(folder)
        validator
        """,
        """
        report = await validator.done()
        print("ok files:", int(report["ok"].sum()), "of", len(report))
        """,
        """
        uploads = await client.upload_assets(launcher.group_id, report)
        table = ra.StatusTable(client, group_id=launcher.group_id, refresh=0.2)
        table
        """,
        """
        await table.done()
        print("statuses:", sorted(table.frame["status"]))
        """,
        """
        image = next(a for a in uploads if isinstance(a, ra.Asset) and a.asset_type == "Image")
        previewer = ra.GenerationPreviewer(client, {"prompt": "a slow smile", "references": [image], "duration": 4})
        previewer
        """,
        """
        job = await previewer.done()
        print("job:", job.status)
        """,
    ]


def _texts(notebook: Any) -> list[str]:
    return [o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []) if o.get("name") == "stdout"]


def test_a_notebook_using_all_four_widgets_saves_views_fallbacks_and_no_secrets(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REALAVATAR_ANYFAST_API_KEY", API_KEY)  # the kernel inherits it, as a user's would
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(textwrap.dedent(c).strip()) for c in _cells(
        sandbox.base_url("anyfast"), tmp_path / "home"
    )]  # fmt: skip
    # On asyncio.run's own loop, closed after (execute() would leave jupyter_core's loop open on this thread).
    asyncio.run(NotebookClient(notebook, timeout=180, kernel_name="python3", store_widget_state=True).async_execute())
    path = tmp_path / "widgets.ipynb"
    nbformat.write(notebook, path)
    saved = path.read_text()

    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"], [o for o in outputs if "ename" in o]
    stdout = "".join(_texts(notebook))
    assert "Traceback" not in saved
    assert re.search(r"while counting: (creating|waiting) qr bytes: (True|False)", stdout), stdout
    assert re.search(r"verified group: \S+", stdout)
    assert "ok files: 2 of 3" in stdout
    assert "job: succeeded" in stdout

    displays = [o for o in outputs if o.get("output_type") in ("display_data", "execute_result")]
    views = [o for o in displays if WIDGET_VIEW in o.get("data", {})]
    assert len(views) == 5  # launcher, validator, the upload's progress bar, table, previewer
    for view in views:  # each carries a readable fallback, refreshed to its final state
        assert view["data"]["text/plain"].strip() and view["data"]["text/html"].strip()
    finals = "\n".join(v["data"]["text/plain"] for v in views)
    assert "verified" in finals and "succeeded" in finals

    # No key, no token, no H5 link anywhere in the file; the QR code's image was cleared.
    tokens = [s.token for s in sandbox.state.sessions.values()]
    assert tokens
    for secret in [API_KEY, *tokens]:
        assert secret not in saved
    qr_model = re.search(r"qr model: (\w+)", stdout).group(1)  # type: ignore[union-attr]
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    qr = state[qr_model]
    assert not any(base64.b64decode(b["data"])[:4] == b"\x89PNG" for b in qr.get("buffers", []))
    assert json.dumps(qr["state"]).count("h5/") == 0
