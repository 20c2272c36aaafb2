"""The five providers' wire formats over one state machine (moto's ``responses.py``)."""

from __future__ import annotations

from .anyfast import Anyfast
from .apimart import Apimart
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
}
