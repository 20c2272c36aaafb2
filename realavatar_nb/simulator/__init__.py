"""The embedded emulator of the five providers and of upstream itself: ``Sandbox`` runs it, ``create_app`` builds it.

It imports the package's types, errors, ``_config.fingerprint`` (accounts are keyed by it)
and ``media/`` (so a file is judged alike here and locally), never the client or the adapters: it
stays an independent stand-in for the real services.
"""

from __future__ import annotations

from .app import create_app
from .faults import Faults
from .server import RemoteSandbox, Sandbox
from .shared import shared_sandbox
from .state import SimConfig, SimError, State
from .upstream_keys import UpstreamKey

__all__ = [
    "Faults",
    "RemoteSandbox",
    "Sandbox",
    "SimConfig",
    "SimError",
    "State",
    "UpstreamKey",
    "create_app",
    "shared_sandbox",
]
