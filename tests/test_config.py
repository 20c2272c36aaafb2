"""Settings come from an injectable mapping; secrets never print."""

from __future__ import annotations

import pickle

import pytest

import realavatar_nb as ra
from realavatar_nb._config import mask

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
