"""The ledger's file: its schema, its version, migrations forward, and opening it whatever state it is in.

The schema carries a version (SQLite's ``user_version``). A ledger written by an older release is
migrated forward in one transaction when it is opened; one written by a newer release is refused
before anything is read or written, so no paid upload can be recorded into columns this release does
not know. A file that is not a database, or that lacks a column, is named as what it is (the memory
that prevents paying twice) with how to recover it, never replaced silently. A file this process may
not write is opened for reading.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Final

from ._config import fingerprint
from ._exceptions import LedgerError

__all__ = ["COLUMNS", "VERSION", "open_ledger"]

VERSION: Final = 3

_TABLES: Final = """
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
    updated_at TEXT, handle TEXT, owner TEXT, lease_until REAL, sends INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS assets_by_file ON assets (provider, group_id, sha256);
CREATE INDEX IF NOT EXISTS assets_by_id ON assets (provider, id);
CREATE INDEX IF NOT EXISTS assets_by_handle ON assets (provider, handle);
CREATE TABLE IF NOT EXISTS face_references (person TEXT PRIMARY KEY, descriptor TEXT, source TEXT, created_at TEXT);
CREATE TABLE IF NOT EXISTS perceptual_hashes (sha256 TEXT PRIMARY KEY, kind TEXT, hashes TEXT, created_at TEXT);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT, provider TEXT, model TEXT, prompt TEXT, refs TEXT, status TEXT, video_url TEXT, error_code TEXT,
    error_message TEXT, path TEXT, created_at TEXT, updated_at TEXT, label TEXT, params TEXT, inputs TEXT,
    last_frame_url TEXT, last_frame_path TEXT, tokens INTEGER, cost REAL, estimated_cost REAL, currency TEXT,
    PRIMARY KEY (provider, id));
"""

# The columns this release reads and writes, per table: a ledger missing one is refused at open.
COLUMNS: Final = {
    "consents": ("person", "given_by", "purpose", "confirmed_at"),
    "sessions": ("id", "provider", "person", "biz_id", "token_fingerprint", "callback_url", "created_at",
                 "expires_at", "status", "result_code", "group_id", "updated_at"),
    "groups": ("id", "provider", "person", "session_id", "created_at"),
    "assets": ("key", "provider", "group_id", "person", "source", "sha256", "asset_type", "name", "id", "status",
               "error_code", "error_message", "created_at", "updated_at", "handle", "owner", "lease_until", "sends"),
    "face_references": ("person", "descriptor", "source", "created_at"),
    "perceptual_hashes": ("sha256", "kind", "hashes", "created_at"),
    "jobs": ("id", "provider", "model", "prompt", "refs", "status", "video_url", "error_code", "error_message",
             "path", "created_at", "updated_at", "label", "params", "inputs", "last_frame_url", "last_frame_path",
             "tokens", "cost", "estimated_cost", "currency"),
}  # fmt: skip


def _migrate_1_to_2(db: sqlite3.Connection) -> None:
    """Version 2: upload claims (owner, lease, sends), and no session id that is a byted token."""
    have = {row[1] for row in db.execute("PRAGMA table_info(assets)")}
    for column, kind in (("owner", "TEXT"), ("lease_until", "REAL"), ("sends", "INTEGER NOT NULL DEFAULT 0")):
        if column not in have:
            db.execute(f"ALTER TABLE assets ADD COLUMN {column} {kind}")
    # A row still "sending" from version 1 was sent (v1 recorded intents just before sending) by a
    # process that no longer runs this code: its outcome is unknown until reconciled.
    db.execute("UPDATE assets SET status = 'unknown', sends = 1 WHERE status = 'sending'")
    # Anyfast's and EasyRouter's session id is the byted token itself: keep its fingerprint instead.
    for sid, provider, token_fp in db.execute("SELECT id, provider, token_fingerprint FROM sessions").fetchall():
        if sid and token_fp and fingerprint(str(sid)) == token_fp:
            db.execute("UPDATE OR REPLACE sessions SET id = ? WHERE provider = ? AND id = ?", (token_fp, provider, sid))


def _migrate_2_to_3(db: sqlite3.Connection) -> None:
    """Version 3: a job keeps its whole request (label, settings, inputs), its last frame, usage and cost;
    files keep their perceptual hashes (``perceptual_hashes``, created with the other tables)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    for column, kind in JOB_COLUMNS_3:
        if column not in have:
            db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")


JOB_COLUMNS_3: Final = (("label", "TEXT"), ("params", "TEXT"), ("inputs", "TEXT"), ("last_frame_url", "TEXT"),
                        ("last_frame_path", "TEXT"), ("tokens", "INTEGER"), ("cost", "REAL"),
                        ("estimated_cost", "REAL"), ("currency", "TEXT"))  # fmt: skip

_MIGRATIONS: Final = {1: _migrate_1_to_2, 2: _migrate_2_to_3}


def _damaged(path: Path, exc: BaseException) -> LedgerError:
    return LedgerError(
        f"The ledger at {path} cannot be read ({exc}). It is the memory of every verified group and upload: "
        f"it is what stops a file from being uploaded (and paid for) twice and lets erase_person find a "
        f"person's assets, so do not delete it. Move it aside (mv '{path}' '{path}.damaged'), try "
        f"sqlite3 '{path}.damaged' .recover | sqlite3 '{path}' to save what it holds, and check the "
        f"provider's console for uploads made since its last good state."
    )


def _connect(path: Path, *, read_only: bool) -> sqlite3.Connection:
    if read_only:
        # immutable: a read-only folder has no room for WAL's shared-memory file; nothing writes here.
        uri = path.resolve().as_uri() + ("?mode=ro" if os.access(path.parent, os.W_OK) else "?immutable=1")
        db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=30)
    else:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    db.row_factory = sqlite3.Row
    return db


def _is_writable(path: Path) -> bool:
    if path.exists():
        return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    return True  # a new file: let creating it say why it cannot be made


def _prepare(db: sqlite3.Connection, path: Path) -> None:
    """Create or migrate the schema to ``VERSION`` in one transaction; refuse a newer or foreign file."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version == 0 and "assets" in tables:
            version = 1  # written before the schema carried a version
        if version > VERSION:
            raise LedgerError(
                f"The ledger at {path} was written by a newer realavatar_nb (schema {version}; this one knows "
                f"{VERSION}). Upgrade the package (pip install -U realavatar-nb); the ledger was left untouched."
            )
        while 0 < version < VERSION:
            _MIGRATIONS[version](db)
            version += 1
        for statement in filter(str.strip, _TABLES.split(";")):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _check_columns(db: sqlite3.Connection, path: Path) -> None:
    for table, wanted in COLUMNS.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}  # table: one of our names
        missing = [c for c in wanted if c not in have]
        if missing:
            raise LedgerError(
                f"The ledger at {path} has a {table} table without {', '.join(missing)}: it was not written by "
                f"realavatar_nb, or was edited by hand. Nothing was written to it. Pass Ledger(path=...) for a "
                f"new ledger, or restore this one from a backup."
            )


def open_ledger(path: Path) -> tuple[sqlite3.Connection, bool]:
    """Return a connection to the ledger at ``path`` at schema ``VERSION``, and whether it is read-only."""
    read_only = not _is_writable(path)
    try:
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        db = _connect(path, read_only=read_only)
    except (OSError, sqlite3.Error) as exc:
        raise LedgerError(
            f"Cannot open the ledger at {path}: {exc}. Pass Ledger(path=...) somewhere writable, or set "
            f"REALAVATAR_HOME; keep the old ledger if there is one: it remembers what was uploaded."
        ) from exc
    try:
        if read_only:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > VERSION:
                raise LedgerError(
                    f"The ledger at {path} was written by a newer realavatar_nb (schema {version}; this one "
                    f"knows {VERSION}). Upgrade the package (pip install -U realavatar-nb)."
                )
            if version < VERSION:
                raise LedgerError(
                    f"The ledger at {path} is read-only and in an older format (schema {version}): open it once "
                    f"where it can be written, so it is brought up to date, then read it here."
                )
        else:
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL survives a killed kernel (what the ledger is for) at a quarter of FULL's cost per
            # write; the group a person's liveness check paid for is made FULL (durable=).
            db.execute("PRAGMA synchronous=NORMAL")
            _prepare(db, path)
        _check_columns(db, path)
    except LedgerError:
        db.close()
        raise
    except sqlite3.DatabaseError as exc:
        db.close()
        raise _damaged(path, exc) from exc
    return db, read_only
