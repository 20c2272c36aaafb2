"""The emulator's downloader: what it fetches when a client gives an asset URL.

It fetches what a real provider would fetch, and nothing more. The emulator is a server on
someone's machine and any non-empty key is an account, so a fetcher without limits would be a
port scanner of that machine and its network for anyone who can reach it. The rules:

* http(s) only; at most ``max_bytes``, counted as the bytes arrive (a larger Content-Length is
  refused before the body); the whole download, redirects included, within ``seconds`` (a hard
  deadline: a server trickling its headers or body is cut off), each read within ``idle``.
* Redirects are followed by hand, at most ``redirects`` hops, and each target is checked by the
  same rules as the first URL: a public page cannot bounce the emulator onto loopback.
* No loopback, private, link-local, multicast or reserved address. The name is resolved once, every
  address it resolves to must be public, and the connection goes to the checked address (the name
  kept in Host and TLS SNI), so a DNS answer that changes between check and connect cannot slip by.
* Except the emulator's own origin (``allow``; its ``/files`` URLs resolve on disk before any of
  this) and the hosts in ``hosts`` (``"host"`` or ``"host:port"``, from ``Sandbox(fetch_hosts=…)``):
  a local media server that a test or a notebook serves on purpose.

Re-checking redirects was chosen over refusing them: storage services answer with redirects
(regional endpoints, CDN hops) and upstream follows them, so refusing would fail URLs that work
upstream. Every refusal is a ``SimError``; the asset's judgement makes it ``DownloadFailed``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Final

import httpx

from .records import SimError

__all__ = ["MAX_DOWNLOAD", "Downloader", "FetchPolicy", "is_public"]

MAX_DOWNLOAD: Final = 256 * 1024 * 1024
# (host, port) -> the addresses it resolves to; tests inject one so no test needs DNS.
Resolve = Callable[[str, int], Sequence[str]]


@dataclass(frozen=True)
class FetchPolicy:
    """How far the downloader goes: size, time, redirects, and the local hosts it may reach."""

    max_bytes: int = MAX_DOWNLOAD
    seconds: float = 60.0
    idle: float = 15.0
    redirects: int = 3
    hosts: tuple[str, ...] = ()


def is_public(address: str) -> bool:
    """Return whether an IP address is one a provider on the internet could reach (no loopback, private, …)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope (fe80::1%eth0) says nothing
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return ip.is_global and not ip.is_multicast


def _resolve(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _host_port(entry: str) -> tuple[str, int | None]:
    """Return ("host", port or None) for an allow-list entry: ``host``, ``host:port`` or ``[v6]:port``."""
    entry = entry.strip().lower()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest.removeprefix(":")
        return host, int(port) if port.isdigit() else None
    host, sep, port = entry.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host, int(port)
    return entry, None


def _refused(message: str) -> SimError:
    return SimError("invalid", message, field="URL")


class Downloader:
    """Downloads asset URLs under a ``FetchPolicy``; ``download`` raises ``SimError`` for what it will not fetch."""

    def __init__(self, policy: FetchPolicy | None = None, *, resolve: Resolve | None = None) -> None:
        self.policy = policy or FetchPolicy()
        self._resolve = resolve or _resolve
        self._lock = threading.Lock()
        self._allowed = {_host_port(entry) for entry in self.policy.hosts}

    def allow(self, host: str, port: int | None = None) -> None:
        """Let the downloader reach ``host`` (at ``port``, or any) though it is local: the emulator's own origin."""
        with self._lock:
            self._allowed.add((host.strip("[]").lower(), port))

    def allowed(self, host: str, port: int) -> bool:
        with self._lock:
            return (host, port) in self._allowed or (host, None) in self._allowed

    def download(self, url: str, into: BinaryIO) -> None:
        """Write the body at ``url`` into ``into``, or raise ``SimError`` saying why not."""
        seconds = self.policy.seconds
        try:
            asyncio.run(asyncio.wait_for(self._download(url, into), seconds))
        except TimeoutError:
            raise _refused(f"Downloading the file took longer than {seconds:g} seconds.") from None

    async def _download(self, url: str, into: BinaryIO) -> None:
        timeout = min(self.policy.idle, self.policy.seconds)
        async with httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=timeout) as http:
            for _ in range(self.policy.redirects + 1):
                request = await self._request(http, url)
                try:
                    response = await http.send(request, stream=True)
                    try:
                        if not response.is_redirect:
                            await self._save(response, into)
                            return
                        url = str(httpx.URL(url).join(response.headers["location"]))
                    finally:
                        await response.aclose()
                except httpx.HTTPError as exc:
                    raise _refused(f"Downloading the file failed: {type(exc).__name__}.") from None
        raise _refused(f"The URL redirected more than {self.policy.redirects} times.")

    async def _request(self, http: httpx.AsyncClient, url: str) -> httpx.Request:
        """Return the GET for ``url``, sent to an address the rules allow, or raise ``SimError``."""
        try:
            parts = httpx.URL(url)
        except httpx.InvalidURL:
            raise _refused("URL is not a valid URL.") from None
        if parts.scheme not in ("http", "https") or not parts.host:
            raise _refused("URL must be a public http(s) URL.")
        host, port = parts.host.lower(), parts.port or (443 if parts.scheme == "https" else 80)
        if self.allowed(host, port):
            return http.build_request("GET", parts)
        loop = asyncio.get_running_loop()
        try:
            addresses = list(await loop.run_in_executor(None, self._resolve, host, port))
        except OSError:
            raise _refused(f"The URL's host {host} could not be resolved.") from None
        if not addresses or not all(is_public(a) for a in addresses):
            # inferred: upstream's answer for an address it will not fetch is not documented;
            # the emulator fails the asset as for any download that did not happen.
            raise _refused(
                f"The URL's host {host} is a loopback, private or reserved address; only public URLs are "
                "downloaded (a local media server needs Sandbox(fetch_hosts=...))."
            )
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        headers = {"host": parts.netloc.decode("ascii")}
        return http.build_request("GET", parts.copy_with(host=addresses[0]), headers=headers, extensions=extensions)

    async def _save(self, response: httpx.Response, into: BinaryIO) -> None:
        limit = self.policy.max_bytes
        if response.status_code != 200:
            raise _refused(f"Downloading the file failed: HTTP {response.status_code}.")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _refused(f"The file is larger than the download limit of {limit} bytes.")
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise _refused(f"The file is larger than the download limit of {limit} bytes.")
            into.write(chunk)
