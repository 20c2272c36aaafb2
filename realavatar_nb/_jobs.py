"""Seedance 2.x generation jobs: check a request before it is paid for, submit it, look, wait, cancel, list, save.

Every request passes the same gate before anything is sent (``submit``): its inputs resolved and
measured (``_job_inputs``), then ``generation.check_request`` against the model table and what the
seller's adapter maps; only then are local files staged and the job created. A refusal that names
``content[N]`` says which input that was. The ledger keeps each job with its label, settings, inputs,
estimated cost, usage and the cost from usage: ``ledger.frame("jobs")`` is the study's log.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from ._channel import Channel
from ._download import download_to
from ._exceptions import InvalidRequestError, JobFailedError, ProviderError
from ._job_inputs import JobInputs
from ._ledger import Ledger
from ._ledger_jobs import JobRecord
from ._models import Asset, GenerationJob
from ._staging import Stager
from ._types import JOB_TERMINAL
from .generation import GenerationRequest, InputFacts, check_request, model_spec
from .generation.blame import blame_note, blamed, recorded_order
from .generation.estimate import EstimateRow, estimate_one
from .generation.prices import cost, price_for
from .providers import generation_sellers
from .providers.generation import expired_code

__all__ = ["Jobs", "Prepared"]

GetAsset = Callable[[str], Awaitable[Asset]]


class Prepared:
    """A request that passed the checks: resolved, measured, estimated; not yet staged or sent."""

    def __init__(self, request: GenerationRequest, model: str, facts: dict[int, InputFacts], row: EstimateRow) -> None:
        self.request = request
        self.model = model
        self.facts = facts
        self.estimate = row


class Jobs:
    """A provider's generation jobs, each recorded in the ledger with what it was asked for."""

    def __init__(self, channel: Channel, ledger: Ledger, ledger_name: str, stager: Stager) -> None:
        self._channel = channel
        self._ledger = ledger
        self._ledger_name = ledger_name
        self._inputs = JobInputs(ledger, ledger_name, stager, channel.http)

    async def prepare(self, request: GenerationRequest, get_asset: GetAsset) -> Prepared:
        """Return ``request`` checked for this provider: raises ``GenerationRefusedError`` naming the rule and input."""
        adapter = self._channel.adapter
        resolved = await self._inputs.resolve(request, get_asset)
        facts = await self._inputs.measure(resolved)
        model = adapter.model_for(resolved)
        check_request(resolved, provider=adapter.name, spec=model_spec(adapter.name, model),
                      features=adapter.generation_features, sellers=generation_sellers(), facts=facts)  # fmt: skip
        video_seconds = sum(f.seconds or 0.0 for i, f in facts.items() if resolved.references[i].kind == "Video")
        return Prepared(resolved, model, facts, estimate_one(resolved, adapter.name, model, video_seconds))

    @property
    def provider(self) -> str:
        """The seller whose models and prices apply (the emulator's dialect for ``"sandbox"``)."""
        return self._channel.adapter.name

    async def submit(self, prepared: Prepared, *, key: str | None = None) -> GenerationJob:
        """Stage what is local, create the job, record it; a refusal naming ``content[N]`` names the input.

        With ``key`` (a grid cell), the intent is recorded before the create is sent: a lost answer leaves
        it ``unknown`` in the ledger, so a rerun does not send it again blindly.
        """
        adapter = self._channel.adapter
        request = await self._inputs.ready(prepared.request, inline="base64" in adapter.generation_features)
        order = adapter.content_order(request)
        inputs = [r.record() for r in request.references]
        for n, index in enumerate(order):
            if index is not None:
                inputs[index]["content"] = n  # upstream's content[N] for this input, for failures named later
        record = JobRecord(label=request.label, params={**request.options(), "model": prepared.model},
                           inputs=inputs, key=key)  # fmt: skip
        intent = self._ledger.record_intent(self._ledger_name, record, prompt=request.prompt) if key else None
        try:
            job: GenerationJob = await self._channel.drive(
                adapter.parse_generate(await self._channel.send(adapter.build_generate(request)))
            )
        except ProviderError as exc:  # refused: nothing was made
            if intent:
                self._ledger.settle_intent(self._ledger_name, intent, outcome=None)
            raise _blamed(exc, request, order) from None
        except BaseException:
            if intent:
                self._ledger.settle_intent(self._ledger_name, intent, outcome="unknown")
            raise
        row = prepared.estimate
        spend = (None, row.cost, row.price.currency if row.price else None)
        self._ledger.record_job(self._ledger_name, job, prompt=request.prompt, request=record, spend=spend)
        if intent:
            self._ledger.settle_intent(self._ledger_name, intent, outcome=None)
        return job

    def submitted(self, key: str) -> tuple[str, str] | None:
        """Return (id, status) of a job already submitted for request ``key`` (that did not fail), else ``None``."""
        return self._ledger.job_for_key(self._ledger_name, key)

    def forget_intent(self, intent: str) -> None:
        """Let a create whose outcome was never learnt be sent again (the caller looked, and it made nothing)."""
        self._ledger.settle_intent(self._ledger_name, intent, outcome=None)

    async def get(self, job: GenerationJob | str) -> GenerationJob:
        """Return one look at a job, its usage priced once it succeeded."""
        job_id = job.id if isinstance(job, GenerationJob) else job
        adapter = self._channel.adapter
        found = _settled(adapter.parse_get_job(await self._channel.send(adapter.build_get_job(job_id))))
        self._ledger.record_job(self._ledger_name, found, spend=self._spend(found))
        return found

    def _spend(self, job: GenerationJob) -> tuple[float | None, float | None, str | None]:
        """Return (cost from usage, None, currency) for a job whose usage is known and priced."""
        asked = self._ledger.job_request(self._ledger_name, job.id)
        if job.tokens is None or asked is None:
            return None, None, None
        params = asked["params"]
        spec = model_spec(self._channel.adapter.name, params.get("model") or job.model or "")
        if spec is None:
            return None, None, None
        with_video = any(i.get("kind") == "Video" for i in asked["inputs"])
        price = price_for(self._channel.adapter.name, spec.family, params.get("resolution", "720p"), with_video)
        seconds = float(params.get("duration", 5))
        return (cost(price, job.tokens, seconds), None, price.currency) if price else (None, None, None)

    async def wait(self, look: Callable[[], Awaitable[GenerationJob]], timeout: float | None) -> GenerationJob:
        """Return the job once it succeeded, looking with ``look``; raise ``JobFailedError`` if it ended otherwise."""
        interval = self._channel.poll_interval
        last: GenerationJob = await self._channel.wait_for(
            look,
            is_terminal=lambda j: j.status in JOB_TERMINAL,
            interval=interval,
            max_interval=max(interval, 10.0),
            timeout=timeout if timeout is not None else 1800.0,
            what="the generation job",
        )
        if last.status != "succeeded":
            note = self._blame_note(last)
            reason = f"{last.error_code or ''} {last.error_message or ''}".strip()
            raise JobFailedError(f"Job {last.id} ended {last.status}: {reason}{note}".strip(), job=last)
        return last

    def _blame_note(self, job: GenerationJob) -> str:
        asked = self._ledger.job_request(self._ledger_name, job.id)
        index = blamed(job.error_message, recorded_order(asked["inputs"])) if asked else None
        if asked is None or index is None:
            return ""
        item = asked["inputs"][index]
        return f" (that is reference {index + 1}: {item['source']}, {item['role']})"

    async def cancel(self, job: GenerationJob | str) -> GenerationJob:
        """Cancel a queued job where the provider can; return its state after."""
        job_id = job.id if isinstance(job, GenerationJob) else job
        adapter = self._channel.adapter
        if not adapter.can_cancel_job:
            raise adapter.unsupported("cancel generation jobs", "let it run, or cancel it in the provider's console.")
        await self._channel.send(adapter.build_cancel_job(job_id))
        return await self.get(job_id)

    async def page(
        self, *, status: str | None, model: str | None, page: int, page_size: int
    ) -> tuple[list[GenerationJob], int]:
        """Return one page of the account's jobs (and the total), where the provider lists them."""
        adapter = self._channel.adapter
        if not adapter.can_list_jobs:
            raise adapter.unsupported("list generation jobs", "read the ledger: client.ledger.frame('jobs').")
        response = await self._channel.send(adapter.build_list_jobs(page, page_size, status, model))
        jobs, total = adapter.parse_list_jobs(response)
        return [_settled(j) for j in jobs], total

    async def download(self, job: GenerationJob, path: str | os.PathLike[str], *, last_frame: bool = False) -> Path:
        """Return where the job's video (or, with ``last_frame``, its last frame) was saved (folders created)."""
        url = job.last_frame_url if last_frame else job.video_url
        what = "last frame" if last_frame else "video"
        if not url:
            hint = "ask for it with return_last_frame=True" if last_frame and job.status == "succeeded" else \
                "await client.wait_job first"  # fmt: skip
            raise InvalidRequestError(f"Job {job.id} has no {what} yet ({job.status}): {hint}.")
        # Bounded by REALAVATAR_MAX_DOWNLOAD_BYTES and REALAVATAR_DOWNLOAD_DEADLINE; redirects are checked
        # hop by hop and no request carries the API key (the URL is the provider's answer, not its API).
        target = await download_to(
            self._channel.http,
            url,
            path,
            max_bytes=self._channel.settings.max_download_bytes,
            deadline=self._channel.settings.download_deadline,
            what=f"Job {job.id}'s {what}",
        )
        if last_frame:
            self._ledger.record_job(self._ledger_name, job, last_frame_path=str(target))
        else:
            self._ledger.record_job(self._ledger_name, job, path=str(target))
        return target


def _settled(job: GenerationJob) -> GenerationJob:
    """Return the job with a seller's failed-because-expired read as ``expired``."""
    return replace(job, status="expired") if job.status == "failed" and expired_code(job.error_code) else job


def _blamed(exc: ProviderError, request: GenerationRequest, order: list[int | None]) -> ProviderError:
    """Return ``exc`` with the input its ``content[N]`` names, or ``exc`` itself when it names none."""
    note = blame_note(str(exc), request, order)
    if note is None:
        return exc
    blamed = type(exc)(f"{exc} ({note})", provider=exc.provider, status_code=exc.status_code, code=exc.code,
                       request_id=exc.request_id, body=exc.body)  # fmt: skip
    blamed.__dict__.update({k: v for k, v in exc.__dict__.items() if k not in blamed.__dict__})
    return blamed
