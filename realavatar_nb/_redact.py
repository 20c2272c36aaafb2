"""Secrets kept out of logs and exception chains: byted tokens in httpx's log lines, keys in failed requests.

httpx logs every request's URL at INFO, and masks only the ``authorization`` header in the requests its
exceptions carry. Two providers put the byted token in the query (toapis, Crun), one in the path
(EasyRouter's ``/sessions/<token>``), and two authenticate with ``x-api-key``.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Final

import httpx

from ._config import Secret

__all__ = ["MASK", "SECRET_HEADERS", "install_log_filter", "register_secret", "scrubbed"]

MASK: Final = "**********"
SECRET_HEADERS: Final = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie", "x-security-token"})
_QUERY_TOKEN: Final = re.compile(r"(?i)((?:byted_?token|token|access_token|api_key|key)=)[^&\s\"']+")
_PATH_TOKEN: Final = re.compile(r"(?i)(/sessions/)[^/?#\s\"']+")

_known: set[str] = set()
_known_lock = threading.Lock()
_KNOWN_MAX: Final = 4096  # a long-lived kernel creates many sessions; the oldest stop mattering


def register_secret(secret: Secret | str | None) -> None:
    """Mask this value wherever it appears in a log line from now on (a token, a link)."""
    raw = secret.reveal() if isinstance(secret, Secret) else secret
    if not raw or len(raw) < 8:  # a tiny value would mask ordinary words
        return
    with _known_lock:
        if len(_known) >= _KNOWN_MAX:
            _known.clear()
        _known.add(raw)


def redact(message: str) -> str:
    """Return ``message`` with registered secrets, token query values and session path segments masked."""
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for raw in known:
        if raw in message:
            message = message.replace(raw, MASK)
    message = _QUERY_TOKEN.sub(rf"\1{MASK}", message)
    return _PATH_TOKEN.sub(rf"\1{MASK}", message)


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


_FILTER: Final = _RedactingFilter()


def install_log_filter() -> None:
    """Attach the masking filter to httpx's and httpcore's loggers (once)."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def scrubbed(exc: httpx.HTTPError) -> httpx.HTTPError:
    """Return ``exc`` with the request it carries rebuilt without credentials (for an exception's cause)."""
    try:
        request = exc.request
    except RuntimeError:  # an httpx error raised before any request was attached
        return exc
    headers = [(k, MASK if k.lower() in SECRET_HEADERS else v) for k, v in request.headers.items()]
    clean = httpx.Request(request.method, redact(str(request.url)), headers=headers)
    try:
        copy = type(exc)(redact(str(exc)), request=clean)  # type: ignore[call-arg]
    except TypeError:  # an error class with another signature: keep the type's name, drop the request
        return httpx.TransportError(f"{type(exc).__name__}: {redact(str(exc))}")
    copy.__traceback__ = exc.__traceback__
    return copy
