"""``AsyncClient``: one async API over the seven providers and the emulator.

A thin front: each call is handed to the module that owns it (``_verifications``, ``_asset_uploads``,
``_assets``, ``_slots``, ``_jobs``, ``_grid``), all sending through one ``_channel.Channel`` and writing to
one ledger the moment anything exists. Creates are never retried blindly (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import httpx

from ._arguments import access_key_fields
from ._arguments import poll_interval as checked_poll_interval
from ._asset_uploads import AssetUploads
from ._assets import Assets
from ._channel import Channel
from ._config import Secret, Settings
from ._endpoint import resolve_endpoint
from ._grid import Grid
from ._jobs import Jobs
from ._ledger import Ledger
from ._models import Asset, Consent, GenerationJob, Verification, VerificationSession
from ._progress import ProgressArg
from ._redact import install_log_filter
from ._slots import Quota, Slots
from ._staging import Stager
from ._transport import RateLimiter, account_rates
from ._verifications import Verifications
from .generation import GenerationRequest, Reference, as_reference
from .generation.estimate import Estimate
from .providers.base import Adapter

if TYPE_CHECKING:
    import pandas as pd

    from .simulator import RemoteSandbox, Sandbox

__all__ = ["AsyncClient"]

install_log_filter()


class AsyncClient:
    """The same simple API on every provider: verify, upload, wait, generate, download.

    Every argument is explained in docs/client.md: ``upload="url"|"multipart"`` (how Anyfast gets a local
    file), ``access_key=(id, secret[, sts])`` (upstream's signing pair; ``api_key`` is then Ark's),
    ``clock``/``sleep`` (every wait and pace runs on them), ``rates`` (requests per second by kind).
    """

    def __init__(
        self,
        provider: str | None = None,
        *,
        api_key: str | Secret | None = None,
        access_key: tuple[str, str] | tuple[str, str, str] | None = None,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        ledger: Ledger | None = None,
        settings: Settings | None = None,
        sandbox: Sandbox | RemoteSandbox | None = None,
        dialect: str | None = None,
        stager: Stager | None = None,
        stage: str | None = None,
        stage_options: dict[str, Any] | None = None,
        upload: Literal["url", "multipart"] = "url",
        poll_interval: float | None = None,
        rates: dict[str, float] | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env(provider=provider)
        if access_key is not None:
            self.settings = self.settings.with_(**access_key_fields(access_key))
        self.provider = self.settings.provider
        end = resolve_endpoint(
            self.settings, api_key=api_key, base_url=base_url, sandbox=sandbox, dialect=dialect, stager=stager,
            stage=stage, stage_options=stage_options,
        )  # fmt: skip
        if end.settings:
            self.settings = self.settings.with_(**end.settings)
        self.dialect, self.ledger_name = end.dialect, end.ledger_name
        self._stager, self._sandbox = end.stager, end.sandbox
        self.ledger = ledger if ledger is not None else Ledger(self.settings.ledger_path)
        interval = checked_poll_interval(poll_interval) or self.settings.poll_interval or 3.0
        sleep = sleep or asyncio.sleep
        # Upstream's published rates and the account's for real providers; the emulator limits only when told to.
        if rates is None:
            rates = {} if end.sandbox is not None else account_rates(self.settings)
        self._channel = Channel(
            self.settings, dialect=end.dialect, base_url=end.base_url, key=end.key, transport=transport, rates=rates,
            poll_interval=interval, sleep=sleep, clock=clock or time.monotonic,
        )  # fmt: skip
        emulator_callback = f"{end.sandbox.url}/_sandbox/callback" if end.sandbox else None
        self._verifications = Verifications(self._channel, self.ledger, self.ledger_name, emulator_callback)
        self._assets = Assets(self._channel, self.ledger, self.ledger_name, clock=clock or time.time)
        self._uploads = AssetUploads(
            self._channel, self.ledger, self.ledger_name, stager=end.stager, get_asset=self.get_asset,
            list_group=self.list_assets, clock=clock or time.time, upload=upload,
        )  # fmt: skip
        self._jobs = Jobs(self._channel, self.ledger, self.ledger_name, end.stager)
        self._grid = Grid(self._jobs, self.get_asset)
        self._slots = Slots(self._channel, self.ledger, self.ledger_name, self.list_assets, self.delete_asset)

    # -- plumbing -------------------------------------------------------------------------

    @property
    def adapter(self) -> Adapter:
        """The provider's adapter; the API key is looked up here, on first use."""
        return self._channel.adapter

    @property
    def poll_interval(self) -> float:
        """Seconds between looks while waiting."""
        return self._channel.poll_interval

    @poll_interval.setter
    def poll_interval(self, seconds: float) -> None:
        self._channel.poll_interval = seconds

    @property
    def limits(self) -> RateLimiter:
        """The per-kind rate limits every request waits for."""
        return self._channel.limits

    async def aclose(self) -> None:
        """Close the HTTP connections (the ledger stays open for other clients)."""
        await self._channel.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object | TracebackType) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        key = "set" if self._channel.key else "unset"
        return f"AsyncClient({self.provider!r}, dialect={self.dialect!r}, api_key={key})"

    # -- verification ---------------------------------------------------------------------

    async def create_verification(
        self,
        callback_url: str | None = None,
        biz_id: str | None = None,
        locale: str | None = None,
        person: str | None = None,
        consent: Consent | None = None,
    ) -> VerificationSession:
        """Create a liveness session; with ``person``, their consent must be given or already recorded."""
        return await self._verifications.create(callback_url, biz_id, locale, person, consent)

    async def get_verification(self, session: VerificationSession, result_code: str | None = None) -> Verification:
        """Look once at a session's outcome (``pending`` until the person finishes)."""
        return await self._verifications.get(session, result_code)

    async def wait_verified(self, session: VerificationSession, timeout: float | None = None) -> Verification:
        """Wait until the person verifies; raise if the link expires or the check fails."""
        return await self._verifications.wait(session, lambda: self.get_verification(session), timeout)

    # -- assets ---------------------------------------------------------------------------

    async def upload_asset(
        self,
        group_id: str,
        source: str | os.PathLike[str],
        name: str | None = None,
        asset_type: str | None = None,
        person: str | None = None,
    ) -> Asset:
        """Upload one file (a path or an http(s) URL) into a group; the same bytes are never sent twice.

        A file already there, being sent by another kernel, or refused for itself (``FaceMismatch``) returns
        that asset; only transient failures are sent again (docs/reliability.md). ``person`` guards the group.
        """
        return await self._uploads.upload(group_id, source, name, asset_type, person)

    async def resolve_upload(
        self, group_id: str, source: str | os.PathLike[str], *, asset_id: str | None, asset_type: str | None = None
    ) -> Asset | None:
        """Settle an upload whose outcome is unknown: ``asset_id`` is the asset it made (found in the provider's
        console; read and recorded), ``None`` if it made none (the file may be uploaded again)."""
        return await self._uploads.resolve(group_id, source, asset_id, asset_type)

    async def upload_assets(
        self,
        group_id: str,
        sources: Iterable[str | os.PathLike[str]] | pd.DataFrame,
        concurrency: int | None = None,
        person: str | None = None,
        progress: ProgressArg = "auto",
    ) -> list[Asset | BaseException]:
        """Upload paths, URLs or a report's ok rows, ``concurrency`` at a time; a failure is returned, not raised.

        The same bytes listed twice are one upload. ``progress`` shows an ETA at the write rate in force.
        """
        upload = lambda item: self.upload_asset(group_id, item, person=person)  # noqa: E731
        return await self._uploads.upload_many(sources, concurrency, upload, progress=progress)

    async def get_asset(self, asset_id: str, group_id: str | None = None) -> Asset:
        """Look once at an asset (``group_id``: its group where the ledger does not know it; Anyfast reads it there)."""
        return await self._assets.get(asset_id, group_id)

    async def list_assets(self, group_id: str) -> list[Asset]:
        """Return every asset of a group (where the provider lists; else ``UnsupportedOperationError``)."""
        return await self._assets.in_group(group_id)

    async def refresh_assets(self, assets: Sequence[Asset]) -> list[Asset]:
        """Look once at every asset not yet terminal (one list per group where the provider lists), in order."""
        return await self._assets.refresh(assets)

    async def wait_active(self, assets: Sequence[Asset], timeout: float | None = None) -> list[Asset]:
        """Wait until every asset is terminal (active or failed); return them in the same order."""
        return await self._assets.wait_active(assets, self.refresh_assets, timeout)

    async def delete_asset(self, asset_id: str) -> None:
        """Delete an asset upstream (where the provider allows) and forget it in the ledger."""
        await self._assets.delete(asset_id)

    async def erase_person(self, person: str) -> dict[str, Any]:
        """Delete ``person``'s assets (all a listing group holds) and groups where the provider allows, purge the
        ledger; return what was deleted and, for the rest, why not."""
        return await self._assets.erase_person(person)

    # -- slots ----------------------------------------------------------------------------

    async def quota(self) -> Quota:
        """Return the asset slots used (the provider's list where it lists, else the ledger) and the limit."""
        return await self._slots.quota()

    async def plan_uploads(self, groups: dict[str, str], sources: Any) -> pd.DataFrame:
        """Return, per file of each person, ``upload``, ``already there`` or ``over quota`` (nothing is sent)."""
        return await self._slots.plan(groups, sources)

    async def cleanup(self, free: int | None = None, person: str | None = None, dry_run: bool = True) -> pd.DataFrame:
        """Free slots (failed first, then least recently used, never one a running job holds); a dry run by default."""
        return await self._slots.cleanup(free, person=person, dry_run=dry_run)

    # -- generation -----------------------------------------------------------------------

    async def generate(
        self,
        prompt: str | GenerationRequest,
        references: Sequence[Reference | Asset | str | os.PathLike[str]] = (),
        model: str | None = None,
        duration: int = 5,
        ratio: str = "16:9",
        resolution: str = "720p",
        seed: int | None = None,
        **settings: Any,
    ) -> GenerationJob:
        """Submit a Seedance 2.x job (a ``GenerationRequest``, or its fields), refused before sending where the
        provider or model would refuse it (``GenerationRefusedError``); a plain asset's kind gives its role.
        Each call sends a new job: ``generate_many([request])`` sends a rerun's once, even after a lost answer."""
        if not isinstance(prompt, GenerationRequest):
            refs = tuple(map(as_reference, references))
            prompt = GenerationRequest(prompt, refs, model, duration, ratio, resolution, seed, **settings)
        return await self._jobs.submit(await self._jobs.prepare(prompt, self.get_asset))

    async def estimate(self, requests: Sequence[GenerationRequest]) -> Estimate:
        """Check every request and estimate the grid's tokens and cost from the dated price table; send nothing."""
        return await self._grid.estimate(requests)

    async def generate_many(
        self, requests: Sequence[GenerationRequest], budget: float | None = None, concurrency: int | None = None,
        resubmit_unknown: bool = False,
    ) -> list[GenerationJob]:  # fmt: skip
        """Submit a grid, all checked first; over ``budget`` nothing is sent; a rerun sends only what is new."""
        return await self._grid.run(requests, budget=budget, concurrency=concurrency, resubmit_unknown=resubmit_unknown)

    async def get_job(self, job: GenerationJob | str) -> GenerationJob:
        """Look once at a generation job."""
        return await self._jobs.get(job)

    async def wait_job(self, job: GenerationJob | str, timeout: float | None = None) -> GenerationJob:
        """Wait until a job is terminal; raise ``JobFailedError`` unless it succeeded."""
        return await self._jobs.wait(lambda: self.get_job(job), timeout)

    async def cancel_job(self, job: GenerationJob | str) -> GenerationJob:
        """Cancel a queued job where the provider can (else ``UnsupportedOperationError``)."""
        return await self._jobs.cancel(job)

    async def list_jobs(
        self, status: str | None = None, model: str | None = None, page: int = 1, page_size: int = 20
    ) -> list[GenerationJob]:
        """Return one page of the account's jobs, filtered, where the provider lists them."""
        return (await self._jobs.page(status=status, model=model, page=page, page_size=page_size))[0]

    async def download(self, job: GenerationJob, path: str | os.PathLike[str], *, last_frame: bool = False) -> Path:
        """Stream the job's video (or its last frame) to ``path`` (folders created); return the path."""
        return await self._jobs.download(job, path, last_frame=last_frame)
