"""``AsyncClient``: one async API over the five providers and the emulator.

It sends what an adapter builds, parses with the same adapter, writes everything to the ledger
the moment it exists, and waits through ``iter_status``. Creates are never retried blindly: an
upload is recorded as an intent first, and a rerun finds it in the ledger (and, where the
provider lists assets, reconciles with the list) instead of sending it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from . import providers
from ._config import Secret, Settings
from ._download import download_to
from ._exceptions import (
    AssetFailedError,
    ConfigurationError,
    ConsentRequiredError,
    InvalidArgumentError,
    InvalidRequestError,
    JobFailedError,
    LedgerError,
    MalformedResponseError,
    NotFoundError,
    OutcomeUnknownError,
    ProviderError,
    RateLimitError,
    ResponseLimitError,
    ServerError,
    TransportError,
    UnsupportedOperationError,
    VerificationExpiredError,
    VerificationRejectedError,
)
from ._ledger import Ledger
from ._models import Asset, Consent, GenerationJob, Verification, VerificationSession
from ._polling import iter_status, wait_for
from ._redact import install_log_filter, redact, register_secret, scrubbed
from ._staging import NoStager, SandboxStager, Stager
from ._transport import RateLimiter, RetryTransport
from ._types import ASSET_TERMINAL, ASSET_TYPE_OF_KIND, JOB_TERMINAL, VERIFICATION_TERMINAL
from ._uploads import LEASE_SECONDS, UploadClaim, claim, new_owner
from .providers.base import RETRY, Adapter, Next, Step

if TYPE_CHECKING:
    import pandas as pd

    from .simulator import RemoteSandbox, Sandbox

__all__ = ["AsyncClient"]

_CREATE_ATTEMPTS = 6  # sends of one upload, each after checking the list that the last did not land
_IN_FLIGHT_WAIT = 1800.0  # the longest wait for another task's or kernel's upload of the same file
_shared: Sandbox | None = None
_shared_lock = threading.Lock()


def shared_sandbox(environ: dict[str, str] | None = None) -> Sandbox | RemoteSandbox:
    """Return the process-wide emulator, started on first use with ``REALAVATAR_SANDBOX_*`` settings.

    With ``REALAVATAR_SANDBOX_URL`` set, it is the emulator already serving there (``realavatar-nb sandbox``).
    """
    global _shared
    env = dict(os.environ) if environ is None else environ
    if env.get("REALAVATAR_SANDBOX_URL"):
        from .simulator import RemoteSandbox

        return RemoteSandbox(env["REALAVATAR_SANDBOX_URL"])
    with _shared_lock:
        if _shared is None or not _shared.running:
            from .simulator import Sandbox

            auto = env.get("REALAVATAR_SANDBOX_AUTOPILOT")
            _shared = Sandbox(
                autopilot=float(auto) if auto else None,
                processing_seconds=float(env.get("REALAVATAR_SANDBOX_PROCESSING", "3.0")),
                job_seconds=float(env.get("REALAVATAR_SANDBOX_JOB_SECONDS", "4.0")),
            ).start()
        return _shared


install_log_filter()


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _probed(path: str) -> tuple[str, str]:
    """Return (asset type, sha256) of a local file from one probe (one read of the file)."""
    from .media.probe import probe

    info = probe(path)
    if info.kind not in ASSET_TYPE_OF_KIND or info.sha256 is None:
        raise InvalidRequestError(
            f"{os.path.basename(path)} is not an image, video or audio file ({info.error or info.kind}); "
            f"validate it with ra.validate() first."
        )
    return ASSET_TYPE_OF_KIND[info.kind], info.sha256


class AsyncClient:
    """The same simple API on every provider: verify, upload, wait, generate, download."""

    def __init__(
        self,
        provider: str | None = None,
        *,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        ledger: Ledger | None = None,
        settings: Settings | None = None,
        sandbox: Sandbox | RemoteSandbox | None = None,
        dialect: str | None = None,
        stager: Stager | None = None,
        stage: str | None = None,
        stage_options: dict[str, Any] | None = None,
        poll_interval: float | None = None,
        rates: dict[str, float] | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env(provider=provider)
        # Wall-clock time: upload leases are compared across processes sharing one ledger.
        self._clock = clock or time.time
        self._sleep = sleep or asyncio.sleep
        self._unrecorded: list[tuple[int, Asset]] = []  # answers the ledger could not take (disk full)
        self.provider = self.settings.provider
        self._sandbox: Sandbox | RemoteSandbox | None
        self._base_url: str | None
        if self.provider == "sandbox":
            self._sandbox = sandbox or shared_sandbox()
            self.dialect = dialect or os.environ.get("REALAVATAR_SANDBOX_DIALECT") or "toapis"
            self._base_url = base_url or self._sandbox.base_url(self.dialect)
            self._key: Secret | None = Secret(str(api_key or "sandbox-key"))
            self._stager: Stager = stager or SandboxStager(self._sandbox.url, self._key)
            # A fresh emulator knows nothing of an old one's groups: keep their ledger rows apart.
            self.ledger_name = f"sandbox:{self.dialect}:{self._sandbox.url}"
        else:
            self._sandbox = None
            self.dialect = self.provider
            self._base_url = base_url or self.settings.base_url
            self._key = Secret(str(api_key)) if api_key else self.settings.api_key
            if stager is None and stage is not None:
                from ._staging_fsspec import FsspecStager

                # stage_options: public_base_url=, presign_seconds=, storage_options=
                stager = FsspecStager(stage, **(stage_options or {}))
            self._stager = stager or NoStager(self.provider)
            self.ledger_name = self.provider
        self._adapter: Adapter | None = None
        self.ledger = ledger if ledger is not None else Ledger(self.settings.ledger_path)
        if poll_interval is not None and not (isinstance(poll_interval, (int, float)) and 0 < poll_interval < 1e6):
            raise InvalidArgumentError(f"poll_interval={poll_interval!r}: pass seconds between looks (> 0), or None.")
        self.poll_interval = poll_interval or self.settings.poll_interval or 3.0
        self._retry = RetryTransport(
            transport, deadline=self.settings.deadline, create_deadline=self.settings.create_deadline,
            max_response_bytes=self.settings.max_response_bytes, sleep=self._sleep,
        )  # fmt: skip
        # Upstream's published rates for real providers; the emulator limits only when told to.
        self.limits = RateLimiter(
            rates if rates is not None else ({} if self._sandbox is not None else None), sleep=self._sleep
        )
        self._http = httpx.AsyncClient(transport=self._retry, timeout=self.settings.request_timeout)

    # -- plumbing -------------------------------------------------------------------------

    @property
    def adapter(self) -> Adapter:
        """The provider's adapter; the API key is looked up here, on first use."""
        if self._adapter is None:
            key = self._key or self.settings.with_(provider=self.provider).require_api_key()
            self._adapter = providers.get(self.dialect)(self._base_url, key)
        return self._adapter

    async def _send(self, request: httpx.Request, kind: str | None = None) -> httpx.Response:
        await self.limits.wait(kind)
        try:
            return await self._http.send(request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise TransportError(
                f"Could not reach {self.provider} at {request.url.host}: {exc}. Check the network."
            ) from scrubbed(exc)
        except httpx.HTTPError as exc:
            if request.extensions.get(RETRY):
                raise TransportError(
                    f"{self.provider} did not answer after retries: {type(exc).__name__}. Try again later."
                ) from scrubbed(exc)
            raise self._outcome_unknown(request, type(exc).__name__) from scrubbed(exc)
        except ResponseLimitError as exc:
            if request.extensions.get(RETRY):
                raise
            raise self._outcome_unknown(request, str(exc)) from exc

    def _outcome_unknown(self, request: httpx.Request, why: str) -> OutcomeUnknownError:
        return OutcomeUnknownError(
            f"{self.provider} may or may not have done this ({request.method} {redact(request.url.path)}): the answer "
            f"was lost after the request was sent ({why}). Rerun the same call: the client checks its ledger "
            f"and the provider before sending anything again."
        )

    async def _drive(self, step: Step[Any], *, timeout: float = 120.0) -> Any:
        """Follow ``Next`` steps (task indirection), pausing between repeated polls of one URL."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        previous: str | None = None
        while isinstance(step, Next):
            url = str(step.request.url)
            if url == previous:
                if loop.time() > deadline:
                    raise OutcomeUnknownError(
                        f"{self.provider} kept answering 'in progress' for {timeout:g} s at {url}."
                    )
                await asyncio.sleep(min(self.poll_interval, 1.0))
            previous = url
            step = step.parse(await self._send(step.request))
        return step

    async def aclose(self) -> None:
        """Close the HTTP connections (the ledger stays open for other clients)."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object | TracebackType) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncClient({self.provider!r}, dialect={self.dialect!r}, api_key={'set' if self._key else 'unset'})"

    # -- verification ---------------------------------------------------------------------

    async def create_verification(
        self,
        callback_url: str | None = None,
        biz_id: str | None = None,
        locale: str | None = None,
        person: str | None = None,
        consent: Consent | None = None,
    ) -> VerificationSession:
        """Create a liveness session; with ``person``, their consent must be given or already recorded."""
        person = _person_name(person)
        if consent is not None and not isinstance(consent, Consent):
            raise InvalidArgumentError(f"consent={consent!r}: pass ra.Consent(given_by=..., purpose=...) or None.")
        if person:
            if consent is not None:
                self.ledger.record_consent(person, consent)
            elif self.ledger.consent(person) is None:
                raise ConsentRequiredError(
                    f"No consent is recorded for {person!r}. Ask them first and pass "
                    f"consent=ra.Consent(given_by=..., purpose=...)."
                )
        callback = callback_url or self.settings.callback_url
        if callback is None and self._sandbox is not None:
            callback = f"{self._sandbox.url}/_sandbox/callback"
        request = self.adapter.build_create_verification(
            callback_url=callback, biz_id=biz_id, locale=locale, project=None
        )
        # A session costs nothing until a person uses it and expires in 120 s: sending it again after
        # a failure can at worst leave an unused one behind, never a charge.
        request.extensions[RETRY] = True
        session: VerificationSession = await self._drive(
            self.adapter.parse_create_verification(await self._send(request, "verification"), callback_url=callback)
        )
        register_secret(session.byted_token)  # masked in every log line from now on
        register_secret(session.h5_link)
        if person:
            session = replace(session, person=person)
        self.ledger.record_session(session, person=person, biz_id=biz_id, provider=self.ledger_name)
        return session

    async def get_verification(self, session: VerificationSession, result_code: str | None = None) -> Verification:
        """Look once at a session's outcome (``pending`` until the person finishes)."""
        request = self.adapter.build_get_verification(session, result_code=result_code)
        verification: Verification = await self._drive(
            self.adapter.parse_get_verification(await self._send(request, "verification"), session)
        )
        self.ledger.record_verification(self.ledger_name, session.id, verification)
        return verification

    async def wait_verified(self, session: VerificationSession, timeout: float | None = None) -> Verification:
        """Wait until the person verifies; raise if the link expires or the check fails."""
        limit = timeout if timeout is not None else max(session.seconds_left(), 0) + 30
        last: Verification = await wait_for(
            lambda: self.get_verification(session),
            is_terminal=lambda v: v.status in VERIFICATION_TERMINAL,
            interval=self.poll_interval,
            timeout=limit,
            what="the liveness check",
        )
        if last.status == "expired":
            raise VerificationExpiredError("The H5 link expired before the person finished: create a new session.")
        if last.status == "failed":
            raise VerificationRejectedError(
                f"The liveness check failed (resultCode {last.result_code}): ask the person to try again with a "
                f"new session, in good light, face fully visible.",
                result_code=last.result_code,
            )
        return last

    # -- assets ---------------------------------------------------------------------------

    async def upload_asset(
        self,
        group_id: str,
        source: str | os.PathLike[str],
        name: str | None = None,
        asset_type: str | None = None,
        person: str | None = None,
    ) -> Asset:
        """Upload one file (a path or an http(s) URL) into a group; the same bytes are never sent twice.

        A file already there (or being sent right now by another task or kernel sharing the ledger) is
        not sent again: its asset is returned. Nor is a file the provider already refused for itself
        (``FaceMismatch``, ``DurationTooShort`` …): that failed asset is returned. Only transient
        failures (``DownloadFailed`` …) are uploaded again. With ``person``, a group the ledger knows as
        someone else's is refused (``PersonMismatchError``).
        """
        group_id = _require_id(group_id, "group_id")
        text, is_url, sha, kind = self._identify(source, asset_type)
        label = name or f"{Path(text.split('?')[0]).stem[:40]}-{sha[:8]}"
        self.ledger.check_group(self.ledger_name, group_id, _person_name(person))
        self._record_unrecorded()
        owner, waited, looks = new_owner(), 0.0, 0
        while True:
            decision = claim(
                self.ledger, self.ledger_name, group_id, sha256=sha, source=text, asset_type=kind, name=label,
                owner=owner, now=self._clock(), can_list=self.adapter.can_list_assets,
            )  # fmt: skip
            row = decision.row
            if decision.verdict == "uploaded":
                assert row is not None
                return await self.get_asset(str(row["id"]))
            if decision.verdict == "refused":
                assert row is not None  # this very file was judged already: the answer would not change
                return Asset(
                    id=row["id"], group_id=group_id, status="failed", name=row["name"], asset_type=row["asset_type"],
                    error_code=row["error_code"], error_message=row["error_message"], source=row["source"],
                )  # fmt: skip
            if decision.verdict == "unresolved":
                raise self._unresolved(group_id, text)
            if decision.claim is not None:
                return await self._upload_claimed(decision.claim, group_id, text, is_url=is_url, kind=kind)
            if waited > _IN_FLIGHT_WAIT:  # in flight elsewhere, its owner alive and renewing its lease
                raise OutcomeUnknownError(
                    f"Another task or kernel has been uploading {text!r} to {group_id} for {waited:.0f} s and "
                    f"holds it still. Rerun the same call later: it will reuse that upload."
                )
            pause = min(0.05 * 2 ** min(looks, 5), 1.0)
            await self._sleep(pause)
            waited, looks = waited + pause, looks + 1

    def _identify(self, source: str | os.PathLike[str], asset_type: str | None) -> tuple[str, bool, str, str]:
        """Return (source text, is it a URL, sha256 of the bytes or the URL, asset type)."""
        if not isinstance(source, (str, os.PathLike)) or isinstance(source, bytes):
            raise InvalidArgumentError(f"source={source!r}: pass a file path or an http(s) URL.")
        text = os.fspath(source)
        if "\0" in text:
            raise InvalidArgumentError(f"source={text!r}: a path cannot contain a NUL character.")
        is_url = text.startswith(("http://", "https://"))
        if not is_url and not os.path.isfile(text):
            raise InvalidArgumentError(f"source={text!r}: no file there; pass an existing path or an http(s) URL.")
        if is_url:
            return text, True, hashlib.sha256(text.encode()).hexdigest(), asset_type or _guess_type(text)
        if asset_type:
            return text, False, _sha256(text), asset_type
        kind, sha = _probed(text)
        return text, False, sha, kind

    async def _upload_claimed(self, held: UploadClaim, group_id: str, text: str, *, is_url: bool, kind: str) -> Asset:
        """Send the create this task holds the claim for; record the answer, or leave the outcome marked unknown."""
        key, owner = held.key, held.owner
        sent = held.sends
        renewing = asyncio.create_task(self._renew(held))
        try:
            if held.may_exist:  # an earlier send's answer was lost: look before sending again
                listed = await self._listed_by_name(group_id, held.name, text)
                if listed:
                    return self._finish(key, owner, listed[0], kind)
            if not is_url and self.adapter.can_upload_file:  # the provider takes the file itself (Anyfast)
                request = self.adapter.build_upload_file(group_id, text, asset_type=kind, name=held.name)
            else:
                url = text if is_url else await self._stager.stage(text, self._http)
                request = self.adapter.build_upload(group_id=group_id, url=url, asset_type=kind, name=held.name)
            for attempt in range(_CREATE_ATTEMPTS):
                self.ledger.mark_sent(key, owner=owner)
                sent += 1
                try:
                    assets: list[Asset] = await self._drive(
                        self.adapter.parse_upload(
                            await self._send(request, "create_asset"), group_id=group_id, source=text
                        )
                    )
                    return self._finish(key, owner, assets[0], kind)
                except (ServerError, OutcomeUnknownError, MalformedResponseError) as exc:
                    # The create may or may not have happened (a 5xx, a lost or unreadable answer): where the
                    # provider lists assets, look for it by name before sending again; elsewhere only a
                    # person can tell (resolve_upload).
                    if not self.adapter.can_list_assets:
                        raise self._unresolved(group_id, text) from exc
                    listed = await self._listed_by_name(group_id, held.name, text)
                    if listed:
                        return self._finish(key, owner, listed[0], kind)
                    if attempt == _CREATE_ATTEMPTS - 1:
                        raise
                    await self._retry.pause(attempt)
            raise AssertionError("unreachable")  # pragma: no cover
        except ProviderError:
            if sent == 1:  # refused (a 4xx): the only create ever sent under this row made nothing
                self.ledger.drop_refused(key, owner=owner)
            raise
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            # Whatever happened (an error, a cancelled task): a row still ours is given up, never deleted
            # once something was sent under it; unsent, it is deleted so the next claim starts clean.
            # (A finished row is no longer ours: both are no-ops then.)
            with contextlib.suppress(LedgerError):  # a full disk already said so, with what to do
                if sent == 0:
                    self.ledger.abandon_upload(key, owner)
                else:
                    self.ledger.release_claim(key, owner=owner)

    async def _renew(self, held: UploadClaim) -> None:
        """Keep this task's lease on its claim alive while it works (a killed process stops renewing)."""
        while True:
            await asyncio.sleep(LEASE_SECONDS / 4)
            if not self.ledger.renew_claim(held.key, owner=held.owner, lease_until=self._clock() + LEASE_SECONDS):
                return

    def _finish(self, key: int, owner: str, asset: Asset, kind: str) -> Asset:
        # Some answers (Anyfast's) leave the type out: it is what was sent.
        asset = replace(asset, asset_type=asset.asset_type or kind)
        try:
            self.ledger.finish_upload(key, asset, owner=owner)
        except LedgerError as exc:
            # The asset exists upstream: keep it in memory, write it at the next chance, and say where it is.
            self._unrecorded.append((key, asset))
            raise LedgerError(
                f"{self.provider} created asset {asset.id} (group {asset.group_id}) but the ledger could not record "
                f"it ({exc}). The client keeps it in memory and records it with its next upload; if this kernel "
                f"ends first, free space and run: await client.resolve_upload({asset.group_id!r}, "
                f"{asset.source!r}, asset_id={asset.id!r})."
            ) from exc
        return asset

    def _record_unrecorded(self) -> None:
        """Write the answers a full disk kept out of the ledger, now that it may take them."""
        while self._unrecorded:
            key, asset = self._unrecorded[0]
            self.ledger.settle_upload(key, asset)
            self._unrecorded.pop(0)

    def _unresolved(self, group_id: str, source: str) -> OutcomeUnknownError:
        return OutcomeUnknownError(
            f"An upload of {source!r} to {group_id} was sent to {self.provider} and its answer was lost; "
            f"{self.provider} cannot list assets, so the client cannot check and will not send it again on its "
            f"own. Look in {self.provider}'s console. If the asset is there: await client.resolve_upload("
            f"{group_id!r}, {source!r}, asset_id='<its id>'). If it is not: await client.resolve_upload("
            f"{group_id!r}, {source!r}, asset_id=None), then upload again."
        )

    async def resolve_upload(
        self, group_id: str, source: str | os.PathLike[str], *, asset_id: str | None, asset_type: str | None = None
    ) -> Asset | None:
        """Settle an upload whose outcome is unknown: ``asset_id`` is the asset it made, ``None`` if it made none.

        Found in the provider's console, the asset is read and recorded (so it is reused, and erased with
        the person); declared lost, the file may be uploaded again. Returns the asset, or ``None``.
        """
        group_id = _require_id(group_id, "group_id")
        text, _, sha, _ = self._identify(source, asset_type)
        rows = [r for r in self.ledger.unsettled_uploads(self.ledger_name, group_id) if r["sha256"] == sha]
        if not rows:
            raise InvalidArgumentError(
                f"resolve_upload: no upload of {text!r} to {group_id} has an unknown outcome in the ledger; "
                f"nothing to settle."
            )
        asset = None
        if asset_id is not None:
            try:
                asset = await self.get_asset(_require_id(asset_id, "asset_id"))
            except UnsupportedOperationError as exc:
                raise InvalidArgumentError(
                    f"resolve_upload(asset_id={asset_id!r}): {self.provider} cannot read that id ({exc}). Pass the "
                    f"id its console shows for the upload (for APIMart, '<task_id>#<index>' of the review task)."
                ) from exc
            if asset.group_id and asset.group_id != group_id:
                raise InvalidArgumentError(
                    f"resolve_upload: asset {asset.id} is in group {asset.group_id}, not {group_id}."
                )
        for n, row in enumerate(rows):  # the newest row takes the asset; any older one made nothing
            if row["status"] == "sending" and (row["lease_until"] or 0) > self._clock():
                raise InvalidArgumentError(
                    f"resolve_upload: {text!r} is being uploaded to {group_id} right now by another task or kernel; "
                    f"wait for it to finish."
                )
            # APIMart's console id is the review handle: kept, it is how the asset is read later.
            handle = asset_id if asset is not None and asset.id != asset_id else None
            self.ledger.settle_upload(int(row["key"]), asset if n == len(rows) - 1 else None, handle=handle)
        return asset

    async def _listed_by_name(self, group_id: str, name: str, source: str) -> list[Asset]:
        """Return the group's assets called ``name``; a list that keeps failing leaves the outcome unknown."""
        for attempt in range(_CREATE_ATTEMPTS):
            try:
                return [a for a in await self.list_assets(group_id) if a.name == name]
            except (ServerError, TransportError, RateLimitError):
                await self._retry.pause(attempt)
        raise OutcomeUnknownError(
            f"The upload of {source!r} to {group_id} may have reached {self.provider}, and its asset list could not "
            f"be read to check. Rerun the same call later: the ledger remembers it and checks before sending again."
        )

    async def upload_assets(
        self,
        group_id: str,
        sources: Iterable[str | os.PathLike[str]] | pd.DataFrame,
        concurrency: int | None = None,
        person: str | None = None,
    ) -> list[Asset | BaseException]:
        """Upload many files with bounded concurrency; a failed item is returned as its error, never raised.

        ``sources`` may be paths, URLs, or a validation report (only its ``ok`` rows are uploaded). The
        same bytes listed twice (``IMG_1.jpg``, ``IMG_1 (1).jpg``) are one upload: both get its asset.
        """
        items = _upload_items(sources)
        if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
            raise InvalidArgumentError(f"concurrency={concurrency!r}: pass a positive whole number, or None for 8.")
        gate = asyncio.Semaphore(concurrency or 8)

        async def one(item: str) -> Asset | BaseException:
            async with gate:
                try:
                    return await self.upload_asset(group_id, item, person=person)
                except Exception as exc:
                    return exc

        return list(await asyncio.gather(*(one(i) for i in items)))

    async def get_asset(self, asset_id: str) -> Asset:
        """Look once at an asset."""
        asset_id = _require_id(asset_id, "asset_id")
        row = self.ledger.asset_row(self.ledger_name, asset_id)
        # APIMart reads an asset only through the review task it was uploaded in (its handle).
        lookup = row["handle"] if row and row.get("handle") and row["id"] == asset_id else asset_id
        asset: Asset = await self._drive(
            self.adapter.parse_get_asset(await self._send(self.adapter.build_get_asset(lookup), "read_asset"))
        )
        if row is not None:  # fill in what a provider's answer may leave out
            asset = replace(
                asset,
                group_id=asset.group_id or row["group_id"],
                name=asset.name or row["name"],
                asset_type=asset.asset_type or row["asset_type"],
                source=asset.source or row["source"],
            )
        if asset.id != lookup:
            self.ledger.resolve_asset(self.ledger_name, lookup, asset)
        else:
            self.ledger.update_asset(self.ledger_name, asset)
        return asset

    async def list_assets(self, group_id: str) -> list[Asset]:
        """Return every asset of a group (where the provider lists; else ``UnsupportedOperationError``)."""
        found: list[Asset] = []
        page = 1
        while True:
            response = await self._send(self.adapter.build_list_assets(group_id, page=page), "read_asset")
            items, more = self.adapter.parse_list_assets(response)
            found += items
            if not more or not items:
                return found
            page += 1

    async def refresh_assets(self, assets: Sequence[Asset]) -> list[Asset]:
        """Look once at every asset not yet terminal, batched: one list per group where the provider lists.

        Returns the assets in the same order; terminal ones are returned as given, without a request.
        """
        current = {a.id: a for a in assets}
        pending = [a for a in current.values() if a.status not in ASSET_TERMINAL]
        groups = {a.group_id for a in pending if a.group_id}
        if self.adapter.can_list_assets and groups:
            for group in groups:
                for asset in await self.list_assets(group):
                    old = current.get(asset.id)
                    if old is None:
                        continue
                    current[asset.id] = asset
                    if asset.status != old.status:  # a write per change, not per look
                        self.ledger.update_asset(self.ledger_name, asset)
        elif pending:
            gate = asyncio.Semaphore(16)

            async def look(asset: Asset) -> None:
                async with gate:
                    current[asset.id] = await self.get_asset(asset.id)

            await asyncio.gather(*(look(a) for a in pending))
        return [current[a.id] for a in assets]

    async def wait_active(self, assets: Sequence[Asset], timeout: float | None = None) -> list[Asset]:
        """Wait until every asset is terminal (active or failed); return them in the same order."""
        current = list(assets)
        listing = self.adapter.can_list_assets
        first = True

        async def refresh() -> list[Asset]:
            nonlocal first, current
            if first and all(a.status == "processing" for a in current):
                first = False  # just uploaded: nothing to learn yet, so the first look waits an interval
                return current
            first = False
            current = await self.refresh_assets(current)
            return current

        async for _ in iter_status(
            refresh,
            is_terminal=lambda c: all(a.status in ASSET_TERMINAL for a in c),
            interval=self.poll_interval,
            # A list costs one request per page, a look per asset one each: those back off further.
            max_interval=self.poll_interval if listing else self.poll_interval * 4,
            timeout=timeout if timeout is not None else 900.0,
            what="the assets to finish processing",
        ):
            pass
        return current

    async def delete_asset(self, asset_id: str) -> None:
        """Delete an asset upstream (where the provider allows) and forget it in the ledger."""
        asset_id = _require_id(asset_id, "asset_id")
        # Already gone (a retried delete whose first answer was lost) is the goal met, not an error.
        with contextlib.suppress(NotFoundError):
            self.adapter.check(await self._send(self.adapter.build_delete_asset(asset_id)))
        self.ledger.forget_asset(self.ledger_name, asset_id)

    async def erase_person(self, person: str) -> dict[str, Any]:
        """Delete ``person``'s assets and groups upstream where the provider allows, then purge the ledger.

        Where the provider lists a group's assets, every asset found there is deleted, including any
        the ledger does not know. Returns what was deleted and, for everything that could not be, why
        (for example a provider without a delete endpoint, or an upload whose outcome is unknown at a
        provider that cannot list: look in their console).
        """
        name = _person_name(person)
        assert name is not None
        asset_ids, group_ids = self.ledger.belongings(self.ledger_name, name)
        kept: list[tuple[str, str]] = []
        deleted_assets = deleted_groups = 0
        remaining = set(asset_ids)
        for group_id in group_ids:
            if self.adapter.can_delete_group:  # deleting a group deletes its assets with it
                with contextlib.suppress(NotFoundError):
                    self.adapter.check(await self._send(self.adapter.build_delete_group(group_id)))
                deleted_groups += 1
                remaining = {a for a in remaining if self._group_of(a) != group_id}
            elif self.adapter.can_list_assets:  # what is upstream, not only what the ledger remembers
                remaining |= {a.id for a in await self.list_assets(group_id)}
        for asset_id in sorted(remaining):
            if self.adapter.can_delete_asset:
                await self.delete_asset(asset_id)
                deleted_assets += 1
            else:
                kept.append((asset_id, f"{self.provider} cannot delete assets; delete it in its console"))
        for group_id in group_ids if not self.adapter.can_delete_group else ():
            kept.append((group_id, f"{self.provider} cannot delete asset groups; delete it in its console"))
        if not self.adapter.can_list_assets:
            for row in self.ledger.unsettled_uploads(self.ledger_name):
                if row["person"] == name:
                    kept.append((str(row["source"]), f"an upload to {row['group_id']} whose outcome is unknown: "
                                 f"look for it in {self.provider}'s console"))  # fmt: skip
        purged = self.ledger.erase_person(name)
        return {
            "deleted_assets": deleted_assets,
            "deleted_groups": deleted_groups,
            "not_deleted": kept,
            "ledger": purged,
        }

    def _group_of(self, asset_id: str) -> str | None:
        return (self.ledger.asset_row(self.ledger_name, asset_id) or {}).get("group_id")

    # -- generation -----------------------------------------------------------------------

    async def generate(
        self,
        prompt: str,
        references: Sequence[Asset | str] = (),
        model: str | None = None,
        duration: int = 5,
        ratio: str = "16:9",
        resolution: str = "720p",
        seed: int | None = None,
    ) -> GenerationJob:
        """Submit a Seedance 2.0 job; every referenced asset must be this account's and active."""
        checked = []
        for ref in references:
            asset_id = ref.id if isinstance(ref, Asset) else str(ref).removeprefix("asset://")
            asset = await self.get_asset(asset_id)
            if asset.status == "failed":
                raise AssetFailedError(
                    f"Asset {asset.id} failed ({asset.error_code}): it cannot be used; upload another file.",
                    error_code=asset.error_code,
                    asset=asset,
                )
            if asset.status != "active":
                raise InvalidRequestError(f"Asset {asset.id} is still {asset.status}: await client.wait_active first.")
            checked.append(asset)
        request = self.adapter.build_generate(
            prompt=prompt, references=checked, model=model, duration=duration, ratio=ratio, resolution=resolution,
            seed=seed,
        )  # fmt: skip
        job: GenerationJob = await self._drive(self.adapter.parse_generate(await self._send(request)))
        self.ledger.record_job(self.ledger_name, job, prompt=prompt)
        return job

    async def get_job(self, job: GenerationJob | str) -> GenerationJob:
        """Look once at a generation job."""
        job_id = job.id if isinstance(job, GenerationJob) else job
        found = self.adapter.parse_get_job(await self._send(self.adapter.build_get_job(job_id)))
        self.ledger.record_job(self.ledger_name, found)
        return found

    async def wait_job(self, job: GenerationJob | str, timeout: float | None = None) -> GenerationJob:
        """Wait until a job is terminal; raise ``JobFailedError`` unless it succeeded."""
        last: GenerationJob = await wait_for(
            lambda: self.get_job(job),
            is_terminal=lambda j: j.status in JOB_TERMINAL,
            interval=self.poll_interval,
            max_interval=max(self.poll_interval, 10.0),
            timeout=timeout if timeout is not None else 1800.0,
            what="the generation job",
        )
        if last.status != "succeeded":
            raise JobFailedError(
                f"Job {last.id} ended {last.status}: {last.error_code or ''} {last.error_message or ''}".strip(),
                job=last,
            )
        return last

    async def download(self, job: GenerationJob, path: str | os.PathLike[str]) -> Path:
        """Stream the job's video to ``path`` (folders created); return the path."""
        if not job.video_url:
            raise InvalidRequestError(f"Job {job.id} has no video yet ({job.status}): await client.wait_job first.")
        # Bounded by REALAVATAR_MAX_DOWNLOAD_BYTES and REALAVATAR_DOWNLOAD_DEADLINE; redirects are checked
        # hop by hop and no request carries the API key (the URL is the provider's answer, not its API).
        target = await download_to(
            self._http,
            job.video_url,
            path,
            max_bytes=self.settings.max_download_bytes,
            deadline=self.settings.download_deadline,
            what=f"Job {job.id}'s video",
        )
        self.ledger.record_job(self.ledger_name, job, path=str(target))
        return target


def _upload_items(sources: object) -> list[str]:
    """Return the paths or URLs to upload from a list of them or a validation report's ``ok`` rows."""
    if hasattr(sources, "columns"):
        report: Any = sources
        missing = [c for c in ("path", "ok") if c not in report.columns]
        if missing:
            raise InvalidArgumentError(
                f"upload_assets: the DataFrame has no {' or '.join(missing)} column; pass the report of "
                f"ra.validate_folder(...) (its ok rows are uploaded), or a list of paths."
            )
        return [str(p) for p in report.loc[report["ok"].astype(bool), "path"]]
    if isinstance(sources, (str, bytes, os.PathLike)):
        raise InvalidArgumentError(
            f"upload_assets(sources={os.fsdecode(sources)!r}): pass a list of paths or URLs, or a validation "
            f"report (ra.validate_folder(folder)); for one file use upload_asset."
        )
    if not isinstance(sources, Iterable):
        raise InvalidArgumentError(f"upload_assets(sources={sources!r}): pass a list of paths or URLs.")
    return [os.fspath(s) if isinstance(s, (str, os.PathLike)) else s for s in sources]


def _person_name(person: object) -> str | None:
    """Return a person's name as given, or ``None``; an empty or non-string name is refused."""
    if person is None:
        return None
    if not isinstance(person, str) or not person.strip():
        raise InvalidArgumentError(
            f"person={person!r}: pass the person's name as a non-empty string (it keys their consent and group), "
            f"or None."
        )
    return person


def _require_id(value: object, argument: str) -> str:
    """Return an id given as a non-empty string (an ``asset://`` prefix removed)."""
    if not isinstance(value, str) or not value.removeprefix("asset://").strip():
        raise InvalidArgumentError(f"{argument}={value!r}: pass the id the provider returned, a non-empty string.")
    return value.removeprefix("asset://")


def _guess_type(url: str) -> str:
    from .media.sniff import AUDIO_FORMATS, IMAGE_FORMATS, family_of_extension

    family = family_of_extension(url.split("?")[0].rsplit(".", 1)[-1]) or ""
    if family in IMAGE_FORMATS:
        return "Image"
    if family in AUDIO_FORMATS:
        return "Audio"
    if family:
        return "Video"
    raise ConfigurationError(
        f"Cannot tell what {url} holds from its name: pass asset_type='Image', 'Video' or 'Audio'."
    )
