"""The error tree: drawn in the module docstring, shaped as drawn, with messages that say what to do."""

from __future__ import annotations

import re

import pytest

import realavatar_nb as ra
from realavatar_nb import _exceptions


def _drawn_tree() -> dict[str, str]:
    """Return child -> parent as drawn in the _exceptions docstring."""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in (_exceptions.__doc__ or "").splitlines():
        match = re.match(r"^(\s*)(?:[│ ]*[├└]── )?(\w+Error)\b", line)
        if not match:
            continue
        depth = len(line) - len(line.lstrip(" │├└─"))
        name = match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[name] = stack[-1][1]
        stack.append((depth, name))
    return parents


def test_every_exception_class_is_drawn_in_the_docstring_with_its_parent() -> None:
    drawn = _drawn_tree()
    classes = {name for name in _exceptions.__all__ if name != "RealAvatarError"}
    assert set(drawn) == classes
    for child, parent in drawn.items():
        assert issubclass(getattr(_exceptions, child), getattr(_exceptions, parent)), (child, parent)


def test_every_exception_is_exported_from_the_package() -> None:
    for name in _exceptions.__all__:
        assert getattr(ra, name) is getattr(_exceptions, name)


def test_poll_timeout_is_also_a_builtin_timeout_error() -> None:
    with pytest.raises(TimeoutError):
        raise ra.PollTimeoutError("waited 60 s", last="pending")


def test_rate_limit_error_carries_the_retry_hint_and_provider_fields() -> None:
    err = ra.RateLimitError("slow down", retry_after=2.5, provider="crun", status_code=429, code="429")
    assert (err.retry_after, err.provider, err.status_code) == (2.5, "crun", 429)
    assert isinstance(err, ra.ProviderError)


def test_missing_key_error_names_the_variables_to_set() -> None:
    err = ra.MissingAPIKeyError("crun", ("REALAVATAR_CRUN_API_KEY", "REALAVATAR_API_KEY"))
    assert "REALAVATAR_CRUN_API_KEY" in str(err) and "sandbox" in str(err)
    assert isinstance(err, ValueError)
