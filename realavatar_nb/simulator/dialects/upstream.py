"""What the resellers of BytePlus share: upstream's spellings, request checks and error codes, Ark's content.

EasyRouter and Anyfast pass BytePlus' asset actions and Ark's generation through; their dialects
check a request as upstream does (reference/upstream.md §3–4) with these, so one rule reads alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message

from ..generation import DEFAULT_EXPIRY, GenerationRequest, Reference, family_of
from ..state import Asset, SimError
from .base import Body, Context, iso

__all__ = [
    "ARK_ROLES",
    "ASSET_TYPES",
    "RATIOS",
    "STATUSES",
    "WIRE_NAMES",
    "ark_content",
    "ark_request",
    "bounded",
    "choice",
    "listed_assets",
    "multipart_upload",
    "presigned_url",
    "public_url",
    "stamp",
    "strings",
    "upstream_asset",
    "upstream_error_code",
    "upstream_paging",
    "within",
]

# BytePlus' spellings, as the resellers (EasyRouter, Anyfast) pass them through.
ASSET_TYPES: Final = ("Image", "Video", "Audio")
STATUSES: Final = ("Active", "Processing", "Failed")
RATIOS: Final = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "adaptive")
# Ark's content item kinds and the roles each may take.
ARK_ROLES: Final = {"image_url": ("first_frame", "last_frame", "reference_image"), "video_url": ("reference_video",),
                    "audio_url": ("reference_audio",)}  # fmt: skip
# The state layer names fields in snake case; upstream's parameter codes use the wire names.
WIRE_NAMES: Final = {"asset_type": "AssetType", "url": "URL", "group_id": "GroupId", "asset_id": "Id",
                      "byted_token": "BytedToken", "name": "Name"}  # fmt: skip


def stamp(ts: float) -> str:
    """Return ``YYYYMMDDhhmmss`` (UTC), the head of upstream's RequestIds."""
    return "".join(c for c in iso(ts) if c.isdigit())


def listed_assets(ctx: Context) -> tuple[list[Asset], int, int]:
    """Return the assets a ListAssets body asks for (its Filter, sorted), and its page number and size.

    ``Filter{GroupIds, Statuses, GroupType, Name}`` are AND-combined (reference/upstream.md §3.10).
    A list call within the account's ``list_qps``, else refused (``limits``).
    """
    ctx.state.admit_list(ctx.account)
    b = ctx.body
    f = b.obj("Filter")
    with within("Filter"):
        group_ids = strings(f, "GroupIds", max_items=100)
        statuses = [choice(s, "Statuses", STATUSES) for s in strings(f, "Statuses", max_items=len(STATUSES))]
        group_type = f.text("GroupType")
        if group_type is not None:
            choice(group_type, "GroupType", ("AIGC", "LivenessFace"))
        name = f.text("Name", max_len=64)
    number, size = upstream_paging(b, default_size=10)  # inferred: ListAssetGroups' default page size
    sort_by = choice(b.text("SortBy", default="CreateTime"), "SortBy", ("CreateTime", "UpdateTime", "GroupId"))
    descending = choice(b.text("SortOrder", default="Desc"), "SortOrder", ("Desc", "Asc")) == "Desc"
    items = ctx.state.list_assets(
        ctx.account, group_ids=group_ids or None, statuses=statuses or None, name=name, sort_by=sort_by,
        descending=descending,
    )  # fmt: skip
    if group_type is not None:
        groups = ctx.state.groups
        items = [a for a in items if getattr(groups.get(a.group_id), "group_type", None) == group_type]
    return items, number, size


def upstream_asset(ctx: Context, a: Asset, *, with_error: bool = True) -> dict[str, Any]:
    """Return upstream's asset object (GetAsset's ``Result``, a ListAssets item), with a fresh 12 h URL.

    ``Error{Code, Message}`` rides along on a failed asset unless ``with_error`` is false (a read that
    does not carry it, as Anyfast's GetAsset was seen not to).
    """
    data: dict[str, Any] = {
        "Id": a.id,
        "Name": a.name,
        "URL": presigned_url(ctx, a.url, a.id),
        "AssetType": a.asset_type,
        "GroupId": a.group_id,
        "Status": a.status,
        "ProjectName": a.project,
        "CreateTime": iso(a.created_at),
        "UpdateTime": iso(a.updated_at or a.created_at),
    }
    if a.status == "Failed" and with_error:
        data["Error"] = {"Code": a.error_code, "Message": a.error_message}
    return data


def presigned_url(ctx: Context, url: str, key: str) -> str:
    """Return a fresh TOS-style presigned link (12 h) to an asset's stored file."""
    # Upstream hands out a new ~12 h link on every read (reference/upstream.md §3.9); the
    # emulator's copy is the file it checked, so its own file URLs are rebased on this host.
    base = ctx.root + urlsplit(url).path if ctx.files.local_path(url) else url
    now = stamp(ctx.state.clock())
    query = urlencode(
        {
            "X-Tos-Algorithm": "TOS4-HMAC-SHA256",
            "X-Tos-Date": f"{now[:8]}T{now[8:]}Z",
            "X-Tos-Expires": "43200",
            "X-Tos-Signature": hashlib.sha256(f"{key}|{now}".encode()).hexdigest(),
        }
    )
    return f"{base}{'&' if '?' in base else '?'}{query}"


def public_url(body: Body, field: str, *, required: bool = False) -> Any:
    value = body.text(field, required=required)
    if value is not None:
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise SimError("invalid", f"{field} must be a public http(s) URL.", field=field)
    return value


def choice(value: Any, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SimError("invalid", f"{field} must be one of [{', '.join(allowed)}], got {value!r}.", field=field)
    return str(value)


def bounded(value: int, field: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise SimError("invalid", f"{field} must be from {low} to {high}.", field=field)
    return value


def strings(body: Body, field: str, *, max_items: int) -> list[str]:
    items = body.items(field, max_items=max_items)
    if not all(isinstance(item, str) for item in items):
        raise SimError("invalid", f"{field} must be an array of strings.", field=field)
    return items


@contextmanager
def within(prefix: str) -> Iterator[None]:
    """Name nested fields in full (``metadata.ratio``) in the refusals raised inside."""
    try:
        yield
    except SimError as exc:
        if exc.field is None or exc.field.startswith(prefix + "."):
            raise
        message = f"{prefix}.{exc.message}" if exc.message.startswith(exc.field) else exc.message
        raise SimError(exc.kind, message, field=f"{prefix}.{exc.field}") from None


async def multipart_upload(request: Request, limit: int) -> tuple[Body, tuple[bytes, str]]:
    """Return a multipart form's text fields and its one ``file`` (bytes, file name), at most ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise SimError("invalid", f"The upload is larger than {limit} bytes.", field="file")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise SimError("invalid", f"The upload is larger than {limit} bytes.", field="file")

    async def replay() -> Message:
        return {"type": "http.request", "body": bytes(raw), "more_body": False}

    fields: dict[str, str] = {}
    try:
        async with Request(request.scope, replay).form(max_files=1, max_fields=20) as form:
            for key, value in form.multi_items():
                if isinstance(value, str):
                    fields.setdefault(key, value)
            item = form.get("file")
            if item is None:
                raise SimError("invalid", "file is required.", field="file")
            if isinstance(item, str):
                raise SimError("invalid", "file must be a file part, not a text field.", field="file")
            data, filename = await item.read(), item.filename or "upload"
    except (HTTPException, MultiPartException) as exc:
        detail = exc.detail if isinstance(exc, HTTPException) else exc.message
        raise SimError("invalid", f"The multipart form could not be read: {detail}") from None
    if not data:
        raise SimError("invalid", "file is empty.", field="file")
    return Body(fields), (data, filename)


def ark_content(items: list[Any], field: str = "content") -> tuple[str, tuple[Reference, ...]]:
    """Return (prompt, references) from Ark's ``content`` array, each reference at its index as sent.

    Only the shape is read here; roles, counts and inputs are the state's to check (``generation``).
    """
    texts: list[str] = []
    refs: list[Reference] = []
    for i, item in enumerate(items):
        where = f"content[{i}]"
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "text":
            if not isinstance(item.get("text"), str):
                raise SimError("invalid", f"{where}.text must be a string.", field=field)
            texts.append(item["text"])
            continue
        if kind not in ARK_ROLES:
            raise SimError("invalid", f"{where}.type must be text, image_url, video_url or audio_url.", field=field)
        inner = item.get(kind)
        if not isinstance(inner, dict) or not isinstance(inner.get("url"), str):
            raise SimError("invalid", f"{where}.{kind}.url must be a URL string.", field=field)
        refs.append(Reference(inner["url"], kind.removesuffix("_url"), item.get("role"), i, field))
    return " ".join(texts), tuple(refs)


def upstream_error_code(kind: str, message: str, field: str | None) -> str:
    """Return upstream's error code for a refusal (reference/upstream.md §3.13)."""
    wire = WIRE_NAMES.get(field, field) if field else None
    if kind == "not_found":
        return f"NotFound.{field}" if field else "ResourceNotFound"  # upstream writes NotFound.asset_id
    if kind in ("invalid", "not_ready", "expired"):
        if not wire:
            return "InvalidParameter"
        missing = field is not None and message == f"{field} is required."
        return f"{'MissingParameter' if missing else 'InvalidParameter'}.{wire}"
    # inferred: Ark's code for a bad API key; the others as upstream lists them.
    named = {"unauthorized": "AuthenticationError", "forbidden": "AccessDenied", "conflict": "Conflict",
             "internal_error": "InternalError", "method_not_allowed": "InvalidMethod",
             "rate_limited": "RateLimitExceeded"}  # fmt: skip
    return named.get(kind, kind)


def upstream_paging(b: Body, *, default_size: int) -> tuple[int, int]:
    """Return upstream's ``PageNumber`` and ``PageSize`` (at most 100), checked."""
    number = bounded(b.integer("PageNumber", default=1), "PageNumber", 1, 1_000_000)
    return number, bounded(b.integer("PageSize", default=default_size), "PageSize", 1, 100)


def ark_request(b: Body, model: str, prompt: str, refs: tuple[Reference, ...]) -> GenerationRequest:
    """Return the request an Ark-native body (upstream's own, Anyfast's) asks for; the state checks it."""
    return GenerationRequest(
        model=model, prompt=prompt, references=refs, family=family_of(model),
        duration=b.integer("duration", default=5), ratio=b.text("ratio", default="16:9"),
        resolution=b.text("resolution", default="720p"), seed=b.integer("seed"),
        generate_audio=b.flag("generate_audio", True), watermark=b.flag("watermark", False),
        camera_fixed=b.flag("camera_fixed", False), return_last_frame=b.flag("return_last_frame", False),
        service_tier=b.text("service_tier", default="default"), callback_url=b.text("callback_url"),
        execution_expires_after=b.integer("execution_expires_after", default=DEFAULT_EXPIRY), data_urls=True,
    )  # fmt: skip
