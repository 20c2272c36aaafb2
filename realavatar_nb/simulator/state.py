"""The emulator's backend: accounts, liveness sessions, groups, assets and generation jobs.

One state machine, no HTTP (moto's ``models.py``): five thin dialects speak their wire formats
over it. Time comes from an injectable ``clock``, and every timed transition (a link expiring,
autopilot passing a session, an asset leaving ``Processing``, a job finishing) is computed when
the thing is next read, so nothing here sleeps. Slow work runs on threads (``judging``: an
asset's URL downloaded in its account's turn, then checked; videos rendered on the same small
pool); ``settle()`` waits for it. Accounts are keyed by a fingerprint of their API key, never the
key itself, so neither the state nor its ``persist`` file holds a usable key.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from .._config import fingerprint
from .generation import checked_duration
from .ids import IdFactory
from .judging import Check, Fetch, Judge
from .records import (
    ALGORITHM_FAILED,
    MODERATE_MARKER,
    OUTPUT_MODERATION_CODE,
    OUTPUT_MODERATION_MESSAGE,
    RESULT_FAILED,
    RESULT_PASSED,
    Asset,
    Group,
    Job,
    Session,
    SimConfig,
    SimError,
    Task,
)
from .store import Store, load_entities

__all__ = ["Asset", "Group", "Job", "Session", "SimConfig", "SimError", "State", "Task", "account_label", "account_of"]

Render = Callable[[Job, list[str]], str]  # (job, reference file paths) -> mp4 path


class State:
    """Everything the emulator knows, behind one lock."""

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        fetch: Fetch | None = None,
        check: Check | None = None,
        render: Render | None = None,
    ) -> None:
        self.config = config or SimConfig()
        self.clock = clock
        self.ids = IdFactory(self.config.seed)
        self._fetch = fetch
        self._render = render
        self._lock = threading.RLock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sandbox-work")
        per_account = self.config.downloads_per_account
        self._judge = Judge(fetch, check, self._pool, profile=self.config.profile, per_account=per_account)
        self._store: Store | None = None
        self.reset()
        if self.config.persist:
            self._store = Store(self.config.persist)
            self._load(self._store)

    # -- bookkeeping -----------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every account and everything created."""
        with getattr(self, "_lock", threading.RLock()):
            self.sessions: dict[str, Session] = {}
            self.groups: dict[str, Group] = {}
            self.assets: dict[str, Asset] = {}
            self.jobs: dict[str, Job] = {}
            self.tasks: dict[str, Task] = {}
            self.accounts: set[str] = set()
            self._buckets: dict[str, tuple[float, float]] = {}
            self.created: Counter[tuple[str, str]] = Counter()
            self.sources: Counter[tuple[str, str, str]] = Counter()
            if getattr(self, "_store", None) is not None:
                self._store.clear()  # type: ignore[union-attr]

    def close(self) -> None:
        """Stop the worker threads (pending work is abandoned) and close the store."""
        self._judge.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- persistence -----------------------------------------------------------------------

    def _save(self, kind: str, entity: Any) -> None:
        if self._store is None:
            return
        body = {k: v for k, v in vars(entity).items() if k not in ("verdict", "render")}
        if kind == "job":
            body["references"] = list(body["references"])
        self._store.put(kind, body.get("id") or body["token"], body)

    def _forget(self, kind: str, key: str) -> None:
        if self._store is not None:
            self._store.delete(kind, key)

    def _load(self, store: Store) -> None:
        self.sessions, self.groups, self.assets, self.jobs, self.tasks = load_entities(store)
        for owned in (self.sessions, self.groups, self.assets, self.jobs):
            self.accounts.update(entity.account for entity in owned.values())

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until every queued check and render has finished (for tests and benchmarks)."""
        with self._lock:
            pending: list[Future[Any]] = [a.verdict for a in self.assets.values() if a.verdict is not None]
            pending += [j.render for j in self.jobs.values() if j.render is not None]
        for future in pending:
            future.exception(timeout=timeout)

    def _count(self, account: str, kind: str) -> None:
        self.created[(account, kind)] += 1

    def stats(self) -> dict[str, Any]:
        """Return what each account created, and any file uploaded twice into one group."""
        with self._lock:
            accounts: dict[str, dict[str, int]] = {}
            for (account, kind), n in self.created.items():
                accounts.setdefault(account_label(account), {})[kind] = n
            duplicates = [
                {"account": account_label(a), "group_id": g, "sha256": s, "count": n}
                for (a, g, s), n in self.sources.items()
                if n > 1
            ]
            return {"accounts": accounts, "duplicates": duplicates}

    # -- accounts --------------------------------------------------------------------------

    def account(self, key: str | None, provider: str = "") -> str:
        """Return the account for an API key at ``provider`` (created on first use), or refuse it.

        Each provider is its own service: the same key at two providers is two accounts.
        """
        self.authenticate(key)
        account = account_of(str(key), provider)
        with self._lock:
            self.accounts.add(account)
            self._admit(account)
        return account

    def authenticate(self, key: str | None) -> None:
        """Refuse a key that is no account (``SimError`` unauthorized); any non-empty key is one by default."""
        if not key or not key.strip():
            raise SimError("unauthorized", "Missing API key.")
        if self.config.api_keys is not None and key not in self.config.api_keys:
            raise SimError("unauthorized", "Invalid API key.")

    def _admit(self, account: str) -> None:
        # A token bucket per account holding one second's worth of requests.
        rate = self.config.rate_limit
        if not rate:
            return
        now = self.clock()
        tokens, last = self._buckets.get(account, (rate, now))
        tokens = min(rate, tokens + (now - last) * rate)
        if tokens < 1:
            self._buckets[account] = (tokens, now)
            raise SimError("rate_limited", "Too many requests; slow down.", retry_after=max((1 - tokens) / rate, 0.001))
        self._buckets[account] = (tokens - 1, now)

    # -- liveness sessions -----------------------------------------------------------------

    def create_session(
        self,
        account: str,
        *,
        callback_url: str | None = None,
        project: str = "default",
        lng: str = "zh",
        biz_id: str | None = None,
    ) -> Session:
        now = self.clock()
        with self._lock:
            session = Session(
                token=self.ids.token(now),
                account=account,
                created_at=now,
                expires_at=now + self.config.link_ttl,
                callback_url=callback_url,
                project=project,
                lng=lng,
                biz_id=biz_id,
            )
            self.sessions[session.token] = session
            self._count(account, "sessions")
            self._save("session", session)
            return session

    def _refresh_session(self, session: Session) -> Session:
        now = self.clock()
        if session.state == "pending":
            auto = self.config.autopilot
            if auto is not None and now >= session.created_at + auto and session.created_at + auto < session.expires_at:
                self._finish(session, True, self.config.autopilot_person, session.created_at + auto)
            elif now >= session.expires_at:
                session.state = "expired"
                self._save("session", session)
        return session

    def session(self, account: str, token: str) -> Session:
        """Return the account's session for ``token``; another account's is not found."""
        with self._lock:
            session = self.sessions.get(token)
            if session is None or session.account != account:
                raise SimError("not_found", f"BytedToken {token!r} not found.", field="byted_token")
            return self._refresh_session(session)

    def session_for_page(self, token: str) -> Session | None:
        """Return the session behind an H5 link (any account), refreshed, or ``None``."""
        with self._lock:
            session = self.sessions.get(token)
            return self._refresh_session(session) if session else None

    def _finish(self, session: Session, passed: bool, person: str, at: float) -> None:
        session.finished_at = at
        session.person = person
        if passed:
            session.state = "verified"
            session.result_code = RESULT_PASSED
            session.algorithm_code = "0"
            group = Group(
                id=self.ids.dated("group", at),
                account=session.account,
                person=person,
                token=session.token,
                created_at=at,
                project=session.project,
            )
            self.groups[group.id] = group
            session.group_id = group.id
            self._count(session.account, "groups")
            self._save("group", group)
        else:
            session.state = "failed"
            session.result_code = RESULT_FAILED
            session.algorithm_code = ALGORITHM_FAILED
        self._save("session", session)

    def complete(self, token: str, *, passed: bool, person: str) -> Session:
        """Record what the person did on the H5 page; an expired or finished link changes nothing."""
        with self._lock:
            session = self.session_for_page(token)
            if session is None:
                raise SimError("not_found", "This verification link does not exist.")
            if session.state == "expired":
                raise SimError("expired", "This verification link has expired.")
            if session.state != "pending":
                raise SimError("conflict", "This verification link has already been used.")
            self._finish(session, passed, person.strip() or "anonymous", self.clock())
            return session

    def result(self, account: str, token: str) -> Session:
        """Return the session for a result query; ``group_id`` is set only once verified."""
        session = self.session(account, token)
        if session.state == "verified" and self.clock() > (session.finished_at or 0) + self.config.token_ttl:
            raise SimError("expired", "BytedToken has expired.", field="byted_token")
        return session

    # -- groups and assets -----------------------------------------------------------------

    def group(self, account: str, group_id: str) -> Group:
        with self._lock:
            group = self.groups.get(group_id)
            if group is None or group.account != account:
                raise SimError("not_found", f"asset group {group_id} not found", field="group_id")
            return group

    def create_asset(
        self,
        account: str,
        *,
        group_id: str,
        url: str,
        asset_type: str,
        name: str | None = None,
        project: str = "default",
    ) -> Asset:
        """Create an asset in ``Processing`` and queue its download and checks."""
        kind = asset_type.capitalize() if isinstance(asset_type, str) else ""
        if kind not in ("Image", "Video", "Audio"):
            raise SimError("invalid", "AssetType must be one of [Image, Video, Audio].", field="asset_type")
        if not isinstance(url, str) or not url:
            raise SimError("invalid", "URL is required.", field="url")
        group = self.group(account, group_id)
        now = self.clock()
        with self._lock:
            asset = Asset(
                id=self.ids.dated("asset", now),
                account=account,
                group_id=group.id,
                url=url,
                asset_type=kind,
                name=name or url.rsplit("/", 1)[-1][:64],
                created_at=now,
                ready_at=now + self.config.processing_seconds,
                project=project,
                updated_at=now,
            )
            self.assets[asset.id] = asset
            self._count(account, "assets")
            self._save("asset", asset)
            asset.verdict = self._judge.submit(
                asset,
                group.person,
                group_face=lambda face: self._group_face(asset.group_id, face),
                downloaded=lambda digest: self._count_source(asset, digest),
            )
            return asset

    def _count_source(self, asset: Asset, digest: str) -> None:
        with self._lock:
            self.sources[(asset.account, asset.group_id, digest)] += 1

    def _group_face(self, group_id: str, face: tuple[float, ...]) -> tuple[float, ...]:
        """Return the group's reference face; a group without one takes ``face``.

        Checks run two at a time on the pool: taking the reference under the lock means two first
        faces checked at once cannot both become it; the second is compared with the first.
        """
        # inferred: upstream compares with the liveness capture; the emulator stands in the first
        # real face accepted into the group.
        with self._lock:
            group = self.groups.get(group_id)
            if group is None:  # deleted while its asset was checked: nothing to compare with
                return face
            if group.face is None:
                group.face = tuple(face)
                self._save("group", group)
            return group.face

    def _refresh_asset(self, asset: Asset) -> Asset:
        if asset.status != "Processing" or self.clock() < asset.ready_at:
            return asset
        if asset.verdict is None or not asset.verdict.done():
            return asset
        try:
            code, message, digest, path = asset.verdict.result()
        except Exception as exc:  # a bug in a check must fail one asset, not the server
            code, message, digest, path = "InternalError", f"Internal error: {type(exc).__name__}", None, None
        asset.sha256, asset.path = digest, path
        asset.status = "Failed" if code else "Active"
        asset.error_code, asset.error_message = code, message
        asset.updated_at = max(asset.ready_at, asset.created_at)
        self._save("asset", asset)
        return asset

    def asset(self, account: str, asset_id: str) -> Asset:
        with self._lock:
            asset = self.assets.get(asset_id)
            if asset is None or asset.account != account:
                raise SimError("not_found", f"asset {asset_id} not found", field="asset_id")
            return self._refresh_asset(asset)

    def list_assets(
        self,
        account: str,
        *,
        group_ids: Iterable[str] | None = None,
        statuses: Iterable[str] | None = None,
        name: str | None = None,
        sort_by: str = "CreateTime",
        descending: bool = True,
    ) -> list[Asset]:
        """Return the account's assets matching every filter given (filters are AND-combined)."""
        groups = set(group_ids) if group_ids else None
        wanted = {s.capitalize() for s in statuses} if statuses else None
        with self._lock:
            items = [
                self._refresh_asset(a)
                for a in self.assets.values()
                if a.account == account and (groups is None or a.group_id in groups)
            ]
        items = [a for a in items if (wanted is None or a.status in wanted) and (not name or name in a.name)]
        key: dict[str, Callable[[Asset], Any]] = {
            "CreateTime": lambda a: (a.created_at, a.id),
            "UpdateTime": lambda a: (a.updated_at, a.id),
            "GroupId": lambda a: (a.group_id, a.id),
        }
        return sorted(items, key=key.get(sort_by, key["CreateTime"]), reverse=descending)

    def delete_asset(self, account: str, asset_id: str) -> None:
        with self._lock:
            self.asset(account, asset_id)
            del self.assets[asset_id]
            self._forget("asset", asset_id)

    def delete_group(self, account: str, group_id: str) -> None:
        with self._lock:
            self.group(account, group_id)
            del self.groups[group_id]
            self._forget("group", group_id)
            for asset_id in [a.id for a in self.assets.values() if a.group_id == group_id]:
                del self.assets[asset_id]
                self._forget("asset", asset_id)

    # -- generation ------------------------------------------------------------------------

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
            job = self.jobs.get(job_id)
            if job is None or job.account != account:
                raise SimError("not_found", f"task {job_id} not found", field="task_id")
            return self._refresh_job(job)

    def job_for_download(self, job_id: str) -> Job | None:
        """Return a job by id for the video file route, which checks the URL's key (``Job.video_key``)."""
        with self._lock:
            job = self.jobs.get(job_id)
            return self._refresh_job(job) if job else None

    # -- provider tasks --------------------------------------------------------------------

    def create_task(self, account: str, kind: str, *, task_id: str, **refs: Any) -> Task:
        with self._lock:
            task = Task(id=task_id, account=account, kind=kind, created_at=self.clock(), refs=refs)
            self.tasks[task.id] = task
            self._save("task", task)
            return task

    def task(self, account: str, task_id: str) -> Task:
        with self._lock:
            task = self.tasks.get(task_id)
            if task is None or task.account != account:
                raise SimError("not_found", f"task {task_id} not found", field="task_id")
            return task


def account_of(key: str, provider: str = "") -> str:
    """Return the account an API key is at ``provider``: ``<provider>:<fingerprint of the key>``."""
    return f"{provider}:{fingerprint(key)}" if provider else fingerprint(key)


def account_label(account: str) -> str:
    """Return a stable, non-secret name for an account (stats never show keys); ``account_of`` makes accounts."""
    provider, _, _ = account.rpartition(":")
    digest = hashlib.sha256(("realavatar-sandbox:" + account).encode()).hexdigest()[:10]
    return f"{provider or 'account'}-{digest}"
