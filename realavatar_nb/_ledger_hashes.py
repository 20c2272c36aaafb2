"""The ledger's perceptual hashes: each validated file's, by sha256, and those of a person's uploads.

A mixin of ``Ledger`` (it writes through the ledger's ``_run`` and reads through ``_rows``).
Validation records the hashes it computes (``media.near_duplicates``); the assets table already
keeps each upload's sha256, so joining the two finds what is in a person's groups without
downloading anything, and a burst twin of an uploaded photo is flagged before it takes a slot.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

__all__ = ["HashesTable", "UploadedHash"]

_GONE = ("failed", "lost")  # refused upstream, or never arrived: not in the group


class UploadedHash(NamedTuple):
    """One file uploaded for a person, with its perceptual hashes."""

    sha256: str
    kind: str  # image | video
    asset: str  # the asset id and the file it came from, as a person reads it
    hashes: tuple[str, ...]


class HashesTable:
    """The perceptual_hashes table's writes and reads, for ``Ledger``."""

    if TYPE_CHECKING:  # the ledger's own, which this mixin writes and reads through
        read_only: bool

        def _run(self, sql: str, args: tuple[Any, ...] = ()) -> Any: ...

        def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]: ...

    def record_hashes(self, sha256: str, kind: str, hashes: Sequence[str]) -> None:
        """Keep a file's perceptual hashes (hex, one per image or keyframe) under its sha256.

        A read-only ledger keeps nothing and says nothing: validation must not fail for it.
        """
        if self.read_only:
            return
        self._run(
            "INSERT OR REPLACE INTO perceptual_hashes (sha256, kind, hashes, created_at) VALUES (?, ?, ?, ?)",
            (sha256, kind, json.dumps(list(hashes)), datetime.now(UTC).isoformat(timespec="seconds")),
        )

    def uploaded_hashes(self, person: str) -> list[UploadedHash]:
        """Return each file uploaded for ``person`` (and not refused or lost) whose hashes are known, oldest first."""
        rows = self._rows(
            "SELECT a.sha256, p.kind, a.id, a.source, p.hashes FROM assets a"
            " JOIN perceptual_hashes p ON p.sha256 = a.sha256"
            " WHERE a.person = ? AND a.status NOT IN (?, ?) ORDER BY a.key",
            (person, *_GONE),
        )
        found: dict[str, UploadedHash] = {}
        for row in rows:
            if row["sha256"] in found:  # the same bytes in another group or at another provider
                continue
            source = os.path.basename(str(row["source"] or "")) or None
            asset = " ".join(filter(None, (row["id"], f"({source})" if row["id"] and source else source)))
            hashes = json.loads(row["hashes"] or "[]")
            found[row["sha256"]] = UploadedHash(row["sha256"], str(row["kind"] or ""), asset or "an upload",
                                                tuple(str(h) for h in hashes))  # fmt: skip
        return list(found.values())
