"""Settings read from an injectable environment mapping, with secrets that print as stars."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ._exceptions import ConfigurationError, MissingAPIKeyError
from ._types import PROVIDERS

__all__ = ["Secret", "Settings", "default_data_dir", "mask"]

_STARS = "**********"


class Secret:
    """A string that never shows itself: ``repr`` and ``str`` print stars; ``reveal()`` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        self._value = str(value)

    def reveal(self) -> str:
        """Return the real value, for the one place that must send it (a header, a QR code)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_STARS}')"

    def __str__(self) -> str:
        return _STARS

    def __format__(self, spec: str) -> str:
        return _STARS

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self._value,))


def mask(value: str | Secret | None, keep: int = 0) -> str:
    """Return ``value`` as stars, optionally keeping its last ``keep`` characters (never more than a quarter)."""
    if value is None:
        return ""
    raw = value.reveal() if isinstance(value, Secret) else str(value)
    keep = min(keep, len(raw) // 4)
    return _STARS + (raw[-keep:] if keep else "")


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return where the ledger lives: ``$REALAVATAR_HOME``, else ``./.realavatar`` beside the notebooks."""
    env = os.environ if environ is None else environ
    home = env.get("REALAVATAR_HOME")
    return Path(home) if home else Path.cwd() / ".realavatar"


def _env_float(env: Mapping[str, str], name: str, default: float | None) -> float | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number; set it to seconds, e.g. {name}=30") from None


@dataclass(frozen=True)
class Settings:
    """Everything the client and the widgets read from the environment, resolved once."""

    provider: str = "sandbox"
    api_key: Secret | None = None
    base_url: str | None = None
    callback_url: str | None = None
    ledger_path: Path | None = None
    profile: str = "seedance-2.0"
    request_timeout: float = 30.0
    poll_interval: float | None = None
    autopilot: float | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, provider: str | None = None) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``).

        Keys: ``REALAVATAR_PROVIDER``, ``REALAVATAR_<PROVIDER>_API_KEY`` then ``REALAVATAR_API_KEY``,
        ``REALAVATAR_<PROVIDER>_BASE_URL`` then ``REALAVATAR_BASE_URL``, ``REALAVATAR_CALLBACK_URL``,
        ``REALAVATAR_LEDGER``, ``REALAVATAR_PROFILE``, ``REALAVATAR_TIMEOUT``, ``REALAVATAR_POLL_INTERVAL``,
        ``REALAVATAR_AUTOPILOT`` (seconds after which the emulator passes a session by itself).
        """
        env = os.environ if environ is None else environ
        name = (provider or env.get("REALAVATAR_PROVIDER") or "sandbox").strip().lower()
        if name != "sandbox" and name not in PROVIDERS:
            raise ConfigurationError(f"Unknown provider {name!r}. Choose one of: sandbox, {', '.join(PROVIDERS)}.")
        upper = name.upper()
        key = env.get(f"REALAVATAR_{upper}_API_KEY") or env.get("REALAVATAR_API_KEY")
        base = env.get(f"REALAVATAR_{upper}_BASE_URL") or env.get("REALAVATAR_BASE_URL")
        ledger = env.get("REALAVATAR_LEDGER")
        return cls(
            provider=name,
            api_key=Secret(key) if key else None,
            base_url=base or None,
            callback_url=env.get("REALAVATAR_CALLBACK_URL") or None,
            ledger_path=Path(ledger) if ledger else None,
            profile=env.get("REALAVATAR_PROFILE") or "seedance-2.0",
            request_timeout=_env_float(env, "REALAVATAR_TIMEOUT", 30.0) or 30.0,
            poll_interval=_env_float(env, "REALAVATAR_POLL_INTERVAL", None),
            autopilot=_env_float(env, "REALAVATAR_AUTOPILOT", None),
        )

    def require_api_key(self) -> Secret:
        """Return the API key, or raise ``MissingAPIKeyError`` naming the variables to set."""
        if self.api_key:
            return self.api_key
        upper = self.provider.upper()
        raise MissingAPIKeyError(self.provider, (f"REALAVATAR_{upper}_API_KEY", "REALAVATAR_API_KEY"))

    def with_(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied (an API key given as ``str`` is wrapped in ``Secret``)."""
        if isinstance(changes.get("api_key"), str):
            changes["api_key"] = Secret(changes["api_key"])
        return replace(self, **changes)

    def __repr__(self) -> str:
        key = "None" if self.api_key is None else repr(self.api_key)
        return (
            f"Settings(provider={self.provider!r}, api_key={key}, base_url={self.base_url!r}, profile={self.profile!r})"
        )
