"""``download_to``: a provider's video fetched to a local file, bounded in size and in time.

A video URL comes from a provider's answer, so it is checked like one: only http(s) is fetched (a
``file://`` or ``ftp://`` URL is refused at once, never retried). Redirects, which CDNs use all the
time, are followed here rather than by httpx so that each hop is checked: at most ``MAX_REDIRECTS``,
http(s) only, never from https down to plain http, and no hop carries credentials. The request
itself carries none either: it is built afresh, without the client's headers, cookies or auth, and
without any ``user:password@`` from an earlier hop.

The body streams to ``<target>.part`` (renamed into place when complete, removed on any failure) and is
cut off at ``max_bytes`` (``REALAVATAR_MAX_DOWNLOAD_BYTES``) and at ``deadline`` seconds for the whole
download, retries included (``REALAVATAR_DOWNLOAD_DEADLINE``): a server trickling a byte a second, or
streaming forever, ends as ``ResponseLimitError`` naming the setting. Transient failures (a dropped
connection, a timeout, 429, 5xx) are retried from the start up to ``attempts`` times in all; a refusal
(403, 404, …) is not. Only the package's own errors come out.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

import httpx

from ._exceptions import MalformedResponseError, RealAvatarError, ResponseLimitError, TransportError
from ._transport import STREAM
from ._urls import is_http_url
from .providers.base import retry_after

__all__ = ["MAX_REDIRECTS", "download_to"]

MAX_REDIRECTS: Final = 5
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_TRANSIENT: Final = frozenset({408, 429, 500, 502, 503, 504})
_GONE: Final = frozenset({401, 403, 404, 410})  # what an expired signed link answers
_MAX_PAUSE: Final = 30.0  # the longest a Retry-After is honoured; the deadline bounds it anyway
_SIZE_SETTING: Final = "REALAVATAR_MAX_DOWNLOAD_BYTES"
_DEADLINE_SETTING: Final = "REALAVATAR_DOWNLOAD_DEADLINE"


class _Transient(Exception):
    """One attempt failed in a way another attempt may not: ``error`` is what to raise if none is left."""

    def __init__(self, error: RealAvatarError, pause: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.pause = pause


async def download_to(
    http: httpx.AsyncClient,
    url: str,
    target: str | os.PathLike[str],
    *,
    max_bytes: int,
    deadline: float,
    attempts: int = 3,
    backoff: float = 1.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    what: str = "The video",
) -> Path:
    """Return ``target`` once ``url``'s body is saved there whole (parent folders created).

    ``what`` names the thing in messages (``"Job abc's video"``). Raises ``MalformedResponseError`` for a
    URL or redirect that is not safe to follow, ``ResponseLimitError`` past ``max_bytes`` or ``deadline``,
    and ``TransportError`` when the server refuses or keeps failing.
    """
    if not is_http_url(url):
        raise MalformedResponseError(
            f"{what} has a URL that is not an http(s) link ({_scheme(url)}); it was not fetched. "
            f"Report it to the provider.",
            field="video_url",
        )
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    try:
        await asyncio.wait_for(_fetch(http, url, partial, max_bytes, attempts, backoff, sleep, what), deadline)
    except TimeoutError:
        partial.unlink(missing_ok=True)
        raise ResponseLimitError(
            f"{what} did not finish downloading within {deadline:g} s. On a slow link, raise {_DEADLINE_SETTING}.",
            setting=_DEADLINE_SETTING,
        ) from None
    except BaseException:  # an error, or the cell interrupted: no half file is left to look complete
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    return path


async def _fetch(
    http: httpx.AsyncClient,
    url: str,
    partial: Path,
    max_bytes: int,
    attempts: int,
    backoff: float,
    sleep: Callable[[float], Awaitable[None]],
    what: str,
) -> None:
    for attempt in range(max(1, attempts)):
        try:
            await _attempt(http, url, partial, max_bytes, what)
            return
        except _Transient as failed:
            if attempt + 1 >= attempts:
                raise failed.error from failed.__cause__
            await sleep(failed.pause if failed.pause is not None else backoff * 2**attempt)


async def _attempt(http: httpx.AsyncClient, url: str, partial: Path, max_bytes: int, what: str) -> None:
    current = httpx.URL(url)
    for _ in range(MAX_REDIRECTS + 1):
        request = httpx.Request("GET", current, headers=_headers(http))
        request.extensions["timeout"] = http.timeout.as_dict()  # httpx's per-operation timeout still applies
        request.extensions[STREAM] = True  # the retry transport passes it through unread: the cap is ours
        try:
            # auth=None: no client-wide auth; follow_redirects=False: every hop is checked below.
            response = await http.send(request, stream=True, auth=None, follow_redirects=False)
        except httpx.TransportError as exc:
            raise _Transient(TransportError(f"{what} could not be fetched from {current.host}: {exc}.")) from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"{what} could not be fetched from {current.host}: {exc}.") from exc
        try:
            if response.status_code in _REDIRECTS:
                current = _next_hop(current, response, what)
                continue
            _check_status(response, what, max_bytes)
            await _save(response, partial, max_bytes, what)
            return
        finally:
            await response.aclose()
    raise TransportError(f"{what} redirected more than {MAX_REDIRECTS} times; gave up. Report it to the provider.")


def _headers(http: httpx.AsyncClient) -> dict[str, str]:
    # Identity: the byte cap then counts the file as it lands on disk, and nothing inflates on the way.
    return {"accept": "*/*", "accept-encoding": "identity", "user-agent": http.headers.get("user-agent", "httpx")}


def _next_hop(current: httpx.URL, response: httpx.Response, what: str) -> httpx.URL:
    """Return where a redirect points, once it is safe to follow: http(s), no downgrade, no credentials."""
    location = response.headers.get("location", "")
    try:
        hop = current.join(location) if location else None
    except httpx.InvalidURL:
        hop = None
    if hop is None or not is_http_url(str(hop)):
        shown = _scheme(str(hop)) if hop is not None else "no usable Location"
        raise MalformedResponseError(
            f"{what} redirected to a link that is not http(s) ({shown}); it was not followed.", field="location"
        )
    if current.scheme == "https" and hop.scheme == "http":
        raise MalformedResponseError(
            f"{what} redirected from https to plain http ({hop.host}); it was not followed.", field="location"
        )
    return hop.copy_with(userinfo=b"") if hop.userinfo else hop


def _check_status(response: httpx.Response, what: str, max_bytes: int) -> None:
    status = response.status_code
    if status in _TRANSIENT:
        hint = retry_after(response)
        raise _Transient(
            TransportError(f"{what} could not be downloaded: HTTP {status}, on every try. Try again later."),
            None if hint is None else min(hint, _MAX_PAUSE),
        )
    if status in _GONE:
        raise TransportError(
            f"{what} could not be downloaded: HTTP {status}. The provider's link may have expired: look the job up "
            f"again (await client.get_job(job)) for a fresh one."
        )
    if status != 200:
        raise TransportError(f"{what} could not be downloaded: HTTP {status}.")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:  # said up front: refuse before writing a byte
        raise _too_large(what, max_bytes)


async def _save(response: httpx.Response, partial: Path, max_bytes: int, what: str) -> None:
    written = 0
    try:
        with open(partial, "wb") as fh:  # "wb": a retry starts the file over
            async for chunk in response.aiter_bytes():
                written += len(chunk)
                if written > max_bytes:
                    raise _too_large(what, max_bytes)
                fh.write(chunk)
    except httpx.TransportError as exc:  # the connection dropped or stalled mid-body
        raise _Transient(TransportError(f"{what} stopped arriving after {written:,} bytes: {exc}.")) from exc
    except httpx.HTTPError as exc:
        raise TransportError(f"{what} could not be read: {exc}.") from exc


def _too_large(what: str, max_bytes: int) -> ResponseLimitError:
    return ResponseLimitError(
        f"{what} is larger than {max_bytes:,} bytes; it was not saved. If it is expected, raise {_SIZE_SETTING}.",
        setting=_SIZE_SETTING,
    )


def _scheme(url: str) -> str:
    # The scheme only: a signed link's query is a credential, and a local path is nobody's business.
    head, sep, _ = str(url).partition(":")
    plain = head.isascii() and head.replace("+", "").replace("-", "").replace(".", "").isalnum()
    return f"{head[:16]}:" if sep and plain else "unparsable"
