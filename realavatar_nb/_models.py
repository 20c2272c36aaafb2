"""Frozen result objects shared by the client, the widgets and the ledger.

Everything secret (byted tokens, H5 links) is held as ``Secret`` and shows as stars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._config import Secret
from ._display import DisplayMixin
from ._exceptions import CallbackParseError, InvalidArgumentError
from ._types import RESULT_CODE_PASSED, AssetStatus, JobStatus, VerificationStatus

__all__ = [
    "Asset",
    "CallbackResult",
    "Consent",
    "GenerationJob",
    "Verification",
    "VerificationSession",
    "parse_callback",
]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _error_rows(code: str | None, message: str | None) -> list[tuple[str, Any]]:
    """Return the display row of an upstream error (``code: message``), or none when there is no code."""
    return [("error", f"{code}: {message or ''}")] if code else []


@dataclass(frozen=True, repr=False)
class Consent(DisplayMixin):
    """A person's recorded consent to have their likeness verified and used (who, what for, when)."""

    given_by: str
    purpose: str
    confirmed_at: datetime = field(default_factory=_utcnow)

    def __post_init__(self) -> None:
        # Consent is the gate before a person's likeness is used: a blank one must not open it.
        for name, takes in (
            ("given_by", "the name of the person who consents"),
            ("purpose", "what their likeness will be used for"),
        ):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise InvalidArgumentError(f"Consent({name}={value!r:.60}): pass {takes} as a non-empty string.")

    def _display_rows(self) -> list[tuple[str, Any]]:
        return [("given by", self.given_by), ("purpose", self.purpose), ("confirmed", self.confirmed_at)]

    def __repr__(self) -> str:
        return f"Consent(given_by={self.given_by!r}, purpose={self.purpose!r})"


@dataclass(frozen=True, repr=False)
class VerificationSession(DisplayMixin):
    """A liveness session: the H5 link a person opens and the token that fetches the result."""

    id: str
    provider: str
    h5_link: Secret
    byted_token: Secret
    expires_at: datetime
    callback_url: str | None = None
    person: str | None = None
    created_at: datetime = field(default_factory=_utcnow)

    def seconds_left(self, now: datetime | None = None) -> float:
        """Return the seconds until the link expires (negative once it has)."""
        return (self.expires_at - (now or _utcnow())).total_seconds()

    def expired(self, now: datetime | None = None) -> bool:
        """Return whether the H5 link has run out."""
        return self.seconds_left(now) <= 0

    def _display_rows(self) -> list[tuple[str, Any]]:
        left = self.seconds_left()
        return [
            ("provider", self.provider),
            ("session", self.id),
            ("person", self.person or ""),
            ("H5 link", self.h5_link),
            ("expires", "expired" if left <= 0 else f"in {left:.0f} s"),
        ]

    def __repr__(self) -> str:
        return (
            f"VerificationSession(id={self.id!r}, provider={self.provider!r}, h5_link={self.h5_link!r}, "
            f"byted_token={self.byted_token!r}, expires_at={self.expires_at.isoformat()!r})"
        )


@dataclass(frozen=True, repr=False)
class Verification(DisplayMixin):
    """One look at a session's outcome: ``status`` is pending, verified, failed or expired."""

    status: VerificationStatus
    group_id: str | None = None
    result_code: str | None = None
    session_id: str | None = None

    @property
    def verified(self) -> bool:
        return self.status == "verified" and bool(self.group_id)

    def _display_rows(self) -> list[tuple[str, Any]]:
        return [
            ("status", self.status),
            ("group", self.group_id or ""),
            ("result code", self.result_code or ""),
        ]

    def __repr__(self) -> str:
        return f"Verification(status={self.status!r}, group_id={self.group_id!r}, result_code={self.result_code!r})"


@dataclass(frozen=True, repr=False)
class CallbackResult(DisplayMixin):
    """What the H5 page put on the callback URL."""

    byted_token: Secret
    result_code: str
    algorithm_code: str | None = None
    billed: bool | None = None
    verify_type: str | None = None

    @property
    def passed(self) -> bool:
        return self.result_code == RESULT_CODE_PASSED

    def _display_rows(self) -> list[tuple[str, Any]]:
        return [
            ("passed", "verified" if self.passed else "failed"),
            ("result code", self.result_code),
            ("algorithm code", self.algorithm_code or ""),
            ("byted token", self.byted_token),
        ]

    def __repr__(self) -> str:
        return (
            f"CallbackResult(byted_token={self.byted_token!r}, result_code={self.result_code!r}, passed={self.passed})"
        )


def parse_callback(url: str) -> CallbackResult:
    """Return the ``CallbackResult`` carried by a callback URL the H5 page redirected to.

    Accepts a full URL or just its query string; ``\\u0026`` escapes (as some providers send them)
    are undone. Raises ``CallbackParseError`` when ``bytedToken`` or ``resultCode`` is missing.
    """
    if not isinstance(url, str) or not url.strip():
        raise CallbackParseError("The callback URL is empty; paste the whole address the H5 page opened.")
    text = url.strip().replace("\\u0026", "&").replace("&amp;", "&")
    query = urlsplit(text).query if ("?" in text or "://" in text) else text
    params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    token = params.get("bytedToken") or params.get("byted_token")
    code = params.get("resultCode") or params.get("result_code")
    missing = [name for name, value in (("bytedToken", token), ("resultCode", code)) if not value]
    if missing:
        raise CallbackParseError(
            f"The callback URL has no {' and no '.join(missing)}. Paste the full address the phone's "
            f"browser opened after the H5 page (it looks like ...?bytedToken=...&resultCode=10000...)."
        )
    billed_raw = params.get("reqMeasureInfoValue")
    return CallbackResult(
        byted_token=Secret(str(token)),
        result_code=str(code),
        algorithm_code=params.get("algorithmBaseRespCode"),
        billed=None if billed_raw is None else billed_raw == "1",
        verify_type=params.get("verify_type"),
    )


@dataclass(frozen=True, repr=False)
class Asset(DisplayMixin):
    """An uploaded file in a group; ``uri`` is its ``asset://`` reference once ``active``."""

    id: str
    group_id: str | None
    status: AssetStatus
    name: str | None = None
    asset_type: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    source: str | None = None

    @property
    def uri(self) -> str:
        return f"asset://{self.id}"

    def _display_rows(self) -> list[tuple[str, Any]]:
        return [
            ("asset", self.id),
            ("group", self.group_id or ""),
            ("type", self.asset_type or ""),
            ("status", self.status),
            *_error_rows(self.error_code, self.error_message),
        ]

    def __repr__(self) -> str:
        err = f", error_code={self.error_code!r}" if self.error_code else ""
        return f"Asset(id={self.id!r}, group_id={self.group_id!r}, status={self.status!r}{err})"


@dataclass(frozen=True, repr=False)
class GenerationJob(DisplayMixin):
    """A Seedance 2.0 generation task; ``video_url`` is set once it has ``succeeded``."""

    id: str
    status: JobStatus
    video_url: str | None = None
    model: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    references: tuple[str, ...] = ()
    provider: str | None = None
    last_frame_url: str | None = None
    """The last frame's picture, once succeeded, when the request asked for ``return_last_frame``."""
    tokens: int | None = None
    """The tokens upstream billed (``usage.completion_tokens``), once succeeded, where the provider says."""

    def _display_rows(self) -> list[tuple[str, Any]]:
        usage = [("tokens", f"{self.tokens:,}")] if self.tokens is not None else []
        return [("job", self.id), ("model", self.model or ""), ("status", self.status), *usage,
                *_error_rows(self.error_code, self.error_message)]  # fmt: skip

    def __repr__(self) -> str:
        return f"GenerationJob(id={self.id!r}, status={self.status!r}, model={self.model!r})"
