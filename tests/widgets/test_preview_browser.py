"""The gallery in JupyterLab and Debian's chromium: inputs beside each video, and Play/Pause all driving every video.

The same grid's saved HTML (what nbconvert exports) is then opened on its own page, where the three
buttons are the page's own script.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.jupyterlab import ARTIFACTS, CHROMIUM, KERNELSPEC, jupyterlab

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="needs a chromium binary on PATH (Debian's chromium package)"),
]

CELL = """
import realavatar_nb as ra
from realavatar_nb.samples import make_audio, make_image
from realavatar_nb.simulator import Sandbox
sb = Sandbox(autopilot=0.0, processing_seconds=0.0, job_seconds=0.5, autopilot_person="alice").start()
ledger = ra.Ledger("ledger.sqlite3")
client = ra.AsyncClient("sandbox", sandbox=sb, dialect="byteplus", ledger=ledger, poll_interval=0.1)
session = await client.create_verification(person="alice", consent=ra.Consent(given_by="Alice", purpose="browser test"))
group = (await client.wait_verified(session, timeout=30)).group_id
files = [make_image("alice.jpg", width=600, height=800, person="alice"), make_audio("voice.mp3", duration=4.0)]
assets = await client.wait_active([await client.upload_asset(group, f) for f in files], timeout=30)
requests = [ra.GenerationRequest(p, tuple(assets), duration=4, resolution="480p", return_last_frame=True)
            for p in ("a smile", "a nod")]
gallery = ra.widgets.Gallery([ra.GenerationPreviewer(client, r, out_dir="videos") for r in requests], columns=2)
display(gallery)
jobs = await gallery.done()
open("gallery.html", "w").write(gallery.fallback_html())
print("statuses:", [j.status for j in jobs])
""".strip()


def _playing(videos: Locator) -> list[bool]:
    return [bool(v) for v in videos.evaluate_all("vs => vs.map(v => !v.paused && v.currentTime > 0)")]


def _wait_until(page: Page, videos: Locator, expected: list[bool]) -> None:
    for _ in range(50):
        if _playing(videos) == expected:
            return
        page.wait_for_timeout(100)
    assert _playing(videos) == expected


def test_the_gallery_shows_inputs_beside_each_video_and_plays_them_together(browser: Browser, tmp_path: Path) -> None:
    root = tmp_path / "lab"
    root.mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(CELL)]
    notebook.metadata["kernelspec"] = KERNELSPEC
    nbformat.write(notebook, root / "gallery.ipynb")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with jupyterlab(root) as lab:
        context = browser.new_context(viewport={"width": 2000, "height": 1200})
        page = context.new_page()
        try:
            page.goto(lab.notebook_url("gallery.ipynb"))
            expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=60_000)
            page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputArea-editor").click()
            page.keyboard.press("Shift+Enter")
            expect(page.get_by_text("statuses: ['succeeded', 'succeeded']")).to_be_visible(timeout=120_000)

            output = page.locator(".jp-OutputArea-output").first
            videos = output.locator("video")
            expect(videos).to_have_count(2)
            # Each previewer: its inputs (a thumbnail, an audio player) to the right of its video.
            expect(output.get_by_text("Inputs", exact=True)).to_have_count(2)
            expect(output.locator("audio")).to_have_count(2)
            for audio in output.locator("audio").all():
                expect(audio).to_be_visible()
            video_box = videos.first.bounding_box()
            strip_box = output.get_by_text("Inputs", exact=True).first.bounding_box()
            assert video_box and strip_box and strip_box["x"] >= video_box["x"] + video_box["width"]  # beside it
            assert video_box["y"] <= strip_box["y"] < video_box["y"] + video_box["height"]
            expect(output.locator("img[alt='last frame']")).to_have_count(2)
            assert _playing(videos) == [False, False]

            output.get_by_role("button", name="Play all").click()
            videos = output.locator("video")  # new players
            _wait_until(page, videos, [True, True])
            output.screenshot(path=str(ARTIFACTS / "gallery-playing.png"))
            output.get_by_role("button", name="Pause all").click()
            videos = output.locator("video")
            _wait_until(page, videos, [False, False])
            output.get_by_role("button", name="Restart all").click()
            _wait_until(page, output.locator("video"), [True, True])

            # The saved page: the same buttons, run by the page's own script.
            saved = context.new_page()
            saved.set_content((root / "gallery.html").read_text())
            exported = saved.locator("video")
            expect(exported).to_have_count(2)
            saved.get_by_role("button", name="Play all").click()
            _wait_until(saved, exported, [True, True])
            saved.get_by_role("button", name="Pause all").click()
            _wait_until(saved, exported, [False, False])
            times = exported.evaluate_all("vs => vs.map(v => v.currentTime)")
            assert abs(times[0] - times[1]) < 0.25, times  # started in the same turn, paused in the same turn
            saved.get_by_role("button", name="Restart all").click()
            _wait_until(saved, exported, [True, True])
        finally:
            page.screenshot(path=str(ARTIFACTS / "gallery-page.png"), full_page=True)
        context.close()
