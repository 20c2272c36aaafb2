"""Result objects: callbacks parse, secrets stay masked in every representation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import realavatar_nb as ra

TOKEN = "20260331171630CA67F03F8F85ABCDEF1234"
CALLBACK = (
    f"https://app.example/cb?bytedToken={TOKEN}&resultCode=10000&algorithmBaseRespCode=0"
    "&reqMeasureInfoValue=1&verify_type=real_time"
)


def test_parse_callback_reads_every_parameter() -> None:
    cb = ra.parse_callback(CALLBACK)
    assert cb.passed and cb.result_code == "10000"
    assert cb.byted_token.reveal() == TOKEN
    assert (cb.algorithm_code, cb.billed, cb.verify_type) == ("0", True, "real_time")


def test_parse_callback_accepts_escaped_ampersands_and_a_bare_query() -> None:
    escaped = CALLBACK.replace("&", "\\u0026")
    assert ra.parse_callback(escaped).byted_token.reveal() == TOKEN
    assert ra.parse_callback(CALLBACK.split("?", 1)[1]).passed


def test_a_failing_result_code_is_not_passed() -> None:
    cb = ra.parse_callback(f"https://x/cb?bytedToken={TOKEN}&resultCode=20001")
    assert not cb.passed and cb.result_code == "20001"


@pytest.mark.parametrize(
    "url", ["", "https://x/cb", "https://x/cb?resultCode=10000", f"https://x/cb?bytedToken={TOKEN}"]
)
def test_a_callback_without_token_or_code_raises_a_clear_error(url: str) -> None:
    with pytest.raises(ra.CallbackParseError, match="callback URL"):
        ra.parse_callback(url)


def _session() -> ra.VerificationSession:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    return ra.VerificationSession(
        id="tsk_1",
        provider="crun",
        h5_link=ra.Secret(f"https://h5.example/?bytedToken={TOKEN}"),
        byted_token=ra.Secret(TOKEN),
        expires_at=now + timedelta(seconds=120),
        created_at=now,
    )


def test_session_counts_down_against_an_injected_clock() -> None:
    session = _session()
    assert session.seconds_left(session.created_at + timedelta(seconds=30)) == 90
    assert session.expired(session.created_at + timedelta(seconds=120))
    assert not session.expired(session.created_at + timedelta(seconds=119))


@pytest.mark.parametrize("obj", [_session(), ra.parse_callback(CALLBACK)])
def test_tokens_and_links_never_appear_in_any_representation(obj: object) -> None:
    bundle = obj._repr_mimebundle_()  # type: ignore[attr-defined]
    for text in (repr(obj), str(obj), bundle["text/plain"], bundle["text/html"]):
        assert TOKEN not in text and "h5.example" not in text


def test_asset_uri_is_the_asset_reference() -> None:
    asset = ra.Asset(id="asset-20260318035710-kctzf", group_id="group-20260318033332-7vw4m", status="active")
    assert asset.uri == "asset://asset-20260318035710-kctzf"
    assert "active" in asset._repr_html_()


def test_parse_callback_is_total_over_any_text() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    pieces = st.sampled_from(["bytedToken=", "resultCode=", "&", "?", "\\u0026", "10000", "%", "=", "https://x/cb"])

    @settings(max_examples=300, derandomize=True, deadline=None)
    @given(st.one_of(st.text(), st.lists(st.one_of(pieces, st.text(max_size=5))).map("".join)))
    def check(text: str) -> None:
        try:
            result = ra.parse_callback(text)
        except ra.CallbackParseError:
            return
        assert result.byted_token.reveal() and result.result_code

    check()


@pytest.mark.parametrize(
    ("given_by", "purpose", "field"),
    [(None, None, "given_by"), ("", "study 12", "given_by"), ("   ", "study 12", "given_by"),
     ("Alice", None, "purpose"), ("Alice", " \t", "purpose"), ("Alice", 12, "purpose")],
)  # fmt: skip
def test_a_blank_or_missing_consent_field_does_not_pass_the_gate(given_by: object, purpose: object, field: str) -> None:
    with pytest.raises(ra.InvalidArgumentError) as caught:
        ra.Consent(given_by, purpose)  # type: ignore[arg-type]
    assert str(caught.value).startswith(f"Consent({field}=") and "non-empty string" in str(caught.value)


def test_a_consent_with_both_fields_is_recorded_as_given() -> None:
    consent = ra.Consent(given_by="Alice", purpose="study 12")
    assert (consent.given_by, consent.purpose) == ("Alice", "study 12")
