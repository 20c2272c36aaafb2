"""A grid of generation requests: every one checked and estimated before the first is sent, then submitted.

``estimate`` prepares each request (the same gate ``generate`` uses) and prices it from the dated
table. ``run`` refuses to start when the estimate is over the budget, or when a budget is given and a
request has no published price (an unknown cost cannot be kept under anything); otherwise it submits
at most ``concurrency`` at a time. Each request carries a key of what it asks for (label, prompt,
settings, inputs): a rerun finds the jobs already submitted in the ledger and sends only the rest.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from typing import Final

from ._exceptions import BudgetExceededError, InvalidArgumentError, OutcomeUnknownError
from ._jobs import GetAsset, Jobs, Prepared
from ._models import GenerationJob
from .generation import GenerationRequest
from .generation.estimate import Estimate

__all__ = ["DEFAULT_CONCURRENCY", "Grid"]

DEFAULT_CONCURRENCY: Final = 4
"""Jobs submitted at once by default: creates are paced by the rate limiter too, and upstream queues at most
120 tasks per account (reference/upstream.md §4.1)."""


def request_key(prepared: Prepared) -> str:
    """Return a fingerprint of what a request asks for, the same on every rerun of the same grid cell."""
    r = prepared.request
    what = {"label": r.label, "prompt": r.prompt, "model": prepared.model, "options": r.options(),
            "inputs": [x.record() for x in r.references]}  # fmt: skip
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:32]


class Grid:
    """Estimates and submits a list of requests over one provider's jobs."""

    def __init__(self, jobs: Jobs, get_asset: GetAsset) -> None:
        self._jobs = jobs
        self._get_asset = get_asset

    async def _prepared(self, requests: Sequence[GenerationRequest]) -> list[Prepared]:
        if isinstance(requests, GenerationRequest) or not all(isinstance(r, GenerationRequest) for r in requests):
            raise InvalidArgumentError("Pass a list of ra.GenerationRequest(prompt, references, ...) objects.")
        return [await self._jobs.prepare(r, self._get_asset) for r in requests]

    async def estimate(self, requests: Sequence[GenerationRequest]) -> Estimate:
        """Return the grid's estimate; raises ``GenerationRefusedError`` for the first request that would be refused."""
        prepared = await self._prepared(requests)
        return Estimate(self._jobs.provider, tuple(p.estimate for p in prepared))

    async def run(
        self, requests: Sequence[GenerationRequest], *, budget: float | None, concurrency: int | None,
        resubmit_unknown: bool = False,
    ) -> list[GenerationJob]:  # fmt: skip
        """Return the grid's jobs in order (those a previous run submitted looked at again, not resubmitted)."""
        limit = concurrency or DEFAULT_CONCURRENCY
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidArgumentError(f"concurrency={concurrency!r}: pass a whole number of at least 1.")
        prepared = await self._prepared(requests)
        estimate = Estimate(self._jobs.provider, tuple(p.estimate for p in prepared))
        if budget is not None:
            _within(budget, estimate)
        gate = asyncio.Semaphore(limit)

        async def one(p: Prepared) -> GenerationJob:
            key = request_key(p)
            done = self._jobs.submitted(key)
            if done is not None and done[0].startswith("intent:"):
                if not resubmit_unknown:
                    raise _unknown(p, done[1])
                self._jobs.forget_intent(done[0])
            elif done is not None:
                return await self._jobs.get(done[0])
            async with gate:
                return await self._jobs.submit(p, key=key)

        return list(await asyncio.gather(*(one(p) for p in prepared)))


def _within(budget: float, estimate: Estimate) -> None:
    if isinstance(budget, bool) or not isinstance(budget, int | float) or budget < 0:
        raise InvalidArgumentError(f"budget={budget!r}: pass the most the grid may cost, as a number.")
    if estimate.unpriced:
        raise BudgetExceededError(
            f"Nothing was sent: {estimate.unpriced} of {len(estimate.rows)} requests have no published price at "
            f"{estimate.provider}, so the grid cannot be kept under {budget:g}. See client.estimate(requests); "
            f"pass budget=None to run it anyway.",
            estimate=estimate,
        )
    if estimate.total > budget:
        raise BudgetExceededError(
            f"Nothing was sent: the grid is estimated at {estimate.total:.4f} "
            f"{estimate.currency or '(mixed currencies)'}, over the budget of {budget:g}. Drop requests, lower "
            f"resolution or duration, or raise the budget.",
            estimate=estimate,
        )


def _unknown(p: Prepared, status: str) -> OutcomeUnknownError:
    label = p.request.label or p.request.prompt[:40]
    doing = "is being sent by another run right now" if status == "submitting" else "was sent and its answer lost"
    return OutcomeUnknownError(
        f"The job for {label!r} {doing}: it may exist. Look with client.list_jobs() where the provider lists, "
        f"or in its console; if it made nothing, rerun with generate_many(..., resubmit_unknown=True)."
    )
