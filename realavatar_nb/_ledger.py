"""The ledger: every session, group, asset and job written to SQLite the moment it exists.

It is the client's memory. A killed kernel resumes from it; a rerun of a batch skips what is
already uploaded (same provider, group and file hash); a group verified for one person is never
handed to another. An upload is recorded as an *intent* before its request is sent, so a crash
between sending and hearing back leaves a row that says "outcome unknown" instead of nothing.

Secrets are never stored: byted tokens and H5 links are kept as a SHA-256 fingerprint only.
Several clients in one process may share a file (WAL mode, one connection per ledger, a lock).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ._config import default_data_dir, fingerprint
from ._exceptions import InvalidArgumentError, LedgerError, PersonMismatchError
from ._ledger_hashes import HashesTable
from ._ledger_jobs import JobsTable
from ._ledger_schema import open_ledger
from ._models import Asset, Consent, Verification, VerificationSession

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Ledger", "fingerprint"]

SENDING: Final = "sending"  # an upload claimed and not yet answered (see _uploads)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Ledger(JobsTable, HashesTable):
    """A SQLite file of everything the client did (``path``: default ``$REALAVATAR_HOME/ledger.sqlite3``)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise InvalidArgumentError(f"Ledger(path={path!r}): pass a file path (str or pathlib.Path), or None.")
        self.path = Path(path) if path is not None else default_data_dir() / "ledger.sqlite3"
        self._db, self.read_only = open_ledger(self.path)
        self._lock = threading.RLock()  # one statement, or one transaction, at a time on this connection
        self._in_transaction = False

    def _run(self, sql: str, args: tuple[Any, ...] = (), *, durable: bool = False) -> sqlite3.Cursor:
        writes = not sql.lstrip().upper().startswith(("SELECT", "PRAGMA TABLE_INFO"))
        if writes and self.read_only:
            raise LedgerError(
                f"The ledger at {self.path} is read-only here: it can be read (frames, reports), not written. "
                f"To verify or upload, make the file and its folder writable, or work on a copy "
                f"(ra.Ledger(path=...)) and keep the original: it remembers what was uploaded."
            )
        try:
            with self._lock:
                if not durable or self._in_transaction:
                    return self._db.execute(sql, args)
                self._db.execute("PRAGMA synchronous=FULL")
                try:
                    return self._db.execute(sql, args)
                finally:
                    self._db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise LedgerError(
                f"The ledger at {self.path} could not be {'written' if writes else 'read'}: {exc}"
            ) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the database's write lock for a block of reads and writes (other processes wait)."""
        with self._lock:
            if self._in_transaction:
                yield
                return
            try:
                # At the ledger's NORMAL: in WAL mode a commit survives the process being killed (what the
                # claims guard against); FULL would add an fsync per upload row for power loss alone.
                self._run("BEGIN IMMEDIATE")
                self._in_transaction = True
                yield
            except BaseException:
                if self._in_transaction:
                    self._in_transaction = False
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise
            else:
                self._in_transaction = False
                self._run("COMMIT")

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        # Read whole under the lock: the connection caches one statement per SQL text, so another thread
        # running the same SELECT would reset it under a half-read cursor (3.12 and 3.13 lost rows that way).
        with self._lock:
            cursor = self._run(sql, args)
            try:
                return cursor.fetchall()
            except sqlite3.Error as exc:
                raise LedgerError(f"The ledger at {self.path} could not be read: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- consent, sessions, groups --------------------------------------------------------

    def record_consent(self, person: str, consent: Consent) -> None:
        """Record who consented for ``person``, for what, and when."""
        self._run(
            "INSERT OR REPLACE INTO consents (person, given_by, purpose, confirmed_at) VALUES (?, ?, ?, ?)",
            (person, consent.given_by, consent.purpose, consent.confirmed_at.isoformat()),
        )

    def consent(self, person: str) -> Consent | None:
        """Return the consent recorded for ``person``, if any."""
        rows = self._rows("SELECT * FROM consents WHERE person = ?", (person,))
        if not rows:
            return None
        row = rows[0]
        try:
            return Consent(row["given_by"], row["purpose"], datetime.fromisoformat(row["confirmed_at"]))
        except (InvalidArgumentError, TypeError, ValueError):  # a blank consent from an older release is none
            return None

    def record_session(
        self, session: VerificationSession, *, person: str | None, biz_id: str | None, provider: str | None = None
    ) -> None:
        """Record a new liveness session (its token only as a fingerprint) under ``provider``."""
        self._run(
            "INSERT OR REPLACE INTO sessions (id, provider, person, biz_id, token_fingerprint, callback_url,"
            " created_at, expires_at, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
            (
                session.id,
                provider or session.provider,
                person,
                biz_id,
                fingerprint(session.byted_token),
                session.callback_url,
                session.created_at.isoformat(),
                session.expires_at.isoformat(),
                _now(),
            ),
        )

    def record_verification(self, provider: str, session_id: str, verification: Verification) -> None:
        """Record what a look at a session found; a verified one also records its group for the person."""
        self._run(
            "UPDATE sessions SET status = ?, result_code = ?, group_id = ?, updated_at = ?"
            " WHERE provider = ? AND id = ?",
            (verification.status, verification.result_code, verification.group_id, _now(), provider, session_id),
        )
        if verification.verified and verification.group_id:
            rows = self._rows("SELECT person FROM sessions WHERE provider = ? AND id = ?", (provider, session_id))
            person = rows[0]["person"] if rows and rows[0]["person"] else "unknown"
            self.record_group(provider, verification.group_id, person=person, session_id=session_id)

    def record_group(self, provider: str, group_id: str, *, person: str, session_id: str | None = None) -> None:
        """Record a verified group as ``person``'s; raise ``PersonMismatchError`` if it is someone else's."""
        self.check_group(provider, group_id, person)
        self._run(
            "INSERT OR IGNORE INTO groups (id, provider, person, session_id, created_at) VALUES (?, ?, ?, ?, ?)",
            (group_id, provider, person, session_id, _now()),
            durable=True,
        )

    def check_group(self, provider: str, group_id: str, person: str | None) -> None:
        """Raise ``PersonMismatchError`` when ``group_id`` was verified for a person other than ``person``."""
        rows = self._rows("SELECT person FROM groups WHERE provider = ? AND id = ?", (provider, group_id))
        if person and rows and rows[0]["person"] not in (person, "unknown"):
            raise PersonMismatchError(
                f"Group {group_id} was verified for {rows[0]['person']!r}, not {person!r}: each group is bound to "
                f"one real person. Verify {person!r} with their own liveness check."
            )

    def group_for(self, provider: str, person: str) -> str | None:
        """Return the newest group verified for ``person`` at ``provider``, if any."""
        rows = self._rows(
            "SELECT id FROM groups WHERE provider = ? AND person = ? ORDER BY created_at DESC, rowid DESC",
            (provider, person),
        )
        return str(rows[0]["id"]) if rows else None

    def person_of(self, provider: str, group_id: str) -> str | None:
        rows = self._rows("SELECT person FROM groups WHERE provider = ? AND id = ?", (provider, group_id))
        return str(rows[0]["person"]) if rows else None

    # -- assets ---------------------------------------------------------------------------

    def begin_upload(
        self, provider: str, group_id: str, *, sha256: str, source: str, asset_type: str, name: str | None
    ) -> int:
        """Record an unowned upload intent (never sent); return the row's key. Clients claim through ``_uploads``."""
        return self.insert_claim(provider, group_id, sha256=sha256, source=source, asset_type=asset_type,
                                 name=name, owner=None, lease_until=None)  # fmt: skip

    # The upload claim's primitives; the rule that uses them is _uploads.claim.

    def upload_rows(self, provider: str, group_id: str, sha256: str) -> list[dict[str, Any]]:
        """Return every row for this file in this group, newest first."""
        rows = self._rows(
            "SELECT * FROM assets WHERE provider = ? AND group_id = ? AND sha256 = ? ORDER BY key DESC",
            (provider, group_id, sha256),
        )
        return [dict(r) for r in rows]

    def insert_claim(
        self, provider: str, group_id: str, *, sha256: str, source: str, asset_type: str, name: str | None,
        owner: str | None, lease_until: float | None,
    ) -> int:  # fmt: skip
        """Insert a claimed, unsent upload row; return its key."""
        person = self.person_of(provider, group_id)
        cursor = self._run(
            "INSERT INTO assets (provider, group_id, person, source, sha256, asset_type, name, status, created_at,"
            " updated_at, owner, lease_until, sends) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            (provider, group_id, person, source, sha256, asset_type, name, SENDING, _now(), _now(), owner,
             lease_until),
        )  # fmt: skip
        return int(cursor.lastrowid or 0)

    def take_claim(self, key: int, *, owner: str, lease_until: float) -> None:
        """Make ``owner`` the holder of a row whose earlier owner is gone."""
        self._run(
            "UPDATE assets SET owner = ?, lease_until = ?, status = ?, updated_at = ? WHERE key = ?",
            (owner, lease_until, SENDING, _now(), key),
        )

    def renew_claim(self, key: int, *, owner: str, lease_until: float) -> bool:
        """Extend ``owner``'s lease on a row; return ``False`` if the row is no longer theirs."""
        cursor = self._run(
            "UPDATE assets SET lease_until = ? WHERE key = ? AND owner = ? AND status = ?",
            (lease_until, key, owner, SENDING),
        )
        return cursor.rowcount > 0

    def mark_sent(self, key: int, *, owner: str) -> None:
        """Record, before it goes, that a create is about to be sent under this row."""
        self._run("UPDATE assets SET sends = sends + 1, updated_at = ? WHERE key = ? AND owner = ?",
                  (_now(), key, owner))  # fmt: skip

    def release_claim(self, key: int, *, owner: str) -> None:
        """Give a row up with its outcome unknown (sent, no answer recorded): the next claim reconciles it."""
        self._run(
            "UPDATE assets SET status = ?, owner = NULL, lease_until = NULL, updated_at = ?"
            " WHERE key = ? AND owner = ? AND status = ?",
            ("unknown", _now(), key, owner, SENDING),
        )

    def abandon_upload(self, key: int, owner: str | None = None) -> None:
        """Delete a claimed row under which nothing was sent (only its owner may)."""
        self._run("DELETE FROM assets WHERE key = ? AND status = ? AND sends = 0 AND owner IS ?",
                  (key, SENDING, owner))  # fmt: skip

    def drop_refused(self, key: int, *, owner: str) -> None:
        """Delete a row whose one and only create the provider refused outright (a 4xx: nothing was made)."""
        self._run("DELETE FROM assets WHERE key = ? AND owner = ? AND status = ? AND sends = 1",
                  (key, owner, SENDING))  # fmt: skip

    def finish_upload(self, key: int, asset: Asset, *, owner: str | None = None) -> None:
        """Record the provider's answer under the claimed row (a new row if the claim was lost meanwhile)."""
        with self.transaction():
            done = self._run(
                "UPDATE assets SET id = ?, status = ?, error_code = ?, error_message = ?, owner = NULL,"
                " lease_until = NULL, updated_at = ? WHERE key = ? AND (owner IS ? OR ? IS NULL)",
                (asset.id, asset.status, asset.error_code, asset.error_message, _now(), key, owner, owner),
            ).rowcount
            if not done:  # someone took the row over: the asset exists all the same, so remember it
                row = self._rows("SELECT * FROM assets WHERE key = ?", (key,))
                if row:
                    r = row[0]
                    self._run(
                        "INSERT INTO assets (provider, group_id, person, source, sha256, asset_type, name, id,"
                        " status, error_code, error_message, created_at, updated_at, sends)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                        (r["provider"], r["group_id"], r["person"], r["source"], r["sha256"], r["asset_type"],
                         r["name"], asset.id, asset.status, asset.error_code, asset.error_message, _now(), _now()),
                    )  # fmt: skip

    def settle_upload(self, key: int, asset: Asset | None, *, handle: str | None = None) -> None:
        """Settle a row whose outcome was unknown: the asset found for it, or ``None`` (it never arrived: kept
        as ``lost`` for the record, and the file may be sent again)."""
        if asset is None:
            self._run("UPDATE assets SET status = 'lost', owner = NULL, lease_until = NULL, updated_at = ?"
                      " WHERE key = ? AND id IS NULL", (_now(), key))  # fmt: skip
            return
        self._run(
            "UPDATE assets SET id = ?, status = ?, error_code = ?, error_message = ?, owner = NULL,"
            " lease_until = NULL, handle = COALESCE(?, handle), updated_at = ? WHERE key = ?",
            (asset.id, asset.status, asset.error_code, asset.error_message, handle, _now(), key),
        )

    def unsettled_uploads(self, provider: str, group_id: str | None = None) -> list[dict[str, Any]]:
        """Return rows sent with no answer recorded (outcome unknown), or claimed and not yet answered."""
        sql = "SELECT * FROM assets WHERE provider = ? AND status IN (?, 'unknown')"
        args: tuple[Any, ...] = (provider, SENDING)
        if group_id is not None:
            sql, args = sql + " AND group_id = ?", (*args, group_id)
        return [dict(r) for r in self._rows(sql + " ORDER BY key", args)]

    def resolve_asset(self, provider: str, handle: str, asset: Asset) -> None:
        """Record that the upload known by ``handle`` (APIMart's ``task#index``) is now ``asset.id``."""
        self._run(
            "UPDATE assets SET id = ?, handle = ?, status = ?, error_code = ?, error_message = ?, updated_at = ?"
            " WHERE provider = ? AND id = ?",
            (asset.id, handle, asset.status, asset.error_code, asset.error_message, _now(), provider, handle),
        )

    def asset_row(self, provider: str, asset_id: str) -> dict[str, Any] | None:
        """Return the ledger's row for an asset id (or the handle it was first known by), if any."""
        rows = self._rows(
            "SELECT * FROM assets WHERE provider = ? AND id = ? UNION SELECT * FROM assets WHERE provider = ?"
            " AND handle = ? ORDER BY key DESC",
            (provider, asset_id, provider, asset_id),
        )
        return dict(rows[0]) if rows else None

    def update_asset(self, provider: str, asset: Asset) -> None:
        """Record an asset's latest status."""
        self._run(
            "UPDATE assets SET status = ?, error_code = ?, error_message = ?, updated_at = ?"
            " WHERE provider = ? AND id = ?",
            (asset.status, asset.error_code, asset.error_message, _now(), provider, asset.id),
        )

    def forget_asset(self, provider: str, asset_id: str) -> None:
        self._run("DELETE FROM assets WHERE provider = ? AND id = ?", (provider, asset_id))

    # -- face references ------------------------------------------------------------------

    def face_reference(self, person: str) -> tuple[tuple[float, ...], str] | None:
        """Return the reference face descriptor kept for ``person`` and where it came from, if any."""
        rows = self._rows("SELECT descriptor, source FROM face_references WHERE person = ?", (person,))
        if not rows:
            return None
        return tuple(float(x) for x in json.loads(rows[0]["descriptor"])), str(rows[0]["source"])

    def record_face_reference(self, person: str, descriptor: Sequence[float], source: str) -> None:
        """Keep ``person``'s reference face (a 128-number descriptor: biometric data, erased with them)."""
        self._run(
            "INSERT OR REPLACE INTO face_references (person, descriptor, source, created_at) VALUES (?, ?, ?, ?)",
            (person, json.dumps([round(float(x), 6) for x in descriptor]), source, _now()),
        )

    # -- jobs -----------------------------------------------------------------------------

    # -- reading and erasing --------------------------------------------------------------

    def frame(self, kind: str = "assets") -> pd.DataFrame:
        """Return one table (``sessions``, ``groups``, ``assets``, ``jobs``, ``consents``) as a DataFrame."""
        import pandas as pd

        if kind not in ("sessions", "groups", "assets", "jobs", "consents"):
            raise LedgerError(f"No ledger table {kind!r}; use sessions, groups, assets, jobs or consents.")
        rows = [dict(r) for r in self._rows(f"SELECT * FROM {kind}")]  # kind is one of the five names above
        columns = [d[1] for d in self._rows(f"PRAGMA table_info({kind})")]
        return pd.DataFrame(rows, columns=columns)

    def belongings(self, provider: str, person: str) -> tuple[list[str], list[str]]:
        """Return (asset ids, group ids) recorded for ``person`` at ``provider``."""
        assets = self._rows(
            "SELECT id FROM assets WHERE provider = ? AND person = ? AND id IS NOT NULL", (provider, person)
        )
        groups = self._rows("SELECT id FROM groups WHERE provider = ? AND person = ?", (provider, person))
        return [str(r["id"]) for r in assets], [str(r["id"]) for r in groups]

    def erase_person(self, person: str) -> dict[str, int]:
        """Remove everything recorded about ``person``; return how many rows of each kind went."""
        # Their files' perceptual hashes first, while the assets still say whose they are (a file of
        # someone else's with the same bytes keeps its hashes).
        counts = {"perceptual_hashes": self._run(
            "DELETE FROM perceptual_hashes WHERE sha256 IN (SELECT sha256 FROM assets WHERE person = ?)"
            " AND sha256 NOT IN (SELECT sha256 FROM assets WHERE person IS NOT ? AND sha256 IS NOT NULL)",
            (person, person)).rowcount}  # fmt: skip
        for table in ("assets", "groups", "sessions", "consents", "face_references"):
            counts[table] = self._run(f"DELETE FROM {table} WHERE person = ?", (person,)).rowcount
        return counts
