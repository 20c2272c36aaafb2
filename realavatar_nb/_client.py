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
import logging
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from . import providers
from ._config import Secret, Settings
from ._exceptions import (
    AssetFailedError,
    ConfigurationError,
    ConsentRequiredError,
    InvalidRequestError,
    JobFailedError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    TransportError,
    VerificationExpiredError,
    VerificationRejectedError,
)
from ._ledger import Ledger
from ._models import Asset, Consent, GenerationJob, Verification, VerificationSession
from ._polling import iter_status, wait_for
from ._staging import NoStager, SandboxStager, Stager
from ._transport import STREAM, RateLimiter, RetryTransport
from ._types import ASSET_TERMINAL, ASSET_TRANSIENT_FAILURES, ASSET_TYPE_OF_KIND, JOB_TERMINAL, VERIFICATION_TERMINAL
from .providers.base import RETRY, Adapter, Next, Step

if TYPE_CHECKING:
    import pandas as pd

    from .simulator import RemoteSandbox, Sandbox

__all__ = ["AsyncClient"]

_CREATE_ATTEMPTS = 6  # sends of one upload, each after checking the list that the last did not land
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


class _MaskTokens(logging.Filter):
    """Masks byted tokens in httpx's request log lines (toapis and Crun carry them in the query)."""

    _pattern = re.compile(r"(?i)(byted_?token=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token" in message.lower():
            record.msg, record.args = self._pattern.sub(r"\1**********", message), ()
        return True


logging.getLogger("httpx").addFilter(_MaskTokens())


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
    ) -> None:
        self.settings = settings or Settings.from_env(provider=provider)
        self.provider = self.settings.provider
        self._sandbox: Sandbox | RemoteSandbox | None
        self._base_url: str | None
        if self.provider == "sandbox":
            self._sandbox = sandbox or shared_sandbox()
            self.dialect = dialect or os.environ.get("REALAVATAR_SANDBOX_DIALECT") or "toapis"
            self._base_url = base_url or self._sandbox.base_url(self.dialect)
            self._key: Secret | None = Secret(str(api_key or "sandbox-key"))
            self._stager: Stager = stager or SandboxStager(self._sandbox.url)
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
        self.poll_interval = poll_interval or self.settings.poll_interval or 3.0
        self._retry = RetryTransport(transport)
        # Upstream's published rates for real providers; the emulator limits only when told to.
        self.limits = RateLimiter(rates if rates is not None else ({} if self._sandbox is not None else None))
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
            ) from exc
        except httpx.HTTPError as exc:
            if request.extensions.get(RETRY):
                raise TransportError(f"{self.provider} did not answer after retries: {exc}. Try again later.") from exc
            raise OutcomeUnknownError(
                f"{self.provider} may or may not have done this ({request.method} {request.url.path}): the "
                f"connection failed after the request was sent ({type(exc).__name__}). Rerun the same call: "
                f"the client checks its ledger and the provider before sending anything again."
            ) from exc

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
        """Upload one file (a path or an http(s) URL) into a group; a file already there is not sent again.

        Nor is a file the provider already refused for itself (``FaceMismatch``, ``DurationTooShort`` …):
        that failed asset is returned. Only transient failures (``DownloadFailed`` …) are uploaded again.
        With ``person``, a group the ledger knows as someone else's is refused (``PersonMismatchError``).
        """
        text = os.fspath(source)
        is_url = text.startswith(("http://", "https://"))
        if not is_url and not os.path.isfile(text):
            raise InvalidRequestError(f"No file at {text!r}: pass an existing path or an http(s) URL.")
        if is_url:
            sha, kind = hashlib.sha256(text.encode()).hexdigest(), asset_type or _guess_type(text)
        elif asset_type:
            sha, kind = _sha256(text), asset_type
        else:
            kind, sha = _probed(text)
        label = name or f"{Path(text.split('?')[0]).stem[:40]}-{sha[:8]}"
        provider = self.ledger_name
        self.ledger.check_group(provider, group_id, person)
        existing = self.ledger.existing_upload(provider, group_id, sha)
        if existing is not None and existing["id"]:
            return await self.get_asset(existing["id"])
        failed = self.ledger.failed_upload(provider, group_id, sha) if existing is None else None
        if failed is not None and failed["id"] and failed["error_code"] not in ASSET_TRANSIENT_FAILURES:
            # This very file was judged already (FaceMismatch, too short …): the answer would not change.
            return Asset(
                id=failed["id"], group_id=group_id, status="failed", name=failed["name"],
                asset_type=failed["asset_type"], error_code=failed["error_code"],
                error_message=failed["error_message"], source=failed["source"],
            )  # fmt: skip
        if existing is not None:  # an earlier create's outcome is unknown: reconcile before resending
            found = await self._reconcile(group_id, existing)
            if found is not None:
                return found
            self.ledger.abandon_upload(existing["key"])
        key = self.ledger.begin_upload(provider, group_id, sha256=sha, source=text, asset_type=kind, name=label)
        try:
            if not is_url and self.adapter.can_upload_file:  # the provider takes the file itself (Anyfast)
                request = self.adapter.build_upload_file(group_id, text, asset_type=kind, name=label)
            else:
                url = text if is_url else await self._stager.stage(text, self._http)
                request = self.adapter.build_upload(group_id=group_id, url=url, asset_type=kind, name=label)
        except Exception:
            self.ledger.abandon_upload(key)  # nothing reached the provider
            raise
        for attempt in range(_CREATE_ATTEMPTS):
            try:
                assets: list[Asset] = await self._drive(
                    self.adapter.parse_upload(await self._send(request, "create_asset"), group_id=group_id, source=text)
                )
                break
            except (ServerError, OutcomeUnknownError):
                # The create may or may not have happened. Where the provider lists assets, look for it by
                # its name before sending it again; elsewhere the ledger row stays "sending" for a rerun.
                if not self.adapter.can_list_assets or attempt == _CREATE_ATTEMPTS - 1:
                    raise
                listed = await self._listed_by_name(group_id, label, text)
                if listed:
                    assets = listed
                    break
                await self._retry.pause(attempt)
        # Some answers (Anyfast's) leave the type out: it is what was sent.
        asset = replace(assets[0], asset_type=assets[0].asset_type or kind)
        self.ledger.finish_upload(key, asset)
        return asset

    async def _listed_by_name(self, group_id: str, name: str, source: str) -> list[Asset]:
        """Return the group's assets called ``name``; a list that keeps failing leaves the outcome unknown."""
        for attempt in range(_CREATE_ATTEMPTS):
            try:
                return [a for a in await self.list_assets(group_id) if a.name == name]
            except (ServerError, TransportError, RateLimitError):
                await self._retry.pause(attempt)
        raise OutcomeUnknownError(
            f"The upload of {source} to {group_id} may have reached {self.provider}, and its asset list could not "
            f"be read to check. Rerun the same call later: the ledger remembers it and checks before sending again."
        )

    async def _reconcile(self, group_id: str, intent: dict[str, Any]) -> Asset | None:
        if not self.adapter.can_list_assets:
            raise OutcomeUnknownError(
                f"An earlier upload of {intent['source']} to {group_id} may have reached {self.provider}, which "
                f"cannot list assets to check. Look in its console; to send it anyway, delete that ledger row "
                f"(ra.Ledger().forget_asset) and upload again."
            )
        for asset in await self.list_assets(group_id):
            if asset.name == intent["name"]:
                self.ledger.finish_upload(intent["key"], asset)
                return asset
        return None

    async def upload_assets(
        self,
        group_id: str,
        sources: Iterable[str | os.PathLike[str]] | pd.DataFrame,
        concurrency: int | None = None,
        person: str | None = None,
    ) -> list[Asset | BaseException]:
        """Upload many files with bounded concurrency; a failed item is returned as its error, never raised.

        ``sources`` may be paths, URLs, or a validation report (only its ``ok`` rows are uploaded).
        """
        if hasattr(sources, "columns"):
            report: Any = sources
            items = [str(p) for p in report.loc[report["ok"], "path"]]
        else:
            items = [os.fspath(s) for s in sources]
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
        # Already gone (a retried delete whose first answer was lost) is the goal met, not an error.
        with contextlib.suppress(NotFoundError):
            self.adapter.check(await self._send(self.adapter.build_delete_asset(asset_id)))
        self.ledger.forget_asset(self.ledger_name, asset_id)

    async def erase_person(self, person: str) -> dict[str, Any]:
        """Delete ``person``'s assets and groups upstream where the provider allows, then purge the ledger.

        Returns what was deleted and, for everything that could not be, why (for example a provider
        without a delete endpoint: delete it in their console).
        """
        asset_ids, group_ids = self.ledger.belongings(self.ledger_name, person)
        kept: list[tuple[str, str]] = []
        deleted_assets = deleted_groups = 0
        for group_id in group_ids:
            if self.adapter.can_delete_group:  # deleting a group deletes its assets with it
                with contextlib.suppress(NotFoundError):
                    self.adapter.check(await self._send(self.adapter.build_delete_group(group_id)))
                deleted_groups += 1
                asset_ids = [
                    a
                    for a in asset_ids
                    if (self.ledger.asset_row(self.ledger_name, a) or {}).get("group_id") != group_id
                ]
            else:
                kept.append((group_id, f"{self.provider} cannot delete asset groups; delete it in its console"))
        for asset_id in asset_ids:
            if self.adapter.can_delete_asset:
                await self.delete_asset(asset_id)
                deleted_assets += 1
            else:
                kept.append((asset_id, f"{self.provider} cannot delete assets; delete it in its console"))
        purged = self.ledger.erase_person(person)
        return {
            "deleted_assets": deleted_assets,
            "deleted_groups": deleted_groups,
            "not_deleted": kept,
            "ledger": purged,
        }

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
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        request = self._http.build_request("GET", job.video_url)
        request.extensions[RETRY] = True
        request.extensions[STREAM] = True
        response = await self._http.send(request, stream=True)
        try:
            if response.status_code != 200:
                raise TransportError(f"Downloading {job.id}'s video failed: HTTP {response.status_code}.")
            with open(partial, "wb") as fh:
                async for chunk in response.aiter_bytes():
                    fh.write(chunk)
        finally:
            await response.aclose()
        os.replace(partial, target)
        self.ledger.record_job(self.ledger_name, job, path=str(target))
        return target


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
