"""What a URL from outside (a provider's answer, a user's argument) must be before it is shown or followed.

Only ``http`` and ``https`` with a host: a ``javascript:`` link in a launcher, a ``file://`` video URL or a
``data:`` QR code would run code or read the machine instead of reaching a provider.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlsplit

__all__ = ["HTTP_SCHEMES", "is_http_url"]

HTTP_SCHEMES: Final = ("http", "https")


def is_http_url(value: Any) -> bool:
    """Return whether ``value`` is a string holding an absolute http(s) URL with a host (nothing else passes)."""
    if not isinstance(value, str) or not value or value != value.strip():
        return False
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in value):  # control characters, spaces, newlines
        return False
    try:
        parts = urlsplit(value)
        return parts.scheme.lower() in HTTP_SCHEMES and bool(parts.hostname)
    except ValueError:  # a malformed port or IPv6 literal
        return False
