"""The ledger: every session, group, asset and job written to SQLite the moment it exists.

It is the client's memory. A killed kernel resumes from it; a rerun of a batch skips what is
already uploaded (same provider, group and file hash); a group verified for one person is never
handed to another. An upload is recorded as an *intent* before its request is sent, so a crash
between sending and hearing back leaves a row that says "outcome unknown" instead of nothing.

Secrets are never stored: byted tokens and H5 links are kept as a SHA-256 fingerprint only.
Several clients in one process may share a file (WAL mode, one connection per ledger, a lock).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ._config import Secret, default_data_dir
from ._exceptions import LedgerError, PersonMismatchError
from ._models import Asset, Consent, GenerationJob, Verification, VerificationSession

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Ledger"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS consents (person TEXT PRIMARY KEY, given_by TEXT, purpose TEXT, confirmed_at TEXT);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT, provider TEXT, person TEXT, biz_id TEXT, token_fingerprint TEXT, callback_url TEXT,
    created_at TEXT, expires_at TEXT, status TEXT, result_code TEXT, group_id TEXT, updated_at TEXT,
    PRIMARY KEY (provider, id));
CREATE TABLE IF NOT EXISTS groups (
    id TEXT, provider TEXT, person TEXT NOT NULL, session_id TEXT, created_at TEXT, PRIMARY KEY (provider, id));
CREATE TABLE IF NOT EXISTS assets (
    key INTEGER PRIMARY KEY AUTOINCREMENT, provider TEXT, group_id TEXT, person TEXT, source TEXT, sha256 TEXT,
    asset_type TEXT, name TEXT, id TEXT, status TEXT, error_code TEXT, error_message TEXT, created_at TEXT,
    updated_at TEXT, handle TEXT);
CREATE INDEX IF NOT EXISTS assets_by_file ON assets (provider, group_id, sha256);
CREATE INDEX IF NOT EXISTS assets_by_id ON assets (provider, id);
CREATE INDEX IF NOT EXISTS assets_by_handle ON assets (provider, handle);
CREATE TABLE IF NOT EXISTS face_references (person TEXT PRIMARY KEY, descriptor TEXT, source TEXT, created_at TEXT);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT, provider TEXT, model TEXT, prompt TEXT, refs TEXT, status TEXT, video_url TEXT, error_code TEXT,
    error_message TEXT, path TEXT, created_at TEXT, updated_at TEXT, PRIMARY KEY (provider, id));
"""
SENDING: Final = "sending"  # an upload intent whose create request has not been answered


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def fingerprint(secret: Secret | str) -> str:
    """Return a short SHA-256 fingerprint of a secret: enough to match it again, never to use it."""
    raw = secret.reveal() if isinstance(secret, Secret) else secret
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class Ledger:
    """A SQLite file of everything the client did (``path``: default ``$REALAVATAR_HOME/ledger.sqlite3``)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_data_dir() / "ledger.sqlite3"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL survives a killed kernel (what the ledger is for) at a quarter of FULL's cost per
            # write; the writes a person's liveness check paid for are made FULL one by one (durable=).
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(
                f"Cannot open the ledger at {self.path}: {exc}. Pass Ledger(path=...) somewhere writable."
            ) from exc
        self._lock = threading.Lock()

    def _run(self, sql: str, args: tuple[Any, ...] = (), *, durable: bool = False) -> sqlite3.Cursor:
        try:
            with self._lock:
                if not durable:
                    return self._db.execute(sql, args)
                self._db.execute("PRAGMA synchronous=FULL")
                try:
                    return self._db.execute(sql, args)
                finally:
                    self._db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise LedgerError(f"The ledger at {self.path} could not be written: {exc}") from exc

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return list(self._run(sql, args).fetchall())

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- consent, sessions, groups --------------------------------------------------------

    def record_consent(self, person: str, consent: Consent) -> None:
        """Record who consented for ``person``, for what, and when."""
        self._run(
            "INSERT OR REPLACE INTO consents VALUES (?, ?, ?, ?)",
            (person, consent.given_by, consent.purpose, consent.confirmed_at.isoformat()),
        )

    def consent(self, person: str) -> Consent | None:
        """Return the consent recorded for ``person``, if any."""
        rows = self._rows("SELECT * FROM consents WHERE person = ?", (person,))
        if not rows:
            return None
        row = rows[0]
        return Consent(row["given_by"], row["purpose"], datetime.fromisoformat(row["confirmed_at"]))

    def record_session(
        self, session: VerificationSession, *, person: str | None, biz_id: str | None, provider: str | None = None
    ) -> None:
        """Record a new liveness session (its token only as a fingerprint) under ``provider``."""
        self._run(
            "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', NULL, NULL, ?)",
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
            "INSERT OR IGNORE INTO groups VALUES (?, ?, ?, ?, ?)",
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
        """Record the intent to upload a file before its request is sent; return the row's key."""
        person = self.person_of(provider, group_id)
        cursor = self._run(
            "INSERT INTO assets (provider, group_id, person, source, sha256, asset_type, name, status, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (provider, group_id, person, source, sha256, asset_type, name, SENDING, _now(), _now()),
        )
        return int(cursor.lastrowid or 0)

    def finish_upload(self, key: int, asset: Asset) -> None:
        """Record the provider's answer to an upload intent."""
        self._run(
            "UPDATE assets SET id = ?, status = ?, error_code = ?, error_message = ?, updated_at = ? WHERE key = ?",
            (asset.id, asset.status, asset.error_code, asset.error_message, _now(), key),
        )

    def abandon_upload(self, key: int) -> None:
        """Forget an intent whose request certainly never created anything (refused before sending)."""
        self._run("DELETE FROM assets WHERE key = ? AND status = ?", (key, SENDING))

    def existing_upload(self, provider: str, group_id: str, sha256: str) -> dict[str, Any] | None:
        """Return the upload of this file into this group that is pending, processing or active, if any."""
        rows = self._rows(
            "SELECT * FROM assets WHERE provider = ? AND group_id = ? AND sha256 = ? AND status != 'failed'"
            " ORDER BY key DESC",
            (provider, group_id, sha256),
        )
        return dict(rows[0]) if rows else None

    def failed_upload(self, provider: str, group_id: str, sha256: str) -> dict[str, Any] | None:
        """Return the newest failed upload of this file into this group, if any."""
        rows = self._rows(
            "SELECT * FROM assets WHERE provider = ? AND group_id = ? AND sha256 = ? AND status = 'failed'"
            " ORDER BY key DESC LIMIT 1",
            (provider, group_id, sha256),
        )
        return dict(rows[0]) if rows else None

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
            "INSERT OR REPLACE INTO face_references VALUES (?, ?, ?, ?)",
            (person, json.dumps([round(float(x), 6) for x in descriptor]), source, _now()),
        )

    # -- jobs -----------------------------------------------------------------------------

    def record_job(self, provider: str, job: GenerationJob, *, prompt: str = "", path: str | None = None) -> None:
        """Record a generation job, or its latest state."""
        self._run(
            "INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider, id) DO UPDATE SET"
            " status = excluded.status, video_url = excluded.video_url, error_code = excluded.error_code,"
            " error_message = excluded.error_message, path = COALESCE(excluded.path, jobs.path),"
            " updated_at = excluded.updated_at",
            (job.id, provider, job.model, prompt, json.dumps(list(job.references)), job.status, job.video_url,
             job.error_code, job.error_message, path, _now(), _now()),
        )  # fmt: skip

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
        counts = {}
        for table in ("assets", "groups", "sessions", "consents", "face_references"):
            counts[table] = self._run(f"DELETE FROM {table} WHERE person = ?", (person,)).rowcount
        return counts
