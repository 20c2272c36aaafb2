"""Uploading files into a group under the upload-once rule (``_uploads``): claim, send, record, settle.

A create is never retried blindly: each send is marked in the ledger first, and a send whose answer
was lost is followed by a look at the group's list (where the provider lists) before the next one.
Where it cannot list, only a person can tell, and ``resolve`` records what they found.

A local file is sent by URL (the stager's), also where the provider takes a multipart form (Anyfast),
unless the client chose ``upload="multipart"``: such uploads were seen never to become usable live.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from ._arguments import person_name, require_id, upload_items
from ._channel import Channel
from ._exceptions import (
    ConfigurationError,
    InvalidArgumentError,
    LedgerError,
    MalformedResponseError,
    OutcomeUnknownError,
    ProviderError,
    RateLimitError,
    ServerError,
    TransportError,
    UnsupportedOperationError,
)
from ._ledger import Ledger
from ._media_facts import file_facts
from ._models import Asset
from ._progress import ProgressArg, make_progress
from ._staging import NoStager, Stager
from ._uploads import LEASE_SECONDS, UploadClaim, claim, new_owner, owner_alive

__all__ = ["AssetUploads"]

_CREATE_ATTEMPTS = 6  # sends of one upload, each after checking the list that the last did not land
_IN_FLIGHT_WAIT = 1800.0  # the longest wait for another task's or kernel's upload of the same file
UPLOAD_CHOICES = ("url", "multipart")  # how a local file reaches a provider that takes files itself
log = logging.getLogger("realavatar_nb")


@dataclass
class _Sending:
    """This task's work under its claim: the claim, and the creates sent under its row so far (by anyone)."""

    held: UploadClaim
    sent: int
    refused: bool = False  # the provider answered a create with a refusal (a 4xx): that create made nothing
    finished: bool = False  # the answer is in the ledger: the row is no longer this task's


def identify(source: str | os.PathLike[str], asset_type: str | None) -> tuple[str, bool, str, str]:
    """Return (source text, is it a URL, sha256 of the bytes or the URL, asset type)."""
    if not isinstance(source, (str, os.PathLike)) or isinstance(source, bytes):
        raise InvalidArgumentError(f"source={source!r}: pass a file path or an http(s) URL.")
    text = os.fspath(source)
    if "\0" in text:
        raise InvalidArgumentError(f"source={text!r}: a path cannot contain a NUL character.")
    is_url = text.startswith(("http://", "https://"))
    if not is_url and not os.path.isfile(text):
        raise InvalidArgumentError(f"source={text!r}: no file there; pass an existing path or an http(s) URL.")
    kind, sha = file_facts(text, asset_type)
    return text, is_url, sha, kind


class AssetUploads:
    """Sends each file's create at most once per group, across tasks, kernels and crashes."""

    def __init__(
        self,
        channel: Channel,
        ledger: Ledger,
        ledger_name: str,
        *,
        stager: Stager,
        get_asset: Callable[[str], Awaitable[Asset]],
        list_group: Callable[[str], Awaitable[list[Asset]]],
        clock: Callable[[], float],
        upload: str = "url",
    ) -> None:
        if upload not in UPLOAD_CHOICES:
            raise InvalidArgumentError(f"upload={upload!r}: pass 'url' (stage local files) or 'multipart'.")
        self._upload = upload
        self._channel = channel
        self._ledger = ledger
        self._ledger_name = ledger_name
        self._stager = stager
        self._get_asset = get_asset
        self._list_group = list_group
        self._clock = clock  # wall-clock time: upload leases are compared across processes sharing one ledger
        self._unrecorded: list[tuple[int, Asset]] = []  # answers the ledger could not take (disk full)

    async def upload(
        self,
        group_id: str,
        source: str | os.PathLike[str],
        name: str | None,
        asset_type: str | None,
        person: str | None,
    ) -> Asset:
        """Return the file's asset in the group: reused, refused already, or made by the one create sent."""
        group_id = require_id(group_id, "group_id")
        text, is_url, sha, kind = identify(source, asset_type)
        label = name or f"{Path(text.split('?')[0]).stem[:40]}-{sha[:8]}"
        self._ledger.check_group(self._ledger_name, group_id, person_name(person))
        self._record_unrecorded()
        owner, waited, looks = new_owner(), 0.0, 0
        while True:
            decision = claim(
                self._ledger, self._ledger_name, group_id, sha256=sha, source=text, asset_type=kind, name=label,
                owner=owner, now=self._clock(), can_list=self._channel.adapter.can_list_assets,
            )  # fmt: skip
            row = decision.row
            if decision.verdict == "uploaded":
                assert row is not None
                return await self._get_asset(str(row["id"]))
            if decision.verdict == "refused":
                assert row is not None  # this very file was judged already: the answer would not change
                return Asset(
                    id=row["id"], group_id=group_id, status="failed", name=row["name"], asset_type=row["asset_type"],
                    error_code=row["error_code"], error_message=row["error_message"], source=row["source"],
                )  # fmt: skip
            if decision.verdict == "unresolved":
                raise self._unresolved(group_id, text)
            if decision.claim is not None:
                return await self._upload_claimed(decision.claim, group_id, text, is_url=is_url, kind=kind)
            if waited > _IN_FLIGHT_WAIT:  # in flight elsewhere, its owner alive and renewing its lease
                raise OutcomeUnknownError(
                    f"Another task or kernel has been uploading {text!r} to {group_id} for {waited:.0f} s and "
                    f"holds it still. Rerun the same call later: it will reuse that upload."
                )
            pause = min(0.05 * 2 ** min(looks, 5), 1.0)
            await self._channel.sleep(pause)
            waited, looks = waited + pause, looks + 1

    async def upload_many(
        self, sources: object, concurrency: int | None, upload: Callable[[str], Awaitable[Asset]], *,
        progress: ProgressArg = "auto",
    ) -> list[Asset | BaseException]:  # fmt: skip
        """Return each item's asset, or its error, uploading with ``upload`` at most ``concurrency`` at a time.

        ``progress`` (as validation's: a widget bar in a kernel, text elsewhere) shows how many are done and
        an ETA at the write rate in force, which a provider's refusals may lower during the batch.
        """
        items = upload_items(sources)
        if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
            raise InvalidArgumentError(f"concurrency={concurrency!r}: pass a positive whole number, or None for 8.")
        gate = asyncio.Semaphore(concurrency or 8)
        bar = make_progress(progress if items else False, len(items), "uploading")
        done = 0

        async def one(item: str) -> Asset | BaseException:
            nonlocal done
            async with gate:
                try:
                    return await upload(item)
                except Exception as exc:
                    return exc
                finally:
                    done += 1
                    bar.update(done, self._eta(len(items) - done))

        try:
            return list(await asyncio.gather(*(one(i) for i in items)))
        finally:
            bar.close()

    def _eta(self, remaining: int) -> str:
        """Return "ETA m:ss at N/min" for ``remaining`` creates at the write rate in force ("" when unlimited)."""
        rate = self._channel.limits.per_minute("create_asset")
        if not rate or not remaining:
            return ""
        seconds = round(remaining * 60.0 / rate)
        return f"ETA {seconds // 60}:{seconds % 60:02d} at {rate:g}/min"

    async def _upload_claimed(self, held: UploadClaim, group_id: str, text: str, *, is_url: bool, kind: str) -> Asset:
        """Send the create this task holds the claim for; record the answer, or leave the outcome marked unknown."""
        work = _Sending(held, held.sends)
        renewing = asyncio.create_task(self._renew(held))
        try:
            if held.may_exist:  # an earlier send's answer was lost: look before sending again
                listed = await self._listed_by_name(group_id, held.name, text)
                if listed:
                    return self._finish(work, listed[0], kind)
            request = await self._create_request(held, group_id, text, is_url=is_url, kind=kind)
            return await self._send_create(work, request, group_id, text, kind=kind)
        except ProviderError:
            # Only a refusal of the one create ever sent under this row proves nothing was made; an error
            # from a look at the list after a lost answer proves nothing either way.
            if work.refused and work.sent == 1:
                self._ledger.drop_refused(held.key, owner=held.owner)
            raise
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            # Whatever happened (an error, a cancelled task): a row still ours is given up, never deleted
            # once something was sent under it; unsent, it is deleted so the next claim starts clean.
            if not work.finished:  # (a finished row is no longer ours)
                with contextlib.suppress(LedgerError):  # a full disk already said so, with what to do
                    if work.sent == 0:
                        self._ledger.abandon_upload(held.key, held.owner)
                    else:
                        self._ledger.release_claim(held.key, owner=held.owner)

    async def _create_request(
        self, held: UploadClaim, group_id: str, text: str, *, is_url: bool, kind: str
    ) -> httpx.Request:
        adapter = self._channel.adapter
        if not is_url and adapter.can_upload_file:  # the provider also takes the file itself (Anyfast)
            if self._upload == "multipart":
                # reported: OpenMontage tools/video/_anyfast.py (multipart assets got an Id, never became usable)
                log.warning(
                    "%s: uploading %s as multipart (upload='multipart'): such assets were seen never to become "
                    "usable at Anyfast; if it stays unresolved, upload it by URL (stage=...).",
                    self._channel.provider, os.path.basename(text),
                )  # fmt: skip
                return adapter.build_upload_file(group_id, text, asset_type=kind, name=held.name)
            if isinstance(self._stager, NoStager):
                raise ConfigurationError(
                    f"{self._channel.provider} ingests a local file by URL: {os.path.basename(text)!r} needs a "
                    f"public URL. Pass stage='s3://bucket/prefix' (pip install 'realavatar-nb[s3]') to the client, "
                    f"pass an http(s) URL instead of the path, or choose AsyncClient(..., upload='multipart'), "
                    f"whose assets were seen never to become usable."
                )
        elif not is_url and self._upload == "multipart":
            raise ConfigurationError(
                f"upload='multipart': {self._channel.provider} takes no multipart upload; stage the file instead."
            )
        url = text if is_url else await self._stager.stage(text, self._channel.http)
        return adapter.build_upload(group_id=group_id, url=url, asset_type=kind, name=held.name)

    async def _send_create(
        self, work: _Sending, request: httpx.Request, group_id: str, text: str, *, kind: str
    ) -> Asset:
        """Send the create, looking at the group's list after each lost answer before sending it again."""
        adapter, held = self._channel.adapter, work.held
        for attempt in range(_CREATE_ATTEMPTS):
            self._ledger.mark_sent(held.key, owner=held.owner)
            work.sent += 1
            try:
                response = await self._channel.send(request, "create_asset")
                assets: list[Asset] = await self._channel.drive(
                    adapter.parse_upload(response, group_id=group_id, source=text)
                )
                return self._finish(work, assets[0], kind)
            except (ServerError, OutcomeUnknownError, MalformedResponseError) as exc:
                # The create may or may not have happened (a 5xx, a lost or unreadable answer): where the
                # provider lists assets, look for it by name before sending again; elsewhere only a
                # person can tell (resolve_upload).
                if not adapter.can_list_assets:
                    raise self._unresolved(group_id, text) from exc
                listed = await self._listed_by_name(group_id, held.name, text)
                if listed:
                    return self._finish(work, listed[0], kind)
                if attempt == _CREATE_ATTEMPTS - 1:
                    raise
                await self._channel.retry.pause(attempt)
            except ProviderError:
                work.refused = True
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _renew(self, held: UploadClaim) -> None:
        """Keep this task's lease on its claim alive while it works (a killed process stops renewing)."""
        while True:
            await asyncio.sleep(LEASE_SECONDS / 4)
            if not self._ledger.renew_claim(held.key, owner=held.owner, lease_until=self._clock() + LEASE_SECONDS):
                return

    def _finish(self, work: _Sending, asset: Asset, kind: str) -> Asset:
        # Some answers (Anyfast's) leave the type out: it is what was sent.
        asset = replace(asset, asset_type=asset.asset_type or kind)
        try:
            self._ledger.finish_upload(work.held.key, asset, owner=work.held.owner)
            work.finished = True
        except LedgerError as exc:
            # The asset exists upstream: keep it in memory, write it at the next chance, and say where it is.
            self._unrecorded.append((work.held.key, asset))
            raise LedgerError(
                f"{self._channel.provider} created asset {asset.id} (group {asset.group_id}) but the ledger could not "
                f"record it ({exc}). The client keeps it in memory and records it with its next upload; if this "
                f"kernel ends first, free space and run: await client.resolve_upload({asset.group_id!r}, "
                f"{asset.source!r}, asset_id={asset.id!r})."
            ) from exc
        return asset

    def _record_unrecorded(self) -> None:
        """Write the answers a full disk kept out of the ledger, now that it may take them."""
        while self._unrecorded:
            key, asset = self._unrecorded[0]
            self._ledger.settle_upload(key, asset)
            self._unrecorded.pop(0)

    def _unresolved(self, group_id: str, source: str) -> OutcomeUnknownError:
        provider = self._channel.provider
        return OutcomeUnknownError(
            f"An upload of {source!r} to {group_id} was sent to {provider} and its answer was lost; "
            f"{provider} cannot list assets, so the client cannot check and will not send it again on its "
            f"own. Look in {provider}'s console. If the asset is there: await client.resolve_upload("
            f"{group_id!r}, {source!r}, asset_id='<its id>'). If it is not: await client.resolve_upload("
            f"{group_id!r}, {source!r}, asset_id=None), then upload again."
        )

    async def _listed_by_name(self, group_id: str, name: str, source: str) -> list[Asset]:
        """Return the group's assets called ``name``; a list that keeps failing leaves the outcome unknown."""
        for attempt in range(_CREATE_ATTEMPTS):
            try:
                return [a for a in await self._list_group(group_id) if a.name == name]
            except (ServerError, TransportError, RateLimitError, MalformedResponseError):
                await self._channel.retry.pause(attempt)
        raise OutcomeUnknownError(
            f"The upload of {source!r} to {group_id} may have reached {self._channel.provider}, and its asset list "
            f"could not be read to check. Rerun the same call later: the ledger remembers it and checks before "
            f"sending again."
        )

    async def resolve(
        self, group_id: str, source: str | os.PathLike[str], asset_id: str | None, asset_type: str | None
    ) -> Asset | None:
        """Return the asset a person found for an upload of unknown outcome (``None``: it made none), recorded."""
        group_id = require_id(group_id, "group_id")
        text, _, sha, _ = identify(source, asset_type)
        rows = [r for r in self._ledger.unsettled_uploads(self._ledger_name, group_id) if r["sha256"] == sha]
        if not rows:
            raise InvalidArgumentError(
                f"resolve_upload: no upload of {text!r} to {group_id} has an unknown outcome in the ledger; "
                f"nothing to settle."
            )
        asset = None if asset_id is None else await self._found_asset(group_id, asset_id)
        for n, row in enumerate(rows):  # the newest row takes the asset; any older one made nothing
            if row["status"] == "sending" and (row["lease_until"] or 0) > self._clock() and owner_alive(row["owner"]):
                raise InvalidArgumentError(
                    f"resolve_upload: {text!r} is being uploaded to {group_id} right now by another task or kernel; "
                    f"wait for it to finish."
                )
            # APIMart's console id is the review handle: kept, it is how the asset is read later.
            handle = asset_id if asset is not None and asset.id != asset_id else None
            self._ledger.settle_upload(int(row["key"]), asset if n == len(rows) - 1 else None, handle=handle)
        return asset

    async def _found_asset(self, group_id: str, asset_id: str) -> Asset:
        """Return the asset a person found in the provider's console, checked to be in ``group_id``."""
        try:
            asset = await self._get_asset(require_id(asset_id, "asset_id"))
        except UnsupportedOperationError as exc:
            raise InvalidArgumentError(
                f"resolve_upload(asset_id={asset_id!r}): {self._channel.provider} cannot read that id ({exc}). "
                f"Pass the id its console shows for the upload (for APIMart, '<task_id>#<index>' of the review task)."
            ) from exc
        if asset.group_id and asset.group_id != group_id:
            raise InvalidArgumentError(
                f"resolve_upload: asset {asset.id} is in group {asset.group_id}, not {group_id}."
            )
        return asset
