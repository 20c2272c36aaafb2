"""realavatar_nb: the Seedance 2.0 real-person asset flow, Jupyter first.

``import realavatar_nb as ra`` is light: pandas, PyAV, Pillow and ipywidgets load only when a
name that needs them (``ra.validate_folder``, ``ra.fix`` …) is first used.

Layering: the client (``AsyncClient`` and the modules it fronts) learns what it needs of a local
file through one module, ``_media_facts`` (``file_facts`` before an upload, ``input_facts`` before
a generation), its only door into ``media/``; ``media/`` imports nothing of the client.
``tests/test_layers.py`` holds these rules and the rest of DESIGN.md's layers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._config import Secret, Settings
from ._exceptions import (
    AssetFailedError,
    AuthenticationError,
    BudgetExceededError,
    CallbackParseError,
    ConfigurationError,
    ConsentRequiredError,
    FixError,
    GenerationRefusedError,
    InsufficientBalanceError,
    InvalidArgumentError,
    InvalidRequestError,
    JobFailedError,
    LedgerError,
    MalformedResponseError,
    MediaError,
    MediaToolMissingError,
    MissingAPIKeyError,
    NotFoundError,
    OutcomeUnknownError,
    PersonMismatchError,
    PollTimeoutError,
    ProfileError,
    ProviderError,
    RateLimitError,
    RealAvatarError,
    ResponseLimitError,
    ServerError,
    TransportError,
    UnknownStatusError,
    UnsupportedOperationError,
    VerificationError,
    VerificationExpiredError,
    VerificationRejectedError,
)
from ._models import (
    Asset,
    CallbackResult,
    Consent,
    GenerationJob,
    Verification,
    VerificationSession,
    parse_callback,
)
from .generation import GenerationRequest, Reference

if TYPE_CHECKING:
    from ._client import AsyncClient
    from ._ledger import Ledger
    from ._sync import run
    from .media.fix import fix
    from .media.probe import MediaInfo, probe
    from .media.report import write_report
    from .media.rules import Profile, get_profile
    from .media.validate import REPORT_COLUMNS, Validation, checks_frame, validate, validate_folder
    from .widgets.preview import GenerationPreviewer
    from .widgets.status import StatusTable
    from .widgets.validator import AssetValidator
    from .widgets.verification import VerificationLauncher

__version__ = "0.1.0"

# Names that live in heavy modules, resolved on first use (PEP 562).
_LAZY: dict[str, str] = {
    "MediaInfo": "realavatar_nb.media.probe",
    "probe": "realavatar_nb.media.probe",
    "Profile": "realavatar_nb.media.rules",
    "get_profile": "realavatar_nb.media.rules",
    "REPORT_COLUMNS": "realavatar_nb.media.validate",
    "Validation": "realavatar_nb.media.validate",
    "checks_frame": "realavatar_nb.media.validate",
    "validate": "realavatar_nb.media.validate",
    "validate_folder": "realavatar_nb.media.validate",
    "write_report": "realavatar_nb.media.report",
    "fix": "realavatar_nb.media.fix",
    "AsyncClient": "realavatar_nb._client",
    "Ledger": "realavatar_nb._ledger",
    "run": "realavatar_nb._sync",
    "VerificationLauncher": "realavatar_nb.widgets.verification",
    "AssetValidator": "realavatar_nb.widgets.validator",
    "StatusTable": "realavatar_nb.widgets.status",
    "GenerationPreviewer": "realavatar_nb.widgets.preview",
}
_SUBMODULES = ("widgets", "media", "providers", "simulator", "samples")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:  # ra.widgets.Gallery(...) without importing realavatar_nb.widgets first
        return importlib.import_module(f"{__name__}.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'realavatar_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "REPORT_COLUMNS",
    "Asset",
    "AssetFailedError",
    "AssetValidator",
    "AsyncClient",
    "AuthenticationError",
    "BudgetExceededError",
    "CallbackParseError",
    "CallbackResult",
    "ConfigurationError",
    "Consent",
    "ConsentRequiredError",
    "FixError",
    "GenerationJob",
    "GenerationPreviewer",
    "GenerationRefusedError",
    "GenerationRequest",
    "InsufficientBalanceError",
    "InvalidArgumentError",
    "InvalidRequestError",
    "JobFailedError",
    "Ledger",
    "LedgerError",
    "MalformedResponseError",
    "MediaError",
    "MediaInfo",
    "MediaToolMissingError",
    "MissingAPIKeyError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PersonMismatchError",
    "PollTimeoutError",
    "Profile",
    "ProfileError",
    "ProviderError",
    "RateLimitError",
    "RealAvatarError",
    "Reference",
    "ResponseLimitError",
    "Secret",
    "ServerError",
    "Settings",
    "StatusTable",
    "TransportError",
    "UnknownStatusError",
    "UnsupportedOperationError",
    "Validation",
    "Verification",
    "VerificationError",
    "VerificationExpiredError",
    "VerificationLauncher",
    "VerificationRejectedError",
    "VerificationSession",
    "checks_frame",
    "fix",
    "get_profile",
    "parse_callback",
    "probe",
    "run",
    "validate",
    "validate_folder",
    "write_report",
]
