"""What every adapter shares: ids checked and quoted before they reach a URL, answers read through ``Fields``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from realavatar_nb._config import Secret, fingerprint
from realavatar_nb._exceptions import InvalidArgumentError, MalformedResponseError
from realavatar_nb._models import VerificationSession
from realavatar_nb.providers.anyfast import Anyfast
from realavatar_nb.providers.apimart import Apimart
from realavatar_nb.providers.base import Adapter, Fields, Next, path_segment, retry_after, token_session_id
from realavatar_nb.providers.crun import Crun
from realavatar_nb.providers.easyrouter import EasyRouter
from realavatar_nb.providers.fields import parse_time, reason
from realavatar_nb.providers.toapis import Toapis

from .conftest import respond

TOKEN = "202603311449168C23BA26A1B2C3D4E5F6"
HOSTILE = ["a/b", "../../v1/videos/generations", "x?y=1", "x#frag", "%2e%2e", "a b", "asset-1/..", "é"]

KEY = Secret("k")
toapis, apimart, crun = Toapis(None, KEY), Apimart(None, KEY), Crun(None, KEY)
easyrouter, anyfast = EasyRouter(None, KEY), Anyfast(None, KEY)
URL = "https://files.example/a.jpg"

# (name, build the request for an id, the path before the id)
VV = "/api/resource-channel/byteplus/visual-validate"
PATH_IDS: list[tuple[str, Callable[[str], httpx.Request], str]] = [
    ("toapis.get_asset", toapis.build_get_asset, "/v1/videos/doubao-seedance-2-0/real-avatar/assets/"),
    ("toapis.get_job", toapis.build_get_job, "/v1/videos/generations/"),
    ("apimart.get_asset", lambda i: apimart.build_get_asset(f"{i}#0"), "/v1/tasks/"),
    ("apimart.get_job", apimart.build_get_job, "/v1/tasks/"),
    ("apimart.get_review", apimart.build_get_review, "/v1/tasks/"),
    ("easyrouter.get_asset", easyrouter.build_get_asset, f"{VV}/assets/"),
    ("easyrouter.delete_asset", easyrouter.build_delete_asset, f"{VV}/assets/"),
    ("easyrouter.delete_group", easyrouter.build_delete_group, f"{VV}/asset-groups/"),
    ("easyrouter.get_job", easyrouter.build_get_job, "/v1/video/generations/"),
    ("anyfast.get_job", anyfast.build_get_job, "/v1/video/generations/"),
]  # fmt: skip


@pytest.mark.parametrize(("build", "prefix"), [pytest.param(b, p, id=n) for n, b, p in PATH_IDS])
@pytest.mark.parametrize("hostile", HOSTILE)
def test_an_id_stays_one_path_segment_whatever_it_holds(
    build: Callable[[str], httpx.Request], prefix: str, hostile: str
) -> None:
    request = build(hostile)
    assert request.url.raw_path.decode() == prefix + quote(hostile, safe="")
    assert not request.url.query and not request.url.fragment  # a ? or # in the id stays in the path


# (name, build the request for an id, the argument the refusal names)
ALL_IDS: list[tuple[str, Callable[[Any], httpx.Request], str]] = [
    ("toapis.get_asset", toapis.build_get_asset, "asset_id"),
    ("toapis.get_job", toapis.build_get_job, "job_id"),
    ("toapis.upload", lambda i: toapis.build_upload(group_id=i, url=URL, asset_type="Image", name=None), "group_id"),
    ("apimart.get_asset", apimart.build_get_asset, "asset_id"),
    ("apimart.get_job", apimart.build_get_job, "job_id"),
    ("apimart.get_review", apimart.build_get_review, "task_id"),
    ("apimart.upload", lambda i: apimart.build_upload(group_id=i, url=URL, asset_type="Image", name=None), "group_id"),
    ("crun.get_asset", crun.build_get_asset, "asset_id"),
    ("crun.get_job", crun.build_get_job, "job_id"),
    ("crun.upload", lambda i: crun.build_upload(group_id=i, url=URL, asset_type="Image", name=None), "group_id"),
    ("easyrouter.get_asset", easyrouter.build_get_asset, "asset_id"),
    ("easyrouter.delete_asset", easyrouter.build_delete_asset, "asset_id"),
    ("easyrouter.delete_group", easyrouter.build_delete_group, "group_id"),
    ("easyrouter.get_job", easyrouter.build_get_job, "job_id"),
    ("easyrouter.list_assets", easyrouter.build_list_assets, "group_id"),
    ("easyrouter.upload", lambda i: easyrouter.build_upload(group_id=i, url=URL, asset_type="Image", name=None),
     "group_id"),
    ("anyfast.get_asset", anyfast.build_get_asset, "asset_id"),
    ("anyfast.delete_asset", anyfast.build_delete_asset, "asset_id"),
    ("anyfast.get_job", anyfast.build_get_job, "job_id"),
    ("anyfast.list_assets", anyfast.build_list_assets, "group_id"),
    ("anyfast.upload", lambda i: anyfast.build_upload(group_id=i, url=URL, asset_type="Image", name=None), "group_id"),
    ("anyfast.upload_file", lambda i: anyfast.build_upload_file(i, b"jpeg"), "group_id"),
]  # fmt: skip


@pytest.mark.parametrize(("build", "argument"), [pytest.param(b, a, id=n) for n, b, a in ALL_IDS])
@pytest.mark.parametrize("empty", ["", "   "], ids=["empty", "blank"])
def test_an_empty_id_is_refused_before_anything_is_built(
    build: Callable[[str], httpx.Request], argument: str, empty: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=f"^{argument} must be a non-empty string"):
        build(empty)


@pytest.mark.parametrize(("build", "argument"), [pytest.param(b, a, id=n) for n, b, a in ALL_IDS])
def test_an_id_that_is_not_a_string_is_refused_naming_the_argument(
    build: Callable[[Any], httpx.Request], argument: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=f"^{argument} must be a non-empty string, not a number"):
        build(12)


@pytest.mark.parametrize("dots", [".", ".."])
def test_a_dot_segment_is_refused_since_it_would_climb_the_path(dots: str) -> None:
    with pytest.raises(InvalidArgumentError, match="asset_id must be an id"):
        easyrouter.build_delete_asset(dots)
    assert path_segment(".x.", "asset_id") == ".x."  # dots inside an id are an id's own business


def test_a_task_id_from_an_answer_is_quoted_too() -> None:
    """A provider's own task id goes into the next request's path: it cannot steer that path either."""
    request = toapis.build_create_verification(callback_url=None, biz_id=None, locale=None, project=None)
    step = toapis.parse_create_verification(
        respond(request, 200, {"success": True, "data": {"id": "../../assets/x?y", "status": "completed"}}),
        callback_url=None,
    )
    assert isinstance(step, Next)
    assert step.request.url.raw_path.decode().endswith("/verify-tasks/..%2F..%2Fassets%2Fx%3Fy")


# -- sessions named by their token ------------------------------------------------------------------------------


@pytest.mark.parametrize("adapter", [crun, easyrouter, anyfast], ids=lambda a: a.name)
def test_a_session_named_by_its_token_has_the_tokens_fingerprint_as_id(adapter: Adapter) -> None:
    answers = {
        "crun": {"code": 200, "data": {"BytedToken": TOKEN, "H5Link": "https://h5.example/x"}},
        "easyrouter": {"success": True, "data": {"session_id": TOKEN, "byted_token": TOKEN,
                                                 "h5_link": "https://h5.example/x"}},
        "anyfast": {"BytedToken": TOKEN, "H5Link": "https://h5.example/x"},
    }  # fmt: skip
    request = adapter.build_create_verification(callback_url=None, biz_id=None, locale=None, project=None)
    s = adapter.parse_create_verification(respond(request, 200, answers[adapter.name]), callback_url=None)
    assert s.id == token_session_id(TOKEN) == fingerprint(TOKEN) and TOKEN not in s.id
    assert s.byted_token.reveal() == TOKEN
    # the token, not the fingerprint, is what the result query sends
    look = adapter.build_get_verification(s, result_code=None)
    assert TOKEN in str(look.url) + look.content.decode() and s.id not in str(look.url) + look.content.decode()


def test_easyrouter_uses_a_session_id_of_its_own_as_it_is() -> None:
    """inferred: a gateway whose session_id differs from the token names the session by it (no secret)."""
    request = easyrouter.build_create_verification(callback_url=None, biz_id=None, locale=None, project=None)
    answer = {"success": True, "data": {"session_id": "sess_42", "byted_token": TOKEN, "h5_link": "https://h5.e/x"}}
    s = easyrouter.parse_create_verification(respond(request, 200, answer), callback_url=None)
    assert (s.id, s.byted_token.reveal()) == ("sess_42", TOKEN)
    assert str(easyrouter.build_get_verification(s, result_code=None).url).endswith("/sessions/sess_42")


def test_easyrouter_asks_for_a_restored_session_by_its_token() -> None:
    s = VerificationSession(id=fingerprint(TOKEN), provider="easyrouter", h5_link=Secret("https://h5.e/x"),
                            byted_token=Secret(TOKEN), expires_at=datetime.now(UTC))  # fmt: skip
    assert str(easyrouter.build_get_verification(s, result_code="10000").url).endswith(
        f"/sessions/{TOKEN}?result_code=10000"
    )


# -- Fields, times and hints ------------------------------------------------------------------------------------


def test_fields_name_the_place_of_a_bad_field_and_never_its_value() -> None:
    data = Fields({"h5_link": "javascript:alert('secret-123')", "n": [1]}, "data", provider="p")
    with pytest.raises(MalformedResponseError) as caught:
        data.link("h5_link")
    assert caught.value.field == "data.h5_link" and "secret-123" not in str(caught.value)
    with pytest.raises(MalformedResponseError, match=r"data\.n is a list, not a string"):
        data.text("n")
    with pytest.raises(MalformedResponseError, match=r"data\.id or data\.task_id is missing") as missing:
        data.required("id", "task_id")
    assert missing.value.field == "data.id"
    assert "secret-123" not in repr(data)


def test_fields_of_something_that_is_not_an_object_name_where_it_was() -> None:
    with pytest.raises(MalformedResponseError) as caught:
        Fields([1, 2], "data.result", provider="p")
    assert caught.value.field == "data.result" and "a list" in str(caught.value)
    with pytest.raises(MalformedResponseError) as body:
        Fields("text", "", provider="p")
    assert body.value.field == "body"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1774968676, datetime(2026, 3, 31, 14, 51, 16, tzinfo=UTC)),
        (1774968676000, datetime(2026, 3, 31, 14, 51, 16, tzinfo=UTC)),
        (" 1774968676 ", datetime(2026, 3, 31, 14, 51, 16, tzinfo=UTC)),
        (1774968676.5, datetime(2026, 3, 31, 14, 51, 16, 500000, tzinfo=UTC)),
        ("2026-03-31T14:51:16Z", datetime(2026, 3, 31, 14, 51, 16, tzinfo=UTC)),
        ("2026-03-31T22:51:16+08:00", datetime(2026, 3, 31, 14, 51, 16, tzinfo=UTC)),
        ("2026-03-31T14:51:16", datetime(2026, 3, 31, 14, 51, 16, tzinfo=UTC)),  # naive is UTC
        (None, None),
        ("", None),
    ],
)
def test_parse_time_reads_unix_seconds_milliseconds_and_iso(value: Any, expected: datetime | None) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize("value", [1e308, float("nan"), float("inf"), "²", "9" * 30, 10**30, 10**400, True, [1],
                                   {"s": 1}, "soon", "2026-02-30T00:00:00Z"])  # fmt: skip
def test_parse_time_refuses_what_is_not_a_time_with_a_value_error(value: Any) -> None:
    with pytest.raises(ValueError):
        parse_time(value)


@pytest.mark.parametrize(("raw", "seconds"), [("3", 3.0), ("-5", 0.0), ("inf", None), ("nan", None), ("soon", None)])
def test_retry_after_takes_finite_seconds_only(raw: str, seconds: float | None) -> None:
    assert retry_after(httpx.Response(429, headers={"retry-after": raw})) == seconds


def test_reason_reads_refusal_text_leniently_but_never_str_of_an_object() -> None:
    assert (reason("no quota"), reason(402), reason(""), reason(None)) == ("no quota", "402", None, None)
    assert (reason({"deep": [[[]]]}), reason([1]), reason(True), reason(1.5)) == (None, None, None, None)
    assert reason("x" * 5000) == "x" * 2000 + "…" and reason("\ud800") == "\ufffd"
