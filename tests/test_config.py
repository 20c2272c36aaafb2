"""Settings come from an injectable mapping; secrets never print."""

from __future__ import annotations

import pickle

import pytest

import realavatar_nb as ra
from realavatar_nb._config import Settings, mask

KEY = "sk-live-0123456789abcdefXYZ"


def test_provider_specific_key_wins_over_the_generic_one() -> None:
    env = {"REALAVATAR_CRUN_API_KEY": KEY, "REALAVATAR_API_KEY": "generic-key"}
    settings = ra.Settings.from_env(env, provider="crun")
    assert settings.api_key is not None and settings.api_key.reveal() == KEY


def test_generic_key_is_used_when_no_provider_key_is_set() -> None:
    settings = ra.Settings.from_env({"REALAVATAR_API_KEY": KEY, "REALAVATAR_PROVIDER": "toapis"})
    assert settings.provider == "toapis"
    assert settings.require_api_key().reveal() == KEY


def test_default_provider_is_the_sandbox_and_needs_no_key() -> None:
    settings = ra.Settings.from_env({})
    assert settings.provider == "sandbox" and settings.api_key is None


def test_settings_never_show_the_key() -> None:
    settings = ra.Settings.from_env({"REALAVATAR_API_KEY": KEY}, provider="anyfast")
    for text in (
        repr(settings),
        str(settings),
        f"{settings.api_key}",
        repr(settings.api_key),
        str(settings.api_key),
    ):
        assert KEY not in text
        assert "dabcdef" not in text


def test_secret_survives_pickling_and_compares_by_value() -> None:
    secret = ra.Secret(KEY)
    again = pickle.loads(pickle.dumps(secret))
    assert again == secret and again.reveal() == KEY


def test_missing_key_for_a_real_provider_raises_with_the_variable_names() -> None:
    with pytest.raises(ra.MissingAPIKeyError, match="REALAVATAR_EASYROUTER_API_KEY"):
        ra.Settings.from_env({}, provider="easyrouter").require_api_key()


def test_unknown_provider_is_a_configuration_error_listing_the_choices() -> None:
    with pytest.raises(ra.ConfigurationError, match="toapis"):
        ra.Settings.from_env({"REALAVATAR_PROVIDER": "openai"})


def test_a_timeout_that_is_not_a_number_names_the_variable() -> None:
    with pytest.raises(ra.ConfigurationError, match="REALAVATAR_TIMEOUT"):
        ra.Settings.from_env({"REALAVATAR_TIMEOUT": "soon"})


def test_mask_keeps_at_most_a_quarter_of_the_value() -> None:
    assert mask(KEY, keep=4) == "**********" + KEY[-4:]
    assert mask("abcd", keep=4) == "**********d"
    assert mask(None) == ""


@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf", "-inf", "soon", "1e999"])
@pytest.mark.parametrize(
    "name",
    ["REALAVATAR_TIMEOUT", "REALAVATAR_POLL_INTERVAL", "REALAVATAR_DEADLINE", "REALAVATAR_CREATE_DEADLINE",
     "REALAVATAR_DOWNLOAD_DEADLINE", "REALAVATAR_MAX_RESPONSE_BYTES", "REALAVATAR_MAX_DOWNLOAD_BYTES"],
)  # fmt: skip
def test_a_numeric_setting_must_be_finite_and_above_zero(name: str, value: str) -> None:
    with pytest.raises(ra.ConfigurationError) as caught:
        ra.Settings.from_env({name: value})
    message = str(caught.value)
    assert f"{name}={value!r}" in message and "\n" not in message  # names the variable and the value, one line
    assert "above 0" in message and f"e.g. {name}=" in message  # and says what it takes


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_the_autopilot_takes_zero_but_nothing_negative_or_endless(value: str) -> None:
    assert ra.Settings.from_env({"REALAVATAR_AUTOPILOT": "0"}).autopilot == 0.0  # passes each session at once
    with pytest.raises(ra.ConfigurationError, match=r"REALAVATAR_AUTOPILOT.*0 or more"):
        ra.Settings.from_env({"REALAVATAR_AUTOPILOT": value})


def test_limits_have_sane_defaults_and_read_from_the_environment() -> None:
    default = ra.Settings.from_env({})
    assert (default.request_timeout, default.deadline, default.create_deadline) == (30.0, 120.0, 300.0)
    assert (default.max_response_bytes, default.max_download_bytes) == (16 * 1024**2, 2 * 1024**3)
    assert default.download_deadline == 600.0
    env = {
        "REALAVATAR_TIMEOUT": "15",
        "REALAVATAR_DEADLINE": "60.5",
        "REALAVATAR_CREATE_DEADLINE": "900",
        "REALAVATAR_DOWNLOAD_DEADLINE": "1200",
        "REALAVATAR_MAX_RESPONSE_BYTES": "64MiB",
        "REALAVATAR_MAX_DOWNLOAD_BYTES": "500 MB",
        "REALAVATAR_POLL_INTERVAL": "0.5",
    }
    s = ra.Settings.from_env(env)
    assert (s.request_timeout, s.deadline, s.create_deadline, s.download_deadline) == (15.0, 60.5, 900.0, 1200.0)
    assert (s.max_response_bytes, s.max_download_bytes, s.poll_interval) == (64 * 1024**2, 500_000_000, 0.5)
    assert isinstance(s.max_response_bytes, int)


@pytest.mark.parametrize("value", ["1.5", "16XB", "1e6", "1.0001KB"])
def test_a_byte_limit_is_a_whole_number_of_bytes(value: str) -> None:
    with pytest.raises(ra.ConfigurationError, match="whole number of bytes"):
        ra.Settings.from_env({"REALAVATAR_MAX_RESPONSE_BYTES": value})
    assert ra.Settings.from_env({"REALAVATAR_MAX_RESPONSE_BYTES": "1.5KiB"}).max_response_bytes == 1536


@pytest.mark.parametrize(
    "changes",
    [{"request_timeout": 0}, {"deadline": float("nan")}, {"create_deadline": -1.0}, {"poll_interval": float("inf")},
     {"max_download_bytes": 0}, {"max_response_bytes": 1.5}, {"download_deadline": "600"}],
)  # fmt: skip
def test_settings_built_in_code_are_checked_the_same_way(changes: dict[str, object]) -> None:
    ((field, _value),) = changes.items()
    with pytest.raises(ra.ConfigurationError, match=field):
        ra.Settings().with_(**changes)
    assert ra.Settings().with_(poll_interval=None, autopilot=None).poll_interval is None  # unset stays allowed


def test_upstreams_two_credentials_project_and_roots_come_from_the_environment_masked() -> None:
    env = {"REALAVATAR_BYTEPLUS_ACCESS_KEY": "AKAPexample", "REALAVATAR_BYTEPLUS_SECRET_KEY": "the-secret",
           "REALAVATAR_BYTEPLUS_SESSION_TOKEN": "sts-token", "REALAVATAR_BYTEPLUS_API_KEY": "ark-key",
           "REALAVATAR_BYTEPLUS_PROJECT": "studio", "REALAVATAR_BYTEPLUS_DATA_URL": "https://ark.example/api/v3",
           "REALAVATAR_VOLCENGINE_ACCESS_KEY": "AKLTother"}  # fmt: skip
    settings = Settings.from_env(env, provider="byteplus")
    assert (settings.access_key_id, settings.project, settings.data_url) == (
        "AKAPexample", "studio", "https://ark.example/api/v3")  # fmt: skip
    assert settings.secret_key is not None and settings.secret_key.reveal() == "the-secret"
    assert settings.session_token is not None and settings.api_key is not None
    assert not {"the-secret", "sts-token", "ark-key"} & set(repr(settings).replace("'", " ").split())
    assert Settings.from_env(env, provider="volcengine").access_key_id == "AKLTother"
