"""Optional SQLite persistence of the emulator's state, so a restarted emulator keeps its groups.

Write-through: every entity is stored as a JSON row the moment it is created or changes; a new
``State`` with the same file loads them back (``load_entities``). In-flight work (a check or a
render that had not finished) is not resumed: such an asset or job is finished as failed with
``InternalError``.

Entities name their account by a fingerprint of its API key (``State.account``), never the key:
the file may be copied, backed up or attached to a bug report. A file written before that (no
``meta`` row) has its accounts re-keyed in place when it is opened.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any, Final

from .._config import fingerprint
from .records import Asset, Group, Job, Session, Task

__all__ = ["Store", "load_entities"]

_FORMAT: Final = {"accounts": "fingerprint"}


class Store:
    """A SQLite file of ``(kind, id) -> JSON`` rows."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS entity (kind TEXT, id TEXT, body TEXT, PRIMARY KEY (kind, id))")
        if next(self.load("meta"), None) is None:
            self._fingerprint_accounts()

    def _fingerprint_accounts(self) -> None:
        """Replace the API keys a file from before fingerprints holds with their fingerprints."""
        with self._lock:
            rows = self._db.execute("SELECT kind, id, body FROM entity").fetchall()
            self._db.execute("BEGIN")
            for kind, key, raw in rows:
                body = json.loads(raw)
                if isinstance(body.get("account"), str):
                    body["account"] = _fingerprinted(body["account"])
                    update = "UPDATE entity SET body = ? WHERE kind = ? AND id = ?"
                    self._db.execute(update, (json.dumps(body), kind, key))
            self._db.execute("INSERT OR REPLACE INTO entity VALUES ('meta', 'format', ?)", (json.dumps(_FORMAT),))
            self._db.execute("COMMIT")
        # The old rows' pages may still hold the keys until SQLite reuses them: rewrite the file.
        self._db.execute("VACUUM")
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def put(self, kind: str, key: str, body: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO entity VALUES (?, ?, ?)", (kind, key, json.dumps(body)))

    def delete(self, kind: str, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM entity WHERE kind = ? AND id = ?", (kind, key))

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM entity WHERE kind != 'meta'")

    def load(self, kind: str) -> Iterator[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT body FROM entity WHERE kind = ? ORDER BY rowid", (kind,)).fetchall()
        for (body,) in rows:
            yield json.loads(body)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _fingerprinted(account: str) -> str:
    """Return an account written as ``provider:<key>`` keyed instead by the key's fingerprint."""
    provider, sep, key = account.partition(":")
    return f"{provider}:{fingerprint(key)}" if sep else fingerprint(account)


Entities = tuple[dict[str, Session], dict[str, Group], dict[str, Asset], dict[str, Job], dict[str, Task]]


def load_entities(store: Store) -> Entities:
    """Return every stored session, group, asset, job and task; work that died in flight is failed."""
    sessions = {body["token"]: Session(**body) for body in store.load("session")}
    groups = {body["id"]: Group(**body) for body in store.load("group")}
    assets: dict[str, Asset] = {}
    for body in store.load("asset"):
        asset = Asset(**body)
        if asset.status == "Processing":  # its check died with the old process
            asset.status, asset.error_code = "Failed", "InternalError"
            asset.error_message = "The emulator restarted while the asset was processing; upload it again."
        assets[asset.id] = asset
    jobs: dict[str, Job] = {}
    for body in store.load("job"):
        job = Job(**{**body, "references": tuple(body["references"])})
        if job.status in ("queued", "running") and not (job.video_path and job.status == "running"):
            job.status, job.error_code = "failed", "InternalServiceError"
            job.error_message = "The emulator restarted while the job ran; submit it again."
        jobs[job.id] = job
    tasks = {body["id"]: Task(**body) for body in store.load("task")}
    return sessions, groups, assets, jobs, tasks
