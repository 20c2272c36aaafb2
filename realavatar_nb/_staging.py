"""Local file → URL: upload-by-URL APIs need a URL, and a notebook has paths.

A stager turns a path into a URL the provider can download: the emulator's file host for
``"sandbox"``; for real providers, an object store the user names (a later change adds fsspec
targets such as ``s3://bucket/prefix``). Anyfast needs none: the client uses its own multipart
upload. Without a way to stage, ``stage`` raises an error that says what to configure.
"""

from __future__ import annotations

import os
from typing import Protocol

import httpx

from ._config import Secret
from ._exceptions import ConfigurationError, TransportError

__all__ = ["NoStager", "SandboxStager", "Stager"]


class Stager(Protocol):
    async def stage(self, path: str, http: httpx.AsyncClient) -> str:
        """Return a URL from which the provider can download the file at ``path``."""
        ...


class SandboxStager:
    """Puts files on the emulator's file host (``POST <root>/files``), which takes an account's API key."""

    def __init__(self, root: str, api_key: str | Secret | None = None) -> None:
        self.root = root.rstrip("/")
        self._key = Secret(api_key.reveal() if isinstance(api_key, Secret) else api_key) if api_key else None

    def __repr__(self) -> str:
        return f"SandboxStager({self.root!r})"

    async def stage(self, path: str, http: httpx.AsyncClient) -> str:
        name = os.path.basename(path)
        headers = {"Authorization": f"Bearer {self._key.reveal()}"} if self._key else {}
        try:
            with open(path, "rb") as fh:
                response = await http.post(f"{self.root}/files", files={"file": (name, fh)}, headers=headers)
        except httpx.HTTPError as exc:
            raise TransportError(f"Could not stage {name} on the emulator's file host: {exc}") from exc
        if response.status_code != 201:
            raise TransportError(
                f"The emulator's file host refused {name}: {response.status_code} {response.text[:200]}"
            )
        return str(response.json()["url"])


class NoStager:
    """For a real provider with no staging configured: says what to do."""

    def __init__(self, provider: str) -> None:
        self.provider = provider

    async def stage(self, path: str, http: httpx.AsyncClient) -> str:
        raise ConfigurationError(
            f"{self.provider} downloads assets from a public URL, and {os.path.basename(path)!r} is a local file. "
            f"Pass stage='s3://bucket/prefix' (pip install 'realavatar-nb[s3]') to the client, or upload it "
            f"somewhere public and pass the http(s) URL instead of the path."
        )
