"""Settings read from an injectable environment mapping, with secrets that print as stars."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from ._exceptions import ConfigurationError, MissingAPIKeyError
from ._types import PROVIDERS

__all__ = [
    "DEFAULT_CREATE_DEADLINE",
    "DEFAULT_DEADLINE",
    "DEFAULT_DOWNLOAD_DEADLINE",
    "DEFAULT_MAX_DOWNLOAD_BYTES",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "Secret",
    "Settings",
    "default_data_dir",
    "fingerprint",
    "mask",
]

_STARS = "**********"

# Limits that keep a hostile or broken server from holding or filling the kernel (the transport and
# the download enforce them; see ``_transport`` for why each figure).
DEFAULT_MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024  # a JSON answer; the largest real one (a list page) is KBs
DEFAULT_DEADLINE: Final = 120.0  # one read: connect, send and the whole answer
DEFAULT_CREATE_DEADLINE: Final = 300.0  # one create: gateways hold it while upstream works (field notes: 300 s)
DEFAULT_MAX_DOWNLOAD_BYTES: Final = 2 * 1024**3  # a video; Seedance clips are tens of MB
DEFAULT_DOWNLOAD_DEADLINE: Final = 600.0  # a whole download, retries included: 50 MB needs only ~85 KB/s


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


def fingerprint(secret: Secret | str) -> str:
    """Return a short SHA-256 fingerprint of a secret: enough to match it again, never to use it."""
    raw = secret.reveal() if isinstance(secret, Secret) else secret
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return where the ledger lives: ``$REALAVATAR_HOME``, else ``./.realavatar`` beside the notebooks."""
    env = os.environ if environ is None else environ
    home = env.get("REALAVATAR_HOME")
    return Path(home) if home else Path.cwd() / ".realavatar"


# Every numeric setting: (field, variable, whether 0 is allowed, whether it counts bytes rather than seconds,
# an example). Every one must be finite: ``inf`` would switch a limit off silently, and ``nan`` compares
# false with everything, so a deadline of ``nan`` would never fire.
_NUMERIC: Final = (
    ("request_timeout", "REALAVATAR_TIMEOUT", False, False, "30"),
    ("poll_interval", "REALAVATAR_POLL_INTERVAL", False, False, "3"),
    ("autopilot", "REALAVATAR_AUTOPILOT", True, False, "5"),  # 0 passes each session at once
    ("deadline", "REALAVATAR_DEADLINE", False, False, "120"),
    ("create_deadline", "REALAVATAR_CREATE_DEADLINE", False, False, "300"),
    ("download_deadline", "REALAVATAR_DOWNLOAD_DEADLINE", False, False, "600"),
    ("max_response_bytes", "REALAVATAR_MAX_RESPONSE_BYTES", False, True, "64MiB"),
    ("max_download_bytes", "REALAVATAR_MAX_DOWNLOAD_BYTES", False, True, "4GiB"),
    # The emulator ra.AsyncClient("sandbox") starts on first use (simulator/shared.py).
    ("sandbox_autopilot", "REALAVATAR_SANDBOX_AUTOPILOT", True, False, "3"),
    ("sandbox_processing", "REALAVATAR_SANDBOX_PROCESSING", True, False, "3"),
    ("sandbox_job_seconds", "REALAVATAR_SANDBOX_JOB_SECONDS", True, False, "4"),
    ("not_found_grace", "REALAVATAR_NOT_FOUND_GRACE", True, False, "20"),
    # An account's limits (reference/field-notes.md): reported by one production client at the entry tier
    # of upstream's "advanced creation rights", not confirmed by upstream: defaults a user sets, never constants.
    ("asset_slots", "REALAVATAR_ASSET_SLOTS", False, False, "50"),
    ("writes_per_minute", "REALAVATAR_WRITES_PER_MINUTE", False, False, "3"),
    ("lists_per_second", "REALAVATAR_LISTS_PER_SECOND", False, False, "1"),
)
_NOT_SECONDS: Final = {
    "REALAVATAR_ASSET_SLOTS": "a number of assets",
    "REALAVATAR_WRITES_PER_MINUTE": "a number of creates a minute",
    "REALAVATAR_LISTS_PER_SECOND": "a number of lists a second",
}
_UNSET_OK: Final = ("poll_interval", "autopilot", "sandbox_autopilot")  # None: the default interval, no autopilot
_UNITS: Final = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}
_SIZE: Final = re.compile(r"(\d+(?:\.\d*)?)\s*([a-z]*)", re.IGNORECASE)


def _takes(name: str, zero_ok: bool, is_bytes: bool, example: str) -> str:
    if is_bytes:
        return f"a whole number of bytes above 0, plain or with a unit (KB MB GB KiB MiB GiB), e.g. {name}={example}"
    what = _NOT_SECONDS.get(name, "a finite number of seconds")
    return f"{what} {'0 or more' if zero_ok else 'above 0'}, e.g. {name}={example}"


def _usable(value: float, zero_ok: bool, is_bytes: bool) -> bool:
    if isinstance(value, bool) or not math.isfinite(value):
        return False
    if is_bytes and value != int(value):
        return False
    return value >= 0 if zero_ok else value > 0


def _env_number(env: Mapping[str, str], name: str, zero_ok: bool, is_bytes: bool, example: str) -> float | None:
    """Return the variable's value (``None`` when unset or empty), or raise naming it and what it takes."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    value = math.nan  # what cannot be read is refused below with the same sentence as a bad number
    if is_bytes:
        match = _SIZE.fullmatch(raw.strip())
        if match and match.group(2).lower() in _UNITS:
            value = float(match.group(1)) * _UNITS[match.group(2).lower()]
    else:
        with contextlib.suppress(ValueError):
            value = float(raw)
    if not _usable(value, zero_ok, is_bytes):
        takes = _takes(name, zero_ok, is_bytes, example)
        raise ConfigurationError(f"{name}={raw!r} cannot be used: it takes {takes}.")
    return value


def _upstream_fields(env: Mapping[str, str], upper: str) -> dict[str, Any]:
    """Return upstream's own settings for a provider (byteplus, volcengine) from ``REALAVATAR_<UPPER>_*``."""
    secrets = {"secret_key": "SECRET_KEY", "session_token": "SESSION_TOKEN"}
    plain = {"access_key_id": "ACCESS_KEY", "project": "PROJECT", "data_url": "DATA_URL"}
    fields: dict[str, Any] = {k: env.get(f"REALAVATAR_{upper}_{v}") or None for k, v in plain.items()}
    for field, suffix in secrets.items():
        value = env.get(f"REALAVATAR_{upper}_{suffix}")
        fields[field] = Secret(value) if value else None
    return fields


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
    deadline: float = DEFAULT_DEADLINE
    create_deadline: float = DEFAULT_CREATE_DEADLINE
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES
    download_deadline: float = DEFAULT_DOWNLOAD_DEADLINE
    # Upstream itself (byteplus, volcengine): the asset library's access key pair, an STS token with
    # temporary keys, the project assets live in, and Ark's generation root (api_key is Ark's key there).
    access_key_id: str | None = None
    secret_key: Secret | None = None
    session_token: Secret | None = None
    project: str | None = None
    data_url: str | None = None
    sandbox_url: str | None = None
    sandbox_dialect: str | None = None
    sandbox_autopilot: float | None = None
    sandbox_processing: float = 3.0
    sandbox_job_seconds: float = 4.0
    # How long a created asset may go unfound before it counts as failed (``NeverResolved``).
    # reported: OpenMontage tools/video/_anyfast.py (a not-found lasting ~20 s after the create is terminal)
    not_found_grace: float = 20.0
    # What an account may hold and how fast it may write and list (reported figures; see _NUMERIC). The
    # client paces creates and lists at these for real providers and slows down further when refused.
    asset_slots: float = 50
    writes_per_minute: float = 3.0
    lists_per_second: float = 1.0

    def __post_init__(self) -> None:
        # The same check as from_env, for settings built in code (``Settings(...)``, ``with_``).
        for field, name, zero_ok, is_bytes, example in _NUMERIC:
            value = getattr(self, field)
            if value is None and field in _UNSET_OK:
                continue  # unset: the client's default interval, no autopilot
            if not isinstance(value, (int, float)) or not _usable(value, zero_ok, is_bytes):
                takes = _takes(name, zero_ok, is_bytes, example)
                raise ConfigurationError(f"Settings {field}={value!r} cannot be used ({name}): it takes {takes}.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, provider: str | None = None) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``).

        Keys: ``REALAVATAR_PROVIDER``, ``REALAVATAR_<PROVIDER>_API_KEY`` then ``REALAVATAR_API_KEY``,
        ``REALAVATAR_<PROVIDER>_BASE_URL`` then ``REALAVATAR_BASE_URL``, ``REALAVATAR_CALLBACK_URL``,
        ``REALAVATAR_LEDGER``, ``REALAVATAR_PROFILE``; for ``byteplus`` and ``volcengine`` (upstream itself)
        also ``REALAVATAR_<PROVIDER>_ACCESS_KEY`` and ``…_SECRET_KEY`` (the asset library's signing pair),
        ``…_SESSION_TOKEN`` (with temporary STS keys), ``…_PROJECT`` (ProjectName) and ``…_DATA_URL``
        (Ark's generation root), the API key being Ark's; and these numbers (seconds unless said otherwise;
        each must be finite and above 0, a bad one is a ``ConfigurationError`` naming it):

        - ``REALAVATAR_TIMEOUT`` (30): connect, and each wait for the next bytes of an answer.
        - ``REALAVATAR_DEADLINE`` (120): a whole read, connect to last byte (a trickling server cannot
          hold it longer); ``REALAVATAR_CREATE_DEADLINE`` (300) the same for a create, which a gateway
          may hold silent while upstream works.
        - ``REALAVATAR_MAX_RESPONSE_BYTES`` (16 MiB): the largest API answer read, decoded; bytes, or
          with a unit (``64MiB``, ``100MB``).
        - ``REALAVATAR_MAX_DOWNLOAD_BYTES`` (2 GiB) and ``REALAVATAR_DOWNLOAD_DEADLINE`` (600): the largest
          video ``client.download`` writes, and how long the whole download (retries included) may take.
        - ``REALAVATAR_POLL_INTERVAL`` (unset: 3 s): between looks while waiting.
        - ``REALAVATAR_NOT_FOUND_GRACE`` (20): how long an asset the client created may stay unfound (a
          read that answers not-found) before it is reported ``failed`` with ``NeverResolved``; 0 or more.
        - ``REALAVATAR_AUTOPILOT`` (unset: off): seconds after which the emulator passes a session by
          itself; 0 or more (0 passes at once).

        The emulator ``AsyncClient("sandbox")`` shares (``simulator.shared``): ``REALAVATAR_SANDBOX_URL``
        (one already serving, e.g. ``realavatar-nb sandbox``), ``REALAVATAR_SANDBOX_DIALECT`` (whose wire
        format; toapis by default), and for one started on first use ``REALAVATAR_SANDBOX_AUTOPILOT``
        (unset: off), ``REALAVATAR_SANDBOX_PROCESSING`` (3) and ``REALAVATAR_SANDBOX_JOB_SECONDS`` (4),
        each 0 or more.
        """
        env = os.environ if environ is None else environ
        name = (provider or env.get("REALAVATAR_PROVIDER") or "sandbox").strip().lower()
        if name != "sandbox" and name not in PROVIDERS:
            choices = ", ".join(("sandbox", *PROVIDERS))
            raise ConfigurationError(f"Unknown provider {name!r}. Choose one of: {choices}.")
        upper = name.upper()
        key = env.get(f"REALAVATAR_{upper}_API_KEY") or env.get("REALAVATAR_API_KEY")
        base = env.get(f"REALAVATAR_{upper}_BASE_URL") or env.get("REALAVATAR_BASE_URL")
        ledger = env.get("REALAVATAR_LEDGER")
        given: dict[str, Any] = {}  # only what the environment sets: the rest keeps the field defaults
        for field, var, zero_ok, is_bytes, example in _NUMERIC:
            value = _env_number(env, var, zero_ok, is_bytes, example)
            if value is not None:
                given[field] = int(value) if is_bytes else value
        return cls(
            provider=name,
            api_key=Secret(key) if key else None,
            base_url=base or None,
            callback_url=env.get("REALAVATAR_CALLBACK_URL") or None,
            ledger_path=Path(ledger) if ledger else None,
            profile=env.get("REALAVATAR_PROFILE") or "seedance-2.0",
            **_upstream_fields(env, upper),
            sandbox_url=env.get("REALAVATAR_SANDBOX_URL") or None,
            sandbox_dialect=env.get("REALAVATAR_SANDBOX_DIALECT") or None,
            **given,
        )

    def require_api_key(self) -> Secret:
        """Return the API key, or raise ``MissingAPIKeyError`` naming the variables to set."""
        if self.api_key:
            return self.api_key
        upper = self.provider.upper()
        raise MissingAPIKeyError(self.provider, (f"REALAVATAR_{upper}_API_KEY", "REALAVATAR_API_KEY"))

    def with_(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied (a key, secret or token given as ``str`` is wrapped in ``Secret``)."""
        for field in ("api_key", "secret_key", "session_token"):
            if isinstance(changes.get(field), str):
                changes[field] = Secret(changes[field])
        return replace(self, **changes)

    def __repr__(self) -> str:
        key = "None" if self.api_key is None else repr(self.api_key)
        return (
            f"Settings(provider={self.provider!r}, api_key={key}, base_url={self.base_url!r}, profile={self.profile!r})"
        )
