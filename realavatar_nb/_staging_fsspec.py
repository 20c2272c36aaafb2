"""Local file → URL through an object store the user names, such as ``s3://bucket/prefix``.

Files land at ``<target>/<sha256[:16]>/<safe file name>``: the address is the content, so staging
the same file again uploads nothing. The provider gets ``public_base_url + key`` when the store is
served publicly, else a presigned GET URL from the store itself (s3fs signs; ``memory://`` and local
directories cannot, and the stager says so when it is built rather than at the first upload).

fsspec and its drivers are an optional extra (``realavatar-nb[s3]``), imported on first use.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import re
from types import ModuleType
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from ._exceptions import ConfigurationError, TransportError
from ._media_facts import file_sha256

__all__ = ["FsspecStager", "object_key", "safe_name"]

_INSTALL_HINT = 'pip install "realavatar-nb[s3]"'
_MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4's ceiling; longer links are refused by S3 itself
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(path: str) -> str:
    """Return the file's base name reduced to ``[A-Za-z0-9._-]``, keeping its extension."""
    stem, ext = os.path.splitext(os.path.basename(path))
    stem = _UNSAFE.sub("_", stem).strip("._")[:80] or "file"
    ext = _UNSAFE.sub("", ext)[:16]
    return f"{stem}{ext}"


def object_key(sha256: str, path: str) -> str:
    """Return the content-addressed key ``<sha256[:16]>/<safe name>`` under the target."""
    return f"{sha256[:16]}/{safe_name(path)}"


def _redacted(target: str) -> str:
    # A target may carry user:password@ (ftp://, sftp://); it must never reach a message or a repr.
    parts = urlsplit(target)
    if parts.netloc and "@" in parts.netloc:
        return parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()
    return target


def _check_public_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"public_base_url must be an http(s) URL the provider can reach, not {url!r}.")
    if "@" in parts.netloc:
        raise ConfigurationError("public_base_url must not carry credentials (user:password@): providers see it.")
    return url.rstrip("/")


def _import_fsspec() -> ModuleType:
    try:
        return importlib.import_module("fsspec")
    except ImportError:
        raise ConfigurationError(
            f"Staging local files to an object store needs fsspec, which is not installed: {_INSTALL_HINT}"
        ) from None


class FsspecStager:
    """Uploads files to an fsspec target and returns a presigned or public URL for each."""

    def __init__(
        self,
        target: str,
        *,
        public_base_url: str | None = None,
        presign_seconds: int = 43200,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        self.target = _redacted(target.rstrip("/"))
        self.public_base_url = None if public_base_url is None else _check_public_base_url(public_base_url)
        if not 1 <= presign_seconds <= _MAX_PRESIGN_SECONDS:
            raise ConfigurationError(
                f"presign_seconds must be between 1 and {_MAX_PRESIGN_SECONDS} (7 days), not {presign_seconds}."
            )
        self.presign_seconds = presign_seconds
        fsspec = _import_fsspec()
        options = dict(storage_options or {})
        if fsspec.core.split_protocol(target)[0] in ("s3", "s3a"):
            # botocore may presign with SigV2, which S3 regions opened since 2014 refuse: ask for SigV4.
            options["config_kwargs"] = {"signature_version": "s3v4", **options.get("config_kwargs", {})}
        try:
            fs, root = fsspec.core.url_to_fs(target, **options)
        except ImportError as exc:  # fsspec knows the protocol but not its driver (s3fs, gcsfs, ...)
            raise ConfigurationError(
                f"Staging to {self.target!r} needs fsspec's driver for it ({exc}). For s3://: {_INSTALL_HINT}"
            ) from exc
        except (ValueError, TypeError) as exc:  # unknown protocol, or a storage option the driver lacks
            raise ConfigurationError(f"fsspec cannot open the staging target {self.target!r}: {exc}") from exc
        self.fs: Any = fs
        self._root = str(root).rstrip("/")
        if self.public_base_url is None and type(fs).sign is fsspec.AbstractFileSystem.sign:
            raise ConfigurationError(self._cannot_sign_message())

    def __repr__(self) -> str:
        # storage_options hold keys and secrets: never part of the repr.
        url = self.public_base_url or f"presigned for {self.presign_seconds}s"
        return f"FsspecStager({self.target!r}, url={url!r})"

    async def stage(self, path: str, http: httpx.AsyncClient) -> str:
        """Return a URL for ``path`` on the target, uploading it unless the same content is there."""
        key = await asyncio.to_thread(self._upload, path)
        if self.public_base_url is not None:
            return f"{self.public_base_url}/{quote(key)}"
        return await asyncio.to_thread(self._sign, self._remote(key))

    def _remote(self, key: str) -> str:
        return f"{self._root}/{key}" if self._root else key

    def _upload(self, path: str) -> str:
        """Put the file at its content address (blocking); return its key under the target."""
        key = object_key(file_sha256(path), path)
        remote = self._remote(key)
        size = os.path.getsize(path)
        try:
            if self._holds(remote, size):
                return key
            if "file" in _protocols(self.fs):  # only a real directory tree needs parents made first
                self.fs.makedirs(remote.rsplit("/", 1)[0], exist_ok=True)
            self.fs.put_file(path, remote)
        except OSError as exc:
            raise TransportError(
                f"Could not stage {os.path.basename(path)!r} to {self.target!r}: {exc}. "
                f"Check that the bucket or directory exists and the credentials may write to it."
            ) from exc
        return key

    def _holds(self, remote: str, size: int) -> bool:
        # Same content address and same size: an earlier stage finished (a cut-off copy is re-sent).
        try:
            info = self.fs.info(remote)
        except FileNotFoundError:
            return False
        return bool(info.get("size") == size)

    def _sign(self, remote: str) -> str:
        try:
            return str(self.fs.sign(remote, expiration=self.presign_seconds))
        except NotImplementedError:
            raise ConfigurationError(self._cannot_sign_message()) from None

    def _cannot_sign_message(self) -> str:
        return (
            f"{self.target!r} cannot presign URLs, so a provider could not download what is staged there. "
            f"Pass public_base_url= (the http(s) address that serves this target), "
            f"or stage to a signing-capable store such as s3://bucket/prefix."
        )


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)
