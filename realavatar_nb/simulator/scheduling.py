"""A thread pool shared fairly between accounts: ``FairPool``.

Downloads of asset URLs run here. Any non-empty key is an account, and a URL can be slow on
purpose, so no account may take more than ``per_key`` threads at once: its other jobs wait in
its own queue, in order, and a slow account delays only itself.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["FairPool"]

T = TypeVar("T")
_Job = tuple["Future[Any]", Callable[[], Any]]


class FairPool:
    """Runs jobs on ``workers`` threads, at most ``per_key`` of one key at a time."""

    def __init__(self, workers: int, per_key: int, *, name: str = "sandbox-fair") -> None:
        if workers < 1 or per_key < 1:
            raise ValueError("workers and per_key must be at least 1.")
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._per_key = per_key
        self._lock = threading.Lock()
        self._running: Counter[str] = Counter()
        self._waiting: dict[str, deque[_Job]] = {}
        self._closed = False

    def submit(self, key: str, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Queue ``fn(*args)`` for ``key``; return a future of its result."""
        outer: Future[T] = Future()
        job: _Job = (outer, functools.partial(fn, *args))
        with self._lock:
            if self._closed:
                raise RuntimeError("The pool is shut down.")
            if self._running[key] >= self._per_key:
                self._waiting.setdefault(key, deque()).append(job)
                return outer
            self._running[key] += 1
        self._start(key, job)
        return outer

    def running(self, key: str) -> int:
        """Return how many of ``key``'s jobs hold a thread now."""
        with self._lock:
            return self._running[key]

    def _start(self, key: str, job: _Job | None) -> None:
        while job is not None:
            outer, call = job
            if not outer.cancelled():
                try:
                    inner = self._pool.submit(call)
                except RuntimeError:  # shut down meanwhile
                    outer.cancel()
                else:
                    inner.add_done_callback(functools.partial(self._finish, key, outer))
                    return
            job = self._next(key)  # the slot this job would have used goes to the key's next one

    def _finish(self, key: str, outer: Future[Any], inner: Future[Any]) -> None:
        if inner.cancelled():
            outer.cancel()
        elif not outer.cancelled():
            error = inner.exception()
            if error is not None:
                outer.set_exception(error)
            else:
                outer.set_result(inner.result())
        self._start(key, self._next(key))

    def _next(self, key: str) -> _Job | None:
        """Hand ``key``'s slot to its next waiting job, or free it."""
        with self._lock:
            queue = self._waiting.get(key)
            if queue and not self._closed:
                job = queue.popleft()
                if not queue:
                    del self._waiting[key]
                return job
            self._running[key] -= 1
            if self._running[key] <= 0:
                del self._running[key]
            return None

    def shutdown(self) -> None:
        """Stop taking jobs; cancel the waiting ones and those not started (running ones finish)."""
        with self._lock:
            self._closed = True
            waiting = [outer for queue in self._waiting.values() for outer, _ in queue]
            self._waiting.clear()
        for outer in waiting:
            outer.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
