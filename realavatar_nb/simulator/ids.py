"""Identifier formats as upstream and the providers write them.

GroupId ``group-20260318033332-7vw4m``, AssetId ``asset-…``, BytedToken and RequestId
``20260331171630CA67F03F8F85ABCDEF1234`` (14-digit UTC time + 20 upper-case hex), and each
provider's task ids. Ids follow the seed, so a seeded run is reproducible; BytedTokens do not,
as they are credentials.
"""

from __future__ import annotations

import random
import secrets
import string
import threading
from datetime import UTC, datetime

__all__ = ["IdFactory"]

_ALNUM = string.ascii_lowercase + string.digits


class IdFactory:
    """Makes ids from a seeded generator, so a run with the same seed makes the same ids."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        # Request ids (errors included) draw from their own stream, so an error answered in a
        # seeded run does not shift the ids of everything created after it.
        self._requests = random.Random(f"{seed}:requests")
        self._lock = threading.Lock()

    def _stamp(self, now: float) -> str:
        return datetime.fromtimestamp(now, UTC).strftime("%Y%m%d%H%M%S")

    def _chars(self, alphabet: str, n: int, rng: random.Random | None = None) -> str:
        with self._lock:
            return "".join((rng or self._rng).choice(alphabet) for _ in range(n))

    def dated(self, prefix: str, now: float) -> str:
        """Return ``<prefix>-YYYYMMDDhhmmss-xxxxx`` (groups, assets, Ark ``cgt`` tasks)."""
        return f"{prefix}-{self._stamp(now)}-{self._chars(_ALNUM, 5)}"

    def token(self, now: float) -> str:
        """Return a BytedToken: 14-digit UTC time + 20 upper-case hex characters, from the OS's CSPRNG.

        Never from the seed: the token is the only credential of ``/h5/<token>``, and a seeded one
        could be guessed by anyone who can reach the emulator and knows the (default) seed.
        """
        return self._stamp(now) + secrets.token_hex(10).upper()

    def request_id(self, now: float) -> str:
        """Return a RequestId (the token format) from the request-id stream."""
        return self._stamp(now) + self._chars("0123456789ABCDEF", 20, self._requests)

    def ulid_like(self, prefix: str) -> str:
        """Return ``<prefix>01K…`` (26 Crockford characters, as ``task_01K…`` in the seeds)."""
        return prefix + "01K" + self._chars("0123456789ABCDEFGHJKMNPQRSTVWXYZ", 23)

    def hex(self, prefix: str, n: int = 24) -> str:
        """Return ``<prefix>`` + ``n`` lower-case hex characters."""
        return prefix + self._chars("0123456789abcdef", n)
