"""A generation request's inputs, made ready: kinds read, assets looked at, files measured, then sent-able.

Three steps, in the order ``Jobs`` takes them so nothing is sent before the checks pass:
``resolve`` (each asset looked at: it must be this account's and active; each kind known),
``measure`` (local facts for the checks: a reference video's seconds, bytes and pixels, whether a
plain picture shows a face), and ``ready`` (a local file staged, or inlined as base64 where the
provider takes it; every reference then has the URI it is sent as).
"""

from __future__ import annotations

import asyncio
import base64
import mimetypes
import os
from collections.abc import Awaitable, Callable
from dataclasses import replace

from ._exceptions import AssetFailedError, GenerationRefusedError, InvalidRequestError, NotFoundError
from ._ledger import Ledger
from ._media_facts import input_facts
from ._models import Asset
from ._staging import Stager
from .generation import GenerationRequest, InputFacts, Reference

__all__ = ["INLINE_MAX_BYTES", "JobInputs"]

INLINE_MAX_BYTES = 10 * 2**20
"""A local picture at most this big is sent inline (base64) where the provider takes it; larger ones are staged.

Upstream takes pictures under 30 MB and request bodies up to 64 MB (reference/upstream.md §4.5): base64
grows a file by a third, so a few large pictures inline would pass the body's cap."""


class JobInputs:
    """Readies a request's references for the checks and for sending."""

    def __init__(self, ledger: Ledger, ledger_name: str, stager: Stager, http: object) -> None:
        self._ledger = ledger
        self._ledger_name = ledger_name
        self._stager = stager
        self._http = http

    async def resolve(
        self, request: GenerationRequest, get_asset: Callable[[str], Awaitable[Asset]]
    ) -> GenerationRequest:
        """Return ``request`` with each asset looked at (active, this account's) and each kind known."""
        refs = []
        for i, ref in enumerate(request.references):
            if ref.asset_id is not None:
                ref = await _looked_at(i, ref, get_asset)
            refs.append(ref)
        return request.with_references(tuple(refs))

    async def measure(self, request: GenerationRequest, *, faces: bool = True) -> dict[int, InputFacts]:
        """Return what can be measured locally of each input: its asset's source file, or the file given."""
        jobs = {i: path for i, ref in enumerate(request.references) if (path := self._local_file(ref))}
        scan_faces = {i: faces and not request.references[i].is_asset for i in jobs}  # an asset: judged at upload
        facts = await asyncio.gather(*(asyncio.to_thread(input_facts, path, scan_faces[i]) for i, path in jobs.items()))
        return {i: f for i, f in zip(jobs, facts, strict=True) if f is not None}

    def _local_file(self, ref: Reference) -> str | None:
        if ref.local_path is not None:
            return ref.local_path if os.path.isfile(ref.local_path) else None
        if ref.asset_id is not None:
            row = self._ledger.asset_row(self._ledger_name, ref.asset_id)
            source = (row or {}).get("source") or ""
            return source if source and os.path.isfile(source) else None
        return None

    async def ready(self, request: GenerationRequest, *, inline: bool) -> GenerationRequest:
        """Return ``request`` with every reference's URI set: local files staged (or inlined, with ``inline``)."""
        refs = []
        for i, ref in enumerate(request.references):
            path = ref.local_path
            if ref.uri is None and path is not None:
                if not os.path.isfile(path):
                    raise GenerationRefusedError(f"Reference {i + 1} ({ref.label}): no such file.",
                                                 reason="FileMissing", index=i, label=ref.label)  # fmt: skip
                small = os.path.getsize(path) <= INLINE_MAX_BYTES
                uri = _data_url(path) if inline and ref.kind == "Image" and small else None
                ref = replace(ref, uri=uri or await self._stager.stage(path, self._http))  # type: ignore[arg-type]
            elif ref.uri is None:
                ref = replace(ref, uri=os.fspath(ref.source))  # type: ignore[arg-type]
            refs.append(ref)
        return request.with_references(tuple(refs))


async def _looked_at(i: int, ref: Reference, get_asset: Callable[[str], Awaitable[Asset]]) -> Reference:
    asset_id = ref.asset_id or ""
    try:
        asset = await get_asset(asset_id)
    except NotFoundError as exc:
        raise NotFoundError(
            f"Reference {i + 1} ({asset_id}): no such asset in this account (deleted, or of another account); "
            f"upload the file into the group and pass the new asset. ({exc})",
            provider=exc.provider, status_code=exc.status_code, code=exc.code, request_id=exc.request_id,
        ) from None  # fmt: skip
    if asset.status == "failed":
        raise AssetFailedError(
            f"Asset {asset.id} failed ({asset.error_code}): it cannot be used; upload another file.",
            error_code=asset.error_code,
            asset=asset,
        )
    if asset.status != "active":
        raise InvalidRequestError(f"Asset {asset.id} is still {asset.status}: await client.wait_active first.")
    kind = ref.kind or (asset.asset_type if asset.asset_type in ("Image", "Video", "Audio") else "Image")
    return Reference(asset, role=ref.role, kind=kind)  # type: ignore[arg-type]


def _data_url(path: str) -> str:
    mime = mimetypes.guess_type(path)[0] or "image/jpeg"
    with open(path, "rb") as fh:
        return f"data:{mime};base64,{base64.b64encode(fh.read()).decode('ascii')}"
