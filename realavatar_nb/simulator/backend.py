"""What every part of the emulator's state shares: its tables, its lock, its store, and accounts.

``Backend`` holds the tables of sessions, groups, assets, jobs and tasks behind one lock, writes
them through to the optional ``Store``, counts what each account created, and turns an API key
into an account (a fingerprint of the key, never the key itself). The domains over it are
``sessions``, ``assets`` and ``jobs``; ``state.State`` is all of them together.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from .._config import fingerprint
from .ids import IdFactory
from .judging import Check, Fetch, Judge
from .limits import RATE_CODE, AccountLimits
from .records import Asset, Group, Job, Session, SimConfig, SimError, Task
from .store import Store, load_entities

__all__ = ["Backend", "Render", "account_label", "account_of"]

Render = Callable[[Job, list[str]], str]  # (job, reference file paths) -> mp4 path


class _Owned(Protocol):
    account: str


_T = TypeVar("_T", bound=_Owned)


class Backend:
    """The emulator's tables behind one lock, their persistence, and the accounts that own them."""

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        fetch: Fetch | None = None,
        check: Check | None = None,
        render: Render | None = None,
    ) -> None:
        self.config = config or SimConfig()
        self.clock = clock
        self.ids = IdFactory(self.config.seed)
        self._fetch = fetch
        self._render = render
        self._lock = threading.RLock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sandbox-work")
        per_account = self.config.downloads_per_account
        self._judge = Judge(fetch, check, self._pool, profile=self.config.profile, per_account=per_account)
        self._store: Store | None = None
        self.reset()
        if self.config.persist:
            self._store = Store(self.config.persist)
            self._load(self._store)

    # -- bookkeeping -----------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every account and everything created."""
        with getattr(self, "_lock", threading.RLock()):
            self.sessions: dict[str, Session] = {}
            self.groups: dict[str, Group] = {}
            self.assets: dict[str, Asset] = {}
            self.jobs: dict[str, Job] = {}
            self.tasks: dict[str, Task] = {}
            self.accounts: set[str] = set()
            self._buckets: dict[str, tuple[float, float]] = {}
            self.created: Counter[tuple[str, str]] = Counter()
            self.sources: Counter[tuple[str, str, str]] = Counter()
            self.limits = AccountLimits(self.config)
            if getattr(self, "_store", None) is not None:
                self._store.clear()  # type: ignore[union-attr]

    def close(self) -> None:
        """Stop the worker threads (pending work is abandoned) and close the store."""
        self._judge.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._store is not None:
            self._store.close()
            self._store = None

    def _owned(self, table: dict[str, _T], account: str, key: str, message: str, field: str) -> _T:
        """Return ``table[key]`` when ``account`` owns it; another account's is as not found (no oracle)."""
        entity = table.get(key)
        if entity is None or entity.account != account:
            raise SimError("not_found", message, field=field)
        return entity

    # -- persistence -----------------------------------------------------------------------

    def _save(self, kind: str, entity: Any) -> None:
        if self._store is None:
            return
        body = {k: v for k, v in vars(entity).items() if k not in ("verdict", "render")}
        if kind == "job":
            body["references"] = list(body["references"])
        self._store.put(kind, body.get("id") or body["token"], body)

    def _forget(self, kind: str, key: str) -> None:
        if self._store is not None:
            self._store.delete(kind, key)

    def _load(self, store: Store) -> None:
        self.sessions, self.groups, self.assets, self.jobs, self.tasks = load_entities(store)
        for owned in (self.sessions, self.groups, self.assets, self.jobs):
            self.accounts.update(entity.account for entity in owned.values())

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until every queued check and render has finished (for tests and benchmarks)."""
        with self._lock:
            pending: list[Future[Any]] = [a.verdict for a in self.assets.values() if a.verdict is not None]
            pending += [j.render for j in self.jobs.values() if j.render is not None]
        for future in pending:
            future.exception(timeout=timeout)

    def _count(self, account: str, kind: str) -> None:
        self.created[(account, kind)] += 1

    def stats(self) -> dict[str, Any]:
        """Return what each account created, and any file uploaded twice into one group.

        Once an account limit refused anything, ``refusals`` counts the refusals by account and
        upstream's code: ``{"refusals": {"<account label>": {"QuotaWriteQPMExceeded": 2}}}``.
        """
        with self._lock:
            accounts: dict[str, dict[str, int]] = {}
            for (account, kind), n in self.created.items():
                accounts.setdefault(account_label(account), {})[kind] = n
            duplicates = [
                {"account": account_label(a), "group_id": g, "sha256": s, "count": n}
                for (a, g, s), n in self.sources.items()
                if n > 1
            ]
            answer: dict[str, Any] = {"accounts": accounts, "duplicates": duplicates}
            refusals: dict[str, dict[str, int]] = {}
            for (account, code), n in self.limits.refused.items():
                refusals.setdefault(account_label(account), {})[code] = n
            if refusals:  # absent until something is refused, so a quiet emulator's stats read as before
                answer["refusals"] = refusals
            return answer

    # -- accounts --------------------------------------------------------------------------

    def account(self, key: str | None, provider: str = "") -> str:
        """Return the account for an API key at ``provider`` (created on first use), or refuse it.

        Each provider is its own service: the same key at two providers is two accounts.
        """
        self.authenticate(key)
        return self.admit(account_of(str(key), provider))

    def admit(self, account: str) -> str:
        """Return ``account`` once its request is within the rate limit; for accounts authenticated elsewhere.

        The upstream dialects (``dialects.ark``) authenticate signed keys the emulator minted itself.
        """
        with self._lock:
            self.accounts.add(account)
            self._admit(account)
        return account

    def admit_list(self, account: str) -> None:
        """Refuse a list call over the account's ``list_qps`` (429 ``AccountFlowLimitExceeded``)."""
        with self._lock:
            self.limits.admit_list(account, self.clock())

    def authenticate(self, key: str | None) -> None:
        """Refuse a key that is no account (``SimError`` unauthorized); any non-empty key is one by default."""
        if not key or not key.strip():
            raise SimError("unauthorized", "Missing API key.")
        if self.config.api_keys is not None and key not in self.config.api_keys:
            raise SimError("unauthorized", "Invalid API key.")

    def _admit(self, account: str) -> None:
        # A token bucket per account holding one second's worth of requests.
        rate = self.config.rate_limit
        if not rate:
            return
        now = self.clock()
        tokens, last = self._buckets.get(account, (rate, now))
        tokens = min(rate, tokens + (now - last) * rate)
        if tokens < 1:
            self._buckets[account] = (tokens, now)
            wait = max((1 - tokens) / rate, 0.001)
            error = SimError("rate_limited", "Too many requests; slow down.", retry_after=wait)
            raise self.limits.refuse(account, error, code=RATE_CODE)
        self._buckets[account] = (tokens - 1, now)


def account_of(key: str, provider: str = "") -> str:
    """Return the account an API key is at ``provider``: ``<provider>:<fingerprint of the key>``."""
    return f"{provider}:{fingerprint(key)}" if provider else fingerprint(key)


def account_label(account: str) -> str:
    """Return a stable, non-secret name for an account (stats never show keys); ``account_of`` makes accounts."""
    provider, _, _ = account.rpartition(":")
    digest = hashlib.sha256(("realavatar-sandbox:" + account).encode()).hexdigest()[:10]
    return f"{provider or 'account'}-{digest}"
