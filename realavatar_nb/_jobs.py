"""Seedance 2.0 generation jobs: submit one over checked references, look at it, wait, download its video."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from ._channel import Channel
from ._download import download_to
from ._exceptions import AssetFailedError, InvalidRequestError, JobFailedError
from ._ledger import Ledger
from ._models import Asset, GenerationJob, GenerationRequest
from ._polling import wait_for
from ._types import JOB_TERMINAL

__all__ = ["Jobs"]


class Jobs:
    """A provider's generation jobs, each recorded in the ledger with its prompt and, once saved, its file."""

    def __init__(self, channel: Channel, ledger: Ledger, ledger_name: str) -> None:
        self._channel = channel
        self._ledger = ledger
        self._ledger_name = ledger_name

    async def generate(
        self,
        prompt: str,
        references: Sequence[Asset | str],
        get_asset: Callable[[str], Awaitable[Asset]],
        *,
        model: str | None,
        duration: int,
        ratio: str,
        resolution: str,
        seed: int | None,
    ) -> GenerationJob:
        """Return the submitted job; every reference is looked at first and must be active."""
        checked = []
        for ref in references:
            asset = await get_asset(ref.id if isinstance(ref, Asset) else str(ref).removeprefix("asset://"))
            if asset.status == "failed":
                raise AssetFailedError(
                    f"Asset {asset.id} failed ({asset.error_code}): it cannot be used; upload another file.",
                    error_code=asset.error_code,
                    asset=asset,
                )
            if asset.status != "active":
                raise InvalidRequestError(f"Asset {asset.id} is still {asset.status}: await client.wait_active first.")
            checked.append(asset)
        adapter = self._channel.adapter
        generation = GenerationRequest(prompt=prompt, references=tuple(checked), model=model, duration=duration,
                                       ratio=ratio, resolution=resolution, seed=seed)  # fmt: skip
        request = adapter.build_generate(generation)
        job: GenerationJob = await self._channel.drive(adapter.parse_generate(await self._channel.send(request)))
        self._ledger.record_job(self._ledger_name, job, prompt=prompt)
        return job

    async def get(self, job: GenerationJob | str) -> GenerationJob:
        """Return one look at a job."""
        job_id = job.id if isinstance(job, GenerationJob) else job
        adapter = self._channel.adapter
        found = adapter.parse_get_job(await self._channel.send(adapter.build_get_job(job_id)))
        self._ledger.record_job(self._ledger_name, found)
        return found

    async def wait(self, look: Callable[[], Awaitable[GenerationJob]], timeout: float | None) -> GenerationJob:
        """Return the job once it succeeded, looking with ``look``; raise ``JobFailedError`` if it ended otherwise."""
        interval = self._channel.poll_interval
        last: GenerationJob = await wait_for(
            look,
            is_terminal=lambda j: j.status in JOB_TERMINAL,
            interval=interval,
            max_interval=max(interval, 10.0),
            timeout=timeout if timeout is not None else 1800.0,
            what="the generation job",
        )
        if last.status != "succeeded":
            raise JobFailedError(
                f"Job {last.id} ended {last.status}: {last.error_code or ''} {last.error_message or ''}".strip(),
                job=last,
            )
        return last

    async def download(self, job: GenerationJob, path: str | os.PathLike[str]) -> Path:
        """Return where the job's video was saved, streamed to ``path`` (folders created)."""
        if not job.video_url:
            raise InvalidRequestError(f"Job {job.id} has no video yet ({job.status}): await client.wait_job first.")
        # Bounded by REALAVATAR_MAX_DOWNLOAD_BYTES and REALAVATAR_DOWNLOAD_DEADLINE; redirects are checked
        # hop by hop and no request carries the API key (the URL is the provider's answer, not its API).
        target = await download_to(
            self._channel.http,
            job.video_url,
            path,
            max_bytes=self._channel.settings.max_download_bytes,
            deadline=self._channel.settings.download_deadline,
            what=f"Job {job.id}'s video",
        )
        self._ledger.record_job(self._ledger_name, job, path=str(target))
        return target
