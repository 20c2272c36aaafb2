"""The four notebook widgets: verify a person, validate their media, watch statuses, preview videos.

Each is an ipywidgets container whose state lives in traitlets, whose background work runs as
asyncio tasks on the kernel's own loop, and whose saved output keeps a readable text/HTML
fallback. Also importable from the top level: ``ra.VerificationLauncher`` and so on.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .preview import Gallery, GenerationPreviewer
    from .status import StatusTable
    from .validator import AssetValidator
    from .verification import VerificationLauncher

# Each widget loads its own module on first use: the launcher needs no pandas, the table no QR code.
_LAZY: dict[str, str] = {
    "AssetValidator": "validator",
    "Gallery": "preview",
    "GenerationPreviewer": "preview",
    "StatusTable": "status",
    "VerificationLauncher": "verification",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'realavatar_nb.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["AssetValidator", "Gallery", "GenerationPreviewer", "StatusTable", "VerificationLauncher"]
