"""The H5 page in a real browser on a phone-sized screen: type a name, press Pass or Fail, land on the callback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from realavatar_nb.simulator.h5 import routes
from realavatar_nb.simulator.state import RESULT_PASSED, SimConfig, State
from tests.jupyterlab import CHROMIUM

SCREENSHOT = Path(__file__).resolve().parents[2] / "build" / "screenshots" / "h5.png"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="needs a chromium binary on PATH (Debian's chromium package)"),
]


@dataclass
class Live:
    state: State
    url: str


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    """The H5 routes plus an echoing ``/cb`` on a free loopback port, served by uvicorn in a thread."""
    state = State(SimConfig(link_ttl=120.0))

    async def callback(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.url.query)

    app = Starlette(routes=[*routes(state), Route("/cb", callback)])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.025)
        assert server.started, "uvicorn did not start"
        yield Live(state, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        state.close()


def open_phone_page(browser: Browser, url: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.goto(url)
    return context, page


@pytest.mark.parametrize(("button", "result_code", "billed"), [("Pass", RESULT_PASSED, "1"), ("Fail", None, "0")])
def test_pressing_a_button_lands_on_the_callback_with_the_result(
    live: Live, browser: Browser, button: str, result_code: str | None, billed: str
) -> None:
    session = live.state.create_session("key-1", callback_url=f"{live.url}/cb?run=7", lng="en")
    context, page = open_phone_page(browser, f"{live.url}/h5/{session.token}")
    try:
        assert page.title() == "Real-person verification"
        assert page.locator("html").get_attribute("lang") == "en"
        page.fill("input[name=person]", "Alice Example")
        if button == "Pass":
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        page.get_by_role("button", name=button).click()
        page.wait_for_url(f"{live.url}/cb?**")

        params = parse_qs(urlsplit(page.url).query)
        assert page.locator("body").inner_text().strip() == urlsplit(page.url).query
    finally:
        context.close()
    assert params["run"] == ["7"]
    assert params["bytedToken"] == [session.token]
    assert params["verify_type"] == ["real_time"]
    assert params["reqMeasureInfoValue"] == [billed]
    if result_code is not None:
        assert params["resultCode"] == [result_code]
    else:
        assert params["resultCode"] != [RESULT_PASSED]
    verified = live.state.session_for_page(session.token)
    assert verified is not None
    assert verified.person == "Alice Example"


def test_countdown_runs_and_the_name_is_required_before_sending(live: Live, browser: Browser) -> None:
    session = live.state.create_session("key-1", callback_url=f"{live.url}/cb")
    context, page = open_phone_page(browser, f"{live.url}/h5/{session.token}")
    try:
        first = int(page.locator("#remaining").inner_text())
        assert 118 <= first <= 120
        # The script runs under the page's CSP: the countdown moves within about a second.
        expect(page.locator("#remaining")).not_to_have_text(str(first), timeout=5000)
        assert page.locator("form").evaluate("form => form.checkValidity()") is False
        page.fill("input[name=person]", "Alice")
        assert page.locator("form").evaluate("form => form.checkValidity()") is True
    finally:
        context.close()
    assert live.state.session_for_page(session.token).state == "pending"  # type: ignore[union-attr]
