"""The tutorial as a newcomer meets it: JupyterLab in Debian's chromium, Run All, consent, Pass on the phone.

The screenshots this test saves are the README's (``make screenshots`` writes them to docs/screenshots).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.jupyterlab import ARTIFACTS, CHROMIUM, README_SHOTS, ROOT, answer_on_a_phone, jupyterlab

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs a chromium binary on PATH (Debian's chromium package)"),
]


def _output(page: Page, text: str | re.Pattern[str]) -> Locator:
    return page.locator(".jp-OutputArea-output").filter(has_text=text).first


def _shot(locator: Locator, name: str) -> None:
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(README_SHOTS / name))


def test_run_all_with_consent_and_pass_on_the_phone_ends_with_the_video_playing(
    browser: Browser, tmp_path: Path
) -> None:
    root = tmp_path / "lab"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / "01_tutorial.ipynb", root / "notebooks")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    README_SHOTS.mkdir(parents=True, exist_ok=True)
    env = {
        "REALAVATAR_HOME": str(tmp_path / "home"),
        "REALAVATAR_SANDBOX_PROCESSING": "0.5",
        "REALAVATAR_SANDBOX_JOB_SECONDS": "2",
    }
    with jupyterlab(root, env=env) as lab:
        context = browser.new_context(viewport={"width": 1280, "height": 1400})
        page = context.new_page()
        try:
            page.goto(lab.notebook_url("notebooks/01_tutorial.ipynb"))
            expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=60_000)
            page.get_by_role(
                "tab", name=re.compile("File Browser")
            ).click()  # folds the sidebar: the notebook gets the width
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

            # Consent first: nothing is created before the person agrees.
            page.get_by_placeholder("who consents").fill("Alice Example")
            page.get_by_placeholder("what their likeness is for").fill("README screenshots")
            record = page.get_by_role("button", name="Record consent")
            expect(record).to_be_disabled()
            page.get_by_role("checkbox", name=re.compile("They agree")).check()
            record.click()

            launcher = _output(page, "Liveness check for alice")
            expect(launcher.locator(".ra-countdown .ra-seconds")).to_have_text(
                re.compile(r"\d+ s left"), timeout=60_000
            )
            page.wait_for_timeout(600)  # let the bar finish its first transition
            _shot(launcher, "launcher.png")
            answer_on_a_phone(context, launcher, "alice", shot=README_SHOTS / "h5-page.png")

            expect(launcher).to_contain_text("Verified: group", timeout=30_000)
            validator = _output(page, re.compile(r"(all|problems|fixable): \d+ of \d+ files"))
            expect(validator).to_be_visible(timeout=60_000)
            expect(validator).to_contain_text("FaceMismatch")  # the stray photo, caught before upload
            table = _output(page, re.compile(r"all terminal"))
            expect(table).to_be_visible(timeout=120_000)
            expect(table).to_contain_text("active")

            video = page.locator(".jp-OutputArea-output video")
            expect(video).to_have_count(1, timeout=180_000)
            expect(video).to_be_visible()
            assert video.evaluate("v => v.readyState") >= 1  # the browser read the file's header: a real video
            assert (
                not page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
                .filter(has_text="Traceback")
                .count()
            )
            _shot(validator, "validator.png")
            _shot(table, "status-table.png")
            _shot(_output(page, "succeeded"), "previewer.png")
        finally:  # the whole page as it ended, for whoever reads a failure
            page.screenshot(path=str(ARTIFACTS / "tutorial-page.png"), full_page=True)
        context.close()
