"""Run the emulator on a free loopback port in a background thread: ``Sandbox``.

    with Sandbox(autopilot=3) as sb:
        sb.base_url("crun")    # http://127.0.0.1:<port>/crun
        sb.url                 # the emulator's root: /_sandbox/stats, /h5/…, /files

A ``Sandbox`` can be started and stopped again (a notebook's cells reuse one), and its state
survives a stop/start of the same object.

``sb.access_key("byteplus")`` mints an upstream access key pair (with the Ark API key of the same
account) for the emulator's own BytePlus / Volcengine API at ``sb.url`` (``dialects.ark``).

``sb.admin_token`` (random unless ``admin_token=`` is given) is what ``POST /_sandbox/reset``
needs in its ``X-Sandbox-Admin`` header; ``sb.reset()`` does the same in-process. Asset URLs
are downloaded only from public addresses and the emulator's own origin; ``fetch_hosts=("127.0.0.1:9000",)``
lets it fetch from a local media server too (``downloads``).

An account's limits are keyword settings too, each off (None) unless given: ``asset_slots=50`` (the
assets an account may hold, failed ones included: 400 ``QuotaExceeded.AssetCount``), ``write_qpm=3``
(CreateAsset calls in any minute: 429 ``QuotaWriteQPMExceeded`` with ``Retry-After``), ``list_qps=10``
(list calls in any second: 429 ``AccountFlowLimitExceeded``); ``limits`` says more. ``clock=`` replaces
the emulator's time (epoch seconds), so tests move it instead of sleeping.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Unpack

from .._exceptions import ConfigurationError
from .._types import PROVIDERS
from .state import SimConfig, State
from .upstream_keys import KeyOptions, UpstreamKey, keyed_account

__all__ = ["Sandbox"]


class Sandbox:
    """The emulator, served by uvicorn on ``host`` (loopback) at ``port`` (0: a free one)."""

    def __init__(
        self,
        autopilot: float | None = None,
        processing_seconds: float = 3.0,
        link_ttl: float = 120.0,
        faults: Any = None,
        seed: int = 0,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        admin_token: str | None = None,
        clock: Callable[[], float] = time.time,
        **settings: Any,
    ) -> None:
        from .app import create_app

        self.config = SimConfig(
            autopilot=autopilot, processing_seconds=processing_seconds, link_ttl=link_ttl, seed=seed, **settings
        )
        middleware = []
        if faults is not None:
            from .faults import fault_middleware

            middleware.append(fault_middleware(faults, seed=seed))
        self.app = create_app(self.config, clock=clock, middleware=middleware, admin_token=admin_token)
        self.host = host
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def state(self) -> State:
        """The emulator's backend (sessions, groups, assets, jobs)."""
        state: State = self.app.state.sim
        return state

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def admin_token(self) -> str:
        """The secret ``POST /_sandbox/reset`` needs in its ``X-Sandbox-Admin`` header."""
        token: str = self.app.state.admin_token
        return token

    def reset(self) -> None:
        """Forget every account and everything created, and restart injected faults' sequences."""
        self.app.state.reset()

    def access_key(self, cloud: str, *, account_key: str | None = None, **options: Unpack[KeyOptions]) -> UpstreamKey:
        """Return a new access key for the emulator's ``cloud`` ("byteplus" or "volcengine") API.

        ``options`` are ``KeyRing.mint``'s: ``project`` (``"default"``); ``denied`` lists IAM actions the
        key lacks (``"ark:CreateAsset"``); ``subscribed=False`` is an account whose asset library is not
        activated; keys minted with the same ``account`` label, or the same secret ``account_key``, share
        one account (else each key is its own). Its ``api_key`` is Ark's Bearer key of that account.
        """
        options["account"] = options.get("account") or keyed_account(account_key)
        return self.state.keys.mint(cloud, **options)

    @property
    def url(self) -> str:
        """The emulator's root URL (started on first use)."""
        if not self.running:
            self.start()
        return f"http://{self.host}:{self._port}"

    def base_url(self, provider: str) -> str:
        """Return the root of ``provider``'s dialect, e.g. ``http://127.0.0.1:8765/crun``."""
        if provider not in PROVIDERS:
            raise ConfigurationError(f"Unknown provider {provider!r}; the emulator speaks {', '.join(PROVIDERS)}.")
        return f"{self.url}/{provider}"

    def start(self, timeout: float = 10.0) -> Sandbox:
        """Serve the app in a background thread; return once it accepts connections."""
        if self.running:
            return self
        import uvicorn

        # IPPROTO_TCP, not 0: asyncio turns Nagle off only on sockets that say they are TCP, and
        # without that every keep-alive answer waits ~40 ms for the client's delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._port))
        self._port = sock.getsockname()[1]
        self._socket = sock
        self._allow_own_origin()
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="realavatar-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"The sandbox did not start on {self.host}:{self._port}.")
            time.sleep(0.01)
        return self

    def _allow_own_origin(self) -> None:
        # The emulator's own URLs (a generated video given back as an asset) are no private address
        # to it; on loopback or a wildcard bind, the names a local client would write are its own too.
        downloader = self.app.state.files.downloader
        names = {self.host}
        try:
            local = ipaddress.ip_address(self.host)
            if local.is_loopback or local.is_unspecified:
                names |= {"127.0.0.1", "localhost", "::1"}
        except ValueError:
            pass
        for name in names:
            downloader.allow(name, self._port)

    def stop(self) -> None:
        """Stop serving (state is kept; ``start()`` serves it again on the same port)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def close(self) -> None:
        """Stop serving and the background workers, and remove the files the emulator kept."""
        self.stop()
        self.state.close()
        if self.app.state.owns_workdir:
            shutil.rmtree(self.app.state.workdir, ignore_errors=True)

    def stats(self) -> dict[str, Any]:
        """Return what each account created (``/_sandbox/stats``)."""
        return self.state.stats()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f"{self.host}:{self._port}" if self.running else "stopped"
        cfg = self.config
        return f"Sandbox({where}, autopilot={cfg.autopilot}, processing_seconds={cfg.processing_seconds})"


class RemoteSandbox:
    """An emulator already serving elsewhere (``realavatar-nb sandbox``), reached by its root URL.

    ``REALAVATAR_SANDBOX_URL=http://127.0.0.1:8765`` makes ``ra.AsyncClient("sandbox")`` use it instead
    of starting its own: several kernels (or reruns of a notebook) then share one emulator's state.
    """

    running = True

    def __init__(self, url: str, admin_token: str | None = None) -> None:
        self._url = url.rstrip("/")
        # The CLI prints the token it drew; REALAVATAR_SANDBOX_ADMIN_TOKEN hands it to every kernel.
        self._admin = admin_token or os.environ.get("REALAVATAR_SANDBOX_ADMIN_TOKEN") or None

    @property
    def url(self) -> str:
        return self._url

    def base_url(self, provider: str) -> str:
        """Return the root of ``provider``'s dialect on the remote emulator."""
        if provider not in PROVIDERS:
            raise ConfigurationError(f"Unknown provider {provider!r}; the emulator speaks {', '.join(PROVIDERS)}.")
        return f"{self._url}/{provider}"

    def stats(self) -> dict[str, Any]:
        """Return what each account created (``/_sandbox/stats``)."""
        import httpx

        stats: dict[str, Any] = httpx.get(f"{self._url}/_sandbox/stats", timeout=10).json()
        return stats

    def access_key(self, cloud: str, *, account_key: str | None = None, **options: Unpack[KeyOptions]) -> UpstreamKey:
        """Return a new access key minted by the remote emulator (``POST /_sandbox/access-keys``).

        ``options`` are ``Sandbox.access_key``'s. A plain ``account`` label needs the admin token; a
        secret ``account_key`` does not.
        """
        import httpx

        from .app import ADMIN_HEADER

        if options.get("account") is not None and not self._admin:
            raise ConfigurationError(
                "Minting a key into a labelled account on a running emulator needs its admin token: pass "
                "admin_token= or set REALAVATAR_SANDBOX_ADMIN_TOKEN (realavatar-nb sandbox prints it when it "
                "starts), or name the account by a secret with account_key=."
            )
        # What is left out, the emulator reads as KeyRing.mint's defaults.
        spec = {**options, "cloud": cloud, "denied": list(options.get("denied", ())), "account_key": account_key}
        headers = {ADMIN_HEADER: self._admin} if self._admin else {}
        response = httpx.post(f"{self._url}/_sandbox/access-keys", json=spec, headers=headers, timeout=10)
        if response.status_code != 200:
            raise ConfigurationError(f"The emulator refused to mint a key ({response.status_code}): {response.text}")
        data = response.json()
        return UpstreamKey(cloud=cloud, region=data["Region"], access_key_id=data["AccessKeyId"],
                           secret_access_key=data["SecretAccessKey"], api_key=data["ApiKey"],
                           project=data["Project"])  # fmt: skip

    def reset(self) -> None:
        """Forget every account on the remote emulator (needs its admin token)."""
        import httpx

        from .app import ADMIN_HEADER

        if not self._admin:
            raise ConfigurationError(
                "Resetting a running emulator needs its admin token: pass admin_token= or set "
                "REALAVATAR_SANDBOX_ADMIN_TOKEN (realavatar-nb sandbox prints it when it starts)."
            )
        response = httpx.post(f"{self._url}/_sandbox/reset", headers={ADMIN_HEADER: self._admin}, timeout=10)
        if response.status_code != 200:
            raise ConfigurationError(f"The emulator refused the reset ({response.status_code}): check the admin token.")

    def __repr__(self) -> str:
        return f"RemoteSandbox({self._url})"
