"""The BytePlus / Volcengine OpenAPI signature ("HMAC-SHA256", reference/upstream.md §1.2), sans-IO.

    signed = sign(request, AccessKey("AK…", Secret("…")), region="ap-southeast-1", service="ark", now=t)

A request is signed over its method, its path, its sorted query, the headers it names in
``SignedHeaders`` (``content-type;host;x-content-sha256;x-date`` and ``x-security-token`` with an STS
key), and the SHA-256 of its body bytes. The scope is ``<YYYYMMDD>/<region>/<service>/request`` and the
key is derived from the secret through the date, region, service and ``request``. The official SDKs'
``SignerV4`` produces the same ``Authorization`` header byte for byte (tests/providers/test_signing.py
holds it to that). The emulator checks requests with ``verify``, which reads the header list from
the ``Authorization`` header itself, as upstream must: the SDKs sign their own ``X-Sdk-*`` headers too.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote

import httpx

from .._config import Secret

__all__ = ["ALGORITHM", "AccessKey", "Authorization", "canonical_query", "parse_authorization", "sign", "signature"]

ALGORITHM: Final = "HMAC-SHA256"
TERMINATOR: Final = "request"  # the scope's last part (AWS has "aws4_request")
_SIGNED: Final = ("content-type", "host", "x-content-sha256", "x-date", "x-security-token")


@dataclass(frozen=True)
class AccessKey:
    """An access key pair, with the session token of temporary (STS) credentials."""

    access_key_id: str
    secret: Secret
    session_token: Secret | None = None

    def __repr__(self) -> str:
        return f"AccessKey({self.access_key_id[:4]}…, secret=***{', sts' if self.session_token else ''})"


@dataclass(frozen=True)
class Authorization:
    """The parts of an ``Authorization: HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`` header."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def sign(request: httpx.Request, key: AccessKey, *, region: str, service: str, now: datetime) -> httpx.Request:
    """Add ``X-Date``, ``X-Content-Sha256``, ``X-Security-Token`` (STS) and ``Authorization``; return ``request``."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    request.headers["X-Date"] = stamp
    request.headers["X-Content-Sha256"] = hashlib.sha256(request.content).hexdigest()
    if key.session_token:
        request.headers["X-Security-Token"] = key.session_token.reveal()
    names = tuple(name for name in _SIGNED if name in request.headers)
    value = signature(
        request.method, request.url.path, request.url.params.multi_items(), request.headers, names,
        secret=key.secret, stamp=stamp, region=region, service=service,
    )  # fmt: skip
    scope = f"{stamp[:8]}/{region}/{service}/{TERMINATOR}"
    request.headers["Authorization"] = (
        f"{ALGORITHM} Credential={key.access_key_id}/{scope}, SignedHeaders={';'.join(names)}, Signature={value}"
    )
    return request


def signature(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Iterable[str],
    *,
    secret: Secret,
    stamp: str,
    region: str,
    service: str,
) -> str:
    """Return the hex signature of a request: the canonical request, hashed into the string to sign."""
    names = sorted(name.lower() for name in signed_headers)
    canonical_headers = "".join(f"{name}:{_header(headers, name)}\n" for name in names)
    canonical = "\n".join([
        method.upper(), path or "/", canonical_query(query), canonical_headers, ";".join(names),
        _header(headers, "x-content-sha256"),
    ])  # fmt: skip
    scope = f"{stamp[:8]}/{region}/{service}/{TERMINATOR}"
    to_sign = "\n".join([ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = secret.reveal().encode()
    for part in (stamp[:8], region, service, TERMINATOR):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def canonical_query(query: Iterable[tuple[str, str]]) -> str:
    """Return ``k=v`` pairs, each side percent-encoded but for ``-_.~``, sorted, joined by ``&``."""
    pairs = sorted((quote(str(k), safe="-_.~"), quote(str(v), safe="-_.~")) for k, v in query)
    return "&".join(f"{k}={v}" for k, v in pairs)


def parse_authorization(value: str) -> Authorization | None:
    """Return the parts of an ``Authorization`` header, or ``None`` if it is not an HMAC-SHA256 one."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        return None
    fields = dict(part.strip().partition("=")[::2] for part in rest.split(","))
    scope = fields.get("Credential", "").split("/")
    if len(scope) != 5 or scope[4] != TERMINATOR or not fields.get("SignedHeaders") or not fields.get("Signature"):
        return None
    return Authorization(
        access_key_id=scope[0], date=scope[1], region=scope[2], service=scope[3],
        signed_headers=tuple(fields["SignedHeaders"].split(";")), signature=fields["Signature"],
    )  # fmt: skip


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:  # a plain dict keyed as sent (the SDK's "Host", "X-Date")
        value = next((v for k, v in headers.items() if k.lower() == name), "")
    return str(value)
