"""Random requests at every route of the emulator: never a 5xx, always an answer within seconds.

The routes are read from the app's ``routes`` (mounts walked) and the field and query names
from the string constants in each dialect's module, so a new dialect's routes and fields are
fuzzed without touching this file. Requests are aimed: mostly the route's own methods, a key
the dialect accepts, every field it reads, and real ids (a seeded session, group, asset, job
and file) wherever a field's name hints at one; the rest is noise (wrong types, nested junk,
bodies past the size cap, non-JSON bytes, garbage headers and paths).

Each request runs in a daemon thread joined with a timeout, so a handler that hangs fails its
example instead of hanging the suite. Runs are derandomized (the same examples every time) and
keep no example database.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from realavatar_nb.samples import make_image
from realavatar_nb.simulator import SimConfig, create_app, files, h5
from realavatar_nb.simulator import app as app_module
from realavatar_nb.simulator.dialects import DIALECTS, Dialect

REQUEST_TIMEOUT = 10.0  # seconds one request may take before its example fails
KEY = "fuzz-key"
C = "/crun/api/v1/client/job"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
GETTERS = frozenset({"text", "integer", "flag", "obj", "items"})  # base.Body's typed getters
NOT_FUZZED = frozenset({"/_sandbox/reset"})  # it would wipe the seeded ids every other example aims at
FUZZ = settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,  # the thread join in send() bounds each request; hypothesis's deadline only measures
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


# --- what the app offers ---------------------------------------------------------------------------


def _routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, tuple[str, ...]]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from _routes(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path, tuple(sorted(route.methods or ("GET",)))


def _app_routes() -> list[tuple[str, tuple[str, ...]]]:
    """Return every (path template, methods) the emulator serves, from a throwaway app."""
    with tempfile.TemporaryDirectory(prefix="fuzz-routes-") as root:
        app = create_app(workdir=root)
        app.state.sim.close()
        return sorted({route for route in _routes(list(app.routes)) if route[0] not in NOT_FUZZED})


@dataclass(frozen=True)
class Vocabulary:
    """The words a module's handlers read: identifier-like constants (field and query names), other short
    constants, and the type of each field read through a ``Body`` getter (``body.text("name")`` → text)."""

    names: tuple[str, ...]
    words: tuple[str, ...]
    types: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, *modules: ModuleType) -> Vocabulary:
        names: set[str] = set()
        words: set[str] = {"", " "}
        types: dict[str, set[str]] = {}
        for module in modules:
            for node in ast.walk(ast.parse(Path(inspect.getfile(module)).read_text(encoding="utf-8"))):
                value = node.value if isinstance(node, ast.Constant) else None
                if isinstance(value, str) and len(value) <= 80 and "\n" not in value:
                    (names if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,39}", value) else words).add(value)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in GETTERS:
                    first = node.args[0] if node.args else None
                    if isinstance(first, ast.Constant) and isinstance(first.value, str):
                        types.setdefault(first.value, set()).add(node.func.attr)
        return cls(tuple(sorted(names)), tuple(sorted(words)), {k: tuple(sorted(v)) for k, v in types.items()})


def _vocabularies() -> dict[str, Vocabulary]:
    """Return each dialect's vocabulary (its module and base.py's), and under "" the H5 page's and file host's."""
    base = sys.modules[Dialect.__module__]
    found = {name: Vocabulary.of(sys.modules[cls.__module__], base) for name, cls in DIALECTS.items()}
    found[""] = Vocabulary.of(h5, files, app_module)
    return found


ROUTES = _app_routes()
MOUNTS = sorted({path.split("/")[1] for path, _ in ROUTES})
EXAMPLES_PER_ROUTE = max(10, 1000 // len(ROUTES))  # the whole fuzz stays near 30 s as routes are added
VOCABULARIES = _vocabularies()


# --- the app under fuzz, with real things to aim at -------------------------------------------------


@dataclass
class Target:
    app: Starlette
    client: TestClient
    image: Path
    seeds: dict[str, list[str]] = field(default_factory=dict)  # kind (token, group, asset, ...) -> real values

    def ensure_seeded(self) -> None:
        """Seed again if an earlier example deleted the group or the asset (EasyRouter and Anyfast can)."""
        sim = self.app.state.sim
        if not self.seeds or self.seeds["group"][0] not in sim.groups or self.seeds["asset"][0] not in sim.assets:
            self.seeds = _seed(self.client, self.image)

    @property
    def everything(self) -> list[str]:
        return sorted({value for values in self.seeds.values() for value in values})


def _seed(client: TestClient, image: Path) -> dict[str, list[str]]:
    """Create, through Crun, a pending and a verified session, a hosted file, an Active asset and a job."""
    key = {"x-api-key": KEY}

    def session() -> str:
        r = client.post(f"{C}/visual-validate-session", json={"callback_url": "https://app.example/cb"}, headers=key)
        assert r.status_code == 200, r.text
        return str(r.json()["data"]["BytedToken"])

    pending, verified = session(), session()
    r = client.post(f"/h5/{verified}", data={"outcome": "pass", "person": "fuzz"}, follow_redirects=False)
    assert r.status_code in (200, 303), r.text
    r = client.get(f"{C}/visual-validate-result", params={"byted_token": verified}, headers=key)
    group = str(r.json()["data"]["GroupId"])
    with open(image, "rb") as fh:
        hosted = client.post("/files", files={"file": (image.name, fh)}, headers=key).json()
    body = {"name": "front", "asset_type": "Image", "asset_url": hosted["url"], "group_id": group}
    asset = str(client.post(f"{C}/asset-upload", json=body, headers=key).json()["data"]["AssetId"])
    client.app.state.sim.settle()  # type: ignore[attr-defined]
    task = {"model": "bytedance/seedance2-0-i2v", "input": {"prompt": "fuzz", "img_urls": [f"asset://{asset}"]}}
    r = client.post(f"{C}/CreateTask", json=task, headers=key)
    assert r.status_code == 200, r.text
    file_id, name = hosted["url"].rsplit("/", 2)[-2:]
    return {
        "token": [pending, verified],
        "group": [group],
        "asset": [asset],
        "job": [str(r.json()["data"]["task_id"])],
        "file": [file_id, name],
        "url": [hosted["url"], f"asset://{asset}", "data:image/png;base64,iVBORw0KGgo="],
    }


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    root = tmp_path_factory.mktemp("fuzz")
    config = SimConfig(processing_seconds=0.0, job_seconds=0.5)
    app = create_app(config, workdir=str(root / "sandbox"))
    image = make_image(root / "fuzz.jpg", width=600, height=800, person="fuzz", faces=1)
    with TestClient(app, base_url="http://sandbox.test", raise_server_exceptions=False) as client:
        found = Target(app, client, image)
        found.ensure_seeded()
        yield found
    app.state.sim.close()


# --- the requests ----------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    content: bytes

    def __repr__(self) -> str:
        body = self.content if len(self.content) <= 300 else self.content[:300] + b"...(%d bytes)" % len(self.content)
        return f"Request({self.method} {self.path} params={self.params} headers={self.headers} content={body!r})"


printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
_REFERENCE_LISTS = re.compile(r"urls|image|video|audio|content|reference|assets$|items$", re.I)
# A field whose name matches is given one of these real things when a request is aimed.
HINTS = (
    (re.compile(r"group", re.I), "group"),
    (re.compile(r"asset.?id|^ids?$|asset$", re.I), "asset"),
    (re.compile(r"token|session", re.I), "token"),
    (re.compile(r"task|job", re.I), "job"),
    (re.compile(r"(url|link|uri)$", re.I), "url"),
    (_REFERENCE_LISTS, "urls"),
    (re.compile(r"model", re.I), "model"),
    (re.compile(r"type|kind|role", re.I), "kind"),
    (re.compile(r"prompt|name|person|text|description", re.I), "text"),
)
_MODEL = re.compile(r"[a-z0-9][\w./-]*(seedance|volc|dreamina|doubao)[\w./-]*", re.I)
_KIND = re.compile(r"^(image|video|audio|text)(_url)?$|^reference_", re.I)


def weighted(*choices: tuple[int, Any]) -> st.SearchStrategy[Any]:
    """Sample each ``value`` with weight ``n`` from ``(n, value)`` pairs; shrinks toward the first."""
    return st.sampled_from([value for n, value in choices for _ in range(n) if n > 0])


class Values:
    """Strategies for the values of a dialect's fields: aimed at real things, or noise."""

    def __init__(self, target: Target, vocabulary: Vocabulary) -> None:
        self.names = vocabulary.names
        constants = vocabulary.names + vocabulary.words
        self.real = st.sampled_from(target.everything + list(constants))
        self.plain = st.one_of(self.real, self.real.map(lambda v: [v]), st.integers(-5, 30), st.booleans())
        seeds = {kind: list(values) for kind, values in target.seeds.items()}
        seeds["model"] = [c for c in constants if _MODEL.fullmatch(c)] or ["seedance"]
        seeds["kind"] = sorted({"Image", "Video", "Audio", *(c for c in constants if _KIND.search(c))})
        seeds["text"] = ["fuzz", "a slow smile", "前面"]
        seeds["urls"] = seeds["url"]
        self.seeds = {kind: st.sampled_from(values) for kind, values in seeds.items()}
        self.hinted = dict(self.seeds)
        url, kind = self.seeds["url"], self.seeds["kind"]
        self.hinted["urls"] = st.one_of(
            st.lists(url, min_size=1, max_size=3),
            st.lists(
                st.fixed_dictionaries({"url": url, "name": st.just("front"), "type": kind, "role": kind}), max_size=3
            ),
            st.lists(
                st.fixed_dictionaries({"type": kind, "image_url": st.fixed_dictionaries({"url": url})}), max_size=3
            ),
            url,
        )
        huge = st.integers(min_value=4000, max_value=200_000).map(lambda n: "x" * n)
        self.deep = st.recursive(scalars | self.real, self._containers, max_leaves=10) | huge
        self.types = vocabulary.types
        self.words = st.sampled_from([c for c in constants if c.strip()])

    def _containers(self, children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(self.names), children, max_size=4)

    def for_name(self, name: str, aimed: bool) -> st.SearchStrategy[Any]:
        """A JSON value for the field ``name``."""
        return self._pick(name, self.hinted, self.plain, aimed)

    def for_query(self, name: str, aimed: bool) -> st.SearchStrategy[str]:
        """A query-string value for ``name``."""
        return self._pick(name, self.seeds, self.real, aimed)

    def typed(self, name: str, depth: int = 0) -> st.SearchStrategy[Any]:
        """A value of the type the dialect reads ``name`` as (a hinted real thing where the name hints at one)."""
        hint = next((kind for pattern, kind in HINTS if pattern.search(name)), None)
        by_type = {
            "text": self.seeds.get(hint or "", self.words),
            "integer": st.integers(1, 15) | st.integers(-5, 100),
            "flag": st.booleans(),
            "obj": self.typed_object(depth + 1) if depth < 1 else st.just({}),
            "items": self.hinted["urls"],
        }
        kinds = self.types.get(name, ())
        return st.sampled_from(kinds).flatmap(lambda kind: by_type[kind])

    def typed_object(self, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
        """An object with every typed field of the dialect, each of its type, plus the lists of references."""
        lists = [n for n in self.names if n not in self.types and _REFERENCE_LISTS.search(n)]
        typed = {name: self.typed(name, depth) for name in self.types}
        return st.fixed_dictionaries({**typed, **{name: self.hinted["urls"] for name in lists}})

    @staticmethod
    def _pick(name: str, hinted: dict[str, Any], otherwise: st.SearchStrategy[Any], aimed: bool) -> Any:
        kind = next((kind for pattern, kind in HINTS if pattern.search(name)), None)
        if kind is None:
            return otherwise
        return weighted((9 if aimed else 1, True), (1, False)).flatmap(lambda hit: hinted[kind] if hit else otherwise)


@st.composite
def _json_object(draw: st.DrawFn, values: Values, every_field: bool, aimed: bool) -> dict[str, Any]:
    """Some of the dialect's field names, or every one (so required fields are there), plus unknown ones."""
    data = {name: draw(values.for_name(name, aimed)) for name in values.names} if every_field else {}
    if every_field and draw(st.booleans()):  # one level down too: Crun's "input", Toapis' "metadata", …
        data[draw(st.sampled_from(values.names))] = {name: draw(values.for_name(name, aimed)) for name in values.names}
    for name in draw(st.lists(st.sampled_from(values.names), max_size=2 if aimed else 6)):
        data[name] = draw(values.deep | values.plain)
    if not aimed:
        data.update(draw(st.dictionaries(st.text(max_size=12), scalars, max_size=3)))
    return data


@st.composite
def _body(draw: st.DrawFn, values: Values, *, aimed: bool = False, every_field: bool = True) -> bytes:
    if aimed:
        data = draw(values.typed_object())
        for name in draw(st.lists(st.sampled_from(values.names), max_size=2)):  # a little noise even so
            data[name] = draw(values.deep | values.plain)
        return json.dumps(data).encode()
    kind = draw(weighted((3 if every_field else 0, "every field"), (3, "some fields"), (1, "empty"), (1, "json"),
                         (1, "bytes"), (1, "form"), (1, "huge")))  # fmt: skip
    if kind in ("every field", "some fields"):
        data = draw(_json_object(values, every_field=kind == "every field", aimed=False))
        return json.dumps(data).encode()  # NaN and Infinity included: Python's json reads them
    if kind == "json":
        return json.dumps(draw(st.recursive(scalars, lambda c: st.lists(c, max_size=4), max_leaves=8))).encode()
    if kind == "huge":  # around the 1 MiB JSON cap, and past it
        size = draw(st.sampled_from([(1 << 20) - 40, (1 << 20) + 1, 3 << 20]))
        return json.dumps({draw(st.sampled_from(values.names)): "x" * size}).encode()
    if kind == "form":
        outcome = st.sampled_from(["pass", "fail"]) | printable
        fields = draw(st.fixed_dictionaries({}, optional={"outcome": outcome, "person": printable, "x": printable}))
        return "&".join(f"{quote(k)}={quote(v)}" for k, v in fields.items()).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=2000))
    return b""


AIMED_HEADERS = {"x-api-key": KEY, "authorization": f"Bearer {KEY}", "content-type": "application/json"}


@st.composite
def _headers(draw: st.DrawFn) -> dict[str, str]:
    headers: dict[str, str] = {}
    auth = draw(weighted((3, "both"), (1, "none"), (1, "x-api-key"), (1, "bearer"), (1, "garbage"), (1, "empty")))
    if auth in ("x-api-key", "both"):
        headers["x-api-key"] = KEY
    if auth in ("bearer", "both"):
        headers["authorization"] = f"Bearer {KEY}"
    if auth == "garbage":
        headers[draw(st.sampled_from(["x-api-key", "authorization"]))] = draw(printable)
    if auth == "empty":
        headers.update({"authorization": "Bearer ", "x-api-key": ""})
    content_type = draw(
        st.sampled_from(
            [
                None,
                "application/json",
                "application/json; charset=latin-1",
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data",
                "multipart/form-data; boundary=fuzz",
                "",
            ]
        )
        | printable
    )
    if content_type is not None:
        headers["content-type"] = content_type
    return headers


@st.composite
def _segment(draw: st.DrawFn, name: str, target: Target, aimed: bool) -> str:
    """A path parameter: the real thing its name hints at when aimed; else any seed, text or a traversal."""
    kind = next((kind for pattern, kind in HINTS if pattern.search(name) and kind in target.seeds), "file")
    noise = st.sampled_from(target.everything) | st.text(min_size=1, max_size=40) | st.sampled_from(["..", "%2F"])
    return quote(draw(st.sampled_from(target.seeds[kind]) if aimed else noise), safe="")


@st.composite
def real_requests(draw: st.DrawFn, target: Target, template: str, methods: tuple[str, ...]) -> Request:
    """A request on ``template``: half aimed (its methods, a key, every field it reads, real ids), half noise."""
    values = Values(target, VOCABULARIES.get(template.split("/")[1], VOCABULARIES[""]))
    aimed = draw(st.booleans())
    method = draw(st.sampled_from(methods) if aimed or draw(st.booleans()) else st.sampled_from(METHODS))
    path = re.sub(r"\{([^}:]+)[^}]*\}", lambda m: draw(_segment(m.group(1), target, aimed)), template)
    if aimed or draw(st.booleans()):  # every name the dialect reads, as a query parameter
        params = {name: draw(values.for_query(name, aimed)) for name in values.names}
    else:
        params = draw(st.dictionaries(st.sampled_from(values.names), printable | st.text(max_size=20), max_size=4))
    headers = dict(AIMED_HEADERS) if aimed else draw(_headers())
    return Request(method, path, params, headers, draw(_body(values, aimed=aimed)))


@st.composite
def junk_requests(draw: st.DrawFn, target: Target) -> Request:
    """A request on a path no route serves (most of the time), under a real mount or none."""
    values = Values(target, VOCABULARIES[""])
    prefix = draw(st.sampled_from(["", *(f"/{m}" for m in MOUNTS)]))
    segments = draw(st.lists(st.text(min_size=1, max_size=20) | st.sampled_from(values.names), max_size=6))
    path = prefix + "".join("/" + quote(s, safe="") for s in segments) + draw(st.sampled_from(["", "/"]))
    body = draw(_body(values, every_field=False))
    return Request(draw(st.sampled_from(METHODS)), path or "/", {}, draw(_headers()), body)


# --- sending ---------------------------------------------------------------------------------------


def send(client: TestClient, request: Request) -> httpx.Response:
    """Send ``request`` from a daemon thread; fail if no whole response arrives within the timeout."""
    outcome: list[httpx.Response | BaseException] = []

    def run() -> None:
        r = request
        try:
            outcome.append(client.request(r.method, r.path, params=r.params, headers=r.headers, content=r.content))
        except BaseException as exc:  # re-raised below, in the test's thread
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True, name="fuzz-request")
    worker.start()
    worker.join(REQUEST_TIMEOUT)
    if worker.is_alive():
        pytest.fail(f"No answer within {REQUEST_TIMEOUT} s to {request!r}")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def assert_answered_without_a_server_error(target: Target, request: Request) -> None:
    response = send(target.client, request)
    assert response.status_code < 500, f"{response.status_code} for {request!r}: {response.text[:500]}"


# --- the tests -------------------------------------------------------------------------------------


def test_the_fuzzer_finds_the_routes_and_fields(target: Target) -> None:
    paths = {path for path, _ in ROUTES}
    assert f"{C}/asset-info" in paths and "/h5/{token}" in paths and "/files" in paths
    assert {"crun", "h5", "files"} <= set(MOUNTS) and "/_sandbox/reset" not in paths
    assert {"callback_url", "asset_id", "group_id"} <= set(VOCABULARIES["crun"].names)
    assert all(target.seeds.values())


@pytest.mark.parametrize(("template", "methods"), ROUTES, ids=[f"{'|'.join(m)} {t}" for t, m in ROUTES])
@settings(FUZZ, max_examples=EXAMPLES_PER_ROUTE)
@given(data=st.data())
def test_a_route_never_answers_a_server_error(
    target: Target, template: str, methods: tuple[str, ...], data: st.DataObject
) -> None:
    target.ensure_seeded()
    assert_answered_without_a_server_error(target, data.draw(real_requests(target, template, methods)))


@settings(FUZZ, max_examples=120)
@given(data=st.data())
def test_junk_paths_never_answer_a_server_error(target: Target, data: st.DataObject) -> None:
    assert_answered_without_a_server_error(target, data.draw(junk_requests(target)))
