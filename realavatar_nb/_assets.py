"""Assets once uploaded: look at them, list a group, wait until they are processed, delete, erase a person.

Where the adapter ``reads_assets_by_list`` (Anyfast, upstream), an asset is looked for in its group's
list, GetAsset being only the fallback; an asset this client created that no read finds is
``processing`` for ``Settings.not_found_grace`` seconds from the first look that missed it, then
``failed`` with ``NeverResolved``: a create that answered an Id and never resolved (reported: a failed
face-consistency check, or a Name already in the group), never an endless wait or a bare 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from ._arguments import person_name, require_id
from ._channel import Channel
from ._exceptions import NotFoundError
from ._ledger import Ledger
from ._models import Asset
from ._types import ASSET_TERMINAL

__all__ = ["NEVER_RESOLVED", "Assets"]

NEVER_RESOLVED = "NeverResolved"  # the error code of a created asset no read ever found


class Assets:
    """A provider's assets, read and deleted through the channel, every change written to the ledger."""

    def __init__(
        self, channel: Channel, ledger: Ledger, ledger_name: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._channel = channel
        self._ledger = ledger
        self._ledger_name = ledger_name
        self._clock = clock
        self._missing_since: dict[str, float] = {}  # asset id -> when a read first found nothing

    async def get(self, asset_id: str, group_id: str | None = None, *, listed: Sequence[Asset] | None = None) -> Asset:
        """Return one look at an asset, what the provider's answer leaves out filled in from the ledger.

        Where the adapter ``reads_assets_by_list``, the group's list is read (``listed``, if given, is a
        list just read), the group being ``group_id`` or the ledger's; GetAsset where it has none or the
        list lacks the asset.
        """
        asset_id = require_id(asset_id, "asset_id")
        row = self._ledger.asset_row(self._ledger_name, asset_id)
        # APIMart reads an asset only through the review task it was uploaded in (its handle).
        lookup = row["handle"] if row and row.get("handle") and row["id"] == asset_id else asset_id
        group = group_id or (row["group_id"] if row else None)
        if self._channel.adapter.reads_assets_by_list and group:
            asset = await self._read_listed(lookup, group, row, listed)
        else:
            asset = await self._read(lookup)
        if row is not None:  # fill in what a provider's answer may leave out
            asset = replace(
                asset,
                group_id=asset.group_id or row["group_id"],
                name=asset.name or row["name"],
                asset_type=asset.asset_type or row["asset_type"],
                source=asset.source or row["source"],
            )
        if asset.id != lookup:
            self._ledger.resolve_asset(self._ledger_name, lookup, asset)
        else:
            self._ledger.update_asset(self._ledger_name, asset)
        return asset

    async def _read(self, lookup: str) -> Asset:
        adapter = self._channel.adapter
        request = adapter.build_get_asset(lookup)
        asset: Asset = await self._channel.drive(
            adapter.parse_get_asset(await self._channel.send(request, "read_asset"))
        )
        return asset

    async def _read_listed(
        self, asset_id: str, group_id: str, row: dict[str, Any] | None, listed: Sequence[Asset] | None
    ) -> Asset:
        """Return the asset as its group's list shows it, else as GetAsset does, else as a create never resolved."""
        items = listed if listed is not None else await self.in_group(group_id)
        found = next((a for a in items if a.id == asset_id), None)
        if found is None:
            try:
                found = await self._read(asset_id)  # an asset the list leaves out (an AIGC one)
            except NotFoundError:
                # Only an asset this client created and never saw active can be one still being indexed.
                if row is None or row["status"] == "active":
                    raise
                return self._unfound(asset_id, group_id, settled=row["error_code"] == NEVER_RESOLVED)
        self._missing_since.pop(asset_id, None)
        return found

    def _unfound(self, asset_id: str, group_id: str, *, settled: bool) -> Asset:
        """Return a created asset no read finds: ``processing`` within the grace period, then ``failed``.

        ``settled``: the ledger already holds it as never resolved, so no new grace period starts.
        """
        now = self._clock()
        grace = self._channel.settings.not_found_grace
        if not settled and now - self._missing_since.setdefault(asset_id, now) < grace:
            return Asset(id=asset_id, group_id=group_id, status="processing")  # indexing may lag the create
        provider = self._channel.provider
        return Asset(
            id=asset_id,
            group_id=group_id,
            status="failed",
            error_code=NEVER_RESOLVED,
            # reported: OpenMontage tools/video/_anyfast.py (a not-found lasting ~20 s after the create)
            error_message=(
                f"{provider} accepted this upload but no read has found the asset for {grace:.0f} s. Most likely "
                f"its face-consistency check failed (FaceMismatch: upload a clear, front-facing image of the "
                f"verified person), or its Name duplicates another asset in the group ({provider} answers that "
                f"as not found too: upload it under another name); a key of another account reads the same."
            ),
        )

    async def in_group(self, group_id: str) -> list[Asset]:
        """Return every asset of a group, page after page (``UnsupportedOperationError`` where none lists)."""
        found: list[Asset] = []
        page = 1
        while True:
            request = self._channel.adapter.build_list_assets(group_id, page=page)
            items, more = self._channel.adapter.parse_list_assets(await self._channel.send(request, "list_assets"))
            found += items
            if not more or not items:
                return found
            page += 1

    async def refresh(self, assets: Sequence[Asset]) -> list[Asset]:
        """Return the assets in the same order after one look at those not yet terminal (a list per group)."""
        current = {a.id: a for a in assets}
        pending = [a for a in current.values() if a.status not in ASSET_TERMINAL]
        groups = {a.group_id for a in pending if a.group_id}
        adapter = self._channel.adapter
        if adapter.can_list_assets and groups:
            for group in groups:
                listed = await self.in_group(group)
                for asset in listed:
                    old = current.get(asset.id)
                    if old is None:
                        continue
                    current[asset.id] = asset
                    if asset.status != old.status:  # a write per change, not per look
                        self._ledger.update_asset(self._ledger_name, asset)
                seen = {a.id for a in listed}
                for missing in [a for a in pending if a.group_id == group and a.id not in seen]:
                    if adapter.reads_assets_by_list:  # GetAsset, then the grace period (``get``)
                        current[missing.id] = await self.get(missing.id, group, listed=listed)
        elif pending:
            gate = asyncio.Semaphore(16)

            async def look(asset: Asset) -> None:
                async with gate:
                    current[asset.id] = await self.get(asset.id)

            await asyncio.gather(*(look(a) for a in pending))
        return [current[a.id] for a in assets]

    async def wait_active(
        self,
        assets: Sequence[Asset],
        refresh: Callable[[Sequence[Asset]], Awaitable[list[Asset]]],
        timeout: float | None,
    ) -> list[Asset]:
        """Return the assets, in the same order, once every one is terminal (active or failed)."""
        current = list(assets)
        interval = self._channel.poll_interval
        first = True

        async def look() -> list[Asset]:
            nonlocal first, current
            if first and all(a.status == "processing" for a in current):
                first = False  # just uploaded: nothing to learn yet, so the first look waits an interval
                return current
            first = False
            current = await refresh(current)
            return current

        async for _ in self._channel.iter_status(
            look,
            is_terminal=lambda c: all(a.status in ASSET_TERMINAL for a in c),
            interval=interval,
            # A list costs one request per page, a look per asset one each: those back off further.
            max_interval=interval if self._channel.adapter.can_list_assets else interval * 4,
            timeout=timeout if timeout is not None else 900.0,
            what="the assets to finish processing",
        ):
            pass
        return current

    async def delete(self, asset_id: str) -> None:
        """Delete an asset upstream and forget it in the ledger; one already gone counts as deleted."""
        asset_id = require_id(asset_id, "asset_id")
        # Already gone (a retried delete whose first answer was lost) is the goal met, not an error.
        with contextlib.suppress(NotFoundError):
            self._channel.adapter.check(await self._channel.send(self._channel.adapter.build_delete_asset(asset_id)))
        self._ledger.forget_asset(self._ledger_name, asset_id)

    async def erase_person(self, person: str) -> dict[str, Any]:
        """Return what was deleted upstream for ``person`` and what was not (and why), the ledger purged."""
        name = person_name(person)
        assert name is not None
        adapter, provider = self._channel.adapter, self._channel.provider
        asset_ids, group_ids = self._ledger.belongings(self._ledger_name, name)
        kept: list[tuple[str, str]] = []
        deleted_assets = deleted_groups = 0
        remaining = set(asset_ids)
        for group_id in group_ids:
            if adapter.can_delete_group:  # deleting a group deletes its assets with it
                with contextlib.suppress(NotFoundError):
                    adapter.check(await self._channel.send(adapter.build_delete_group(group_id)))
                deleted_groups += 1
                remaining = {a for a in remaining if self._group_of(a) != group_id}
            elif adapter.can_list_assets:  # what is upstream, not only what the ledger remembers
                remaining |= {a.id for a in await self.in_group(group_id)}
        for asset_id in sorted(remaining):
            if adapter.can_delete_asset:
                await self.delete(asset_id)
                deleted_assets += 1
            else:
                kept.append((asset_id, f"{provider} cannot delete assets; delete it in its console"))
        for group_id in group_ids if not adapter.can_delete_group else ():
            kept.append((group_id, f"{provider} cannot delete asset groups; delete it in its console"))
        if not adapter.can_list_assets:
            for row in self._ledger.unsettled_uploads(self._ledger_name):
                if row["person"] == name:
                    kept.append((str(row["source"]), f"an upload to {row['group_id']} whose outcome is unknown: "
                                 f"look for it in {provider}'s console"))  # fmt: skip
        purged = self._ledger.erase_person(name)
        return {
            "deleted_assets": deleted_assets,
            "deleted_groups": deleted_groups,
            "not_deleted": kept,
            "ledger": purged,
        }

    def _group_of(self, asset_id: str) -> str | None:
        return (self._ledger.asset_row(self._ledger_name, asset_id) or {}).get("group_id")
