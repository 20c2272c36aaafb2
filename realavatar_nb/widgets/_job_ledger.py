"""What the ledger knows of a job the previewer follows, and which input a failure blames.

A job handed over by id or object carries no prompt, inputs or settings; the ledger kept them when
it was submitted (``ledger.job_request``), and keeps its usage and cost as they become known (the
jobs table's ``tokens``, ``cost``, ``estimated_cost`` and ``currency``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from .._exceptions import GenerationRefusedError
from ..generation.blame import NOTE, recorded_order
from ._base import is_missing

if TYPE_CHECKING:
    from .._client import AsyncClient

__all__ = ["Recorded", "fault_of", "recall", "spend", "usage"]

_NOTED: Final = NOTE  # the client's note on a refusal naming content[N]: "content[2] is reference 2: …"
_SPEND: Final = ("tokens", "cost", "estimated_cost", "currency")


@dataclass
class Recorded:
    """A job as the ledger recorded it; empty where the ledger has no record (or cannot be read)."""

    prompt: str | None = None
    label: str | None = None
    references: tuple[str, ...] = ()
    """The ``asset://`` references as sent."""
    inputs: list[dict[str, Any]] = field(default_factory=list)
    """Each input: source, kind, role, asset, content (``ledger.job_request``)."""
    order: list[int | None] = field(default_factory=list)
    """Upstream's ``content[N]`` → the input's position in ``references``."""
    return_last_frame: bool = False
    spend: dict[str, Any] = field(default_factory=dict)


def _jobs_row(client: AsyncClient, job_id: str) -> dict[str, Any] | None:
    try:
        jobs = client.ledger.frame("jobs")
    except Exception:  # a client without a readable ledger still previews
        return None
    row = jobs[(jobs["id"] == job_id) & (jobs["provider"] == client.ledger_name)]
    return None if row.empty else {str(k): None if is_missing(v) else v for k, v in row.iloc[0].items()}


def recall(client: AsyncClient, job_id: str) -> Recorded:
    """Return what the ledger recorded of ``job_id``: prompt, label, references, inputs, settings, spend."""
    try:
        asked = client.ledger.job_request(client.ledger_name, job_id)
    except Exception:
        asked = None
    row = _jobs_row(client, job_id)
    found = Recorded()
    if row is not None:
        found.prompt = str(row.get("prompt") or "") or None
        found.references = tuple(f"asset://{r.removeprefix('asset://')}" for r in _json_list(row.get("refs")))
        found.spend = {k: row.get(k) for k in _SPEND}
    if asked is not None:
        found.prompt = found.prompt or asked["prompt"] or None
        found.label = asked["label"]
        found.inputs = list(asked["inputs"])
        found.order = recorded_order(found.inputs)
        found.return_last_frame = bool(asked["params"].get("return_last_frame"))
    return found


def spend(client: AsyncClient, job_id: str) -> dict[str, Any]:
    """Return the job's tokens, cost, estimated cost and currency from the jobs table (``None`` where unknown)."""
    row = _jobs_row(client, job_id)
    return {k: row.get(k) for k in _SPEND} if row is not None else {}


def usage(spent: Mapping[str, Any], tokens: int | None = None) -> tuple[str, str]:
    """Return (tokens, cost) as shown: the cost from usage, else the estimate marked so, else "unknown"."""
    counted = spent.get("tokens")
    counted = counted if counted is not None else tokens
    currency = f" {spent['currency']}" if spent.get("currency") else ""
    if spent.get("cost") is not None:
        cost = f"{float(spent['cost']):.4f}{currency}"
    elif spent.get("estimated_cost") is not None:
        cost = f"{float(spent['estimated_cost']):.4f}{currency} (estimated)"
    else:
        cost = "unknown"
    return (f"{int(counted):,}" if counted is not None else "unknown"), cost


def fault_of(exc: BaseException, count: int) -> int | None:
    """Return the position in references (from 0) of the input an error names, else ``None``."""
    if isinstance(exc, GenerationRefusedError):
        return exc.index
    match = _NOTED.search(str(exc))
    index = int(match.group(1)) - 1 if match else None
    return index if index is not None and 0 <= index < count else None


def _json_list(raw: Any) -> list[str]:
    try:
        value = json.loads(raw) if isinstance(raw, str) else []
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []
