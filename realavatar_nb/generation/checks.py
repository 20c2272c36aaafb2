"""Refuse, before anything is sent or paid for, a generation request upstream or the seller would refuse.

Each rule names its ``reason`` (the ``GenerationRefusedError.reason``) and, where one input is at
fault, which: its position in ``references`` and its label. The rules are upstream's
(reference/upstream.md §4.4-4.5) read from the model table (``catalog``), plus what the seller's
adapter maps (``features``): a setting the seller has no field for is refused, never dropped.

``facts`` are what the client could measure of each input (a local file's or an asset's source
file's seconds, bytes, pixels and faces); an input without facts (a remote URL) is left to upstream.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from .._exceptions import GenerationRefusedError
from .catalog import ModelSpec, asset_models
from .request import FRAME_ROLES, SMART_DURATION, GenerationRequest, Reference

__all__ = ["InputFacts", "check_request", "features_of"]


@dataclass(frozen=True)
class InputFacts:
    """What was measured of one input; ``None`` where it could not be."""

    seconds: float | None = None
    bytes: int | None = None
    size: tuple[int, int] | None = None
    """Width and height in pixels (a video's frame)."""
    faces: int | None = None

    @property
    def pixels(self) -> int | None:
        return self.size[0] * self.size[1] if self.size else None


def features_of(request: GenerationRequest) -> list[str]:
    """Return the features a request uses, by the names adapters declare in ``generation_features``."""
    used: list[str] = [r.effective_role or "" for r in request.references]
    used += ["plain_url" for r in request.references if not r.is_asset]
    used += [name for name in ("generate_audio", "watermark", "camera_fixed", "seed", "service_tier",
                               "callback_url") if getattr(request, name) is not None]  # fmt: skip
    if request.return_last_frame:
        used.append("return_last_frame")
    if request.duration == SMART_DURATION:
        used.append("smart_duration")
    return list(dict.fromkeys(u for u in used if u))


def _refuse(reason: str, message: str, ref: tuple[int, Reference] | None = None) -> GenerationRefusedError:
    if ref is None:
        return GenerationRefusedError(message, reason=reason)
    i, r = ref
    return GenerationRefusedError(f"Reference {i + 1} ({r.label}): {message}", reason=reason, index=i, label=r.label)


def check_request(
    request: GenerationRequest,
    *,
    provider: str,
    spec: ModelSpec | None,
    features: Collection[str],
    sellers: Mapping[str, Collection[str]] | None = None,
    facts: Mapping[int, InputFacts] | None = None,
) -> None:
    """Raise ``GenerationRefusedError`` for the first rule ``request`` breaks at ``provider``'s model ``spec``.

    ``features`` are what the provider's adapter maps; ``sellers`` (provider → features) lets a
    refusal name the providers that do take a feature.
    """
    _check_kinds(request)
    _check_features(request, provider, features, sellers or {})
    _check_modes(request)
    if spec is not None:
        _check_model(request, spec)
        _check_counts(request, spec)
        _check_totals(request, spec, facts or {})
    _check_plain_faces(request, facts or {})


def _check_kinds(request: GenerationRequest) -> None:
    for i, r in enumerate(request.references):
        if r.kind is None:
            raise _refuse("UnknownKind", "cannot tell whether it is an image, a video or audio; "
                          "pass Reference(source, kind='Image'|'Video'|'Audio').", (i, r))  # fmt: skip


def _check_features(request: GenerationRequest, provider: str, features: Collection[str],
                    sellers: Mapping[str, Collection[str]]) -> None:  # fmt: skip
    for feature in features_of(request):
        if feature not in features:
            others = [p for p, has in sellers.items() if feature in has and p != provider]
            where = f"; {', '.join(others)} {'does' if len(others) == 1 else 'do'}" if others else ""
            raise _refuse("FeatureUnsupported", f"{provider} has no field for {feature}{where}. "
                          f"Leave it out or use another provider.")  # fmt: skip


def _check_modes(request: GenerationRequest) -> None:
    roles: list[str | None] = [r.effective_role for r in request.references]
    frames = [i for i, role in enumerate(roles) if role in FRAME_ROLES]
    if frames and len(frames) != len(roles):
        other = next(i for i, role in enumerate(roles) if role not in FRAME_ROLES)
        raise _refuse("ModesMixed", f"{roles[other]} cannot be mixed with first/last frames: upstream takes either "
                      f"frames or references in one job.", (other, request.references[other]))  # fmt: skip
    for role in FRAME_ROLES:
        if roles.count(role) > 1:
            i = len(roles) - 1 - roles[::-1].index(role)
            raise _refuse("ModesMixed", f"a job has one {role}.", (i, request.references[i]))
    if "last_frame" in roles and "first_frame" not in roles:
        i = roles.index("last_frame")
        raise _refuse("LastFrameWithoutFirst", "a last_frame needs a first_frame beside it.",
                      (i, request.references[i]))  # fmt: skip


def _check_model(request: GenerationRequest, spec: ModelSpec) -> None:
    name = f"{spec.provider}'s {spec.name} ({spec.title})"
    if request.resolution not in spec.resolutions:
        raise _refuse("ResolutionUnsupported", f"{name} renders {', '.join(spec.resolutions)}, "
                      f"not {request.resolution}.")  # fmt: skip
    if request.duration == SMART_DURATION:
        if not spec.smart_duration:
            raise _refuse("DurationUnsupported", f"{name} does not choose its own duration; pass seconds.")
    elif not spec.min_duration <= request.duration <= spec.max_duration:
        raise _refuse("DurationUnsupported", f"{name} makes {spec.min_duration}-{spec.max_duration} s, "
                      f"not {request.duration} s (or -1 to let it choose).")  # fmt: skip
    if request.service_tier is not None and request.service_tier not in spec.service_tiers:
        raise _refuse("ServiceTierUnsupported", f"{name} takes service_tier {', '.join(spec.service_tiers)}.")
    assets = [(i, r) for i, r in enumerate(request.references) if r.is_asset]
    if assets and not spec.real_person_assets:
        takers = ", ".join(asset_models(spec.provider)) or "none of this provider's models"
        raise _refuse("ModelCannotReadAssets", f"{name} cannot read real-person asset:// references; "
                      f"use {takers}.", assets[0])  # fmt: skip
    frames = any(r.effective_role in FRAME_ROLES for r in request.references)
    # A frames-only model reads pictures given no role as its frames, in order.
    unframed = [(i, r) for i, r in enumerate(request.references)
                if r.kind != "Image" or (r.role is not None and r.role not in FRAME_ROLES)]  # fmt: skip
    if spec.mode == "frames" and unframed:
        raise _refuse("ModeUnsupported", f"{name} takes only pictures as first/last frames; leave model=None "
                      f"or name the references model.", unframed[0])  # fmt: skip
    if spec.mode == "references" and frames:
        raise _refuse("ModeUnsupported", f"{name} takes only references; leave model=None or name the "
                      f"first/last-frame model.")  # fmt: skip


def _check_counts(request: GenerationRequest, spec: ModelSpec) -> None:
    refs = list(enumerate(request.references))
    for kind in ("Image", "Video", "Audio"):
        of_kind = [(i, r) for i, r in refs if r.kind == kind]
        if len(of_kind) > spec.max_count(kind):
            raise _refuse(f"TooMany{kind}s", f"{spec.name} takes at most {spec.max_count(kind)} "
                          f"{kind.lower()} references; this is number {spec.max_count(kind) + 1}.",
                          of_kind[spec.max_count(kind)])  # fmt: skip
    if len(refs) > spec.max_references:
        raise _refuse("TooManyReferences", f"{spec.name} takes at most {spec.max_references} references in all.",
                      refs[spec.max_references])  # fmt: skip
    if refs and all(r.kind == "Audio" for _, r in refs) and not spec.audio_only:
        raise _refuse("AudioOnly", f"{spec.name} needs an image or a video beside audio references.", refs[0])


def _check_totals(request: GenerationRequest, spec: ModelSpec, facts: Mapping[int, InputFacts]) -> None:
    videos = [(i, r, facts[i]) for i, r in enumerate(request.references) if r.kind == "Video" and i in facts]
    seconds = bytes_ = 0.0
    for i, r, f in videos:
        seconds += f.seconds or 0.0
        bytes_ += f.bytes or 0
        most = spec.max_video_pixels(request.resolution)
        if f.size is not None and not spec.video_pixels[0] <= f.size[0] * f.size[1] <= most:
            (w, h), pixels = f.size, f.size[0] * f.size[1]
            raise _refuse("ReferenceVideoPixels", f"{w}x{h} is {pixels:,} pixels a frame; reference "
                          f"videos take {spec.video_pixels[0]:,}-{most:,} for a {request.resolution} output. "
                          f"Scale it (ra.fix) or choose another resolution.", (i, r))  # fmt: skip
        if seconds > spec.video_seconds[1]:
            raise _refuse("ReferenceVideosTooLong", f"reference videos total {seconds:.1f} s by here; "
                          f"{spec.name} takes {spec.video_seconds[1]:g} s at most.", (i, r))  # fmt: skip
        if bytes_ > spec.video_bytes:
            raise _refuse("ReferenceVideosTooLarge", f"reference videos total {bytes_ / 2**20:.1f} MB by here; "
                          f"{spec.video_bytes / 2**20:g} MB at most.", (i, r))  # fmt: skip
    if videos and all(f.seconds is not None for *_, f in videos) and seconds < spec.video_seconds[0]:
        i, r, _ = videos[-1]
        raise _refuse("ReferenceVideosTooShort", f"reference videos total {seconds:.1f} s; "
                      f"at least {spec.video_seconds[0]:g} s.", (i, r))  # fmt: skip
    audio_seconds = 0.0
    for i, r in enumerate(request.references):
        heard = facts.get(i)
        if r.kind != "Audio" or heard is None:
            continue
        audio_seconds += heard.seconds or 0.0
        if heard.bytes is not None and heard.bytes > spec.audio_bytes:
            raise _refuse("ReferenceAudioTooLarge", f"{heard.bytes / 2**20:.1f} MB; each reference audio takes "
                          f"{spec.audio_bytes / 2**20:g} MB at most.", (i, r))  # fmt: skip
        if audio_seconds > spec.audio_seconds:
            raise _refuse("ReferenceAudiosTooLong", f"reference audio totals {audio_seconds:.1f} s by here; "
                          f"{spec.audio_seconds:g} s at most.", (i, r))  # fmt: skip


def _check_plain_faces(request: GenerationRequest, facts: Mapping[int, InputFacts]) -> None:
    for i, r in enumerate(request.references):
        f = facts.get(i)
        if not r.is_asset and f is not None and f.faces:
            raise _refuse("RealFaceInPlainInput", "shows a real face; upstream refuses that in a plain input "
                          "(PrivacyInformation). Upload it into the person's group instead and pass the asset.",
                          (i, r))  # fmt: skip
