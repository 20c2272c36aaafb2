"""Groups and their assets: an asset created in ``Processing``, judged on a thread, then Active or Failed.

An asset's URL is downloaded in its account's turn and checked (``judging``); the verdict is taken
when the asset is next read after its ``ready_at``, so nothing here sleeps. Every create is a
CreateAsset write within the account's limits (``limits``: slots held, writes a minute).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .backend import Backend
from .records import Asset, Group, SimError

__all__ = ["Assets"]


class Assets(Backend):
    """The groups verified sessions made, and the assets uploaded into them."""

    def group(self, account: str, group_id: str) -> Group:
        with self._lock:
            return self._owned(self.groups, account, group_id, f"asset group {group_id} not found", "group_id")

    def create_group(self, account: str, *, name: str, description: str = "", project: str = "default") -> Group:
        """Create a virtual-portrait (AIGC) group: no liveness behind it, so no person to match."""
        now = self.clock()
        with self._lock:
            group = Group(
                id=self.ids.dated("group", now), account=account, person="", token="", created_at=now,
                project=project, group_type="AIGC", name=name, description=description, updated_at=now,
            )  # fmt: skip
            self.groups[group.id] = group
            self._count(account, "groups")
            self._save("group", group)
            return group

    def update_group(self, account: str, group_id: str, *, name: str | None, description: str | None) -> Group:
        with self._lock:
            group = self.group(account, group_id)
            group.name = group.name if name is None else name
            group.description = group.description if description is None else description
            group.updated_at = self.clock()
            self._save("group", group)
            return group

    def rename_asset(self, account: str, asset_id: str, name: str) -> Asset:
        with self._lock:
            asset = self.asset(account, asset_id)
            asset.name = name
            asset.updated_at = max(asset.updated_at, self.clock())
            self._save("asset", asset)
            return asset

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
        return self.create_assets(account, group_id=group_id, items=[(url, name)], asset_type=asset_type,
                                  project=project)[0]  # fmt: skip

    def create_assets(
        self,
        account: str,
        *,
        group_id: str,
        items: Sequence[tuple[str, str | None]],
        asset_type: str,
        project: str = "default",
    ) -> list[Asset]:
        """Create one asset per ``(url, name)`` in a group, all or none: each is a CreateAsset write.

        The account's limits (``limits``) refuse the whole batch when its writes or its slots do not
        all fit (inferred: a reseller's batch is taken as one request upstream would refuse whole).
        """
        kind = asset_type.capitalize() if isinstance(asset_type, str) else ""
        if kind not in ("Image", "Video", "Audio"):
            raise SimError("invalid", "AssetType must be one of [Image, Video, Audio].", field="asset_type")
        if not items or not all(isinstance(url, str) and url for url, _ in items):
            raise SimError("invalid", "URL is required.", field="url")
        group = self.group(account, group_id)
        with self._lock:
            now = self.clock()
            held = sum(1 for a in self.assets.values() if a.account == account)
            self.limits.admit_assets(account, now, held=held, n=len(items))
            return [self._new_asset(account, group, url, kind, name, project, now) for url, name in items]

    def _new_asset(
        self, account: str, group: Group, url: str, kind: str, name: str | None, project: str, now: float
    ) -> Asset:
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
            return self._refresh_asset(
                self._owned(self.assets, account, asset_id, f"asset {asset_id} not found", "asset_id")
            )

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
