"""What every adapter's generation methods share: the references as sent, options by wire name, usage.

A ``GenerationRequest`` reaches an adapter resolved (each reference's ``uri`` and ``kind`` set, checked
against ``generation_features``); these helpers turn it into the pieces each seller's body is made of.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from .._exceptions import InvalidArgumentError
from ..generation.request import ROLES, GenerationRequest
from .fields import Fields

__all__ = [
    "ARK_FEATURES",
    "CONTENT_ITEM",
    "ROLE_FEATURES",
    "SentReference",
    "ark_item",
    "expired_code",
    "grouped_order",
    "options",
    "sent_references",
    "usage_tokens",
]

ROLE_FEATURES: Final = frozenset(ROLES)
"""Every role of every kind: first/last frame, reference image, video and audio."""
ARK_FEATURES: Final = ROLE_FEATURES | {
    "plain_url", "base64", "generate_audio", "watermark", "camera_fixed", "return_last_frame", "seed",
    "smart_duration", "service_tier", "callback_url",
}  # fmt: skip
"""What Ark's own task body takes (reference/upstream.md §4.4)."""
CONTENT_ITEM: Final = {"Image": "image_url", "Video": "video_url", "Audio": "audio_url"}
"""Ark's content item type for each kind of reference."""

SentReference = tuple[str, str, str]
"""(uri, kind, role) of one reference as sent."""


def sent_references(request: GenerationRequest) -> list[SentReference]:
    """Return each reference's (uri, kind, role); every one must be resolved (uri and kind set)."""
    out: list[SentReference] = []
    for i, ref in enumerate(request.references):
        if ref.uri is None or ref.kind is None or ref.effective_role is None:
            raise InvalidArgumentError(f"Reference {i + 1} ({ref.label}) is not resolved: send it through the client.")
        out.append((ref.uri, ref.kind, ref.effective_role))
    return out


def ark_item(uri: str, kind: str, role: str) -> dict[str, Any]:
    """Return one Ark content item: ``{type, <type>: {url}, role}``."""
    item = CONTENT_ITEM[kind]
    return {"type": item, item: {"url": uri}, "role": role}


def options(
    request: GenerationRequest, names: Iterable[str], rename: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return the settings among ``names`` that ``request`` gives, under their wire names (``rename``)."""
    rename = rename or {}
    given = request.options()
    if not request.return_last_frame:
        given.pop("return_last_frame", None)
    return {rename.get(n, n): given[n] for n in names if n in given}


def usage_tokens(*holders: Fields) -> int | None:
    """Return ``usage.completion_tokens`` from the first holder that has it (Ark's usage object)."""
    for holder in holders:
        value = holder.obj("usage").get("completion_tokens")
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def grouped_order(request: GenerationRequest) -> list[int | None]:
    """Return upstream's content order for a seller that sends images, videos and audios in separate fields."""
    # inferred: such a seller rebuilds Ark's content as the text, then images, videos and audios in turn.
    kinds = [ref.kind for ref in request.references]
    order: list[int | None] = [None] if request.prompt else []
    return order + [i for kind in ("Image", "Video", "Audio") for i, k in enumerate(kinds) if k == kind]


def expired_code(code: str | None) -> bool:
    """True for the error code a seller gives a task upstream expired (``ExecutionExpired``)."""
    # inferred: resellers show an expired upstream task as failed; the emulator's code names it.
    return bool(code) and "expired" in str(code).lower()
