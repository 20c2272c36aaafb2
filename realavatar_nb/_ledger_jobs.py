"""The ledger's jobs table: each generation job with what it was asked for, its usage and its cost.

A mixin of ``Ledger`` (it writes through the ledger's ``_run`` and reads through ``_rows``): the
first record of a job keeps its label, settings and inputs, so ``ledger.frame("jobs")`` is the
experiment log of a study; later records update its state, last frame, usage and cost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ._models import GenerationJob

__all__ = ["JobRecord", "JobsTable"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class JobRecord:
    """What the ledger keeps of a job's request: its label, its settings and each input (source, kind, role)."""

    label: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    key: str | None = None
    """What the request asks for, fingerprinted (``generate_many``'s reruns find the job by it)."""


class JobsTable:
    """The jobs table's writes and reads, for ``Ledger``."""

    if TYPE_CHECKING:  # the ledger's own, which this mixin writes and reads through

        def _run(self, sql: str, args: tuple[Any, ...] = ()) -> Any: ...

        def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]: ...

    def record_job(
        self,
        provider: str,
        job: GenerationJob,
        *,
        prompt: str = "",
        path: str | None = None,
        request: JobRecord | None = None,
        spend: tuple[float | None, float | None, str | None] = (None, None, None),
        last_frame_path: str | None = None,
    ) -> None:
        """Record a generation job, or its latest state.

        ``request`` (first record) keeps its label, settings and inputs, so the jobs table is a study's
        experiment log; ``spend`` is (cost from usage, estimated cost, currency), each kept once known.
        """
        label, params, inputs = (
            (request.label, json.dumps({**request.params, "request_key": request.key}, default=str),
             json.dumps(request.inputs)) if request else (None, None, None)
        )  # fmt: skip
        cost, estimated, currency = spend
        self._run(
            "INSERT INTO jobs (id, provider, model, prompt, refs, status, video_url, error_code, error_message, path,"
            " created_at, updated_at, label, params, inputs, last_frame_url, last_frame_path, tokens, cost,"
            " estimated_cost, currency) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (provider, id) DO UPDATE SET"
            " status = excluded.status, video_url = COALESCE(excluded.video_url, jobs.video_url),"
            " error_code = excluded.error_code, error_message = excluded.error_message,"
            " path = COALESCE(excluded.path, jobs.path), updated_at = excluded.updated_at,"
            " model = COALESCE(jobs.model, excluded.model),"
            " label = COALESCE(jobs.label, excluded.label), params = COALESCE(jobs.params, excluded.params),"
            " inputs = COALESCE(jobs.inputs, excluded.inputs),"
            " last_frame_url = COALESCE(excluded.last_frame_url, jobs.last_frame_url),"
            " last_frame_path = COALESCE(excluded.last_frame_path, jobs.last_frame_path),"
            " tokens = COALESCE(excluded.tokens, jobs.tokens), cost = COALESCE(excluded.cost, jobs.cost),"
            " estimated_cost = COALESCE(jobs.estimated_cost, excluded.estimated_cost),"
            " currency = COALESCE(excluded.currency, jobs.currency)",
            (job.id, provider, job.model, prompt, json.dumps(list(job.references)), job.status, job.video_url,
             job.error_code, job.error_message, path, _now(), _now(), label, params, inputs, job.last_frame_url,
             last_frame_path, job.tokens, cost, estimated, currency),
        )  # fmt: skip

    def job_request(self, provider: str, job_id: str) -> dict[str, Any] | None:
        """Return what a recorded job was asked for: its label, prompt, settings and inputs."""
        rows = self._rows("SELECT label, prompt, params, inputs FROM jobs WHERE provider = ? AND id = ?",
                          (provider, job_id))  # fmt: skip
        if not rows:
            return None
        row = dict(rows[0])
        return {"label": row["label"], "prompt": row["prompt"], "params": json.loads(row["params"] or "{}"),
                "inputs": json.loads(row["inputs"] or "[]")}  # fmt: skip

    def job_for_key(self, provider: str, key: str) -> tuple[str, str] | None:
        """Return (id, status) of a job submitted for request ``key`` that did not fail, cancel or expire.

        An intent (``intent:<key>``, status ``submitting`` or ``unknown``) is a create sent whose answer
        is not recorded: it may exist upstream.
        """
        rows = self._rows(
            "SELECT id, status FROM jobs WHERE provider = ? AND json_extract(params, '$.request_key') = ?"
            " AND status NOT IN ('failed', 'cancelled', 'expired') ORDER BY created_at DESC LIMIT 1",
            (provider, key),
        )
        return (str(rows[0]["id"]), str(rows[0]["status"])) if rows else None

    def record_intent(self, provider: str, request: JobRecord, *, prompt: str) -> str:
        """Record that the create for ``request`` (which has a key) is about to be sent; return the row's id."""
        intent = f"intent:{request.key}"
        job = GenerationJob(id=intent, status="queued")
        self.record_job(provider, job, prompt=prompt, request=request)
        self._run("UPDATE jobs SET status = 'submitting' WHERE provider = ? AND id = ?", (provider, intent))
        return intent

    def settle_intent(self, provider: str, intent: str, *, outcome: str | None) -> None:
        """Drop the intent once its job is recorded or refused (``outcome=None``), else mark it ``outcome``."""
        if outcome is None:
            self._run("DELETE FROM jobs WHERE provider = ? AND id = ?", (provider, intent))
        else:
            self._run("UPDATE jobs SET status = ?, updated_at = ? WHERE provider = ? AND id = ?",
                      (outcome, _now(), provider, intent))  # fmt: skip

    def jobs_holding(self, provider: str) -> set[str]:
        """Return the asset ids that queued or running jobs reference (never to be deleted under them)."""
        held: set[str] = set()
        for row in self._rows("SELECT refs FROM jobs WHERE provider = ? AND status IN ('queued', 'running')",
                              (provider,)):  # fmt: skip
            held |= {u.removeprefix("asset://") for u in json.loads(row["refs"] or "[]") if u.startswith("asset://")}
        return held
