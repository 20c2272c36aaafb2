"""An account's asset slots: how many are used, a plan before a batch uploads, and freeing slots safely.

The limit is ``Settings.asset_slots`` (about 50 at the entry tier of upstream's "advanced creation
rights", as one production client reports it: a setting, not a constant). Slots used are counted from
the provider's list where it lists (every group the ledger knows for this provider), else from the
ledger. ``plan`` says, per person, what a batch would upload, what is already there, and what would
not fit. ``cleanup`` frees slots, failed assets first, then the least recently used, never one a
queued or running job references; it is a dry run unless told otherwise.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._arguments import upload_items
from ._channel import Channel
from ._exceptions import InvalidArgumentError, RealAvatarError
from ._ledger import Ledger
from ._media_facts import file_facts
from ._models import Asset

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Quota", "Slots"]

# A row in these states holds a slot (or may: an unknown outcome may have made an asset).
_HOLDING = ("processing", "active", "failed", "unknown", "sending")


@dataclass(frozen=True)
class Quota:
    """Slots used out of the account's limit, counted from the provider's list or from the ledger."""

    used: int
    limit: int
    source: str
    """``"list"`` (the provider's own count of every known group) or ``"ledger"``."""
    by_group: Mapping[str, int] = field(default_factory=dict)

    @property
    def free(self) -> int:
        return max(self.limit - self.used, 0)

    def __repr__(self) -> str:
        return f"Quota(used={self.used}, limit={self.limit}, free={self.free}, counted from the {self.source})"


class Slots:
    """Counts, plans and frees one account's asset slots."""

    def __init__(self, channel: Channel, ledger: Ledger, ledger_name: str,
                 list_group: Callable[[str], Awaitable[list[Asset]]],
                 delete: Callable[[str], Awaitable[None]]) -> None:  # fmt: skip
        self._channel = channel
        self._ledger = ledger
        self._name = ledger_name
        self._list_group = list_group
        self._delete = delete

    async def quota(self) -> Quota:
        """Return the slots used and the limit."""
        limit = int(self._channel.settings.asset_slots)
        groups = [str(r["id"]) for r in self._ledger.frame("groups").to_dict("records") if r["provider"] == self._name]
        if self._channel.adapter.can_list_assets:
            by_group = {g: len(await self._list_group(g)) for g in groups}
            return Quota(sum(by_group.values()), limit, "list", by_group)
        rows = self._rows()
        by_group = {g: sum(1 for r in rows if r["group_id"] == g) for g in {str(r["group_id"]) for r in rows}}
        return Quota(len(rows), limit, "ledger", by_group)

    def _rows(self, person: str | None = None) -> list[dict[str, Any]]:
        assets: list[dict[str, Any]] = self._ledger.frame("assets").to_dict("records")  # type: ignore[assignment]
        return [r for r in assets if r["provider"] == self._name and r["status"] in _HOLDING
                and (person is None or r["person"] == person)]  # fmt: skip

    async def plan(
        self, groups: Mapping[str, str], sources: Mapping[str, Sequence[str]] | pd.DataFrame
    ) -> pd.DataFrame:
        """Return one row per file: its person, and ``upload``, ``already there`` or ``over quota``.

        ``groups`` maps each person to their group; ``sources`` is a validation report with a ``person``
        column (its ok rows), or person → paths. Files are planned in order, person by person.
        """
        import pandas as pd

        quota = await self.quota()
        free = quota.free
        rows = []
        for person, paths in _by_person(sources).items():
            group = groups.get(person)
            if group is None:
                raise InvalidArgumentError(f"plan: no group for {person!r}; verify them first (groups[{person!r}]).")
            for path in paths:
                _, sha = file_facts(path)
                there = [r for r in self._ledger.upload_rows(self._name, group, sha) if r["status"] in _HOLDING]
                action = "already there" if there else "upload" if free > 0 else "over quota"
                free -= action == "upload"
                rows.append({"person": person, "source": path, "group_id": group, "action": action,
                             "asset_id": there[0]["id"] if there else None})  # fmt: skip
        plan = pd.DataFrame(rows, columns=["person", "source", "group_id", "action", "asset_id"])
        plan.attrs["quota"] = quota
        return plan

    async def cleanup(
        self, free: int | None = None, *, person: str | None = None, dry_run: bool = True
    ) -> pd.DataFrame:
        """Return what would be (or was) deleted to free ``free`` slots: failed first, then least recently used.

        ``free=None`` deletes only failed assets. An asset a queued or running job references is never
        deleted (deleting it would fail that job); it is listed as ``kept``.
        """
        import pandas as pd

        if free is not None and (isinstance(free, bool) or not isinstance(free, int) or free < 0):
            raise InvalidArgumentError(f"cleanup(free={free!r}): pass how many slots to free, or None for failed ones.")
        held = self._ledger.jobs_holding(self._name)
        used = self._last_used()
        rows = [r for r in self._rows(person) if r["id"]]
        rows.sort(key=lambda r: (r["status"] != "failed", used.get(r["id"], ""), r["updated_at"] or ""))
        out: list[dict[str, Any]] = []
        for row in rows:
            wanted = row["status"] == "failed" if free is None else sum(o["action"] != "kept" for o in out) < free
            if not wanted:
                continue
            if row["id"] in held:
                out.append(_entry(row, "kept", "a queued or running job references it"))
                continue
            out.append(_entry(row, "would delete" if dry_run else await self._deleted(row["id"]), used.get(row["id"])))
        return pd.DataFrame(out, columns=["asset_id", "person", "group_id", "status", "source", "action", "why"])

    async def _deleted(self, asset_id: str) -> str:
        try:
            await self._delete(asset_id)
        except RealAvatarError as exc:
            return f"not deleted: {exc}"
        return "deleted"

    def _last_used(self) -> dict[str, str]:
        """Return when each asset was last referenced by a job (ISO time), from the ledger's jobs."""
        used: dict[str, str] = {}
        for job in self._ledger.frame("jobs").to_dict("records"):
            if job["provider"] != self._name:
                continue
            for uri in json.loads(job["refs"] or "[]"):
                key = str(uri).removeprefix("asset://")
                used[key] = max(used.get(key, ""), str(job["created_at"] or ""))
        return used


def _entry(row: Mapping[str, Any], action: str, why: str | None) -> dict[str, Any]:
    reason = why if action == "kept" else ("failed upstream" if row["status"] == "failed" else
                                           f"last used {why}" if why else "never used by a job")  # fmt: skip
    return {"asset_id": row["id"], "person": row["person"], "group_id": row["group_id"], "status": row["status"],
            "source": os.path.basename(str(row["source"] or "")), "action": action, "why": reason}  # fmt: skip


def _by_person(sources: Mapping[str, Sequence[str]] | pd.DataFrame) -> dict[str, list[str]]:
    if hasattr(sources, "columns"):
        report: Any = sources
        if "person" not in report.columns:
            raise InvalidArgumentError("plan: the report has no person column; use media.batch.with_person(report).")
        ok = report[report["ok"].astype(bool)] if "ok" in report.columns else report
        return {str(p): upload_items(rows) for p, rows in ok.groupby("person", sort=True) if p}
    return {str(p): [os.fspath(x) for x in paths] for p, paths in dict(sources).items()}
