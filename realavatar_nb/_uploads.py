"""The upload-once rule: a file's upload into a group is claimed once, across tasks, kernels and crashes.

Before a create is sent, its row in the ledger is *claimed*: one row per (provider, group, file hash),
written in one immediate transaction, naming its owner (host, process, start time, a nonce) and a lease
the owner keeps renewing while it works. Everyone else who wants the same bytes in the same group finds
the row and, by its state:

==============================  ============================================================
the rows for this file say      what the caller does
==============================  ============================================================
an asset id (processing/active)  ``uploaded``: reuse that asset, send nothing
failed for itself (FaceMismatch) ``refused``: return the failure; the answer would not change
claimed, owner alive, lease live ``in_flight``: wait, then decide again
claimed, never sent, owner gone  ``claimed``: take it over and send (nothing can exist)
sent, outcome unknown            ``claimed`` with ``may_exist`` where the provider lists (look
                                 for it by name first), else ``unresolved``: the caller raises
                                 and ``AsyncClient.resolve_upload`` settles it
nothing, or a transient failure  ``claimed``: a new row; send
==============================  ============================================================

A row is deleted only by its owner, and only while nothing was sent under it. The decision is a pure
function (``decide``) so every branch is tested without a database; ``claim`` applies it in a transaction.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from ._types import ASSET_TRANSIENT_FAILURES

if TYPE_CHECKING:
    from ._ledger import Ledger

__all__ = ["LEASE_SECONDS", "LOST", "SENDING", "UNKNOWN", "Decision", "UploadClaim", "claim", "decide", "new_owner"]

SENDING: Final = "sending"  # claimed: its owner is about to send, or is sending, the create
UNKNOWN: Final = "unknown"  # sent, and no answer was recorded: the asset may or may not exist
LOST: Final = "lost"  # settled by a person (resolve_upload): it never arrived; kept for the record
LEASE_SECONDS: Final = 60.0  # renewed every LEASE_SECONDS / 4 while the owner works

Verdict = Literal["claimed", "uploaded", "refused", "in_flight", "unresolved"]


@dataclass(frozen=True)
class UploadClaim:
    """This task's right to send one file's create into one group (a row of the ledger it owns)."""

    key: int
    owner: str
    name: str
    sends: int  # creates already sent under this row, by this owner or an earlier one

    @property
    def may_exist(self) -> bool:
        """Whether an earlier send under this row may have created the asset (look before sending)."""
        return self.sends > 0


@dataclass(frozen=True)
class Decision:
    """What to do about one file and one group; ``row`` is the ledger row it rests on."""

    verdict: Verdict
    row: Mapping[str, Any] | None = None
    claim: UploadClaim | None = None


def _process_start(pid: int) -> str:
    """Return a process's start time in clock ticks since boot (Linux), telling a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return "?"


_HOST: Final = socket.gethostname().replace("|", "_")


def new_owner() -> str:
    """Return a fresh owner name: host, pid and start time (to tell if it died) and a nonce (this task)."""
    pid = os.getpid()
    return f"{_HOST}|{pid}|{_process_start(pid)}|{secrets.token_hex(6)}"


def owner_alive(owner: str | None) -> bool:
    """Return whether the process behind ``owner`` may still be running (another host: assume it is)."""
    if not owner:
        return False
    host, pid, start, *_ = [*owner.split("|"), "", "", ""]
    if host != _HOST or not pid.isdigit():
        return True  # only its lease can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process, alive
        return True
    return start in ("?", "") or _process_start(int(pid)) in (start, "?")


def decide(
    rows: Sequence[Mapping[str, Any]],
    *,
    now: float,
    can_list: bool,
    alive: Callable[[str | None], bool] = owner_alive,
) -> tuple[Literal["new", "take", "uploaded", "refused", "in_flight", "unresolved"], Mapping[str, Any] | None]:
    """Return what the ledger's rows for one (provider, group, file) say to do, and the row it rests on.

    ``rows`` are newest first. ``take`` means: claim this row (its earlier owner is gone).
    """
    for row in rows:
        if row["id"] and row["status"] not in (SENDING, UNKNOWN, "failed"):
            return "uploaded", row
    for row in rows:
        if row["status"] == SENDING:
            if (row["lease_until"] or 0) > now and alive(row["owner"]):
                return "in_flight", row
            if not row["sends"]:
                return "take", row  # claimed and never sent: nothing can exist
            return ("take" if can_list else "unresolved"), row
        if row["status"] == UNKNOWN:
            return ("take" if can_list else "unresolved"), row
    for row in rows:
        if row["status"] == "failed":
            if row["id"] and row["error_code"] not in ASSET_TRANSIENT_FAILURES:
                return "refused", row  # judged for itself: the answer would not change
            break  # the newest failure was transient: send again
    return "new", None


def claim(
    ledger: Ledger,
    provider: str,
    group_id: str,
    *,
    sha256: str,
    source: str,
    asset_type: str,
    name: str,
    owner: str,
    now: float,
    can_list: bool,
    lease: float = LEASE_SECONDS,
) -> Decision:
    """Decide for one file and group in one immediate transaction, claiming the row where it is ours to send."""
    with ledger.transaction():
        rows = ledger.upload_rows(provider, group_id, sha256)
        step, row = decide(rows, now=now, can_list=can_list)
        if step == "new":
            key = ledger.insert_claim(
                provider, group_id, sha256=sha256, source=source, asset_type=asset_type, name=name, owner=owner,
                lease_until=now + lease,
            )  # fmt: skip
            return Decision("claimed", None, UploadClaim(key, owner, name, 0))
        if step == "take":
            assert row is not None
            ledger.take_claim(int(row["key"]), owner=owner, lease_until=now + lease)
            return Decision("claimed", row, UploadClaim(int(row["key"]), owner, str(row["name"]), int(row["sends"])))
        if step == "unresolved" and row is not None and row["status"] == SENDING:
            # Its owner is gone with its answer: say so in the ledger, for resolve_upload and for anyone who looks.
            ledger.release_claim(int(row["key"]), owner=str(row["owner"]))
        return Decision(step, row)
