"""What a Seedance 2.x job is asked to make: the prompt, every reference with its role, and each setting.

One ``GenerationRequest`` says everything the model family takes, the same for every provider; each
adapter maps what its provider accepts and the client refuses, before sending, what it does not
(``checks``). A reference is the person's asset (``Asset`` or ``"asset://<id>"``) or a plain input
that is not the person (a background, a product): an http(s) URL or a local file, which the client
stages (or inlines as base64 where the provider takes it). Its ``kind`` comes from the asset or the
file name; its ``role`` defaults by kind.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import PurePath
from typing import Any, Final, Literal, get_args
from urllib.parse import urlsplit

from .._exceptions import InvalidArgumentError
from .._models import Asset
from .._types import ASSET_TYPE_OF_KIND, ASSET_TYPES, AssetType

__all__ = [
    "DEFAULT_ROLE",
    "FRAME_ROLES",
    "RATIOS",
    "ROLES",
    "ROLES_OF_TYPE",
    "SMART_DURATION",
    "GenerationRequest",
    "Reference",
    "Role",
    "as_reference",
    "request_from",
]

Role = Literal["first_frame", "last_frame", "reference_image", "reference_video", "reference_audio"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
ROLES_OF_TYPE: Final[dict[AssetType, tuple[Role, ...]]] = {
    "Image": ("first_frame", "last_frame", "reference_image"),
    "Video": ("reference_video",),
    "Audio": ("reference_audio",),
}
"""The roles upstream lets each kind of input play (reference/upstream.md §4.4)."""
DEFAULT_ROLE: Final[dict[AssetType, Role]] = {"Image": "reference_image", "Video": "reference_video",
                                              "Audio": "reference_audio"}  # fmt: skip
FRAME_ROLES: Final = frozenset({"first_frame", "last_frame"})
"""First/last-frame mode; upstream refuses it mixed with the reference roles."""
RATIOS: Final = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive")
SMART_DURATION: Final = -1
"""``duration=-1``: the model chooses the length ("smart duration")."""
SERVICE_TIERS: Final = ("default", "flex")

Source = Asset | str | os.PathLike[str]


@dataclass(frozen=True)
class Reference:
    """One input of a job: the person's asset or a plain URL or file, with the role it plays."""

    source: Source
    """An ``Asset``, ``"asset://<id>"``, an http(s) or ``data:`` URL, or a local path."""
    role: Role | None = None
    """``first_frame``, ``last_frame``, ``reference_image``, ``reference_video`` or ``reference_audio``;
    ``None`` takes the kind's reference role."""
    kind: AssetType | None = None
    """``Image``, ``Video`` or ``Audio``; ``None`` reads it from the asset or the file name."""
    uri: str | None = None
    """What is sent (``asset://…``, an http(s) or ``data:`` URL); the client sets it before sending."""

    def __post_init__(self) -> None:
        if not isinstance(self.source, Asset | str | os.PathLike):
            raise InvalidArgumentError(
                f"Reference({self.source!r:.60}): pass an Asset, 'asset://<id>', an http(s) URL or a local path."
            )
        if isinstance(self.source, str) and not self.source.strip():
            raise InvalidArgumentError("Reference(''): the source is empty; pass an asset, a URL or a path.")
        if self.kind is not None and self.kind not in ASSET_TYPES:
            raise InvalidArgumentError(f"Reference(kind={self.kind!r}): use one of {', '.join(ASSET_TYPES)}.")
        if self.role is not None and self.role not in ROLES:
            raise InvalidArgumentError(f"Reference(role={self.role!r}): use one of {', '.join(ROLES)}.")
        kind = self.kind or _kind_of(self.source)
        if kind is not None and self.kind is None:
            object.__setattr__(self, "kind", kind)
        if self.role is not None and kind is not None and self.role not in ROLES_OF_TYPE[kind]:
            raise InvalidArgumentError(
                f"Reference {self.label}: a {kind.lower()} cannot be {self.role}; "
                f"it can be {' or '.join(ROLES_OF_TYPE[kind])}."
            )
        if self.uri is None and self.asset_id is not None:
            object.__setattr__(self, "uri", f"asset://{self.asset_id}")

    @property
    def asset(self) -> Asset | None:
        """The ``Asset`` passed, if one was."""
        return self.source if isinstance(self.source, Asset) else None

    @property
    def asset_id(self) -> str | None:
        """The asset's id for the person's assets; ``None`` for plain inputs."""
        if isinstance(self.source, Asset):
            return self.source.id
        if isinstance(self.source, str) and self.source.startswith("asset://"):
            return self.source.removeprefix("asset://")
        return None

    @property
    def is_asset(self) -> bool:
        """True for the person's assets, which upstream checks against the verified face."""
        return self.asset_id is not None

    @property
    def local_path(self) -> str | None:
        """The file to stage or inline, for a plain input given as a path."""
        if self.is_asset:
            return None
        text = os.fspath(self.source)  # type: ignore[arg-type]  # not an Asset: is_asset is False
        return None if urlsplit(text).scheme in ("http", "https", "data") else text

    @property
    def effective_role(self) -> Role | None:
        """The role sent: the one given, else the kind's reference role (``None`` while the kind is unknown)."""
        return self.role or (DEFAULT_ROLE[self.kind] if self.kind else None)

    @property
    def label(self) -> str:
        """How messages and the ledger name this input: the asset id, the file name or the URL."""
        if self.asset_id is not None:
            return self.asset_id
        text = os.fspath(self.source)  # type: ignore[arg-type]  # not an Asset: it has an asset id
        if text.startswith("data:"):
            return f"{text[:24]}… (inline)"
        return text if len(text) <= 120 else f"{text[:117]}…"

    def record(self) -> dict[str, Any]:
        """Return what the ledger keeps of this input (never the bytes of an inline one)."""
        return {"source": self.label, "kind": self.kind, "role": self.effective_role, "asset": self.is_asset}


def _kind_of(source: Source) -> AssetType | None:
    if isinstance(source, Asset):
        # An asset whose answer named no type is a picture, as adapters have always sent it.
        return ASSET_TYPE_OF_KIND.get((source.asset_type or "image").lower())
    text = os.fspath(source)
    if text.startswith("data:"):
        mime = text[5:].split(";", 1)[0].split(",", 1)[0]
    elif text.startswith("asset://"):
        return None
    else:
        mime = mimetypes.guess_type(PurePath(urlsplit(text).path).name)[0] or ""
    return ASSET_TYPE_OF_KIND.get(mime.split("/", 1)[0])


def as_reference(item: Reference | Source) -> Reference:
    """Return ``item`` as a ``Reference`` (a plain source gets its kind's default role)."""
    return item if isinstance(item, Reference) else Reference(item)


@dataclass(frozen=True)
class GenerationRequest:
    """Everything a Seedance 2.x job takes; ``None`` leaves a setting to the provider's default.

    ``references`` takes ``Reference`` objects or plain sources (``Asset``, ``"asset://…"``, URL, path),
    whose kind gives the default role. ``label`` is free text that finds the job in the ledger (a grid cell).
    """

    prompt: str
    references: tuple[Reference, ...] = ()
    """A sequence of ``Reference`` or plain sources, stored as a tuple of ``Reference``."""
    model: str | None = None
    duration: int = 5
    """Seconds; ``-1`` lets the model choose."""
    ratio: str = "16:9"
    """``16:9``, ``4:3``, ``1:1``, ``3:4``, ``9:16``, ``21:9`` or ``adaptive`` (follows the first image)."""
    resolution: str = "720p"
    seed: int | None = None
    generate_audio: bool | None = None
    watermark: bool | None = None
    camera_fixed: bool | None = None
    return_last_frame: bool = False
    service_tier: str | None = None
    callback_url: str | None = None
    label: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.prompt, str):
            raise InvalidArgumentError(f"prompt={self.prompt!r:.60}: pass the prompt as text.")
        refs: Any = self.references
        if isinstance(refs, str | Asset | Reference | os.PathLike):
            refs = (refs,)
        object.__setattr__(self, "references", tuple(as_reference(r) for r in refs))
        _check_settings(self)

    def options(self) -> dict[str, Any]:
        """Return every setting this request gives (``None`` left out), for the ledger and the checks."""
        skip = {"prompt", "references", "label"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip
                and getattr(self, f.name) is not None}  # fmt: skip

    def with_references(self, references: tuple[Reference, ...]) -> GenerationRequest:
        """Return this request over resolved references (kinds read, URIs set)."""
        return replace(self, references=references)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_settings(r: GenerationRequest) -> None:
    """Refuse a setting of the wrong type or outside what any Seedance 2.x model takes."""
    if not _whole(r.duration) or not (r.duration == SMART_DURATION or r.duration > 0):
        raise InvalidArgumentError(f"duration={r.duration!r}: pass whole seconds, or -1 to let the model choose.")
    if r.ratio not in RATIOS:
        raise InvalidArgumentError(f"ratio={r.ratio!r}: use one of {', '.join(RATIOS)}.")
    if not isinstance(r.resolution, str) or not r.resolution:
        raise InvalidArgumentError(f"resolution={r.resolution!r}: pass 480p, 720p, 1080p or 4k.")
    if r.seed is not None and (not _whole(r.seed) or not -1 <= r.seed <= 2_147_483_647):
        raise InvalidArgumentError(f"seed={r.seed!r}: pass a whole number from -1 to 2147483647.")
    for name in ("generate_audio", "watermark", "camera_fixed", "return_last_frame"):
        value = getattr(r, name)
        if value is not None and not isinstance(value, bool):
            raise InvalidArgumentError(f"{name}={value!r}: pass True or False.")
    if r.service_tier is not None and r.service_tier not in SERVICE_TIERS:
        raise InvalidArgumentError(f"service_tier={r.service_tier!r}: use one of {', '.join(SERVICE_TIERS)}.")
    if r.callback_url is not None and urlsplit(str(r.callback_url)).scheme not in ("http", "https"):
        raise InvalidArgumentError(f"callback_url={r.callback_url!r:.80}: pass an http(s) URL.")


def request_from(arguments: Mapping[str, Any]) -> GenerationRequest:
    """Return ``client.generate``'s arguments as a request; ``TypeError`` names any it does not take."""
    accepted = {f.name for f in fields(GenerationRequest)}
    unknown = sorted(set(arguments) - accepted)
    if unknown or not isinstance(arguments.get("prompt"), str):
        why = f"unknown argument(s) {', '.join(unknown)}" if unknown else "no prompt"
        raise TypeError(f"The request has {why}; client.generate takes {', '.join(sorted(accepted))}.")
    return GenerationRequest(**arguments)
