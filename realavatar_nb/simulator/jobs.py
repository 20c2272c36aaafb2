"""Generation jobs: queued over Active image assets, running, then succeeded (a rendered video) or failed.

A job's status follows the state's clock when it is next read; its video is rendered on the
state's small pool, and a job whose time is up waits for its render before it succeeds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .assets import Assets
from .generation import checked_duration
from .records import MODERATE_MARKER, OUTPUT_MODERATION_CODE, OUTPUT_MODERATION_MESSAGE, Job, SimError

__all__ = ["Jobs"]


class Jobs(Assets):
    """The generation jobs of every account, over the assets they reference."""

    def create_job(
        self,
        account: str,
        *,
        model: str,
        prompt: str,
        references: Iterable[str],
        duration: int = 5,
        ratio: str = "16:9",
        resolution: str = "720p",
        seed: int | None = None,
        job_id: str | None = None,
    ) -> Job:
        """Queue a generation job; every ``asset://`` reference must be this account's and Active.

        A prompt containing ``[moderate]`` (``MODERATE_MARKER``) queues and runs as usual, then fails
        with ``OutputVideoSensitiveContentDetected``, as upstream's output moderation fails a job.
        """
        duration = checked_duration(duration, ratio, resolution)
        refs = tuple(references)
        paths = self._reference_images(account, refs)
        now = self.clock()
        span = max(self.config.job_seconds, 0.0)
        with self._lock:
            job = Job(
                id=job_id or self.ids.dated("cgt", now),
                account=account,
                model=model,
                prompt=prompt,
                references=refs,
                duration=duration,
                ratio=ratio,
                resolution=resolution,
                created_at=now,
                started_at=now + span / 4,
                done_at=now + span,
                seed=seed,
            )
            self.jobs[job.id] = job
            self._count(account, "jobs")
            self._save("job", job)
            if self._render is not None and MODERATE_MARKER not in prompt:  # its video would be withheld anyway
                job.render = self._pool.submit(self._render, job, paths)
            return job

    def _reference_images(self, account: str, refs: tuple[str, ...]) -> list[str]:
        """Return the local files of the referenced images; every reference must be this account's and Active."""
        paths = []
        for ref in refs:
            asset_id = ref.removeprefix("asset://")
            try:
                asset = self.asset(account, asset_id)
            except SimError:
                raise SimError("invalid", f"asset {asset_id} not found or not accessible", field="content") from None
            if asset.status != "Active":
                raise SimError(
                    "invalid", f"asset {asset_id} is {asset.status}, only Active assets can be used", field="content"
                )
            if asset.asset_type == "Image" and asset.path and os.path.exists(asset.path):
                paths.append(asset.path)
            elif asset.asset_type == "Image" and self._fetch is not None:  # a persisted asset from another workdir
                paths.append(self._fetch(asset.url)[0])
        return paths

    def _refresh_job(self, job: Job) -> Job:
        now = self.clock()
        before = job.status
        if job.status == "queued" and now >= job.started_at:
            job.status = "running"
        if job.status == "running" and now >= job.done_at and MODERATE_MARKER in job.prompt:
            job.status = "failed"
            job.error_code, job.error_message = OUTPUT_MODERATION_CODE, OUTPUT_MODERATION_MESSAGE
        if job.status == "running" and now >= job.done_at and (job.render is None or job.render.done()):
            try:
                job.video_path = job.render.result() if job.render is not None else None
                job.status = "succeeded"
            except Exception as exc:
                job.status = "failed"
                job.error_code, job.error_message = "InternalServiceError", f"rendering failed: {exc}"
        if job.status != before:
            self._save("job", job)
        return job

    def job(self, account: str, job_id: str) -> Job:
        with self._lock:
            return self._refresh_job(self._owned(self.jobs, account, job_id, f"task {job_id} not found", "task_id"))

    def job_for_download(self, job_id: str) -> Job | None:
        """Return a job by id for the video file route, which checks the URL's key (``Job.video_key``)."""
        with self._lock:
            job = self.jobs.get(job_id)
            return self._refresh_job(job) if job else None

    def jobs_of(self, account: str) -> list[Job]:
        """Return the account's jobs, newest first, each refreshed."""
        with self._lock:
            owned = [self._refresh_job(j) for j in self.jobs.values() if j.account == account]
        return sorted(owned, key=lambda j: (j.created_at, j.id), reverse=True)

    def cancel_job(self, account: str, job_id: str) -> Job:
        """Cancel a queued job, or forget a finished one; a running job cannot be stopped (``conflict``)."""
        with self._lock:
            job = self.job(account, job_id)
            if job.status == "queued":
                job.status = "cancelled"
                job.done_at = self.clock()
                if job.render is not None:
                    job.render.cancel()
                self._save("job", job)
            elif job.status == "running":
                raise SimError("conflict", f"task {job_id} is running; only a queued task can be cancelled.")
            else:
                del self.jobs[job_id]
                self._forget("job", job_id)
            return job
