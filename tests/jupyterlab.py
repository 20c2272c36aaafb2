"""A real JupyterLab server for browser tests: the venv's own, on a free loopback port, offline.

Used with Debian's chromium through Playwright (``executable_path``; never ``playwright install``).
Lab is told not to fetch news, check for updates or list extensions from PyPI: this machine has
no internet, and a test must not wait on it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import BrowserContext, Locator, Page

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[1]
# Screenshots are test artefacts under build/; `make screenshots` retakes the README's into docs/screenshots.
ARTIFACTS = ROOT / "build" / "screenshots"
README_SHOTS = ROOT / os.environ.get("REALAVATAR_SCREENSHOTS", "build/screenshots")

_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


@dataclass
class Lab:
    url: str
    token: str
    root: Path

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def jupyterlab(root: Path, env: dict[str, str] | None = None) -> Iterator[Lab]:
    """Serve ``root`` with JupyterLab until the block ends; yield where it listens."""
    settings = root.parent / f"{root.name}-lab-settings"
    for name, values in _SETTINGS.items():
        target = settings / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root}", "--LabApp.news_url=",
        f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={settings}/workspaces",
        "--LabApp.extension_manager=readonly", "--allow-root", "--IdentityProvider.token=" + token,
    ]  # fmt: skip
    log = open(root.parent / f"{root.name}-lab.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: see {log.name}")
            try:
                if httpx.get(f"{url}/api/status", params={"token": token}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyter lab did not start in 90 s: see {log.name}")
            time.sleep(0.2)
        yield Lab(url, token, root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def answer_on_a_phone(context: BrowserContext, launcher: Locator, person: str, shot: Path | None = None) -> Page:
    """Open the launcher's H5 link on a phone-sized page, type ``person`` and press Pass; return the page.

    ``shot``: a screenshot of the filled page, taken before Pass.
    """
    link = launcher.get_by_role("link", name="Open the H5 page").get_attribute("href")
    assert link and "/h5/" in link
    phone = context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(link)
    phone.fill("input[name=person]", person)
    if shot is not None:
        phone.screenshot(path=str(shot))
    phone.get_by_role("button", name=re.compile("Pass", re.I)).click()
    # Pass redirects to the callback URL: wait for that page, or a screenshot may catch it mid-navigation.
    phone.wait_for_url(re.compile(r"resultCode="), timeout=30_000)
    phone.wait_for_load_state()
    return phone
