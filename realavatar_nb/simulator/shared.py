"""The process-wide emulator ``AsyncClient("sandbox")`` uses when it is given none.

Started on first use from the ``REALAVATAR_SANDBOX_*`` settings, then shared by every client in
the process (and restarted if it was closed); with ``REALAVATAR_SANDBOX_URL`` set, it is the
emulator already serving there instead (``realavatar-nb sandbox``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from .._config import Settings
from .server import RemoteSandbox, Sandbox

__all__ = ["shared_sandbox"]

_shared: Sandbox | None = None
_shared_lock = threading.Lock()


def shared_sandbox(
    environ: Mapping[str, str] | None = None, *, settings: Settings | None = None
) -> Sandbox | RemoteSandbox:
    """Return the process-wide emulator, started on first use with ``REALAVATAR_SANDBOX_*`` settings.

    The settings are ``settings`` when given, else read from ``environ`` (default ``os.environ``).
    """
    global _shared
    if settings is None:
        settings = Settings.from_env(environ, provider="sandbox")
    if settings.sandbox_url:
        return RemoteSandbox(settings.sandbox_url)
    with _shared_lock:
        if _shared is None or not _shared.running:
            _shared = Sandbox(
                autopilot=settings.sandbox_autopilot,
                processing_seconds=settings.sandbox_processing,
                job_seconds=settings.sandbox_job_seconds,
            ).start()
        return _shared
