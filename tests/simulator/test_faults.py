"""Fault injection: rates, determinism from the seed, exemptions, overrides, drops, latency, parsing."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from realavatar_nb.simulator import create_app
from realavatar_nb.simulator.faults import (
    ConnectionDropped,
    FaultMiddleware,
    FaultPlan,
    Faults,
    decide,
    fault_middleware,
)
from realavatar_nb.simulator.server import Sandbox

P = "/crun/api/v1/client/job"
INFO = f"{P}/asset-info?asset_id=asset-none"  # a cheap read: 404 from the app when not faulted
SESSION = f"{P}/visual-validate-session"
KEY = {"x-api-key": "fault-key"}
DROPPED = "dropped"

Outcome = int | str  # a status code, or DROPPED
Build = Callable[..., tuple[Starlette, FaultMiddleware]]


@pytest.fixture
def build(tmp_path: Path) -> Iterator[Build]:
    """Return a builder of emulator apps wrapped in a fault middleware; closes them afterwards."""
    apps: list[Starlette] = []

    def make(faults: Any, seed: int | str = 0) -> tuple[Starlette, FaultMiddleware]:
        middleware = fault_middleware(faults, seed=seed)
        app = create_app(workdir=str(tmp_path / f"sandbox-{len(apps)}"), middleware=[middleware])
        apps.append(app)
        return app, middleware

    yield make
    for app in apps:
        app.state.sim.close()


def send_all(app: Starlette, requests: list[tuple[str, str]], body: Any = None) -> list[Outcome]:
    """Send ``requests`` in order through ``httpx.ASGITransport``; return each status, or DROPPED."""

    async def run() -> list[Outcome]:
        transport = httpx.ASGITransport(app)
        headers = {**KEY, "X-Sandbox-Admin": app.state.admin_token}  # /_sandbox/reset is among the paths sent
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test", headers=headers) as client:
            outcomes: list[Outcome] = []
            for method, path in requests:
                try:
                    response = await client.request(method, path, json=body)
                except httpx.RemoteProtocolError:
                    outcomes.append(DROPPED)
                else:
                    outcomes.append(response.status_code)
            return outcomes

    return asyncio.run(run())


def kind_of(outcome: Outcome) -> str:
    if outcome == DROPPED:
        return "drop"
    return {429: "429", 500: "5xx", 502: "5xx", 503: "5xx"}.get(int(outcome), "none")


# --- rates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["429", "5xx", "drop"])
def test_each_rate_is_honoured_over_a_thousand_requests(build: Build, kind: str) -> None:
    app, middleware = build(f"{kind}=0.2", seed=11)
    outcomes = send_all(app, [("GET", INFO)] * 1000)
    kinds = Counter(kind_of(o) for o in outcomes)
    assert 150 <= kinds[kind] <= 250, kinds
    assert kinds[kind] + kinds["none"] == 1000  # no other kind of fault crept in
    assert middleware.stats["requests"] == 1000 and middleware.stats[kind] == kinds[kind]


def test_mixed_rates_are_each_honoured_and_5xx_spreads_over_three_statuses(build: Build) -> None:
    app, middleware = build(Faults(rate_429=0.1, rate_5xx=0.3, rate_drop=0.1), seed=3)
    outcomes = send_all(app, [("GET", INFO)] * 1000)
    kinds = Counter(kind_of(o) for o in outcomes)
    assert 60 <= kinds["429"] <= 140 and 240 <= kinds["5xx"] <= 360 and 60 <= kinds["drop"] <= 140, kinds
    assert {o for o in outcomes if kind_of(o) == "5xx"} == {500, 502, 503}
    assert {k: middleware.stats[k] for k in ("429", "5xx", "drop")} == {k: kinds[k] for k in ("429", "5xx", "drop")}


# --- the answers ---------------------------------------------------------------------------


def test_a_429_has_retry_after_and_a_json_error_and_never_reaches_the_app(build: Build) -> None:
    app, _ = build({"rate_429": 1.0, "retry_after": 7})

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
            return await client.post(SESSION, json={"callback_url": "https://a/cb"}, headers=KEY)

    response = asyncio.run(post())
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    error = response.json()["error"]
    assert error["code"] == "rate_limited" and "retry after 7 s" in error["message"]
    assert app.state.sim.stats()["accounts"] == {}  # the session was never created


def test_a_5xx_is_a_json_error_and_never_reaches_the_app(build: Build) -> None:
    app, _ = build("5xx=1")
    outcomes = send_all(app, [("POST", SESSION)] * 30, body={"callback_url": "https://a/cb"})
    assert set(outcomes) <= {500, 502, 503}
    assert app.state.sim.stats()["accounts"] == {}


def test_a_drop_reaches_the_app_and_the_client_never_learns_the_answer(build: Build) -> None:
    app, middleware = build("drop=1")
    outcomes = send_all(app, [("POST", SESSION)] * 3, body={"callback_url": "https://a/cb"})
    assert outcomes == [DROPPED] * 3
    (created,) = app.state.sim.stats()["accounts"].values()
    assert created == {"sessions": 3}  # what a client must reconcile before creating again
    assert middleware.stats["drop"] == 3


def test_a_drop_raises_in_the_test_client_too(build: Build) -> None:
    app, _ = build("drop=1")
    with (
        TestClient(app) as client,
        pytest.raises(httpx.RemoteProtocolError, match="dropped the connection") as caught,
    ):
        client.get(INFO, headers=KEY)
    assert isinstance(caught.value, ConnectionDropped) and caught.value.request.url.path.endswith("asset-info")


def test_head_requests_are_never_dropped(build: Build) -> None:
    app, middleware = build("drop=1")
    assert DROPPED not in send_all(app, [("HEAD", INFO)] * 20)
    assert middleware.stats["drop"] == 0


def test_latency_delays_every_answer_by_at_least_its_seconds(build: Build) -> None:
    app, middleware = build({"latency": 0.01, "rate_429": 0.5})
    started = time.perf_counter()
    outcomes = send_all(app, [("GET", INFO)] * 5)
    assert time.perf_counter() - started >= 5 * 0.01
    assert set(outcomes) <= {404, 429} and middleware.stats["delayed"] == 5


def test_a_latency_range_draws_within_it() -> None:
    faults = Faults(latency=(0.01, 0.02))
    delays = [decide(faults, 0, "GET", "/x", n).delay for n in range(200)]
    assert all(0.01 <= d <= 0.02 for d in delays) and len(set(delays)) > 100


# --- determinism ---------------------------------------------------------------------------

MIXED = "429=0.2,5xx=0.2,drop=0.1"
PATHS = [("GET", INFO), ("POST", SESSION), ("GET", f"{P}/TaskInfo?task_id=t")] * 60


def test_the_same_seed_gives_the_same_faults_in_the_same_order(build: Build) -> None:
    first = send_all(build(MIXED, seed=42)[0], PATHS)
    second = send_all(build(MIXED, seed=42)[0], PATHS)
    assert first == second
    assert len({kind_of(o) for o in first}) == 4  # the sequence is not trivially all one thing


def test_a_different_seed_gives_different_faults(build: Build) -> None:
    assert send_all(build(MIXED, seed=42)[0], PATHS) != send_all(build(MIXED, seed=43)[0], PATHS)


def test_a_path_s_faults_do_not_depend_on_other_paths_traffic(build: Build) -> None:
    alone = send_all(build(MIXED, seed=5)[0], [("GET", INFO)] * 50)
    mixed = send_all(build(MIXED, seed=5)[0], [("GET", INFO), ("POST", SESSION)] * 50)
    assert mixed[::2] == alone


def test_reset_starts_every_sequence_again(build: Build) -> None:
    app, middleware = build(MIXED, seed=9)
    before = send_all(app, PATHS[:30])
    middleware.reset()
    assert middleware.stats["requests"] == 0
    assert send_all(app, PATHS[:30]) == before


def test_decide_is_a_pure_function_of_its_arguments() -> None:
    faults = Faults.parse(MIXED + ",latency=0-0.5")

    def run(path: str) -> list[object]:
        return [decide(faults, 1, "GET", path, n) for n in range(50)]

    assert run("/a") == run("/a") and run("/a") != run("/b")


def test_a_seeded_plan_gives_the_same_faults_whatever_ids_the_run_minted() -> None:
    """Ids carry the time and a random part: the k-th asset read gets the same faults in every run."""
    faults = Faults.parse("drop=0.3,5xx=0.2")

    def run(ids: list[str]) -> list[str | None]:
        plan = FaultPlan(faults, seed=11)
        return [f.kind for f in (plan.next("GET", f"/v1/assets/{i}") for i in ids for _ in range(4)) if f]

    first = run([f"asset-20261203121524-{n:05d}" for n in range(40)])
    assert first == run([f"asset-20261203130000-x{n:04d}" for n in range(40)])
    assert {"drop", "5xx", None} <= set(first)  # faults were drawn, not all alike
    assert run(["asset-20261203121524-aaaaa"] * 4) != run(["asset-20261203121524-aaaaa", "asset-b1234567"] * 2)


# --- where faults apply --------------------------------------------------------------------


def test_exempt_paths_are_never_faulted(build: Build) -> None:
    app, middleware = build("5xx=1")
    exempt = [
        ("GET", "/_sandbox/stats"),
        ("POST", "/_sandbox/reset"),
        ("GET", "/h5/no-such-token"),
        ("GET", "/files/abc/x.jpg"),
        ("GET", "/videos/nope.mp4"),
    ]
    assert send_all(app, exempt * 20) == [200, 200, 404, 404, 404] * 20
    assert middleware.stats["requests"] == 0
    assert set(send_all(app, [("GET", INFO)] * 5)) <= {500, 502, 503}


def test_custom_exempt_prefixes_replace_the_defaults(build: Build) -> None:
    app, _ = build(Faults(rate_5xx=1.0, exempt=("/crun",)))
    crun, stats = send_all(app, [("GET", INFO), ("GET", "/_sandbox/stats")])
    assert crun == 404 and stats in (500, 502, 503)


def test_a_route_override_replaces_the_defaults_for_matching_paths(build: Build) -> None:
    faults = Faults(
        rate_429=1.0,
        routes={f"{P}/asset-info": Faults(), "^/toapis/.*/assets/": "5xx=1", re.compile(r"TaskInfo$"): {"drop": 1}},
    )
    app, _ = build(faults)
    assert send_all(app, [("GET", INFO)] * 10) == [404] * 10
    assert set(send_all(app, [("GET", "/toapis/v1/videos/x/real-avatar/assets/a1")] * 10)) <= {500, 502, 503}
    assert send_all(app, [("GET", f"{P}/TaskInfo")] * 3) == [DROPPED] * 3
    assert send_all(app, [("POST", SESSION)] * 3) == [429] * 3


def test_the_first_matching_route_wins() -> None:
    faults = Faults(routes={"/crun": "429=1", "/crun/api": "5xx=1"})
    middleware = fault_middleware(faults)
    assert middleware.plan.faults_for("/crun/api/v1") == Faults(rate_429=1.0)
    assert middleware.plan.faults_for("/files/x") is None


# --- a real loopback server ----------------------------------------------------------------


def test_on_loopback_a_drop_is_a_remote_protocol_error_and_the_next_request_works() -> None:
    faults = Faults(rate_drop=0.5)
    path = f"{P}/asset-info"  # the query string is not part of the path the plan keys on
    seed = next(
        s
        for s in range(1000)
        if decide(faults, s, "GET", path, 0).kind == "drop" and decide(faults, s, "GET", path, 1).kind is None
    )
    with Sandbox(faults=faults, seed=seed) as sandbox, httpx.Client(base_url=sandbox.url, timeout=10) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(INFO, headers=KEY)
        again = client.get(INFO, headers=KEY)
        assert again.status_code == 404 and again.json()["code"] == 404
        assert client.get("/_sandbox/stats").status_code == 200


def test_on_loopback_a_429_carries_retry_after() -> None:
    with Sandbox(faults="429=1,retry_after=2") as sandbox:
        response = httpx.get(f"{sandbox.url}{INFO}", headers=KEY, timeout=10)
    assert response.status_code == 429 and response.headers["retry-after"] == "2"
    assert response.json()["error"]["code"] == "rate_limited"


# --- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", Faults()),
        ("429=0.1,5xx=0.2,drop=0.05,latency=0.01", Faults(rate_429=0.1, rate_5xx=0.2, rate_drop=0.05, latency=0.01)),
        (" 429 = 10% , RETRY-AFTER=3 ", Faults(rate_429=0.1, retry_after=3)),
        ("latency=0.01-0.05", Faults(latency=(0.01, 0.05))),
        ("latency=1e-3", Faults(latency=0.001)),
        ("rate_drop=1,", Faults(rate_drop=1.0)),
    ],
)
def test_parse_accepts_the_cli_syntax(spec: str, expected: Faults) -> None:
    assert Faults.parse(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("429", "not key=value"),
        ("429=", "not key=value"),
        ("timeout=1", "Unknown fault 'timeout'"),
        ("429=lots", "not a number"),
        ("429=0.1,429=0.2", "given twice"),
        ("429=1.5", "between 0 and 1"),
        ("5xx=-0.1", "between 0 and 1"),
        ("429=0.6,5xx=0.6", "must not exceed 1"),
        ("latency=-1", "0 or more"),
        ("latency=0.5-0.1", "min <= max"),
        ("latency=nan", "0 or more"),
        ("retry_after=1.5", "whole number of seconds"),
    ],
)
def test_parse_rejects_bad_input_with_a_clear_message(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Faults.parse(spec)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"rate_429": 0.1, "bogus": 1}, "Unknown fault setting 'bogus'"),
        ({"retry_after": -1}, "whole number"),
        ({"routes": {"^(": "429=1"}}, "not a valid regular expression"),
        ({"routes": {"/a": {"routes": {"/b": "429=1"}}}}, "do not nest"),
        (42, "not int"),
    ],
)
def test_coerce_rejects_bad_settings(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        fault_middleware(value)


def test_fault_middleware_accepts_faults_a_dict_or_a_string_alike() -> None:
    expected = Faults(rate_429=0.1, latency=(0.0, 0.2))
    for value in (expected, {"429": 0.1, "latency": [0, 0.2]}, "429=0.1,latency=0-0.2"):
        assert fault_middleware(value).faults == expected


def test_faults_repr_names_only_what_is_set() -> None:
    assert repr(Faults()) == "Faults()"
    assert repr(Faults.parse("429=0.1,retry_after=3")) == "Faults(rate_429=0.1, retry_after=3)"
