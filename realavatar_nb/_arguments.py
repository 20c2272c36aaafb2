"""Checks on what a caller passes the client: each bad argument is refused with what to pass instead."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from ._exceptions import InvalidArgumentError

__all__ = ["access_key_fields", "person_name", "poll_interval", "require_id", "upload_items"]


def person_name(person: object) -> str | None:
    """Return a person's name as given, or ``None``; an empty or non-string name is refused."""
    if person is None:
        return None
    if not isinstance(person, str) or not person.strip():
        raise InvalidArgumentError(
            f"person={person!r}: pass the person's name as a non-empty string (it keys their consent and group), "
            f"or None."
        )
    return person


def require_id(value: object, argument: str) -> str:
    """Return an id given as a non-empty string (an ``asset://`` prefix removed)."""
    if not isinstance(value, str) or not value.removeprefix("asset://").strip():
        raise InvalidArgumentError(f"{argument}={value!r}: pass the id the provider returned, a non-empty string.")
    return value.removeprefix("asset://")


def poll_interval(value: object) -> float | None:
    """Return seconds between looks (> 0), or ``None`` for the settings' default."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and 0 < value < 1e6:
        return value
    raise InvalidArgumentError(f"poll_interval={value!r}: pass seconds between looks (> 0), or None.")


def upload_items(sources: object) -> list[str]:
    """Return the paths or URLs to upload from a list of them or a validation report's ``ok`` rows."""
    if hasattr(sources, "columns"):
        report: Any = sources
        missing = [c for c in ("path", "ok") if c not in report.columns]
        if missing:
            raise InvalidArgumentError(
                f"upload_assets: the DataFrame has no {' or '.join(missing)} column; pass the report of "
                f"ra.validate_folder(...) (its ok rows are uploaded), or a list of paths."
            )
        return [str(p) for p in report.loc[report["ok"].astype(bool), "path"]]
    if isinstance(sources, (str, bytes, os.PathLike)):
        raise InvalidArgumentError(
            f"upload_assets(sources={os.fsdecode(sources)!r}): pass a list of paths or URLs, or a validation "
            f"report (ra.validate_folder(folder)); for one file use upload_asset."
        )
    if not isinstance(sources, Iterable):
        raise InvalidArgumentError(f"upload_assets(sources={sources!r}): pass a list of paths or URLs.")
    return [os.fspath(s) if isinstance(s, (str, os.PathLike)) else s for s in sources]


def access_key_fields(access_key: object) -> dict[str, str | None]:
    """Return the Settings fields of an ``access_key=(id, secret[, sts_token])`` argument, or refuse it."""
    parts = tuple(access_key) if isinstance(access_key, (tuple, list)) else ()
    if len(parts) not in (2, 3) or not all(isinstance(p, str) and p for p in parts):
        raise InvalidArgumentError(
            "access_key: pass (access key id, secret key) or (id, secret, STS session token), each a non-empty string."
        )
    return {"access_key_id": parts[0], "secret_key": parts[1], "session_token": parts[2] if len(parts) == 3 else None}
