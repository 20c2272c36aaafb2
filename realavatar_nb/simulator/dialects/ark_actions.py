"""Upstream's twelve asset-library actions (reference/upstream.md §3): a PascalCase body in, a ``Result`` out.

Each handler takes an ``ArkContext`` (the signed key's account and the request's project) and
returns the action's ``Result``; refusals are ``SimError``s, which ``dialects.ark`` turns into
upstream's codes (``NotFound.asset_id``, ``MissingParameter.CallbackURL``, …). Assets and groups
are isolated by project as upstream isolates them: another project's is not found.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from ..state import Asset, Group, SimError
from .base import iso
from .upstream import (
    ASSET_TYPES,
    choice,
    listed_assets,
    public_url,
    strings,
    upstream_asset,
    upstream_paging,
    within,
)

if TYPE_CHECKING:
    from .ark import ArkContext

__all__ = ["ACTIONS", "asset_result", "group_result"]

Result = dict[str, Any]
GROUP_TYPES: Final = ("AIGC", "LivenessFace")


# -- liveness --------------------------------------------------------------------------------


def create_session(ctx: ArkContext) -> Result:
    callback = public_url(ctx.body, "CallbackURL", required=True)
    session = ctx.state.create_session(ctx.account, callback_url=callback, project=ctx.project)
    return {"BytedToken": session.token, "H5Link": ctx.h5_link(session.token, session.lng), "CallbackURL": callback}


def get_result(ctx: ArkContext) -> Result:
    token = ctx.body.text("BytedToken", required=True)
    session = ctx.state.result(ctx.account, token)
    if session.project != ctx.project:
        raise SimError("not_found", f"BytedToken {token!r} not found.", field="byted_token")
    # inferred: the failure and expiry messages; both are InvalidParameter.BytedToken (HTTP 400).
    if session.state == "failed":
        message = f"Visual validation failed (resultCode {session.result_code}); create a new session."
        raise SimError("invalid", message, field="BytedToken")
    if session.state == "expired":
        raise SimError("expired", "The H5 link expired before verification finished.", field="BytedToken")
    # inferred: not finished yet answers an empty GroupId, as the official guide's "poll until a
    # GroupId or an error is returned" reads (and as Anyfast passes it through).
    return {"GroupId": session.group_id or ""}


# -- groups ------------------------------------------------------------------------------------


def create_group(ctx: ArkContext) -> Result:
    b = ctx.body
    name = b.text("Name", required=True, max_len=64)
    description = b.text("Description", default="", max_len=300)
    if b.text("GroupType", default="AIGC") != "AIGC":
        raise SimError("invalid", "GroupType must be one of [AIGC]", field="GroupType")
    group = ctx.state.create_group(ctx.account, name=name, description=description, project=ctx.project)
    return {"Id": group.id}


def list_groups(ctx: ArkContext) -> Result:
    ctx.state.admit_list(ctx.account)
    b = ctx.body
    f = b.obj("Filter")
    with within("Filter"):
        name, ids = f.text("Name", max_len=64), set(strings(f, "GroupIds", max_items=100))
        group_type = f.text("GroupType")
        if group_type is not None:
            choice(group_type, "GroupType", GROUP_TYPES)
    number, size = upstream_paging(b, default_size=10)
    sort_by = choice(b.text("SortBy", default="CreateTime"), "SortBy", ("CreateTime", "UpdateTime"))
    descending = choice(b.text("SortOrder", default="Desc"), "SortOrder", ("Desc", "Asc")) == "Desc"
    groups = [
        g
        for g in list(ctx.state.groups.values())
        if g.account == ctx.account
        and g.project == ctx.project
        and (not ids or g.id in ids)
        and (not name or name in _group_name(g))
        and (group_type is None or g.group_type == group_type)
    ]
    when = (lambda g: _updated(g)) if sort_by == "UpdateTime" else (lambda g: g.created_at)
    groups.sort(key=lambda g: (when(g), g.id), reverse=descending)
    page = [group_result(g) for g in groups[(number - 1) * size : number * size]]
    return {"Items": page, "TotalCount": len(groups), "PageNumber": number, "PageSize": size}


def get_group(ctx: ArkContext) -> Result:
    return group_result(_group(ctx, ctx.body.text("Id", required=True)))


def update_group(ctx: ArkContext) -> Result:
    b = ctx.body
    group = _group(ctx, b.text("Id", required=True))
    name, description = b.text("Name", max_len=64), b.text("Description", max_len=300)
    ctx.state.update_group(ctx.account, group.id, name=name, description=description)
    return {"Id": group.id}


def delete_group(ctx: ArkContext) -> Result:
    group = _group(ctx, ctx.body.text("Id", required=True))
    ctx.state.delete_group(ctx.account, group.id)  # its assets go with it (reference/upstream.md §3.7)
    return {}


# -- assets ------------------------------------------------------------------------------------


def create_asset(ctx: ArkContext) -> Result:
    b = ctx.body
    group_id = b.text("GroupId", required=True)
    url = public_url(b, "URL", required=True)
    kind = choice(b.text("AssetType", required=True), "AssetType", ASSET_TYPES)
    name = b.text("Name", max_len=64)
    with within("Moderation"):
        strategy = b.obj("Moderation").text("Strategy")
        if strategy is not None:
            choice(strategy, "Strategy", ("Skip",))
    _group(ctx, group_id)  # another project's group is not found, before the file is fetched
    asset = ctx.state.create_asset(
        ctx.account, group_id=group_id, url=url, asset_type=kind, name=name, project=ctx.project
    )
    return {"Id": asset.id}


def get_asset(ctx: ArkContext) -> Result:
    return asset_result(ctx, _asset(ctx, ctx.body.text("Id", required=True)))


def list_assets(ctx: ArkContext) -> Result:
    items, number, size = listed_assets(ctx)
    items = [a for a in items if a.project == ctx.project]
    page = [asset_result(ctx, a) for a in items[(number - 1) * size : number * size]]
    return {"Items": page, "TotalCount": len(items), "PageNumber": number, "PageSize": size}


def update_asset(ctx: ArkContext) -> Result:
    b = ctx.body
    asset = _asset(ctx, b.text("Id", required=True))
    name = b.text("Name", max_len=64)  # only the name can change (reference/upstream.md §3.11)
    if name is not None:
        ctx.state.rename_asset(ctx.account, asset.id, name)
    return {"Id": asset.id}


def delete_asset(ctx: ArkContext) -> Result:
    asset = _asset(ctx, ctx.body.text("Id", required=True))
    ctx.state.delete_asset(ctx.account, asset.id)
    return {}


# -- shapes ------------------------------------------------------------------------------------


def asset_result(ctx: ArkContext, a: Asset) -> Result:
    """Return GetAsset's ``Result`` (a ListAssets item): a fresh 12 h presigned URL on every read."""
    return upstream_asset(ctx, a)


def group_result(g: Group) -> Result:
    """Return GetAssetGroup's ``Result`` (a ListAssetGroups item)."""
    name = _group_name(g)
    return {"Id": g.id, "Name": name, "Title": name, "Description": g.description, "GroupType": g.group_type,
            "ProjectName": g.project, "CreateTime": iso(g.created_at), "UpdateTime": iso(_updated(g))}  # fmt: skip


def _group_name(g: Group) -> str:
    return g.name or g.id  # inferred: a LivenessFace group's Name is not documented; the id stands in


def _updated(g: Group) -> float:
    return max(g.updated_at, g.created_at)


def _group(ctx: ArkContext, group_id: str) -> Group:
    group = ctx.state.group(ctx.account, group_id)
    if group.project != ctx.project:
        raise SimError("not_found", f"asset group {group_id} not found", field="group_id")
    return group


def _asset(ctx: ArkContext, asset_id: str) -> Asset:
    asset = ctx.state.asset(ctx.account, asset_id)
    if asset.project != ctx.project:
        raise SimError("not_found", f"asset {asset_id} not found", field="asset_id")
    return asset


ACTIONS: Final[dict[str, Callable[[ArkContext], Result]]] = {
    "CreateVisualValidateSession": create_session,
    "GetVisualValidateResult": get_result,
    "CreateAssetGroup": create_group,
    "ListAssetGroups": list_groups,
    "GetAssetGroup": get_group,
    "UpdateAssetGroup": update_group,
    "DeleteAssetGroup": delete_group,
    "CreateAsset": create_asset,
    "GetAsset": get_asset,
    "ListAssets": list_assets,
    "UpdateAsset": update_asset,
    "DeleteAsset": delete_asset,
}
