"""Sans-IO adapters for the five providers and upstream itself; ``get(name)`` returns one's class."""

from __future__ import annotations

import importlib

from .._exceptions import ConfigurationError
from .._types import PROVIDERS
from .base import Adapter

__all__ = ["Adapter", "generation_sellers", "generation_table", "get"]

_CLASSES = {  # name -> (module, class)
    "toapis": ("toapis", "Toapis"),
    "apimart": ("apimart", "Apimart"),
    "crun": ("crun", "Crun"),
    "easyrouter": ("easyrouter", "EasyRouter"),
    "anyfast": ("anyfast", "Anyfast"),
    "byteplus": ("ark", "BytePlus"),
    "volcengine": ("ark", "Volcengine"),
}


def get(name: str) -> type[Adapter]:
    """Return the adapter class for a provider name (one of the five, or upstream's two)."""
    if name not in PROVIDERS:
        raise ConfigurationError(f"Unknown provider {name!r}. Choose one of: {', '.join(PROVIDERS)}.")
    module_name, class_name = _CLASSES[name]
    adapter: type[Adapter] = getattr(importlib.import_module(f"{__name__}.{module_name}"), class_name)
    return adapter


def generation_sellers() -> dict[str, frozenset[str]]:
    """Return each provider's generation features and operations (``cancel``, ``list``), for refusals and the guide."""
    out = {}
    for name in PROVIDERS:
        adapter = get(name)
        ops = {op for op, can in (("cancel", adapter.can_cancel_job), ("list", adapter.can_list_jobs)) if can}
        out[name] = adapter.generation_features | ops
    return out


FEATURE_ROWS = (
    ("first_frame", "first frame (image)"), ("last_frame", "last frame (image)"),
    ("reference_image", "reference images"), ("reference_video", "reference videos"),
    ("reference_audio", "reference audio"), ("plain_url", "plain inputs (URL or staged file)"),
    ("base64", "local pictures inline (base64)"), ("generate_audio", "generate_audio"), ("watermark", "watermark"),
    ("camera_fixed", "camera_fixed"), ("return_last_frame", "return_last_frame"), ("seed", "seed"),
    ("smart_duration", "duration=-1 (model chooses)"), ("service_tier", "service_tier"),
    ("callback_url", "callback_url"), ("cancel", "cancel_job"), ("list", "list_jobs"),
)  # fmt: skip


def generation_table() -> str:
    """Return the guide's two tables, from the data the code uses: features × provider, then each model's limits."""
    from ..generation.catalog import model_names, model_spec

    sellers = generation_sellers()
    lines = ["| feature | " + " | ".join(sellers) + " |", "|---|" + "---|" * len(sellers)]
    lines += [f"| {title} | " + " | ".join("✓" if key in has else "—" for has in sellers.values()) + " |"
              for key, title in FEATURE_ROWS]  # fmt: skip
    lines += ["", "| provider | model | family | resolutions | seconds | images / videos / audios (total) | "
              "real-person assets | audio alone |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for provider in sellers:
        for name in model_names(provider):
            s = model_spec(provider, name)
            assert s is not None
            mode = f" ({s.mode} only)" if s.mode else ""
            lines.append(
                f"| {provider} | `{name}`{mode} | {s.family} | {', '.join(s.resolutions)} | {s.min_duration}-"
                f"{s.max_duration}{', -1' if s.smart_duration else ''} | {s.max_images} / {s.max_videos} / "
                f"{s.max_audios} ({s.max_references}) | {'yes' if s.real_person_assets else 'no'} | "
                f"{'yes' if s.audio_only else 'no'} |"
            )
    return "\n".join(lines)
