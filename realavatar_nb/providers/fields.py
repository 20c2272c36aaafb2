"""Reading a provider's answer one JSON object at a time, each field checked against the type it must have.

Whatever a provider sends, a parse returns a model or raises one of the package's errors: a field
of the wrong type, an unreadable time or number, a link that is not http(s), or a missing id is a
``MalformedResponseError`` whose ``field`` names its place (``data.result.h5_link``). Messages name
the field and the kind of value, never the value: a byted token or an H5 link is a secret.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from .._exceptions import MalformedResponseError
from .._urls import is_http_url

__all__ = ["TTL_MAX", "Fields", "obj", "parse_time", "reason", "unescape_link"]

_ESCAPED: Final = re.compile(r"\\u([0-9a-fA-F]{4})")
# JSON may escape half a surrogate pair ("\ud800"): such a string cannot be encoded into a URL, a hash or a log.
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
# ASCII digits only: "²".isdigit() is True and int("²") fails; 20 digits is past any real timestamp.
_DIGITS: Final = re.compile(r"-?[0-9]{1,20}")
# Where gateways nest a video's link: a string, a list of them, or objects under these keys.
_LINK_KEYS: Final = ("url", "video_url", "videos", "video", "output")
_LINK_DEPTH: Final = 4  # APIMart's result.videos[0].url[0] is the deepest shape seen
TTL_MAX: Final = timedelta(days=1)  # upstream's links live 120 s, aggregators say 30 min: a day is not a lifetime
_REASON_MAX: Final = 2000  # an error message longer than this is cut: it goes into an exception's text

_AFTER: Final = "The answer breaks the provider's contract and was not used; try again, and report it if it persists."


def describe(value: Any) -> str:
    """Return what kind of JSON value ``value`` is (``a list``, ``a number``…), never the value itself."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


class Fields:
    """One JSON object of an answer and its place in it (``at``): reads that check each field's type.

    ``Fields(raw, "data", provider="crun")`` raises ``MalformedResponseError`` naming ``data`` when
    ``raw`` is not an object; each read names ``data.<key>`` when the field is wrong.
    """

    __slots__ = ("at", "provider", "raw")

    def __init__(self, raw: Any, at: str, *, provider: str) -> None:
        if not isinstance(raw, dict):
            field = at or "body"
            raise MalformedResponseError(
                f"{provider} answered {describe(raw)} where {field} should be a JSON object. {_AFTER}",
                field=field,
                provider=provider,
            )
        self.raw: dict[str, Any] = raw
        self.at = at
        self.provider = provider

    def __repr__(self) -> str:  # keys only: the values may be secrets
        return f"Fields({self.at!r}, keys={sorted(map(str, self.raw))[:20]!r})"

    def __bool__(self) -> bool:
        return bool(self.raw)

    def path(self, key: str) -> str:
        """Return the dotted name of ``key`` in the answer (``data.h5_link``)."""
        return f"{self.at}.{key}" if self.at else key

    def get(self, key: str) -> Any:
        """Return the raw value of ``key`` (``None`` when absent): for values compared, never stored."""
        return self.raw.get(key)

    def has(self, *keys: str) -> bool:
        """Return whether any of ``keys`` is present, whatever its value."""
        return any(key in self.raw for key in keys)

    def malformed(self, key: str, problem: str) -> MalformedResponseError:
        """Return the error for ``key``: ``problem`` says what is wrong with it (``is a list, not a string``)."""
        return _malformed(self.provider, self.path(key), problem)

    def text(self, key: str) -> str | None:
        """Return ``key`` as a string, ``None`` when absent, null or empty; anything else is malformed."""
        value = self.raw.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self.malformed(key, f"is {describe(value)}, not a string")
        if _SURROGATE.search(value):
            raise self.malformed(key, "is not valid Unicode text (a lone surrogate)")
        return value

    def required(self, *keys: str) -> str:
        """Return the first of ``keys`` that holds a non-empty string; raise naming them when none does."""
        for key in keys:
            value = self.text(key)
            if value is not None:
                return value
        names = " or ".join(self.path(key) for key in keys)
        raise _malformed(self.provider, self.path(keys[0]), "is missing", name=names)

    def code(self, key: str) -> str | None:
        """Return a result code (``10000``) as text: a string, or a whole number as upstream's codes are."""
        value = self.raw.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, (str, type(None))):
            return self.text(key)
        raise self.malformed(key, f"is {describe(value)}, not a code")

    def link(self, key: str) -> str | None:
        """Return ``key`` as an absolute http(s) URL (``\\u0026`` escapes undone), ``None`` when absent or empty."""
        value = self.text(key)
        return None if value is None else _checked_link(self.provider, self.path(key), value)

    def first_link(self, key: str) -> str | None:
        """Return the first link under ``key``: a URL, a list of them, or objects holding one (``{url: …}``)."""
        return _first_link(self.provider, self.path(key), self.raw.get(key), depth=0)

    def time(self, key: str) -> datetime | None:
        """Return ``key`` as an aware datetime (Unix seconds or milliseconds, or ISO 8601), ``None`` when absent."""
        try:
            return parse_time(self.raw.get(key))
        except ValueError:
            raise self.malformed(key, "is not a time (Unix seconds or ISO 8601)") from None

    def count(self, key: str) -> int | None:
        """Return ``key`` as a whole number ≥ 0 (a JSON integer or a string of digits), ``None`` when absent."""
        value = self.raw.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, str) and _DIGITS.fullmatch(value) and not value.startswith("-"):
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.malformed(key, f"is {describe(value)}, not a whole number")
        return value

    def ttl(self, key: str) -> timedelta | None:
        """Return a link's lifetime in seconds under ``key``; ``None`` when absent or 0, malformed past a day."""
        value = self.raw.get(key)
        if value is None or value == "" or value == 0:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= TTL_MAX.total_seconds():
            raise self.malformed(key, f"is {describe(value)}, not a lifetime in seconds up to a day")
        return timedelta(seconds=value)

    def obj(self, key: str) -> Fields:
        """Return the object under ``key`` (empty when absent, null or ""); anything else is malformed."""
        value = self.raw.get(key)
        if value is None or value == "":
            return Fields({}, self.path(key), provider=self.provider)
        if not isinstance(value, dict):
            raise self.malformed(key, f"is {describe(value)}, not an object")
        return Fields(value, self.path(key), provider=self.provider)

    def objects(self, key: str) -> list[Fields]:
        """Return the list of objects under ``key`` (empty when absent or null); anything else is malformed."""
        value = self.raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.malformed(key, f"is {describe(value)}, not a list")
        return [Fields(item, f"{self.path(key)}[{i}]", provider=self.provider) for i, item in enumerate(value)]


def _malformed(provider: str, field: str, problem: str, *, name: str | None = None) -> MalformedResponseError:
    return MalformedResponseError(f"{provider}'s answer: {name or field} {problem}. {_AFTER}", field=field,
                                  provider=provider)  # fmt: skip


def _checked_link(provider: str, field: str, value: str) -> str:
    link = unescape_link(value)
    # A javascript:, file: or data: link would run or read instead of reach a provider.
    if not is_http_url(link) or _SURROGATE.search(link):
        raise _malformed(provider, field, "is not an absolute http(s) URL, so it is neither shown nor followed")
    return link


def _first_link(provider: str, field: str, value: Any, *, depth: int) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return _checked_link(provider, field, value)
    if depth < _LINK_DEPTH and isinstance(value, list):
        for i, item in enumerate(value):
            link = _first_link(provider, f"{field}[{i}]", item, depth=depth + 1)
            if link:
                return link
        return None
    if depth < _LINK_DEPTH and isinstance(value, dict):
        for key in _LINK_KEYS:
            link = _first_link(provider, f"{field}.{key}", value.get(key), depth=depth + 1)
            if link:
                return link
        return None
    raise _malformed(provider, field, f"is {describe(value)}, not a link")


def parse_time(value: Any) -> datetime | None:
    """Return an aware datetime from Unix seconds or milliseconds (a number or digit string) or ISO 8601.

    ``None`` and ``""`` are ``None``. Anything else (another type, NaN, a time out of range) raises
    ``ValueError``; ``Fields.time`` turns that into the field's ``MalformedResponseError``.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{describe(value)} is not a time")
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))  # ValueError when it is not ISO
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        seconds = value / 1000 if abs(value) > 10**11 else value  # milliseconds, as some gateways send
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError) as exc:  # past datetime's years, or the platform's time_t
        raise ValueError("a time out of range") from exc


def reason(value: Any) -> str | None:
    """Return an error's code or message as text (a number too), ``None`` for anything else.

    Lenient on purpose: it reads refusals, and a refusal with an odd message is still that refusal.
    """
    if isinstance(value, str):
        value = _SURROGATE.sub("\ufffd", value[:_REASON_MAX] + "…" if len(value) > _REASON_MAX else value)
        return value or None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**30:
        return str(value)
    return None


def obj(value: Any) -> dict[str, Any]:
    """Return ``value`` if it is a JSON object, else ``{}`` (for reading refusals, which are never malformed)."""
    return value if isinstance(value, dict) else {}


def unescape_link(link: str) -> str:
    """Return a link with literal ``\\u0026``-style escapes (some providers send them) undone."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), link)
