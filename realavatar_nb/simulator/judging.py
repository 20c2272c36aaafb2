"""How an uploaded asset gets its verdict: its URL downloaded in its account's turn, then checked.

Downloads wait on other people's servers, checks on the CPU, so they run apart: downloads on a
``FairPool`` where each account holds at most ``per_account`` threads (a slow or trickling URL,
however many an account sends, delays only that account), checks on the emulator's small
processing pool, which no download ever occupies. A refused or failed download is the asset's
``DownloadFailed``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Final

from .records import Asset, SimError, Verdict
from .scheduling import FairPool

__all__ = ["Check", "Fetch", "Judge"]

Fetch = Callable[[str], tuple[str, str]]  # url -> (local path, sha256); raises SimError on failure
# (path, asset_type, person, profile) -> (error code, message); a check that also takes the keyword
# ``group_face`` (``checks.check_file``) is given the group's reference face for real faces.
Check = Callable[[str, str, str, str], tuple[str | None, str | None]]
GroupFace = Callable[[tuple[float, ...]], tuple[float, ...]]
DOWNLOAD_THREADS: Final = 8  # downloads wait on the network, not the CPU


class Judge:
    """Queues assets' downloads and checks; ``submit`` returns the future verdict."""

    def __init__(
        self, fetch: Fetch | None, check: Check | None, pool: ThreadPoolExecutor, *, profile: str, per_account: int
    ) -> None:
        self._fetch = fetch
        self._check = check
        self._faces = _takes_group_face(check)
        self._pool = pool
        self._profile = profile
        self._downloads = FairPool(DOWNLOAD_THREADS, max(1, per_account), name="sandbox-fetch")

    def submit(
        self, asset: Asset, person: str, *, group_face: GroupFace, downloaded: Callable[[str], None]
    ) -> Future[Verdict]:
        """Return ``asset``'s verdict to come; ``downloaded(sha256)`` is called once its file is here."""
        verdict: Future[Verdict] = Future()
        fetch = self._fetch
        if fetch is None or self._check is None:
            verdict.set_result((None, None, None, None))
            return verdict

        def then_check(download: Future[tuple[str, str]]) -> None:
            if download.cancelled():  # the emulator is closing
                verdict.cancel()
                return
            error = download.exception()
            if isinstance(error, SimError):
                verdict.set_result(("DownloadFailed", error.message, None, None))
                return
            if error is not None:
                verdict.set_exception(error)
                return
            path, digest = download.result()
            downloaded(digest)
            try:
                judged = self._pool.submit(self._judge, asset, person, path, digest, group_face)
            except RuntimeError:  # shut down meanwhile
                verdict.cancel()
                return
            judged.add_done_callback(lambda done: _copy_outcome(done, verdict))

        self._downloads.submit(asset.account, fetch, asset.url).add_done_callback(then_check)
        return verdict

    def _judge(self, asset: Asset, person: str, path: str, digest: str, group_face: GroupFace) -> Verdict:
        check: Any = self._check
        if self._faces:
            code, message = check(path, asset.asset_type, person, self._profile, group_face=group_face)
        else:
            code, message = check(path, asset.asset_type, person, self._profile)
        return code, message, digest, path

    def close(self) -> None:
        """Cancel the downloads not started (running ones end at their deadline)."""
        self._downloads.shutdown()


def _copy_outcome(source: Future[Verdict], target: Future[Verdict]) -> None:
    if source.cancelled():
        target.cancel()
    elif (error := source.exception()) is not None:
        target.set_exception(error)
    else:
        target.set_result(source.result())


def _takes_group_face(check: Check | None) -> bool:
    if check is None:
        return False
    try:
        return "group_face" in inspect.signature(check).parameters
    except (TypeError, ValueError):  # a callable without a readable signature gets the plain call
        return False
