"""The launcher in JupyterLab and Debian's chromium: a QR code, a countdown that moves, Pass on the phone page."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.jupyterlab import ARTIFACTS, CHROMIUM, KERNELSPEC, answer_on_a_phone, jupyterlab

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="needs a chromium binary on PATH (Debian's chromium package)"),
]

CELL = """
import realavatar_nb as ra
from realavatar_nb.simulator import Sandbox
sb = Sandbox(autopilot=None).start()
client = ra.AsyncClient("sandbox", sandbox=sb, ledger=ra.Ledger("ledger.sqlite3"))
launcher = ra.VerificationLauncher(client, person="alice", consent=ra.Consent(given_by="Alice", purpose="browser test"))
launcher
""".strip()


def _seconds(page: Page) -> int:
    text = page.locator(".ra-countdown .ra-seconds").inner_text()
    match = re.fullmatch(r"(\d+) s left", text.strip())
    assert match, text
    return int(match.group(1))


def test_launcher_shows_a_qr_code_and_a_moving_countdown_and_turns_verified_on_pass(
    browser: Browser, tmp_path: Path
) -> None:
    root = tmp_path / "lab"
    root.mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(CELL)]
    notebook.metadata["kernelspec"] = KERNELSPEC  # without it, Lab asks which kernel in a dialog
    nbformat.write(notebook, root / "launcher.ipynb")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with jupyterlab(root) as lab:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(lab.notebook_url("launcher.ipynb"))
        cell = page.locator(".jp-Notebook .jp-Cell").first
        expect(cell).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=60_000)
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")

        qr = page.locator(".jp-OutputArea img").first
        expect(qr).to_be_visible(timeout=90_000)
        assert qr.evaluate("img => img.naturalWidth") >= 200  # large enough for a phone to read
        expect(page.locator(".ra-countdown .ra-seconds")).to_have_text(re.compile(r"\d+ s left"), timeout=30_000)
        first = _seconds(page)
        page.wait_for_timeout(2500)  # the page's own timer, not the kernel, moves the countdown
        later = _seconds(page)
        assert 100 <= later < first <= 120
        page.screenshot(path=str(ARTIFACTS / "launcher-waiting.png"))

        phone = answer_on_a_phone(context, page.locator(".jp-OutputArea-output").first, "alice")
        phone.screenshot(path=str(ARTIFACTS / "h5-passed.png"))

        status = page.locator(".jp-OutputArea", has_text="Verified: group")
        expect(status).to_be_visible(timeout=30_000)
        text = status.inner_text()
        group = re.search(r"Verified: group (\S+) is bound to alice", text)
        assert group, text
        # The QR code left with its use: hidden, and its image emptied.
        expect(qr).to_be_hidden(timeout=10_000)
        for _ in range(50):
            if qr.evaluate("img => img.naturalWidth") == 0:
                break
            page.wait_for_timeout(100)
        assert qr.evaluate("img => img.naturalWidth") == 0
        page.screenshot(path=str(ARTIFACTS / "launcher-verified.png"))
        context.close()
