"""Where a client talks to: the emulator (shared or given) in one provider's dialect, or a real provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._config import Secret, Settings
from ._staging import NoStager, SandboxStager, Stager
from ._types import UPSTREAM

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
    settings: dict[str, Any] | None = None  # what the emulator handed out for upstream's dialects (keys, roots)


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
        if chosen in UPSTREAM:
            return _upstream_sandbox(sandbox, chosen, stager, account_key=str(api_key or "sandbox-key"))
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


def _upstream_sandbox(
    sandbox: Sandbox | RemoteSandbox, cloud: str, stager: Stager | None, *, account_key: str
) -> Endpoint:
    """Return the emulator speaking upstream itself: at its root, with a key pair and an Ark key it mints.

    As with the other dialects, the same ``api_key`` is the same account (two clients share a group).
    """
    minted = sandbox.access_key(cloud, account_key=account_key)
    key = Secret(minted.api_key)
    return Endpoint(
        dialect=cloud,
        base_url=sandbox.url,
        key=key,
        stager=stager or SandboxStager(sandbox.url, key),
        ledger_name=f"sandbox:{cloud}:{sandbox.url}",
        sandbox=sandbox,
        settings={
            "access_key_id": minted.access_key_id,
            "secret_key": minted.secret_access_key,
            "project": minted.project,
            "data_url": f"{sandbox.url}/api/v3",
        },
    )
