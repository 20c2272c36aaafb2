"""What an account may do, and how often: asset slots, CreateAsset writes a minute, list calls a second.

The limits an account really hits (reference/field-notes.md, "Account limits that users hit"; one
production client's reports, not confirmed with a live refusal): about 50 asset slots at the entry
tier, CreateAsset about 3 a minute answering ``QuotaWriteQPMExceeded``, List* calls answering
``AccountFlowLimitExceeded`` (upstream documents ListAssets at 10 QPS, reference/upstream.md §3.10).
Each is a ``SimConfig`` setting (``asset_slots``, ``write_qpm``, ``list_qps``), off (None) by default.

Rates are counted in a sliding window on the state's clock: a request is admitted when fewer than
N were admitted in the window's length before it, so "3 a minute" holds for every minute a client
could pick, and a refusal's ``Retry-After`` is the time until the oldest admitted request leaves
the window (waiting that long is enough). A refused request takes no place in the window
(inferred: upstream's counting is not documented). Windows live in memory: a restarted emulator
starts them empty.

The lists limited are ListAssets and ListAssetGroups (upstream's, Anyfast's) and EasyRouter's asset
list; toapis, Crun and APIMart list nothing, and Ark's task list is the data plane's, not limited here.
Every refusal is counted by account and code, the blanket ``rate_limit``'s as ``RateLimitExceeded``;
``State.stats()`` (``/_sandbox/stats``) shows them as ``refusals[<account label>][<code>]``.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Final

from .records import SimConfig, SimError

__all__ = ["LIST_CODE", "QUOTA_CODE", "RATE_CODE", "WRITE_CODE", "AccountLimits", "SlidingWindow"]

# inferred: upstream's code for a full asset library is not documented; §3.13 lists QuotaExceeded, and
# the suffix names what is full. HTTP 400, not 429: waiting frees no slot, deleting an asset does, and
# a client's transport retries a 429 with backoff.
QUOTA_CODE: Final = "QuotaExceeded.AssetCount"
WRITE_CODE: Final = "QuotaWriteQPMExceeded"  # reported (field-notes), HTTP 429
LIST_CODE: Final = "AccountFlowLimitExceeded"  # reported (field-notes), HTTP 429
RATE_CODE: Final = "RateLimitExceeded"  # the emulator's blanket ``rate_limit`` (reference/upstream.md §3.13)


class SlidingWindow:
    """At most ``limit`` admissions per key in any ``seconds``-long stretch of time."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._times: dict[str, deque[float]] = {}

    def wait(self, key: str, now: float, n: int = 1) -> float:
        """Return the seconds until ``n`` more fit (0: they fit now); ``inf`` when ``n`` never fits."""
        if n > self.limit:
            return float("inf")
        times = self._times.setdefault(key, deque())
        while times and times[0] <= now - self.seconds:
            times.popleft()
        over = len(times) + n - self.limit
        return 0.0 if over <= 0 else times[over - 1] + self.seconds - now

    def take(self, key: str, now: float, n: int = 1) -> None:
        """Record ``n`` admissions at ``now`` (after ``wait`` said they fit)."""
        self._times.setdefault(key, deque()).extend([now] * n)


class AccountLimits:
    """The configured limits of every account, and the refusals they made, by account and code."""

    def __init__(self, config: SimConfig) -> None:
        self.slots = _setting("asset_slots", config.asset_slots, least=0)
        qpm = _setting("write_qpm", config.write_qpm, least=1)
        qps = _setting("list_qps", config.list_qps, least=1)
        self.writes = SlidingWindow(qpm, 60.0) if qpm is not None else None
        self.lists = SlidingWindow(qps, 1.0) if qps is not None else None
        self.refused: Counter[tuple[str, str]] = Counter()

    def admit_assets(self, account: str, now: float, *, held: int, n: int = 1) -> None:
        """Take ``n`` CreateAsset writes for ``account``, holding ``held`` assets, or refuse them all."""
        if self.writes is not None:
            wait = self.writes.wait(account, now, n)
            if wait == float("inf"):
                message = f"{n} assets at once exceed the account's CreateAsset limit of {self.writes.limit} a minute."
                raise self.refuse(account, SimError("rate_limited", message, code=WRITE_CODE))
            if wait > 0:
                message = f"CreateAsset is limited to {self.writes.limit} a minute per account; retry in {wait:.0f} s."
                raise self.refuse(account, SimError("rate_limited", message, retry_after=wait, code=WRITE_CODE))
        if self.slots is not None and held + n > self.slots:
            message = (
                f"The account holds {held} of its {self.slots} assets; delete assets (failed ones count too) "
                "before creating more."
            )
            raise self.refuse(account, SimError("quota", message, code=QUOTA_CODE))
        if self.writes is not None:
            self.writes.take(account, now, n)

    def admit_list(self, account: str, now: float) -> None:
        """Take one list call for ``account``, or refuse it."""
        if self.lists is None:
            return
        wait = self.lists.wait(account, now)
        if wait > 0:
            message = f"List calls are limited to {self.lists.limit} a second per account; retry in {wait:.2f} s."
            raise self.refuse(account, SimError("rate_limited", message, retry_after=wait, code=LIST_CODE))
        self.lists.take(account, now)

    def refuse(self, account: str, error: SimError, *, code: str | None = None) -> SimError:
        """Count ``error`` against ``account`` under ``code`` (else its own code, else its kind); return it."""
        self.refused[(account, code or error.code or error.kind)] += 1
        return error


def _setting(name: str, value: int | None, *, least: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"SimConfig.{name} must be a whole number of at least {least}, or None; got {value!r}.")
    return value
