"""``AsyncClient``: one async API over the five providers and the emulator.

A thin front: each call is checked and handed to the module that owns it (``_verifications``,
``_asset_uploads``, ``_assets``, ``_jobs``), all sending through one ``_channel.Channel`` and writing to one
ledger the moment anything exists. Creates are never retried blindly: an upload is recorded as an
intent first, and a rerun finds it in the ledger (and, where the provider lists assets, reconciles
with the list) instead of sending it again.
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
from ._jobs import Jobs
from ._ledger import Ledger
from ._models import Asset, Consent, GenerationJob, Verification, VerificationSession
from ._redact import install_log_filter
from ._staging import Stager
from ._transport import RateLimiter
from ._verifications import Verifications
from .providers.base import Adapter

if TYPE_CHECKING:
    import pandas as pd

    from .simulator import RemoteSandbox, Sandbox

__all__ = ["AsyncClient"]

install_log_filter()


class AsyncClient:
    """The same simple API on every provider: verify, upload, wait, generate, download.

    ``upload`` says how a local file reaches a provider that also takes files itself (Anyfast):
    ``"url"`` (the default) stages it (``stage=``; the emulator's own file host in the sandbox) and
    sends its URL; ``"multipart"`` sends the file in the create, with a warning, as such assets were
    seen never to become usable at Anyfast while the same files sent by URL went Active.

    ``access_key`` is upstream's (``byteplus``, ``volcengine``) signing pair, ``(id, secret)`` or
    ``(id, secret, sts_token)``, instead of ``REALAVATAR_<PROVIDER>_ACCESS_KEY`` and ``…_SECRET_KEY``;
    ``api_key`` is then Ark's key, for generation.
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
        # Upstream's published rates for real providers; the emulator limits only when told to.
        rates = rates if rates is not None else ({} if end.sandbox is not None else None)
        self._channel = Channel(
            self.settings, dialect=end.dialect, base_url=end.base_url, key=end.key, transport=transport, rates=rates,
            poll_interval=interval, sleep=sleep,
        )  # fmt: skip
        emulator_callback = f"{end.sandbox.url}/_sandbox/callback" if end.sandbox else None
        self._verifications = Verifications(self._channel, self.ledger, self.ledger_name, emulator_callback)
        self._assets = Assets(self._channel, self.ledger, self.ledger_name, clock=clock or time.time)
        self._uploads = AssetUploads(
            self._channel, self.ledger, self.ledger_name, stager=end.stager, get_asset=self.get_asset,
            list_group=self.list_assets, clock=clock or time.time, sleep=sleep, upload=upload,
        )  # fmt: skip
        self._jobs = Jobs(self._channel, self.ledger, self.ledger_name)

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

        A file already there (or being sent right now by another task or kernel sharing the ledger) is
        not sent again: its asset is returned. Nor is a file the provider already refused for itself
        (``FaceMismatch``, ``DurationTooShort`` …): that failed asset is returned. Only transient
        failures (``DownloadFailed`` …) are uploaded again. With ``person``, a group the ledger knows as
        someone else's is refused (``PersonMismatchError``).
        """
        return await self._uploads.upload(group_id, source, name, asset_type, person)

    async def resolve_upload(
        self, group_id: str, source: str | os.PathLike[str], *, asset_id: str | None, asset_type: str | None = None
    ) -> Asset | None:
        """Settle an upload whose outcome is unknown: ``asset_id`` is the asset it made, ``None`` if it made none.

        Found in the provider's console, the asset is read and recorded (so it is reused, and erased with
        the person); declared lost, the file may be uploaded again. Returns the asset, or ``None``.
        """
        return await self._uploads.resolve(group_id, source, asset_id, asset_type)

    async def upload_assets(
        self,
        group_id: str,
        sources: Iterable[str | os.PathLike[str]] | pd.DataFrame,
        concurrency: int | None = None,
        person: str | None = None,
    ) -> list[Asset | BaseException]:
        """Upload many files with bounded concurrency; a failed item is returned as its error, never raised.

        ``sources`` may be paths, URLs, or a validation report (only its ``ok`` rows are uploaded). The
        same bytes listed twice (``IMG_1.jpg``, ``IMG_1 (1).jpg``) are one upload: both get its asset.
        """
        return await self._uploads.upload_many(
            sources, concurrency, lambda item: self.upload_asset(group_id, item, person=person)
        )

    async def get_asset(self, asset_id: str, group_id: str | None = None) -> Asset:
        """Look once at an asset; ``group_id`` names its group where the ledger does not know it.

        At providers whose GetAsset misses real-person assets (Anyfast), the group's list is read instead.
        """
        return await self._assets.get(asset_id, group_id)

    async def list_assets(self, group_id: str) -> list[Asset]:
        """Return every asset of a group (where the provider lists; else ``UnsupportedOperationError``)."""
        return await self._assets.in_group(group_id)

    async def refresh_assets(self, assets: Sequence[Asset]) -> list[Asset]:
        """Look once at every asset not yet terminal, batched: one list per group where the provider lists.

        Returns the assets in the same order; terminal ones are returned as given, without a request.
        """
        return await self._assets.refresh(assets)

    async def wait_active(self, assets: Sequence[Asset], timeout: float | None = None) -> list[Asset]:
        """Wait until every asset is terminal (active or failed); return them in the same order."""
        return await self._assets.wait_active(assets, self.refresh_assets, timeout)

    async def delete_asset(self, asset_id: str) -> None:
        """Delete an asset upstream (where the provider allows) and forget it in the ledger."""
        await self._assets.delete(asset_id)

    async def erase_person(self, person: str) -> dict[str, Any]:
        """Delete ``person``'s assets and groups upstream where the provider allows, then purge the ledger.

        Where the provider lists a group's assets, every asset found there is deleted, including any
        the ledger does not know. Returns what was deleted and, for everything that could not be, why
        (for example a provider without a delete endpoint, or an upload whose outcome is unknown at a
        provider that cannot list: look in their console).
        """
        return await self._assets.erase_person(person)

    # -- generation -----------------------------------------------------------------------

    async def generate(
        self,
        prompt: str,
        references: Sequence[Asset | str] = (),
        model: str | None = None,
        duration: int = 5,
        ratio: str = "16:9",
        resolution: str = "720p",
        seed: int | None = None,
    ) -> GenerationJob:
        """Submit a Seedance 2.0 job; every referenced asset must be this account's and active."""
        return await self._jobs.generate(
            prompt, references, self.get_asset, model=model, duration=duration, ratio=ratio, resolution=resolution,
            seed=seed,
        )  # fmt: skip

    async def get_job(self, job: GenerationJob | str) -> GenerationJob:
        """Look once at a generation job."""
        return await self._jobs.get(job)

    async def wait_job(self, job: GenerationJob | str, timeout: float | None = None) -> GenerationJob:
        """Wait until a job is terminal; raise ``JobFailedError`` unless it succeeded."""
        return await self._jobs.wait(lambda: self.get_job(job), timeout)

    async def download(self, job: GenerationJob, path: str | os.PathLike[str]) -> Path:
        """Stream the job's video to ``path`` (folders created); return the path."""
        return await self._jobs.download(job, path)
