"""The emulator's file host and downloader.

Local files reach an upload-by-URL API through ``POST /files`` (multipart ``file`` or a raw body
with ``?name=``), which answers ``{"url": ...}``; ``GET /files/{id}/{name}`` serves them back.
``fetch(url)`` is how an uploaded asset's URL becomes a local file to check: the emulator's own
file URLs resolve on disk, ``data:`` URIs and raw base64 are decoded (Anyfast), and any other
http(s) URL is downloaded with a size cap.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import threading
import uuid
from typing import Final
from urllib.parse import unquote, urlsplit

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from ..media.sniff import HEAD_BYTES, sniff
from .state import SimError

__all__ = ["FileHost"]

MAX_BYTES: Final = 256 * 1024 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EXT: Final = {"jpeg": "jpg", "png": "png", "webp": "webp", "gif": "gif", "heic": "heic", "mp4": "mp4", "mov": "mov",
               "mp3": "mp3", "wav": "wav", "bmp": "bmp", "tiff": "tiff", "webm": "webm"}  # fmt: skip


def _safe_name(name: str) -> str:
    cleaned = _SAFE.sub("_", os.path.basename(name or ""))[-120:].strip("._")
    return cleaned or "upload"


class FileHost:
    """Stores uploaded files under ``root`` and resolves URLs to local paths."""

    def __init__(self, root: str) -> None:
        self.root = root
        os.makedirs(root, exist_ok=True)
        self._lock = threading.Lock()
        self._by_id: dict[str, str] = {}

    def store(self, data: bytes, name: str) -> tuple[str, str]:
        """Keep ``data`` as a file; return (file id, the URL path ``/files/<id>/<name>``)."""
        if not os.path.splitext(name)[1]:
            sniffed = sniff(data[:HEAD_BYTES])
            if sniffed is not None and sniffed.format in _EXT:
                name = f"{name}.{_EXT[sniffed.format]}"
        safe = _safe_name(name)
        file_id = uuid.uuid4().hex
        folder = os.path.join(self.root, file_id)
        os.makedirs(folder)
        path = os.path.join(folder, safe)
        with open(path, "wb") as fh:
            fh.write(data)
        with self._lock:
            self._by_id[file_id] = path
        return file_id, f"/files/{file_id}/{safe}"

    def local_path(self, url: str) -> str | None:
        """Return the local file behind one of this host's URLs (any host name), else ``None``."""
        parts = urlsplit(url).path.split("/")
        if len(parts) >= 4 and parts[-3] == "files":
            with self._lock:
                return self._by_id.get(parts[-2])
        return None

    def fetch(self, url: str) -> tuple[str, str]:
        """Return (local path, sha256) for an asset URL, or raise ``SimError`` (DownloadFailed)."""
        path = self.local_path(url) if url.startswith(("http://", "https://")) else None
        if path is None:
            data = self._download(url)
            path = self.local_path(self.store(data, _name_from(url))[1]) or ""
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        return path, digest.hexdigest()

    def _download(self, url: str) -> bytes:
        if url.startswith("data:"):
            header, _, payload = url.partition(",")
            try:
                return base64.b64decode(payload, validate=True) if ";base64" in header else unquote(payload).encode()
            except (binascii.Error, ValueError):
                raise SimError("invalid", "The data: URI is not valid base64.", field="URL") from None
        if not url.startswith(("http://", "https://")):
            try:  # Anyfast: a bare base64 string is taken as a PNG
                return base64.b64decode(url, validate=True)
            except (binascii.Error, ValueError):
                raise SimError("invalid", "URL must be a public http(s) URL.", field="URL") from None
        import httpx

        try:
            with httpx.stream("GET", url, timeout=30.0, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise SimError("invalid", f"Downloading the file failed: HTTP {response.status_code}.")
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_BYTES:
                        raise SimError("invalid", "The file is larger than the download limit.")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise SimError("invalid", f"Downloading the file failed: {type(exc).__name__}.") from None

    def routes(self) -> list[Route]:
        """Return the ``/files`` upload and download routes."""

        async def upload(request: Request) -> Response:
            content_type = request.headers.get("content-type", "")
            if content_type.startswith("multipart/form-data"):
                async with request.form(max_files=1, max_fields=10) as form:  # closes its spooled temp files
                    item = form.get("file")
                    if item is None or isinstance(item, str):
                        return JSONResponse({"error": "multipart upload needs a 'file' field"}, status_code=400)
                    data = await item.read()
                    name = item.filename or "upload"
            else:
                data = await request.body()
                name = request.query_params.get("name", "upload")
            if not data:
                return JSONResponse({"error": "the upload is empty"}, status_code=400)
            if len(data) > MAX_BYTES:
                return JSONResponse({"error": "the upload is larger than the limit"}, status_code=413)
            file_id, path = self.store(data, name)
            url = str(request.base_url).rstrip("/") + path
            return JSONResponse({"id": file_id, "url": url, "size": len(data)}, status_code=201)

        async def download(request: Request) -> Response:
            with self._lock:
                path = self._by_id.get(request.path_params["file_id"])
            if path is None or os.path.basename(path) != request.path_params["name"]:
                return JSONResponse({"error": "no such file"}, status_code=404)
            return FileResponse(path)

        return [
            Route("/files", upload, methods=["POST"]),
            Route("/files/{file_id}/{name}", download, methods=["GET", "HEAD"]),
        ]


def _name_from(url: str) -> str:
    if url.startswith(("http://", "https://")):
        return _safe_name(unquote(urlsplit(url).path.rsplit("/", 1)[-1]))
    return "upload"
