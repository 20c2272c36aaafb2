"""The emulator's file host: where local files are staged for upload-by-URL APIs.

``POST /files`` (multipart ``file``, or a raw body with ``?name=``) answers ``{"url": ...}``;
``GET /files/{id}/{name}`` serves the file back, to anyone holding its (unguessable) URL, as a
provider downloads it. Uploading needs an API key, as every dialect does (``Authorization:
Bearer <key>`` or ``X-Api-Key``; any non-empty key unless the emulator lists its keys). The body
is streamed to disk with a running size check: a declared or counted size over ``MAX_BYTES``
is refused (413) at once, and a body that stalls ends at the app's body deadlines (408).

``fetch(url)`` is how an asset's URL becomes a local file to check: the emulator's own file URLs
resolve on disk, ``data:`` URIs and raw base64 are decoded (Anyfast), and other http(s) URLs
go to the ``Downloader``, under its rules (``downloads``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from typing import BinaryIO, Final
from urllib.parse import unquote, urlsplit

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from ..media.sniff import HEAD_BYTES, sniff
from .bodies import capped
from .downloads import MAX_DOWNLOAD, Downloader
from .records import SimError

__all__ = ["MAX_BYTES", "FileHost"]

MAX_BYTES: Final = MAX_DOWNLOAD
_ENVELOPE: Final = 64 * 1024  # a multipart body's boundaries and part headers, beyond the file itself
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EXT: Final = {"jpeg": "jpg", "png": "png", "webp": "webp", "gif": "gif", "heic": "heic", "mp4": "mp4", "mov": "mov",
               "mp3": "mp3", "wav": "wav", "bmp": "bmp", "tiff": "tiff", "webm": "webm"}  # fmt: skip
# Raises SimError("unauthorized") for a key that is no account (``State.authenticate``).
Authorize = Callable[[str | None], None]


def _safe_name(name: str) -> str:
    cleaned = _SAFE.sub("_", os.path.basename(name or ""))[-120:].strip("._")
    return cleaned or "upload"


def _key(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key")


class FileHost:
    """Stores uploaded files under ``root`` and resolves URLs to local paths."""

    def __init__(self, root: str, downloader: Downloader | None = None) -> None:
        self.root = root
        self.downloader = downloader or Downloader()
        self._incoming = os.path.join(root, ".incoming")  # partial uploads and downloads
        os.makedirs(self._incoming, exist_ok=True)
        self._lock = threading.Lock()
        self._by_id: dict[str, str] = {}

    def store(self, data: bytes, name: str) -> tuple[str, str]:
        """Keep ``data`` as a file; return (file id, the URL path ``/files/<id>/<name>``)."""
        fd, partial = tempfile.mkstemp(dir=self._incoming)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return self.adopt(partial, name)

    def adopt(self, partial: str, name: str) -> tuple[str, str]:
        """Move the finished file at ``partial`` into the host; return (file id, its URL path)."""
        if not os.path.splitext(name)[1]:
            with open(partial, "rb") as fh:
                sniffed = sniff(fh.read(HEAD_BYTES))
            if sniffed is not None and sniffed.format in _EXT:
                name = f"{name}.{_EXT[sniffed.format]}"
        safe = _safe_name(name)
        file_id = uuid.uuid4().hex
        folder = os.path.join(self.root, file_id)
        os.makedirs(folder)
        path = os.path.join(folder, safe)
        os.replace(partial, path)
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
        web = url.startswith(("http://", "https://"))
        path = self.local_path(url) if web else None
        if path is None and web:
            path = self._download(url)
        elif path is None:
            path = self.local_path(self.store(_decode(url), "upload")[1]) or ""
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        return path, digest.hexdigest()

    def _download(self, url: str) -> str:
        fd, partial = tempfile.mkstemp(dir=self._incoming)
        try:
            with os.fdopen(fd, "wb") as fh:
                self.downloader.download(url, fh)
            if os.path.getsize(partial) == 0:
                raise SimError("invalid", "The downloaded file is empty.", field="URL")
            return self.local_path(self.adopt(partial, _name_from(url))[1]) or ""
        finally:
            if os.path.exists(partial):
                os.unlink(partial)

    async def _receive(self, request: Request) -> tuple[str, str]:
        """Stream the upload into a partial file; return (its path, the file's name)."""
        fd, partial = tempfile.mkstemp(dir=self._incoming)
        try:
            with os.fdopen(fd, "wb") as out:
                if request.headers.get("content-type", "").startswith("multipart/form-data"):
                    name = await _receive_form(capped(request, MAX_BYTES + _ENVELOPE), out)
                else:
                    async for chunk in capped(request, MAX_BYTES).stream():
                        out.write(chunk)
                    name = request.query_params.get("name", "upload")
        except BaseException:
            os.unlink(partial)
            raise
        return partial, name

    def routes(self, authorize: Authorize) -> list[Route]:
        """Return the ``/files`` upload and download routes; uploads need a key ``authorize`` accepts."""

        async def upload(request: Request) -> Response:
            try:
                authorize(_key(request))
            except SimError as exc:
                return JSONResponse({"error": exc.message}, status_code=401)
            try:
                partial, name = await self._receive(request)
            except SimError as exc:
                return JSONResponse({"error": exc.message}, status_code=400)
            size = os.path.getsize(partial)
            if not size or size > MAX_BYTES:  # a multipart file is only measured once its part ends
                os.unlink(partial)
                if size:
                    return JSONResponse({"error": f"The upload is larger than {MAX_BYTES} bytes."}, status_code=413)
                return JSONResponse({"error": "the upload is empty"}, status_code=400)
            file_id, path = self.adopt(partial, name)
            url = str(request.base_url).rstrip("/") + path
            return JSONResponse({"id": file_id, "url": url, "size": size}, status_code=201)

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


async def _receive_form(request: Request, out: BinaryIO) -> str:
    """Copy a multipart form's ``file`` part into ``out``; return its file name."""
    from starlette.exceptions import HTTPException
    from starlette.formparsers import MultiPartException

    try:
        # Starlette spools the part to a temporary file past 1 MB; memory stays small whatever the size.
        async with request.form(max_files=1, max_fields=10) as form:
            item = form.get("file")
            if item is None or isinstance(item, str):
                raise SimError("invalid", "multipart upload needs a 'file' field")
            item.file.seek(0)
            await anyio.to_thread.run_sync(shutil.copyfileobj, item.file, out, 1 << 20)
            return item.filename or "upload"
    except (HTTPException, MultiPartException) as exc:
        detail = exc.detail if isinstance(exc, HTTPException) else exc.message
        raise SimError("invalid", f"The multipart form could not be read: {detail}") from None


def _decode(url: str) -> bytes:
    """Return the bytes of a ``data:`` URI or of raw base64 (Anyfast's inline files)."""
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        try:
            return base64.b64decode(payload, validate=True) if ";base64" in header else unquote(payload).encode()
        except (binascii.Error, ValueError):
            raise SimError("invalid", "The data: URI is not valid base64.", field="URL") from None
    try:  # Anyfast: a bare base64 string is taken as a PNG
        return base64.b64decode(url, validate=True)
    except (binascii.Error, ValueError):
        raise SimError("invalid", "URL must be a public http(s) URL.", field="URL") from None


def _name_from(url: str) -> str:
    return _safe_name(unquote(urlsplit(url).path.rsplit("/", 1)[-1]))
