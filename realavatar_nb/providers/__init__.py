"""Sans-IO adapters for the five providers; ``get(name)`` returns one's class."""

from __future__ import annotations

import importlib

from .._exceptions import ConfigurationError
from .._types import PROVIDERS
from .base import Adapter

__all__ = ["Adapter", "get"]

_CLASSES = {
    "toapis": "Toapis",
    "apimart": "Apimart",
    "crun": "Crun",
    "easyrouter": "EasyRouter",
    "anyfast": "Anyfast",
}


def get(name: str) -> type[Adapter]:
    """Return the adapter class for a provider name (one of the five)."""
    if name not in PROVIDERS:
        raise ConfigurationError(f"Unknown provider {name!r}. Choose one of: {', '.join(PROVIDERS)}.")
    module = importlib.import_module(f"{__name__}.{name}")
    adapter: type[Adapter] = getattr(module, _CLASSES[name])
    return adapter
