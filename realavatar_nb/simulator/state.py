"""The emulator's backend: accounts, liveness sessions, groups, assets and generation jobs.

One state machine, no HTTP (moto's ``models.py``): five thin dialects speak their wire formats
over it. Time comes from an injectable ``clock``, and every timed transition (a link expiring,
autopilot passing a session, an asset leaving ``Processing``, a job finishing) is computed when
the thing is next read, so nothing here sleeps. Slow work runs on threads (``judging``: an
asset's URL downloaded in its account's turn, then checked; videos rendered on the same small
pool); ``settle()`` waits for it. Accounts are keyed by a fingerprint of their API key, never the
key itself, so neither the state nor its ``persist`` file holds a usable key.

``State`` is its domains together, one module each over ``backend.Backend`` (the tables, the
lock, persistence and accounts): ``sessions``, ``assets`` (with their groups) and ``jobs``; the
providers' task wrappers are here.
"""

from __future__ import annotations

from typing import Any

from .backend import Render as Render
from .backend import account_label, account_of
from .jobs import Jobs
from .records import ALGORITHM_FAILED as ALGORITHM_FAILED
from .records import MODERATE_MARKER as MODERATE_MARKER
from .records import OUTPUT_MODERATION_CODE as OUTPUT_MODERATION_CODE
from .records import OUTPUT_MODERATION_MESSAGE as OUTPUT_MODERATION_MESSAGE
from .records import RESULT_FAILED as RESULT_FAILED
from .records import RESULT_PASSED as RESULT_PASSED
from .records import Asset, Group, Job, Session, SimConfig, SimError, Task
from .sessions import Sessions
from .upstream_keys import KeyRing

__all__ = ["Asset", "Group", "Job", "Session", "SimConfig", "SimError", "State", "Task", "account_label", "account_of"]


class State(Sessions, Jobs):
    """Everything the emulator knows, behind one lock; ``keys`` are the upstream dialects' minted access keys."""

    def reset(self) -> None:
        """Forget every account, everything created, and every minted access key."""
        super().reset()
        self.keys = KeyRing()

    # -- provider tasks --------------------------------------------------------------------

    def create_task(self, account: str, kind: str, *, task_id: str, **refs: Any) -> Task:
        with self._lock:
            task = Task(id=task_id, account=account, kind=kind, created_at=self.clock(), refs=refs)
            self.tasks[task.id] = task
            self._save("task", task)
            return task

    def task(self, account: str, task_id: str) -> Task:
        with self._lock:
            return self._owned(self.tasks, account, task_id, f"task {task_id} not found", "task_id")
