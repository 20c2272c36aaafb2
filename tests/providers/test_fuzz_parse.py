"""Any answer to any adapter's parse ends in a model or one of the package's own errors.

Every adapter and every parse (the ``Next`` steps they return included, and ``check``/``enveloped``)
is fed answers with any HTTP status and any body: random JSON of every type, raw bytes, and the
provider's real envelope with random leaves (odd numbers, wrong types, unsafe links) or fields
left out. Only ``RealAvatarError`` may escape; a parse that succeeds returns the right model with
string ids and http(s) links. Runs are derandomized (the same examples every time) and keep no
example database. The explicit cases below pin what a named malformed answer turns into.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from realavatar_nb import RealAvatarError
from realavatar_nb._config import Secret, Settings
from realavatar_nb._exceptions import MalformedResponseError
from realavatar_nb._models import Asset, GenerationJob, Verification, VerificationSession
from realavatar_nb._types import ASSET_STATUSES, JOB_STATUSES, PROVIDERS, VERIFICATION_STATUSES
from realavatar_nb._urls import is_http_url
from realavatar_nb.providers import get
from realavatar_nb.providers.apimart import Apimart
from realavatar_nb.providers.ark import Ark
from realavatar_nb.providers.base import Adapter, Next, token_session_id

from .conftest import generation

FUZZ = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Upstream's two sign with an access key pair besides the key: every adapter gets what it needs.
FUZZ_SETTINGS = Settings(access_key_id="AKAPfuzz", secret_key=Secret("fuzz-secret"))
TOKEN = "202603311449168C23BA26A1B2C3D4E5F6"
H5 = "https://h5-v2.kych5.com/?accessKeyId=AKTP1&configId=c1&bytedToken=" + TOKEN
CB = "https://app.example/cb"
GROUP = "group-20260318033332-7vw4m"
ASSET = "asset-20260520153701-pgxsl"
TASK = "task_01K8ZQ3J5V6W7X8Y9Z0A1B2C3D"
JOB = "cgt-20260520160000-abcde"
VIDEO = "https://cdn.example/out/clip.mp4"
FILE = "https://files.example/front.jpg"
DEEP = "[" * 100_000 + "]" * 100_000  # past json's recursion limit
DEEP_IN_ENVELOPE = '{"success": true, "code": 200, "data": ' + DEEP + "}"
# Leaves that have broken parsers: odd numbers, a 30-digit timestamp, wrong types, links that must not be followed.
ODD_LEAVES: list[Any] = [
    None, "", True, 0, -1, 1e308, -1e308, math.nan, math.inf, 10**30, 10**400, "²", "١٢٣", "9" * 30, "-" + "9" * 30,
    "NaN", "not a time", "2026-13-45T99:99:99Z", "javascript:alert(1)", "file:///etc/passwd", "data:text/html,x",
    "//evil.example/x", "asset://asset-x", "\ud800", "https://ok.example/\ud800", [], {}, [[[]]], {"url": 5},
    ["javascript:alert(1)"], VIDEO, "https://ok.example/a?b=\\u0026c", "2026-03-31T14:49:16Z", 1774968556,
    1774968556000, "1774968556", "Active", "completed", "SUCCESS", "verified", "10000", 10000,
]  # fmt: skip

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12)
)
JSON = st.recursive(
    SCALARS | st.sampled_from(ODD_LEAVES),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
LEAF = st.one_of(st.sampled_from(ODD_LEAVES), JSON)


def shaped(real: Any) -> st.SearchStrategy[Any]:
    """Return answers shaped like ``real``: each key kept or left out, each leaf mostly kept, else replaced.

    Mostly kept, so that a good share of answers parse and the models they give are checked too.
    """
    if isinstance(real, dict):
        keep = {k: shaped(v) for k, v in real.items()}
        every = st.fixed_dictionaries(keep)
        return st.one_of(every, every, every, st.fixed_dictionaries({}, optional=keep), LEAF)
    if isinstance(real, list) and real:
        return st.lists(shaped(real[0]), min_size=1, max_size=3) | st.lists(shaped(real[0]), max_size=3) | LEAF
    return st.sampled_from([real] * (4 * len(ODD_LEAVES)) + ODD_LEAVES)  # one draw: a fifth of leaves are odd


# -- the operations, each with the real answers of its steps --------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One parse to fuzz: the request it answers, how to parse, what it must return, and real answers per step."""

    name: str
    build: Callable[[Adapter], httpx.Request]
    parse: Callable[[Adapter, httpx.Response], Any]
    expect: Callable[[Any], None]  # asserts what a parse that succeeds returned
    answers: tuple[tuple[Any, ...], ...]  # alternatives, each a tuple of step answers


def _session(adapter: Adapter) -> VerificationSession:
    named_by_token = adapter.name in ("crun", "easyrouter", "anyfast")
    return VerificationSession(id=token_session_id(TOKEN) if named_by_token else TASK, provider=adapter.name,
                               h5_link=Secret(H5), byted_token=Secret(TOKEN),
                               expires_at=datetime.now(UTC))  # fmt: skip


def _asset_id(adapter: Adapter) -> str:
    return f"{TASK}#0" if adapter.name == "apimart" else ASSET  # APIMart reads an asset through its review handle


REF = Asset(id=ASSET, group_id=GROUP, status="active", asset_type="Image")


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def check_session(s: Any) -> None:
    assert isinstance(s, VerificationSession)
    assert _is_text(s.id) and _is_text(s.byted_token.reveal()) and is_http_url(s.h5_link.reveal())
    assert s.callback_url is None or is_http_url(s.callback_url)
    assert s.expires_at.tzinfo is not None and s.created_at.tzinfo is not None
    assert s.id != s.byted_token.reveal()  # a session id never is the token


def check_verification(v: Any) -> None:
    assert isinstance(v, Verification) and v.status in VERIFICATION_STATUSES
    assert v.group_id is None or _is_text(v.group_id)
    assert v.result_code is None or _is_text(v.result_code)


def check_asset(a: Any) -> None:
    assert isinstance(a, Asset) and _is_text(a.id) and a.status in ASSET_STATUSES
    for value in (a.group_id, a.name, a.asset_type, a.error_code, a.error_message, a.source):
        assert value is None or isinstance(value, str)


def check_assets(assets: Any) -> None:
    assert isinstance(assets, list)
    for a in assets:
        check_asset(a)


def check_page(page: Any) -> None:
    assert isinstance(page, tuple) and isinstance(page[1], bool)
    check_assets(page[0])


def check_job(j: Any) -> None:
    assert isinstance(j, GenerationJob) and _is_text(j.id) and j.status in JOB_STATUSES
    assert j.video_url is None or is_http_url(j.video_url)
    for value in (j.model, j.error_code, j.error_message):
        assert value is None or isinstance(value, str)


def check_anything(_: Any) -> None:
    """``check`` answers whatever JSON came; only what it raises matters."""


def check_fields(data: Any) -> None:
    assert isinstance(data.raw, dict) and data.at == "data"


def _toapis_ok(data: Any) -> dict[str, Any]:
    return {"success": True, "message": "", "data": data}


def _code_ok(data: Any) -> dict[str, Any]:
    return {"code": 200, "message": "success", "data": data}


ASSET_SNAKE = {"id": ASSET, "name": "front", "url": FILE, "group_id": GROUP, "asset_type": "Image",
               "status": "Active", "error": {"code": "FaceMismatch", "message": "Face check failed."},
               "create_time": "2026-05-20T15:37:01Z", "update_time": "2026-05-20T15:37:05Z"}  # fmt: skip
ASSET_PASCAL = {"Id": ASSET, "Name": "front", "URL": FILE, "AssetType": "Image", "GroupId": GROUP, "Status": "Active",
                "ProjectName": "default", "CreateTime": "2026-05-20T15:37:01Z", "UpdateTime": 1774968556,
                "Error": {"Code": "FaceMismatch", "Message": "Face consistency verification failed."}}  # fmt: skip
REVIEW = {"id": TASK, "status": "completed", "progress": 100, "result": {
    "assets": [{"asset_id": "asset_a", "asset_url": "asset://asset_a", "status": "Active"},
               {"asset_id": "asset_b", "asset_url": "asset://asset_b", "status": "Failed",
                "error": {"code": "FaceMismatch", "message": "no"}}],
    "usable_assets": [{"asset_id": "asset_a", "asset_url": "asset://asset_a", "status": "Active"}],
    "failed_assets": [{"asset_id": "asset_b", "asset_url": "asset://asset_b", "status": "Failed"}]},
    "error": {"code": "task_failed", "message": "Some assets failed review"}}  # fmt: skip

ANYFAST_TASK = {"code": "success", "message": "", "data": {
    "task_id": JOB, "action": "generate", "status": "SUCCESS", "result_url": VIDEO, "fail_reason": "",
    "progress": "100%", "data": {"id": "cgt-1", "content": {"video_url": VIDEO}, "status": "succeeded",
                                 "model": "doubao-seedance-2-0-260128"}}}  # fmt: skip

# Real answers per adapter and operation (reference/providers.md; the unit tests' examples).
ANSWERS: dict[str, dict[str, tuple[tuple[Any, ...], ...]]] = {
    "toapis": {
        "create_verification": (
            (_toapis_ok({"id": TASK, "status": "completed", "created_at": 1774968556}),
             _toapis_ok({"id": TASK, "task_id": TASK, "status": "completed", "h5_link": H5, "byted_token": TOKEN,
                         "expires_at": 1774968676, "created_at": 1774968556, "callback_url": CB})),
        ),
        "get_verification": (
            (_toapis_ok({"task_id": TASK, "verify_status": "verified", "group_id": GROUP, "result_code": "10000"}),),
        ),
        "upload": ((_toapis_ok({"asset_id": ASSET, "group_id": GROUP, "asset_type": "image", "source_url": FILE,
                                "status": "processing"}),),),
        "get_asset": ((_toapis_ok({"asset_id": ASSET, "group_id": GROUP, "asset_type": "image", "source_url": FILE,
                                   "status": "failed", "error": {"code": "FaceMismatch", "message": "no"}}),),),
        "generate": (({"id": JOB, "object": "generation.task", "model": "doubao-seedance-2-0", "status": "queued",
                       "progress": 0, "created_at": 1774968556},),),
        "get_job": (({"id": JOB, "status": "completed", "progress": 100, "completed_at": 1774968600,
                      "expires_at": 1775055000, "result": {"type": "video", "url": VIDEO}},),
                    ({"id": JOB, "status": "completed", "result": {"videos": [{"url": [VIDEO]}]}},)),
    },
    "apimart": {
        "create_verification": (
            (_code_ok({"id": TASK, "status": "completed"}),
             _code_ok({"id": TASK, "status": "processing"}),
             _code_ok({"id": TASK, "status": "completed", "created": 1774968556,
                       "result": {"byted_token": TOKEN, "h5_link": H5, "raw_response": {}}})),
        ),
        "get_verification": (
            (_code_ok({"id": "task_r", "status": "processing"}),
             _code_ok({"id": "task_r", "status": "completed",
                       "result": {"group_id": GROUP, "status": "verified", "result_code": "10000"}})),
            (_code_ok({"byted_token": TOKEN, "status": "verified", "group_id": GROUP}),),
        ),
        "upload": ((_code_ok({"id": TASK, "object": "seedance.avatar.asset.task", "status": "processing",
                              "progress": 10}),), (_code_ok(REVIEW),)),
        "get_asset": ((_code_ok(REVIEW),),),
        "review": ((_code_ok({"id": TASK, "status": "processing"}), _code_ok(REVIEW)),),
        "generate": (({"code": 200, "data": [{"status": "submitted", "task_id": JOB}]},),),
        "get_job": ((_code_ok({"id": JOB, "status": "completed", "progress": 100,
                               "result": {"videos": [{"url": [VIDEO]}], "thumbnail_url": FILE}}),),),
    },
    "crun": {
        "create_verification": ((_code_ok({"BytedToken": TOKEN, "H5Link": H5, "CallbackURL": CB, "ExpiresIn": 120}),),),
        "get_verification": ((_code_ok({"GroupId": GROUP}),),),
        "upload": ((_code_ok({"AssetId": ASSET}),),),
        "get_asset": ((_code_ok({**{k: v for k, v in ASSET_PASCAL.items() if k != "Id"}, "AssetId": ASSET}),),),
        "generate": ((_code_ok({"task_id": JOB}),),),
        "get_job": ((_code_ok({"task_id": JOB, "provider": "bytedance", "model_version": "bytedance/seedance2-0-r2v",
                               "status": "success", "param": {}, "create_at": 1774968556,
                               "result": {"video_url": VIDEO}, "duration_s": 5, "complete_at": 1774968600}),),),
    },
    "easyrouter": {
        "create_verification": ((_toapis_ok({"session_id": TOKEN, "byted_token": TOKEN,
                                             "h5_link": H5.replace("&", "\\u0026"), "callback_url": CB,
                                             "channel_id": 7, "status": "pending", "raw_response": "{}",
                                             "created_at": "2026-03-31T14:49:16Z",
                                             "expires_at": "2026-03-31T14:51:16Z"}),),),
        "get_verification": ((_toapis_ok({"session_id": TOKEN, "byted_token": TOKEN, "group_id": GROUP,
                                          "status": "verified", "result_code": "10000"}),),),
        "upload": (({**_toapis_ok({**ASSET_SNAKE, "status": "Processing"}), "warning": "async"},),),
        "get_asset": ((_toapis_ok(ASSET_SNAKE),),),
        "list_assets": ((_toapis_ok({"items": [ASSET_SNAKE], "total_count": 1, "page_number": 1,
                                     "page_size": 100}),),),
        "generate": (({"id": JOB, "task_id": JOB, "object": "video", "model": "dreamina-seedance-2-0",
                       "status": "queued", "progress": 0, "created_at": 1774968556},),),
        "get_job": (({"id": JOB, "task_id": JOB, "status": "completed", "progress": 100, "metadata": {"url": VIDEO},
                      "error": None},),
                    ({"code": "success", "data": {"task_id": JOB, "status": "FAILURE", "fail_reason": "no",
                                                  "result_url": ""}},)),
    },
    "anyfast": {
        "create_verification": (({"BytedToken": TOKEN, "CallbackURL": CB, "H5Link": H5},),
                                ({"ResponseMetadata": {"RequestId": "r"},
                                  "Result": {"BytedToken": TOKEN, "H5Link": H5, "ExpiresIn": 1800}},)),
        "get_verification": (({"GroupId": GROUP},),),
        "upload": (({"Id": ASSET},),),
        "get_asset": ((ASSET_PASCAL,),),
        "list_assets": (({"PageNumber": 1, "PageSize": 100, "TotalCount": 1, "Items": [ASSET_PASCAL]},),),
        "generate": (({"code": "success", "message": "", "data": {"task_id": JOB}},),),
        "get_job": ((ANYFAST_TASK,),),
        "enveloped": ((ANYFAST_TASK,),),
    },
}  # fmt: skip
ARK_META = {"RequestId": "20260521162915DFB89755D1A21AAE8036", "Action": "GetAsset", "Version": "2024-01-01",
            "Service": "ark", "Region": "ap-southeast-1"}  # fmt: skip
ARK_TASK = {"id": JOB, "model": "dreamina-seedance-2-0-260128", "status": "succeeded", "error": None,
            "content": {"video_url": VIDEO}, "usage": {"completion_tokens": 108872, "total_tokens": 108872},
            "created_at": 1775000000, "updated_at": 1775000060}  # fmt: skip
ANSWERS["byteplus"] = ANSWERS["volcengine"] = {
    "create_verification": (({"ResponseMetadata": ARK_META, "Result": {"BytedToken": TOKEN, "H5Link": H5,
                                                                       "CallbackURL": CB}},),),
    "get_verification": (({"ResponseMetadata": ARK_META, "Result": {"GroupId": GROUP}},), ({"GroupId": GROUP},)),
    "upload": (({"ResponseMetadata": ARK_META, "Result": {"Id": ASSET}},),),
    "get_asset": (({"ResponseMetadata": ARK_META, "Result": ASSET_PASCAL},),),
    "list_assets": (({"ResponseMetadata": ARK_META, "Result": {"PageNumber": 1, "PageSize": 100, "TotalCount": 1,
                                                               "Items": [ASSET_PASCAL]}},),),
    "generate": (({"id": JOB},),),
    "get_job": ((ARK_TASK,),),
}  # fmt: skip


def operations(adapter: Adapter) -> list[Operation]:
    """Return every parse of ``adapter`` with its request, its result check and its real answers."""
    real = ANSWERS[adapter.name]
    ops = [
        Operation("create_verification",
                  lambda a: a.build_create_verification(callback_url=CB, biz_id="b", locale="en", project=None),
                  lambda a, r: a.parse_create_verification(r, callback_url=CB), check_session,
                  real["create_verification"]),
        Operation("get_verification", lambda a: a.build_get_verification(_session(a), result_code="10000"),
                  lambda a, r: a.parse_get_verification(r, _session(a)), check_verification, real["get_verification"]),
        Operation("upload", lambda a: a.build_upload(group_id=GROUP, url=FILE, asset_type="Image", name="front"),
                  lambda a, r: a.parse_upload(r, group_id=GROUP, source=None), check_assets, real["upload"]),
        Operation("get_asset", lambda a: a.build_get_asset(_asset_id(a)), lambda a, r: a.parse_get_asset(r),
                  check_asset, real["get_asset"]),
        Operation("generate", lambda a: a.build_generate(generation(REF, seed=1)),
                  lambda a, r: a.parse_generate(r), check_job, real["generate"]),
        Operation("get_job", lambda a: a.build_get_job(JOB), lambda a, r: a.parse_get_job(r), check_job,
                  real["get_job"]),
        Operation("check", lambda a: a.build_get_asset(_asset_id(a)), lambda a, r: a.check(r), check_anything,
                  real["get_asset"]),
    ]  # fmt: skip
    if not isinstance(adapter, Ark):  # upstream has no {data} envelope: its Result is read by payload
        # Anyfast's asset answers are bare: its enveloped answer is the generation task's.
        ops.append(Operation("enveloped", lambda a: a.build_get_job(JOB), lambda a, r: a.enveloped(r), check_fields,
                             real.get("enveloped", real["get_asset"])))  # fmt: skip
    if adapter.can_list_assets:
        ops.append(Operation("list_assets", lambda a: a.build_list_assets(GROUP), lambda a, r: a.parse_list_assets(r),
                             check_page, real["list_assets"]))  # fmt: skip
    if isinstance(adapter, Apimart):  # a batch's whole review, APIMart's own read
        ops.append(
            Operation(
                "review",
                lambda a: cast(Apimart, a).build_get_review(TASK),
                lambda a, r: cast(Apimart, a).parse_review(r),
                check_assets,
                real["review"],
            )
        )
    return ops


ADAPTERS = {name: get(name).configured(None, Secret("fuzz-key"), FUZZ_SETTINGS) for name in PROVIDERS}
CASES = [pytest.param(adapter, op, id=f"{name}-{op.name}") for name, adapter in ADAPTERS.items()
         for op in operations(adapter)]  # fmt: skip


# -- answers ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One answer to send back: a status, a body (bytes as sent) and maybe a Retry-After header."""

    status: int
    body: bytes
    retry_after: str | None = None

    def __repr__(self) -> str:  # a 200 kB body would bury a failing example's report
        body = self.body if len(self.body) <= 120 else self.body[:100] + b"...(%d bytes)" % len(self.body)
        return f"Answer({self.status}, {body!r}, retry_after={self.retry_after!r})"

    def to(self, request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json"}
        if self.retry_after is not None:
            headers["retry-after"] = self.retry_after
        return httpx.Response(self.status, content=self.body, headers=headers, request=request)


STATUSES = st.one_of(st.just(200), st.just(200), st.sampled_from([201, 204, 301, 307, 400, 401, 402, 403, 404, 422,
                                                                  429, 455, 500, 501, 502, 505]),
                     st.integers(100, 599))  # fmt: skip
RETRY_AFTER = st.one_of(st.none(), st.sampled_from(["3", "inf", "nan", "1e308", "-5", "soon",
                                                    "Wed, 21 Oct 2015 07:28:00 GMT"]))  # fmt: skip


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()  # NaN and Infinity go out as JSON's non-standard tokens, as Python servers send


def answers(real: Any) -> st.SearchStrategy[Answer]:
    """Return answers to one step: the real one with random leaves, any JSON, or raw bytes, at any status."""
    odd = st.sampled_from([DEEP.encode(), DEEP_IN_ENVELOPE.encode(), b"", b"null", b"1e999", b"NaN"])
    like = shaped(real).map(_dumps)
    body = st.one_of(like, like, like, JSON.map(_dumps), st.binary(max_size=64), odd)
    return st.builds(Answer, STATUSES, body, RETRY_AFTER)


def conversations(op: Operation) -> st.SearchStrategy[list[Answer]]:
    """Return the answers to an operation's steps, shaped like one of its real conversations.

    One answer more than the steps, for a ``Next`` that asks again. Built once per operation: a
    strategy built afresh for every example would cost more than the parse it feeds.
    """
    return st.one_of(
        [st.tuples(*(answers(step) for step in steps), answers(steps[-1])).map(list) for steps in op.answers]
    )


def run(adapter: Adapter, op: Operation, conversation: list[Answer]) -> None:
    """Send the operation's request, answer each step, and check the result; only the package's errors escape."""
    request = op.build(adapter)
    try:
        result = op.parse(adapter, conversation[0].to(request))
        for answer in conversation[1:]:
            if not isinstance(result, Next):
                break
            result = result.parse(answer.to(result.request))
    except RealAvatarError:
        return
    if not isinstance(result, Next):  # a conversation may end while the provider still asks to wait
        op.expect(result)


CONVERSATIONS = {(adapter.name, op.name): conversations(op) for adapter in ADAPTERS.values()
                 for op in operations(adapter)}  # fmt: skip


@pytest.mark.parametrize(("adapter", "op"), CASES)
@FUZZ
@given(data=st.data())
def test_any_answer_parses_to_a_model_or_a_package_error(adapter: Adapter, op: Operation, data: st.DataObject) -> None:
    run(adapter, op, data.draw(CONVERSATIONS[adapter.name, op.name]))


@pytest.mark.parametrize(("adapter", "op"), CASES)
def test_the_real_answers_parse_to_their_models(adapter: Adapter, op: Operation) -> None:
    """The fuzz's starting points are answers the adapters accept (else the fuzz would only test refusals)."""
    for steps in op.answers:
        request = op.build(adapter)
        result = op.parse(adapter, Answer(200, _dumps(steps[0])).to(request))
        for step in steps[1:]:
            assert isinstance(result, Next), (op.name, step)
            result = result.parse(Answer(200, _dumps(step)).to(result.request))
        assert not isinstance(result, Next)
        op.expect(result)


# -- explicit cases: each malformed answer is a MalformedResponseError naming its field ---------------------------


def run_strict(adapter: Adapter, op: Operation, conversation: list[Answer]) -> Any:
    """Return what the operation answers to ``conversation`` (every step answered), raising what it raises."""
    result = op.parse(adapter, conversation[0].to(op.build(adapter)))
    for answer in conversation[1:]:
        assert isinstance(result, Next)
        result = result.parse(answer.to(result.request))
    return result


@pytest.mark.parametrize(("adapter", "op"), CASES)
@pytest.mark.parametrize("body", [DEEP, DEEP_IN_ENVELOPE], ids=["bare", "in-envelope"])
def test_json_nested_100000_deep_is_a_malformed_body(adapter: Adapter, op: Operation, body: str) -> None:
    with pytest.raises(MalformedResponseError) as caught:
        run_strict(adapter, op, [Answer(200, body.encode())])
    assert caught.value.field == "body" and caught.value.status_code == 200


def _with(steps: tuple[Any, ...], path: str, value: Any) -> list[Answer]:
    """Return the real conversation with the field at ``path`` (``data.h5_link``, in its last step) set to ``value``."""
    last = json.loads(json.dumps(steps[-1]))
    holder = last
    *parents, key = path.split(".")
    for part in parents:
        holder = holder[part]
    holder[key] = value
    return [Answer(200, _dumps(step)) for step in steps[:-1]] + [Answer(200, _dumps(last))]


# (adapter, operation, field as the error names it, path in the real answer's last step)
TIMES = [
    ("toapis", "create_verification", "data.expires_at", "data.expires_at"),
    ("apimart", "create_verification", "data.result.expires_at", "data.result.expires_at"),
    ("crun", "create_verification", "data.ExpiresAt", "data.ExpiresAt"),
    ("easyrouter", "create_verification", "data.created_at", "data.created_at"),
]
ODD_TIMES = [1e308, -1e308, math.nan, math.inf, "²", "9" * 30, 10**30, 10**400, True, [1], "not a time"]


@pytest.mark.parametrize(("name", "op_name", "field", "path"), TIMES)
@pytest.mark.parametrize("value", ODD_TIMES, ids=repr)
def test_an_odd_time_is_malformed_naming_its_field(name: str, op_name: str, field: str, path: str, value: Any) -> None:
    adapter = ADAPTERS[name]
    op = next(o for o in operations(adapter) if o.name == op_name)
    with pytest.raises(MalformedResponseError) as caught:
        run_strict(adapter, op, _with(op.answers[0], path, value))
    assert caught.value.field == field and caught.value.provider == name


def test_a_readable_time_is_still_read() -> None:
    adapter = ADAPTERS["toapis"]
    op = next(o for o in operations(adapter) if o.name == "create_verification")
    for value in (1774968676, "1774968676", 1774968676000, "2026-03-31T14:51:16Z"):
        s = run_strict(adapter, op, _with(op.answers[0], "data.expires_at", value))
        assert s.expires_at == datetime(2026, 3, 31, 14, 51, 16, tzinfo=UTC), value


# (adapter, operation, field, path): the links that are shown, QR-encoded or followed
LINKS = [
    ("toapis", "create_verification", "data.h5_link", "data.h5_link"),
    ("toapis", "create_verification", "data.callback_url", "data.callback_url"),
    ("apimart", "create_verification", "data.result.h5_link", "data.result.h5_link"),
    ("crun", "create_verification", "data.H5Link", "data.H5Link"),
    ("crun", "create_verification", "data.CallbackURL", "data.CallbackURL"),
    ("easyrouter", "create_verification", "data.h5_link", "data.h5_link"),
    ("anyfast", "create_verification", "H5Link", "H5Link"),
    ("toapis", "get_job", "result.url", "result.url"),
    ("apimart", "get_job", "data.result.videos[0].url[0]", "data.result.videos"),
    ("crun", "get_job", "data.result.video_url", "data.result.video_url"),
    ("easyrouter", "get_job", "metadata.url", "metadata.url"),
    ("anyfast", "get_job", "data.result_url", "data.result_url"),
    ("toapis", "get_asset", "data.source_url", "data.source_url"),
]
BAD_LINKS = ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,<script>x()</script>", "//evil.example/x",
             "https://", " https://h5.example/x", "https://h5.example/x\nSet-Cookie: a", "h5.example/x"]  # fmt: skip


@pytest.mark.parametrize(("name", "op_name", "field", "path"), LINKS)
@pytest.mark.parametrize("link", BAD_LINKS)
def test_a_link_that_is_not_http_is_refused_naming_its_field(
    name: str, op_name: str, field: str, path: str, link: str
) -> None:
    adapter = ADAPTERS[name]
    op = next(o for o in operations(adapter) if o.name == op_name)
    value: Any = [{"url": [link]}] if path.endswith("videos") else link
    with pytest.raises(MalformedResponseError) as caught:
        run_strict(adapter, op, _with(op.answers[0], path, value))
    assert caught.value.field == field
    assert link not in str(caught.value)  # an H5 link is a secret: the message names the field, not the value


def test_an_escaped_ampersand_in_a_link_is_undone_before_it_is_judged() -> None:
    adapter = ADAPTERS["anyfast"]
    op = next(o for o in operations(adapter) if o.name == "create_verification")
    s = run_strict(adapter, op, _with(op.answers[0], "H5Link", H5.replace("&", "\\u0026")))
    assert s.h5_link.reveal() == H5
    with pytest.raises(MalformedResponseError):  # an escape that spells a control character is no way around it
        run_strict(adapter, op, _with(op.answers[0], "H5Link", "https://h5.example/\\u000a"))


# (adapter, operation, field, path): tokens and ids that must be strings (no documented numeric id, so no number)
NOT_STRINGS = [
    ("toapis", "create_verification", "data.byted_token", "data.byted_token"),
    ("apimart", "create_verification", "data.result.byted_token", "data.result.byted_token"),
    ("crun", "create_verification", "data.BytedToken", "data.BytedToken"),
    ("easyrouter", "create_verification", "data.byted_token", "data.byted_token"),
    ("anyfast", "create_verification", "BytedToken", "BytedToken"),
    ("toapis", "get_asset", "data.asset_id", "data.asset_id"),
    ("crun", "upload", "data.AssetId", "data.AssetId"),
    ("easyrouter", "get_asset", "data.id", "data.id"),
    ("anyfast", "upload", "Id", "Id"),
    ("toapis", "get_verification", "data.group_id", "data.group_id"),
    ("crun", "get_verification", "data.GroupId", "data.GroupId"),
    ("anyfast", "get_verification", "GroupId", "GroupId"),
    ("toapis", "generate", "id", "id"),
    ("apimart", "generate", "data[0].task_id", "data"),
    ("crun", "get_job", "data.task_id", "data.task_id"),
    ("easyrouter", "get_job", "task_id", "task_id"),
    ("anyfast", "generate", "data.task_id", "data.task_id"),
]


@pytest.mark.parametrize(("name", "op_name", "field", "path"), NOT_STRINGS)
@pytest.mark.parametrize("value", [12345, 1.5, True, ["x"], {"id": "x"}, "\ud800"], ids=repr)
def test_a_token_or_id_that_is_not_a_string_is_refused_naming_its_field(
    name: str, op_name: str, field: str, path: str, value: Any
) -> None:
    adapter = ADAPTERS[name]
    op = next(o for o in operations(adapter) if o.name == op_name)
    # APIMart's generation answers data: [{status, task_id}]: put the value in its first item
    shaped_value = [{"status": "submitted", "task_id": value}] if path == "data" and name == "apimart" else value
    with pytest.raises(MalformedResponseError) as caught:
        run_strict(adapter, op, _with(op.answers[0], path, shaped_value))
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("name", "op_name", "field", "path", "value"),
    [
        ("easyrouter", "list_assets", "data.items[0]", "data.items", [5]),
        ("easyrouter", "list_assets", "data.items", "data.items", {"id": ASSET}),
        ("anyfast", "list_assets", "Items", "Items", "all of them"),
        ("easyrouter", "list_assets", "data.total_count", "data.total_count", 1e308),
        ("anyfast", "list_assets", "PageSize", "PageSize", "²"),
        ("crun", "create_verification", "data.ExpiresIn", "data.ExpiresIn", math.inf),
        ("anyfast", "create_verification", "ExpiresIn", "ExpiresIn", 1e308),
        ("apimart", "get_asset", "data.result.assets", "data.result.assets", 7),
        ("easyrouter", "get_asset", "data.error", "data.error", ["FaceMismatch"]),
        ("toapis", "get_job", "status", "status", ["completed"]),
        ("crun", "get_asset", "data.Status", "data.Status", None),
        ("toapis", "get_verification", "data.result_code", "data.result_code", 1.5),
    ],
)
def test_a_wrong_type_is_refused_naming_its_field(name: str, op_name: str, field: str, path: str, value: Any) -> None:
    adapter = ADAPTERS[name]
    op = next(o for o in operations(adapter) if o.name == op_name)
    with pytest.raises(MalformedResponseError) as caught:
        run_strict(adapter, op, _with(op.answers[0], path, value))
    assert caught.value.field == field


def test_a_numeric_result_code_is_read_as_text() -> None:
    """Upstream's resultCode is a number on the callback: a provider echoing it as one is within the contract."""
    adapter = ADAPTERS["easyrouter"]
    op = next(o for o in operations(adapter) if o.name == "get_verification")
    v = run_strict(adapter, op, _with(op.answers[0], "data.result_code", 10000))
    assert v.result_code == "10000" and v.verified


@pytest.mark.parametrize("body", [b"<html>bad gateway</html>", b"", b"\xff\xfe\x00", b"1e999x", b"[1, 2"])
def test_a_success_without_json_is_a_malformed_body(body: bytes) -> None:
    for adapter in ADAPTERS.values():
        with pytest.raises(MalformedResponseError) as caught:
            adapter.parse_get_job(Answer(200, body).to(adapter.build_get_job(JOB)))
        assert (caught.value.field, caught.value.provider) == ("body", adapter.name)


@pytest.mark.parametrize("hint", ["inf", "nan", "1e999"])
def test_a_retry_after_that_is_not_a_number_of_seconds_is_no_hint(hint: str) -> None:
    for adapter in ADAPTERS.values():
        with pytest.raises(RealAvatarError) as caught:
            refusal = Answer(429, b'{"message": "slow down"}', retry_after=hint)
            adapter.parse_get_job(refusal.to(adapter.build_get_job(JOB)))
        assert getattr(caught.value, "retry_after", "missing") is None, adapter.name


@example(value=10**400)
@example(value=-1)
@example(value="١٢٣")
@FUZZ
@given(value=LEAF)
def test_any_time_field_is_read_or_refused_as_malformed(value: Any) -> None:
    adapter = ADAPTERS["toapis"]
    op = next(o for o in operations(adapter) if o.name == "create_verification")
    try:
        s = run_strict(adapter, op, _with(op.answers[0], "data.expires_at", value))
    except MalformedResponseError as exc:
        assert exc.field == "data.expires_at"
    else:
        assert s.expires_at.tzinfo is not None
