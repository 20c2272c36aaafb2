"""A small media server on 127.0.0.1 for the downloader's tests: it serves, redirects, holds and trickles.

Bounded and self-stopping: a held or trickled answer ends when the test releases it or after
``HOLD_LIMIT`` seconds, whichever comes first, and leaving the ``serve()`` block releases every
answer and stops the server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOLD_LIMIT = 10.0  # the longest any answer is held, whatever the test does
TRICKLE_STEP = 0.02  # seconds between two bytes of /trickle


class MediaServer:
    """What the server serves and what it saw; ``url(path)`` is where to fetch it."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.hits: list[str] = []
        self.release = threading.Event()
        self.port = 0

    @property
    def origin(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.origin}{path}"


def _handler(media: MediaServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet: the test asserts what matters
            pass

        def do_GET(self) -> None:
            media.hits.append(self.path)
            parts = urlsplit(self.path)
            if parts.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", parse_qs(parts.query)["to"][0])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            if parts.path != "/unsized":
                self.send_header("Content-Length", str(len(media.body)))
            self.end_headers()
            if parts.path == "/hold":  # the first byte, then nothing until released
                self.wfile.write(media.body[:1])
                self.wfile.flush()
                media.release.wait(HOLD_LIMIT)
                self.wfile.write(media.body[1:])
            elif parts.path == "/trickle":  # a byte at a time: never idle long, never done soon
                ends = time.monotonic() + HOLD_LIMIT
                for i in range(len(media.body)):
                    if media.release.is_set() or time.monotonic() > ends:
                        break
                    self.wfile.write(media.body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(TRICKLE_STEP)
            else:
                self.wfile.write(media.body)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a downloader that gave up mid-answer (the point of several tests) is no test failure


@contextmanager
def serve(body: bytes = b"\xff\xd8\xff" + b"\0" * 997) -> Iterator[MediaServer]:
    """Serve ``body`` on a free loopback port until the block ends."""
    media = MediaServer(body)
    server = _QuietServer(("127.0.0.1", 0), _handler(media))
    media.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield media
    finally:
        media.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
