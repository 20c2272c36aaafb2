"""Sans-IO adapters for the five providers and upstream itself; ``get(name)`` returns one's class."""

from __future__ import annotations

import importlib

from .._exceptions import ConfigurationError
from .._types import PROVIDERS
from .base import Adapter

__all__ = ["Adapter", "get"]

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
