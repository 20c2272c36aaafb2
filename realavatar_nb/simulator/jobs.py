"""Generation jobs: queued over their checked inputs, running, then succeeded (a rendered video) or failed.

A job's status follows the state's clock when it is next read; its video is rendered on the
state's small pool, and a job whose time is up waits for its render before it succeeds. A job
still queued or running past its ``execution_expires_after`` is ``expired``, as upstream's are.
Deleting an asset (or its group) that a queued or running job references fails that job, as
upstream fails such a task (reference/field-notes.md, "Deleting a referenced asset"); the delete succeeds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .assets import Assets
from .generation import ANY_MODEL, GenerationRequest, Reference, check_request, output_size, usage_tokens
from .records import MODERATE_MARKER, OUTPUT_MODERATION_CODE, OUTPUT_MODERATION_MESSAGE, Job, SimError
from .references import resolve

__all__ = ["ASSET_DELETED_CODE", "EXPIRED_CODE", "Jobs"]

# inferred: upstream's expired task carries no documented error; the resellers' failed task names it so.
EXPIRED_CODE = "ExecutionExpired"
EXPIRED_MESSAGE = "The task was not finished within execution_expires_after; submit it again."
# inferred: the field note says only that such a task fails "(HTTP 400)"; upstream's 400 family is
# InvalidParameter (reference/upstream.md §4.6). The task's reads still answer 200, with the task failed.
ASSET_DELETED_CODE = "InvalidParameter"


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
        """Queue a job over ``asset://`` references with the emulator's widest rules (no provider's model)."""
        refs = tuple(Reference(url, None, None, i + 1 if prompt else i) for i, url in enumerate(references))
        request = GenerationRequest(model, prompt, refs, ANY_MODEL, duration, ratio, resolution, seed, shortest=1)
        return self.submit_job(account, request, job_id=job_id)

    def submit_job(self, account: str, request: GenerationRequest, *, job_id: str | None = None) -> Job:
        """Queue a generation job once its request and inputs pass upstream's checks (``SimError`` if not).

        A prompt containing ``[moderate]`` (``MODERATE_MARKER``) queues and runs as usual, then fails
        with ``OutputVideoSensitiveContentDetected``, as upstream's output moderation fails a job.
        This reads files (downloads, probes): dialects call it off the event loop.
        """
        check_request(request)
        inputs = resolve(request, lambda asset_id: self.asset(account, asset_id), self._fetch)
        now = self.clock()
        span = max(self.config.job_seconds, 0.0)
        size = output_size(request.ratio, request.resolution, inputs.first_image)
        with self._lock:
            job = Job(
                id=job_id or self.ids.dated("cgt", now),
                account=account,
                model=request.model,
                prompt=request.prompt,
                references=tuple(r.url for r in request.references if r.url.startswith("asset://")),
                duration=request.duration,
                ratio=request.ratio,
                resolution=request.resolution,
                created_at=now,
                started_at=now + span / 4,
                done_at=now + span,
                seed=None if request.seed == -1 else request.seed,
            )
            job.extra.update(
                generate_audio=request.generate_audio, watermark=request.watermark,
                camera_fixed=request.camera_fixed, return_last_frame=request.return_last_frame,
                service_tier=request.service_tier, callback_url=request.callback_url,
                execution_expires_after=request.execution_expires_after, audio_source=inputs.audio,
                tokens=usage_tokens(request.duration, inputs.video_seconds, size), size=list(size),
            )  # fmt: skip
            self.jobs[job.id] = job
            self._count(account, "jobs")
            self._save("job", job)
            if self._render is not None and MODERATE_MARKER not in request.prompt:  # a withheld video: never drawn
                job.render = self._pool.submit(self._render, job, inputs.images)
            return job

    def delete_asset(self, account: str, asset_id: str) -> None:
        """Delete the asset; a queued or running job that references it fails."""
        with self._lock:
            super().delete_asset(account, asset_id)
            self._fail_holders(account, {asset_id})

    def delete_group(self, account: str, group_id: str) -> None:
        """Delete the group and its assets; a queued or running job that references one of them fails."""
        with self._lock:
            held = {a.id for a in self.assets.values() if a.group_id == group_id and a.account == account}
            super().delete_group(account, group_id)
            self._fail_holders(account, held)

    def _fail_holders(self, account: str, asset_ids: set[str]) -> None:
        now = self.clock()
        for job in [j for j in self.jobs.values() if j.account == account]:
            gone = sorted(asset_ids.intersection(ref.removeprefix("asset://") for ref in job.references))
            if not gone or self._refresh_job(job).status not in ("queued", "running"):
                continue
            job.status, job.done_at, job.started_at = "failed", now, min(job.started_at, now)
            job.error_code = ASSET_DELETED_CODE
            job.error_message = f"The referenced asset asset://{gone[0]} was deleted before the task finished."
            if job.render is not None:
                job.render.cancel()
            self._save("job", job)

    def _refresh_job(self, job: Job) -> Job:
        now = self.clock()
        before = job.status
        if job.status in ("queued", "running") and now >= _expiry(job) and _unfinished_at_expiry(job):
            job.status, job.done_at = "expired", _expiry(job)
            job.error_code, job.error_message = EXPIRED_CODE, EXPIRED_MESSAGE
            if job.render is not None:
                job.render.cancel()
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
            else:
                job.last_frame_path = _last_frame(job)
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


def _expiry(job: Job) -> float:
    return job.created_at + float(job.extra.get("execution_expires_after") or float("inf"))


def _unfinished_at_expiry(job: Job) -> bool:
    """Return whether the job could not finish before its expiry: its time was later, or its render still draws."""
    return _expiry(job) < job.done_at or (job.render is not None and not job.render.done())


def _last_frame(job: Job) -> str | None:
    """Return the PNG of the video's last frame the renderer wrote beside it, when the job asked for one."""
    if not job.extra.get("return_last_frame") or not job.video_path:
        return None
    path = os.path.splitext(job.video_path)[0] + ".png"
    return path if os.path.exists(path) else None
