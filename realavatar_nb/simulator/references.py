"""What a generation job reads: each reference resolved to a local file, and upstream's input checks on it.

An ``asset://`` reference must be an Active asset of the account (and, on Ark, of the key's
project), of the kind its item says. A plain http(s) URL (or, on Ark-native bodies, a base64
``data:`` image) is fetched with the emulator's downloader, and moderated as upstream moderates
plain inputs: a picture or clip of a real person is refused. The emulator's face identity is the
``person=<name>`` tag (``media.tags``): a tagged plain file shows a real person. Then the limits on
reference videos and audios (reference/upstream.md §4.5). Every refusal names ``content[N]``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from ..media.probe import MediaInfo, probe
from ..media.tags import read_tag
from .generation import GenerationRequest, Reference, invalid
from .judging import Fetch
from .records import Asset, SimError

__all__ = ["Inputs", "resolve"]

MB: Final = 1024 * 1024
VIDEO_BYTES: Final = 50 * MB  # reference videos, in total
AUDIO_BYTES: Final = 15 * MB  # each reference audio
PIXELS: Final = (409_600, 927_408)  # per reference video frame, for 480p/720p output
PIXELS_FULL_HD: Final = 2_073_600  # the upper bound for 1080p and up on the standard models
_PRIVACY: Final = {
    "image": "InputImageSensitiveContentDetected.PrivacyInformation",
    "video": "InputVideoSensitiveContentDetected.PrivacyInformation",
}
AssetOf = Callable[[str], Asset]  # asset id -> the account's asset; raises SimError when it is not


@dataclass
class Inputs:
    """The files a job is made from: pictures for the renderer, the first audio, and what is billed."""

    images: list[str] = field(default_factory=list)
    audio: str | None = None
    video_seconds: float = 0.0
    first_image: tuple[int, int] | None = None


@dataclass
class _Read:
    ref: Reference
    kind: str
    path: str
    info: MediaInfo


def resolve(request: GenerationRequest, asset_of: AssetOf, fetch: Fetch | None) -> Inputs:
    """Return the request's inputs as local files, or raise upstream's refusal naming ``content[N]``."""
    reads = [r for r in (_read(ref, request, asset_of, fetch) for ref in request.references) if r is not None]
    _check_videos(request, [r for r in reads if r.kind == "video"])
    _check_audios(request, [r for r in reads if r.kind == "audio"])
    inputs = Inputs()
    for r in reads:
        if r.kind == "image":
            inputs.images.append(r.path)
            if inputs.first_image is None and r.info.width and r.info.height:
                inputs.first_image = (r.info.width, r.info.height)
        elif r.kind == "audio" and inputs.audio is None:
            inputs.audio = r.path
        elif r.kind == "video":
            inputs.video_seconds += r.info.duration_s or 0.0
    return inputs


def _read(ref: Reference, request: GenerationRequest, asset_of: AssetOf, fetch: Fetch | None) -> _Read | None:
    if ref.url.startswith("asset://"):
        asset = _active_asset(ref, request, asset_of)
        kind = asset.asset_type.lower()
        path = asset.path if asset.path and os.path.exists(asset.path) else None
        if path is None and fetch is not None:  # a persisted asset from another workdir
            path = _fetched(ref, fetch, asset.url)
    else:
        if fetch is None:  # a state without a file host (unit tests) cannot read plain inputs
            return None
        kind = ref.kind or "image"
        path = _fetched(ref, fetch, ref.url)
        person = read_tag(path).get("person")
        if person and kind in _PRIVACY:
            # Upstream's moderation of plain inputs (reference/upstream.md §4.5; field-notes: ArcReel#2249).
            message = f"input {kind} '{ref.where}' may contain real person"
            raise SimError("invalid", message, field=ref.field, code=_PRIVACY[kind])
    if path is None:
        return None
    info = probe(path, hash=False)
    if info.kind in ("image", "video", "audio") and info.kind != kind:
        raise invalid(f"{ref.where} is a {info.kind} file, not a {kind}.", ref)
    return _Read(ref, kind, path, info)


def _active_asset(ref: Reference, request: GenerationRequest, asset_of: AssetOf) -> Asset:
    asset_id = ref.url.removeprefix("asset://")
    try:
        asset = asset_of(asset_id)
    except SimError:
        asset = None
    if asset is None or (request.project is not None and asset.project != request.project):
        message = f"{ref.where}: asset {asset_id} not found or not active (not accessible with this key)."
        raise invalid(message, ref)
    if asset.status != "Active":
        message = f"{ref.where}: asset {asset_id} not found or not active: it is {asset.status}, only Active assets " \
                  "can be used."  # fmt: skip
        raise invalid(message, ref)
    if ref.kind is not None and asset.asset_type.lower() != ref.kind:
        raise invalid(f"{ref.where}: {ref.url} is a {asset.asset_type} asset, not a {ref.kind}.", ref)
    return asset


def _fetched(ref: Reference, fetch: Fetch, url: str) -> str:
    try:
        return fetch(url)[0]
    except SimError as exc:
        raise invalid(f"{ref.where} could not be downloaded: {exc.message}", ref) from None


def _check_videos(request: GenerationRequest, videos: list[_Read]) -> None:
    if not videos:
        return
    fam = request.family
    full_hd = fam.name in ("2.0", "2.5") and request.resolution in ("1080p", "4k")
    low, high = PIXELS[0], PIXELS_FULL_HD if full_hd else PIXELS[1]
    seconds, size = 0.0, 0
    for v in videos:
        pixels = (v.info.width or 0) * (v.info.height or 0)
        if not low <= pixels <= high:
            raise invalid(f"{v.ref.where}: a reference video has {pixels} pixels per frame; allowed {low} to {high}.",
                          v.ref)  # fmt: skip
        seconds += v.info.duration_s or 0.0
        size += v.info.size_bytes or 0
        if seconds > fam.video_seconds:
            raise invalid(f"{v.ref.where}: reference videos last {seconds:.1f} s in total; allowed 2 to "
                          f"{fam.video_seconds} s.", v.ref)  # fmt: skip
        if size > VIDEO_BYTES:
            raise invalid(f"{v.ref.where}: reference videos hold {size} bytes in total; at most 50 MB.", v.ref)
    if seconds < 2:
        last = videos[-1].ref
        raise invalid(f"{last.where}: reference videos last {seconds:.1f} s in total; allowed 2 to "
                      f"{fam.video_seconds} s.", last)  # fmt: skip


def _check_audios(request: GenerationRequest, audios: list[_Read]) -> None:
    longest = 15 if request.family.name != "2.5" else request.family.video_seconds
    seconds = 0.0
    for a in audios:
        if (a.info.size_bytes or 0) > AUDIO_BYTES:
            raise invalid(f"{a.ref.where}: a reference audio holds {a.info.size_bytes} bytes; at most 15 MB.", a.ref)
        seconds += a.info.duration_s or 0.0
        if seconds > longest:
            raise invalid(f"{a.ref.where}: reference audios last {seconds:.1f} s in total; at most {longest} s.",
                          a.ref)  # fmt: skip
