"""The five providers' wire formats and upstream's own (BytePlus, Volcengine) over one state (moto's responses)."""

from __future__ import annotations

from .anyfast import Anyfast
from .apimart import Apimart
from .ark import BytePlus, Volcengine
from .base import Dialect
from .crun import Crun
from .easyrouter import EasyRouter
from .toapis import Toapis

__all__ = ["DIALECTS", "Dialect"]

DIALECTS: dict[str, type[Dialect]] = {
    "toapis": Toapis,
    "apimart": Apimart,
    "crun": Crun,
    "easyrouter": EasyRouter,
    "anyfast": Anyfast,
    # Upstream itself, also served at the app's root, where the official SDKs sign the path "/".
    "byteplus": BytePlus,
    "volcengine": Volcengine,
}
