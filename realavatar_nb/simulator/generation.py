"""What a generation job asks for: the neutral request every dialect builds, and the rules it must meet.

Each dialect reads its provider's body into a ``GenerationRequest`` (the prompt, each ``Reference``
with its place in upstream's ``content[]``, the options) and the state checks it here, once, whatever
dialect sent it (``check_request``: no I/O); ``references.resolve`` then reads the inputs themselves.
The rules are upstream's per model family (reference/upstream.md §4.3-4.5); the renderer draws frames
of the sizes here, and usage is counted from them (§4.6).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from .records import SimError

__all__ = [
    "ANY_MODEL",
    "DEFAULT_EXPIRY",
    "FAMILIES",
    "FPS",
    "MAX_DURATION",
    "RATIOS",
    "RESOLUTIONS",
    "ROLES",
    "SMART_DURATION",
    "Family",
    "GenerationRequest",
    "Reference",
    "check_request",
    "family_of",
    "invalid",
    "numbered",
    "output_size",
    "usage_tokens",
]

RESOLUTIONS: Final[dict[str, int]] = {"480p": 480, "720p": 720, "1080p": 1080, "4k": 2160}
"""The short side in pixels for each ``resolution``."""
RATIOS: Final[dict[str, tuple[int, int]]] = {
    "16:9": (16, 9),
    "9:16": (9, 16),
    "1:1": (1, 1),
    "4:3": (4, 3),
    "3:4": (3, 4),
    "21:9": (21, 9),
}
"""Width:height for each fixed ``ratio``; ``"adaptive"`` follows the first image."""
MAX_DURATION: Final = 30
SMART_DURATION: Final = 5  # upstream's -1, "smart duration": the model chooses; this one chooses 5 s
DEFAULT_EXPIRY: Final = 172_800  # execution_expires_after's default, in seconds (the resellers' too)
FPS: Final = 24  # upstream's output frame rate
ROLES: Final[dict[str, tuple[str, ...]]] = {
    "image": ("first_frame", "last_frame", "reference_image"),
    "video": ("reference_video",),
    "audio": ("reference_audio",),
}
_FRAMES: Final = ("first_frame", "last_frame")


@dataclass(frozen=True)
class Family:
    """What one Seedance model family makes and reads."""

    name: str
    resolutions: tuple[str, ...]
    longest: int  # seconds of output
    limits: dict[str, int]  # reference count per kind, and "total"
    audio_only: bool  # may the references be audio alone
    reads_assets: bool  # can it read asset:// (real-person) references
    video_seconds: int  # reference videos' total seconds at most


_LIMITS_20: Final = {"image": 9, "video": 3, "audio": 3, "total": 12}
# ComfyUI's SEEDANCE2_REFERENCE_LIMITS for 2.5; no total beyond the three is known.
_LIMITS_25: Final = {"image": 30, "video": 10, "audio": 10, "total": 50}
FAMILIES: Final[dict[str, Family]] = {
    "2.0": Family("2.0", ("480p", "720p", "1080p", "4k"), 15, _LIMITS_20, False, True, 15),
    "2.0-fast": Family("2.0-fast", ("480p", "720p"), 15, _LIMITS_20, False, True, 15),
    "2.0-mini": Family("2.0-mini", ("480p", "720p"), 15, _LIMITS_20, False, True, 15),
    "2.5": Family("2.5", ("480p", "720p", "1080p"), 30, _LIMITS_25, True, False, 30),
}
# A job created on the state directly, no provider naming a model: the emulator's own widest rules.
ANY_MODEL: Final = Family("any", ("480p", "720p", "1080p"), MAX_DURATION, _LIMITS_20, True, True, 30)


def family_of(model: str) -> Family:
    """Return the family of a provider's model name (``dreamina-seedance-2-5-260628`` is 2.5)."""
    name = model.lower()
    if "2-5" in name or "2.5" in name:
        return FAMILIES["2.5"]
    if "fast" in name:
        return FAMILIES["2.0-fast"]
    if "mini" in name:
        return FAMILIES["2.0-mini"]
    return FAMILIES["2.0"]


@dataclass(frozen=True)
class Reference:
    """One input: its URL, kind and role, its index in upstream's ``content[]``, and the wire field it came in."""

    url: str
    kind: str | None  # image | video | audio; None: whatever the asset is (the state's own jobs)
    role: object = None
    index: int = 0
    field: str = "content"

    @property
    def where(self) -> str:
        return f"content[{self.index}]"


@dataclass
class GenerationRequest:
    """A generation as every provider asks upstream for it; ``wire`` names the provider's fields in refusals."""

    model: str
    prompt: str
    references: tuple[Reference, ...] = ()
    family: Family = ANY_MODEL
    duration: int = 5
    ratio: str = "16:9"
    resolution: str = "720p"
    seed: int | None = None
    generate_audio: bool = True
    watermark: bool = False
    camera_fixed: bool = False
    return_last_frame: bool = False
    service_tier: str = "default"
    callback_url: str | None = None
    execution_expires_after: int = DEFAULT_EXPIRY
    shortest: int = 4  # inferred: toapis, APIMart and Crun also take 1-3 s here, so tests render quickly
    data_urls: bool = False  # base64 data: image URLs (Ark-native bodies only)
    project: str | None = None  # Ark: an asset must be in the API key's project
    wire: dict[str, str] = field(default_factory=dict)

    def name(self, neutral: str) -> str:
        return self.wire.get(neutral, neutral)


def numbered(prompt: str, *groups: Iterable[tuple[str, str, object, str]]) -> tuple[Reference, ...]:
    """Number references as a reseller builds upstream's content: the text first, then each group in order.

    Each group holds ``(url, kind, role, wire field)``; pass images, then videos, then audios.
    """
    # inferred: the resellers' own content order is not documented (spec: text, images, videos, audios).
    index = 1 if prompt else 0
    refs = []
    for group in groups:
        for url, kind, role, wire in group:
            refs.append(Reference(url, kind, role, index, wire))
            index += 1
    return tuple(refs)


def invalid(message: str, ref: Reference | None = None, field: str = "content") -> SimError:
    """Return upstream's InvalidParameter refusal, in the wire field of ``ref`` when there is one."""
    return SimError("invalid", message, field=ref.field if ref else field, code="InvalidParameter")


def check_request(request: GenerationRequest) -> None:
    """Refuse a request upstream would refuse before reading its inputs; resolve ``duration=-1``."""
    _check_options(request)
    _check_references(request)


def _check_options(r: GenerationRequest) -> None:
    fam = r.family
    if r.duration == -1:
        r.duration = SMART_DURATION
    d = r.duration
    if isinstance(d, bool) or not isinstance(d, int) or not r.shortest <= d <= fam.longest:
        name = r.name("duration")
        raise SimError("invalid", f"{name} must be between {r.shortest} and {fam.longest} seconds.", field=name)
    if r.resolution not in fam.resolutions:
        name, allowed = r.name("resolution"), ", ".join(fam.resolutions)
        raise SimError("invalid", f"{name} must be one of {allowed} for {r.model}.", field=name)
    if r.ratio not in RATIOS and r.ratio != "adaptive":
        name = r.name("ratio")
        raise SimError("invalid", f"{name} must be one of {', '.join([*RATIOS, 'adaptive'])}.", field=name)
    if r.seed is not None and not -1 <= r.seed <= 2_147_483_647:
        raise SimError("invalid", f"{r.name('seed')} must be from -1 to 2147483647.", field=r.name("seed"))
    if r.service_tier not in ("default", "flex"):
        raise SimError("invalid", "service_tier must be one of default, flex.", field=r.name("service_tier"))
    if not 3600 <= r.execution_expires_after <= 259_200:
        name = r.name("execution_expires_after")
        raise SimError("invalid", f"{name} must be from 3600 to 259200.", field=name)
    if r.callback_url is not None and not r.callback_url.startswith(("http://", "https://")):
        name = r.name("callback_url")
        raise SimError("invalid", f"{name} must be a public http(s) URL.", field=name)


def _check_references(r: GenerationRequest) -> None:
    fam, counts = r.family, {"image": 0, "video": 0, "audio": 0, "total": 0}
    for ref in r.references:
        roles = ROLES.get(ref.kind or "image", ())
        if ref.kind is not None and ref.role is not None and ref.role not in roles:
            raise invalid(f"{ref.where}.role must be one of {', '.join(roles)} for a {ref.kind}.", ref)
        if ref.url.startswith("data:") and not (r.data_urls and ref.kind == "image"):
            raise invalid(f"{ref.where} must be an asset:// or http(s) URL.", ref)
        if not ref.url.startswith(("asset://", "http://", "https://", "data:")):
            raise invalid(f"{ref.where} must be an asset:// or http(s) URL.", ref)
        if ref.url.startswith("asset://") and not fam.reads_assets:
            raise invalid(f"{ref.where}: {r.model} cannot read asset:// references (real-person assets); "
                          "use a Seedance 2.0 model.", ref)  # fmt: skip
        for key in (ref.kind, "total"):
            if key is None:
                continue
            counts[key] += 1
            if counts[key] > fam.limits[key]:
                what = "references" if key == "total" else f"{key} references"
                raise invalid(f"{ref.where} is one too many: content takes at most {fam.limits[key]} {what} "
                              f"for {r.model}.", ref)  # fmt: skip
    framed = [ref for ref in r.references if ref.role in _FRAMES]
    other = [ref for ref in r.references if isinstance(ref.role, str) and ref.role.startswith("reference_")]
    if framed and other:
        ref = max(framed[0], other[0], key=lambda x: x.index)
        raise invalid(f"{ref.where}: First/last-frame images cannot be mixed with reference_* content.", ref)
    audios = [ref for ref in r.references if ref.kind == "audio"]
    if audios and len(audios) == len(r.references) and not fam.audio_only:
        raise invalid("content needs an image or a video beside audio references.", audios[0])


def output_size(ratio: str, resolution: str, first_image: tuple[int, int] | None = None) -> tuple[int, int]:
    """Return (width, height) of the output frames, both even, the short side the resolution's."""
    short = RESOLUTIONS.get(resolution)
    if short is None:
        raise ValueError(f"resolution must be one of {sorted(RESOLUTIONS)}, got {resolution!r}")
    if ratio == "adaptive":
        aspect = first_image[0] / first_image[1] if first_image else 16 / 9
        aspect = min(max(aspect, 9 / 16), 16 / 9)
    elif ratio in RATIOS:
        w, h = RATIOS[ratio]
        aspect = w / h
    else:
        raise ValueError(f"ratio must be one of {[*RATIOS, 'adaptive']}, got {ratio!r}")

    def even(x: float) -> int:
        return max(2, int(x / 2 + 0.5) * 2)  # half up: 405 px is 406, not 404

    # "480p" names the short side, as Seedance sizes its output: 9:16 at 480p is 480×854.
    return (even(short * aspect), short) if aspect >= 1 else (short, even(short / aspect))


def usage_tokens(output_seconds: float, input_video_seconds: float, size: tuple[int, int]) -> int:
    """Return upstream's billed tokens: (input video s + output s) × W × H × 24 / 1024, rounded down."""
    return int((input_video_seconds + output_seconds) * size[0] * size[1] * FPS // 1024)
