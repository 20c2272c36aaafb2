"""Optional SQLite persistence of the emulator's state, so a restarted emulator keeps its groups.

Write-through: every entity is stored as a JSON row the moment it is created or changes; a new
``State`` with the same file loads them back. In-flight work (a check or a render that had not
finished) is not resumed: such an asset or job is finished as failed with ``InternalError``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["Store"]


class Store:
    """A SQLite file of ``(kind, id) -> JSON`` rows."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS entity (kind TEXT, id TEXT, body TEXT, PRIMARY KEY (kind, id))")

    def put(self, kind: str, key: str, body: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO entity VALUES (?, ?, ?)", (kind, key, json.dumps(body)))

    def delete(self, kind: str, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM entity WHERE kind = ? AND id = ?", (kind, key))

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM entity")

    def load(self, kind: str) -> Iterator[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT body FROM entity WHERE kind = ? ORDER BY rowid", (kind,)).fetchall()
        for (body,) in rows:
            yield json.loads(body)

    def close(self) -> None:
        with self._lock:
            self._db.close()
