"""Checking an upstream-signed request (reference/upstream.md §1.2) against the keys the emulator minted.

``verify`` returns the key's record or raises ``Refused`` with upstream's HTTP status and error
code. It reads the signed header list from the ``Authorization`` header, as upstream must (the
SDKs sign their own ``X-Sdk-*`` headers too), and recomputes the signature with the same signer
the package's client uses (``providers.signing``, held byte for byte to the official SDKs).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Final

from .._config import Secret
from ..providers.signing import parse_authorization, signature
from .upstream_keys import SERVICE, KeyRecord, KeyRing

__all__ = ["MAX_SKEW", "Refused", "verify"]

MAX_SKEW: Final = 15 * 60  # seconds X-Date may differ from the emulator's clock
_MUST_SIGN: Final = ("host", "x-date", "x-content-sha256")


class Refused(Exception):
    """A request upstream refuses before any action runs: HTTP status, error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(message)


def verify(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    *,
    keys: KeyRing,
    now: float,
) -> KeyRecord:
    """Return the record of the key that signed this request, or raise ``Refused``."""
    value = headers.get("authorization")
    if not value:
        # inferred: upstream's code for an unsigned call is not documented; the AWS family's name.
        raise Refused(401, "MissingAuthenticationToken", "The request is not signed: no Authorization header.")
    auth = parse_authorization(value)
    if auth is None:
        # inferred: a malformed HMAC-SHA256 header, named as the signature family names it.
        raise Refused(401, "InvalidAuthorization", "The Authorization header is not a valid HMAC-SHA256 signature.")
    record = keys.by_access_key(auth.access_key_id)
    if record is None:
        raise Refused(401, "InvalidAccessKeyId", f"The access key {auth.access_key_id} does not exist.")
    missing = [name for name in _MUST_SIGN if name not in auth.signed_headers]
    if "x-security-token" in headers and "x-security-token" not in auth.signed_headers:
        missing.append("x-security-token")
    if missing:
        raise Refused(403, "SignatureDoesNotMatch", f"SignedHeaders must include {', '.join(missing)}.")
    if (auth.region, auth.service) != (record.cloud.region, SERVICE):
        message = f"The credential scope {auth.region}/{auth.service} must be {record.cloud.region}/{SERVICE}."
        raise Refused(403, "SignatureDoesNotMatch", message)
    stamp = headers.get("x-date", "")
    _check_time(stamp, auth.date, now)
    if not hmac.compare_digest(headers.get("x-content-sha256", ""), hashlib.sha256(body).hexdigest()):
        raise Refused(403, "SignatureDoesNotMatch", "X-Content-Sha256 is not the SHA-256 of the request body.")
    expected = signature(
        method, path, query, _signing_headers(headers), auth.signed_headers,
        secret=Secret(record.key.secret_access_key), stamp=stamp, region=auth.region, service=auth.service,
    )  # fmt: skip
    if not hmac.compare_digest(expected, auth.signature):
        message = "The request signature we calculated does not match the signature you provided."
        raise Refused(403, "SignatureDoesNotMatch", message)
    return record


def _check_time(stamp: str, scope_date: str, now: float) -> None:
    try:
        at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        # inferred: upstream's code for a bad X-Date is not documented.
        raise Refused(403, "InvalidTimestamp", "X-Date must be UTC time as YYYYMMDD'T'HHMMSS'Z'.") from None
    if scope_date != stamp[:8]:
        raise Refused(403, "SignatureDoesNotMatch", "The credential scope's date is not the X-Date's.")
    if abs(now - at) > MAX_SKEW:
        # inferred: the SignatureDoesNotMatch family's time-window error, named as AWS names it.
        raise Refused(403, "RequestExpired", f"X-Date {stamp} is more than 15 minutes from the server's time.")


def _signing_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return the received headers as the signer saw them: the SDKs sign ``Host`` without :80 or :443."""
    seen = {name.lower(): value for name, value in headers.items()}
    host = seen.get("host", "")
    for port in (":80", ":443"):
        if host.endswith(port):
            seen["host"] = host[: -len(port)]
    return seen
