"""The H5 liveness page: Pass and Fail, the callback redirect, and every way a link can be wrong."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from realavatar_nb.simulator.h5 import routes
from realavatar_nb.simulator.state import ALGORITHM_FAILED, RESULT_FAILED, RESULT_PASSED, Session, SimConfig, State

CALLBACK = "https://app.example/cb"


class Clock:
    """Epoch seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> Iterator[State]:
    sim = State(SimConfig(link_ttl=120.0), clock=clock)
    yield sim
    sim.close()


@pytest.fixture
def http(state: State) -> TestClient:
    return TestClient(Starlette(routes=routes(state)), raise_server_exceptions=True)


def new_session(state: State, callback_url: str | None = CALLBACK, lng: str = "zh") -> Session:
    return state.create_session("key-1", callback_url=callback_url, lng=lng)


def answer(http: TestClient, token: str, outcome: str = "pass", person: str = "Alice") -> httpx.Response:
    return http.post(f"/h5/{token}", data={"outcome": outcome, "person": person}, follow_redirects=False)


def test_pending_link_shows_a_mobile_form_with_pass_fail_and_countdown(
    http: TestClient, state: State, clock: Clock
) -> None:
    session = new_session(state)
    clock.now += 30

    response = http.get(f"/h5/{session.token}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "<title>Real-person verification</title>" in page
    assert re.search(r'<input[^>]*name="person"[^>]*value=""[^>]*required', page)
    assert '<button type="submit" name="outcome" value="pass">Pass</button>' in page
    assert '<button type="submit" name="outcome" value="fail">Fail</button>' in page
    assert 'data-seconds="90"' in page
    assert "Who is verifying?" in page


def test_countdown_script_is_allowed_by_the_content_security_policy(http: TestClient, state: State) -> None:
    response = http.get(f"/h5/{new_session(state).token}")

    script = re.search(r"<script>(.*?)</script>", response.text, re.S)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(("lng", "lang"), [("zh", "zh-CN"), ("en", "en"), ("zh-Hant", "zh-TW")])
def test_page_language_follows_the_session(http: TestClient, state: State, lng: str, lang: str) -> None:
    response = http.get(f"/h5/{new_session(state, lng=lng).token}")

    assert f'<html lang="{lang}">' in response.text


def test_pass_redirects_to_the_callback_with_exactly_the_upstream_parameters(http: TestClient, state: State) -> None:
    session = new_session(state)

    response = answer(http, session.token, "pass", "Alice")

    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "app.example", "/cb")
    assert parse_qsl(location.query) == [
        ("bytedToken", session.token),
        ("resultCode", RESULT_PASSED),
        ("algorithmBaseRespCode", "0"),
        ("reqMeasureInfoValue", "1"),
        ("verify_type", "real_time"),
    ]
    assert state.session_for_page(session.token).state == "verified"  # type: ignore[union-attr]
    assert [g.person for g in state.groups.values()] == ["Alice"]


def test_fail_redirects_with_a_failure_code_and_no_billing(http: TestClient, state: State) -> None:
    session = new_session(state)

    response = answer(http, session.token, "fail", "Alice")

    assert response.status_code == 303
    params = dict(parse_qsl(urlsplit(response.headers["location"]).query))
    assert params["bytedToken"] == session.token
    assert params["resultCode"] == RESULT_FAILED != RESULT_PASSED
    assert params["algorithmBaseRespCode"] == ALGORITHM_FAILED != "0"
    assert params["reqMeasureInfoValue"] == "0"
    assert params["verify_type"] == "real_time"
    assert state.groups == {}


def test_callback_keeps_its_own_query_and_fragment(http: TestClient, state: State) -> None:
    session = new_session(state, callback_url="https://app.example/cb?user=7&next=%2Fhome#done")

    response = answer(http, session.token)

    location = urlsplit(response.headers["location"])
    assert location.query.startswith("user=7&next=%2Fhome&bytedToken=")
    assert location.fragment == "done"
    params = parse_qs(location.query)
    assert params["user"] == ["7"]
    assert params["next"] == ["/home"]
    assert params["resultCode"] == [RESULT_PASSED]


def test_without_callback_the_person_sees_a_done_page(http: TestClient, state: State) -> None:
    passed = new_session(state, callback_url=None)
    failed = new_session(state, callback_url=None)

    ok = answer(http, passed.token, "pass")
    not_ok = answer(http, failed.token, "fail")

    assert ok.status_code == 200
    assert "<h1>Verified</h1>" in ok.text
    assert "close this window" in ok.text
    assert not_ok.status_code == 200
    assert "<h1>Not verified</h1>" in not_ok.text


def test_unsafe_callback_scheme_is_never_followed(http: TestClient, state: State) -> None:
    session = new_session(state, callback_url="javascript:alert(document.cookie)")

    response = answer(http, session.token)

    assert response.status_code == 200
    assert "location" not in response.headers
    assert "<h1>Verified</h1>" in response.text


def test_finished_link_shows_the_done_page_again(http: TestClient, state: State) -> None:
    session = new_session(state)
    answer(http, session.token, "pass", "Alice")

    response = http.get(f"/h5/{session.token}")

    assert response.status_code == 200
    assert "<h1>Verified</h1>" in response.text
    assert 'name="outcome"' not in response.text


def test_link_expires_at_exactly_its_ttl_and_never_yields_a_group(http: TestClient, state: State, clock: Clock) -> None:
    session = new_session(state)
    clock.now += 119.999
    assert http.get(f"/h5/{session.token}").status_code == 200

    clock.now = session.created_at + 120.0
    shown = http.get(f"/h5/{session.token}")
    pressed = answer(http, session.token, "pass")
    clock.now += 3600
    later = answer(http, session.token, "pass")

    assert shown.status_code == pressed.status_code == later.status_code == 410
    assert "This link has expired" in shown.text
    assert "new link" in pressed.text
    assert "location" not in pressed.headers
    assert state.session_for_page(session.token).state == "expired"  # type: ignore[union-attr]
    assert state.groups == {}


def test_second_answer_is_refused_as_already_used(http: TestClient, state: State) -> None:
    session = new_session(state)

    first = answer(http, session.token, "pass")
    second = answer(http, session.token, "pass")
    third = answer(http, session.token, "fail")

    assert first.status_code == 303
    assert second.status_code == third.status_code == 409
    assert "already been used" in second.text
    assert len(state.groups) == 1
    assert state.session_for_page(session.token).state == "verified"  # type: ignore[union-attr]


def test_unknown_token_is_not_found(http: TestClient) -> None:
    shown = http.get("/h5/20260101000000ABCDEF0123456789ABCDEF")
    pressed = answer(http, "20260101000000ABCDEF0123456789ABCDEF")

    assert shown.status_code == pressed.status_code == 404
    assert "Link not found" in shown.text
    assert "Link not found" in pressed.text


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"outcome": "pass"}, '"person"'),
        ({"outcome": "pass", "person": "   "}, '"person"'),
        ({"outcome": "pass", "person": "x" * 201}, '"person"'),
        ({"person": "Alice"}, '"outcome"'),
        ({"outcome": "maybe", "person": "Alice"}, '"outcome"'),
    ],
)
def test_bad_form_is_refused_naming_the_field_and_the_link_stays_usable(
    http: TestClient, state: State, form: dict[str, str], field: str
) -> None:
    session = new_session(state)

    refused = http.post(f"/h5/{session.token}", data=form, follow_redirects=False)
    retried = answer(http, session.token, "pass", "Alice")

    assert refused.status_code == 400
    assert f"The field {escape_quotes(field)}" in refused.text
    assert 'name="outcome" value="pass"' in refused.text  # the form is shown again
    assert retried.status_code == 303


def escape_quotes(text: str) -> str:
    return text.replace('"', "&quot;")


def test_body_that_is_not_a_form_is_refused(http: TestClient, state: State) -> None:
    session = new_session(state)

    response = http.post(f"/h5/{session.token}", json={"outcome": "pass", "person": "Alice"})

    assert response.status_code == 400
    assert "outcome and person" in response.text
    assert state.session_for_page(session.token).state == "pending"  # type: ignore[union-attr]


def test_person_name_is_html_escaped_everywhere(http: TestClient, state: State) -> None:
    hostile = '<script>alert("x")</script>'
    done = new_session(state, callback_url=None)
    bad_form = new_session(state)

    shown = answer(http, done.token, "pass", hostile)
    again = http.get(f"/h5/{done.token}")
    refused = http.post(f"/h5/{bad_form.token}", data={"outcome": "nope", "person": '"><script>x()</script>'})

    for response in (shown, again, refused):
        assert "<script>alert" not in response.text
        assert "<script>x()" not in response.text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in shown.text
    assert 'value="&quot;&gt;&lt;script&gt;x()&lt;/script&gt;"' in refused.text


def test_page_shows_nothing_of_other_sessions(http: TestClient, state: State) -> None:
    mine = new_session(state, callback_url=None)
    other = state.create_session("key-2", callback_url="https://other.example/private-cb", lng="en")
    answer(http, other.token, "pass", "Bob Private")

    pending = http.get(f"/h5/{mine.token}").text
    answer(http, mine.token, "pass", "Alice")
    done = http.get(f"/h5/{mine.token}").text

    for page in (pending, done):
        assert other.token not in page
        assert "Bob Private" not in page
        assert "other.example" not in page
    assert mine.token not in pending  # the link is the credential: the page never repeats it


def test_other_methods_get_a_plain_refusal(http: TestClient, state: State) -> None:
    response = http.put(f"/h5/{new_session(state).token}", data={"outcome": "pass"})

    assert response.status_code == 405
