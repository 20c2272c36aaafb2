"""Where a client talks to: the emulator (shared or given) in one provider's dialect, or a real provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._config import Secret, Settings
from ._staging import NoStager, SandboxStager, Stager

if TYPE_CHECKING:
    from .simulator import RemoteSandbox, Sandbox

__all__ = ["Endpoint", "resolve_endpoint"]


@dataclass(frozen=True)
class Endpoint:
    """A provider's dialect, root URL and key, how local files reach it, and the ledger's name for it."""

    dialect: str
    base_url: str | None
    key: Secret | None
    stager: Stager
    ledger_name: str
    sandbox: Sandbox | RemoteSandbox | None = None


def resolve_endpoint(
    settings: Settings,
    *,
    api_key: str | Secret | None,
    base_url: str | None,
    sandbox: Sandbox | RemoteSandbox | None,
    dialect: str | None,
    stager: Stager | None,
    stage: str | None,
    stage_options: dict[str, Any] | None,
) -> Endpoint:
    """Return the endpoint the client's arguments and settings name (the shared emulator for ``"sandbox"``)."""
    if settings.provider == "sandbox":
        if sandbox is None:
            from .simulator.shared import shared_sandbox

            sandbox = shared_sandbox(settings=settings)
        chosen = dialect or settings.sandbox_dialect or "toapis"
        key = Secret(str(api_key or "sandbox-key"))
        return Endpoint(
            dialect=chosen,
            base_url=base_url or sandbox.base_url(chosen),
            key=key,
            stager=stager or SandboxStager(sandbox.url, key),
            # A fresh emulator knows nothing of an old one's groups: keep their ledger rows apart.
            ledger_name=f"sandbox:{chosen}:{sandbox.url}",
            sandbox=sandbox,
        )
    if stager is None and stage is not None:
        from ._staging_fsspec import FsspecStager

        # stage_options: public_base_url=, presign_seconds=, storage_options=
        stager = FsspecStager(stage, **(stage_options or {}))
    return Endpoint(
        dialect=settings.provider,
        base_url=base_url or settings.base_url,
        key=Secret(str(api_key)) if api_key else settings.api_key,
        stager=stager or NoStager(settings.provider),
        ledger_name=settings.provider,
    )
