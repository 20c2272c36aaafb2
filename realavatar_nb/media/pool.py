"""One way to run a batch's per-file work: inline, on threads of our own, or on the caller's executor.

``validate_folder`` and ``fix`` both hand their work here. Progress is updated from the calling
thread only (the kernel's, in a notebook), and a task the executor loses (a dead worker process)
costs its own result, never the batch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

from .progress import Progress

__all__ = ["run_each"]

R = TypeVar("R")


def run_each(
    task: Callable[..., R],
    calls: Sequence[tuple[Any, ...]],
    *,
    lost: Callable[[int, Exception], R],
    bar: Progress,
    executor: Executor | None = None,
    workers: int | None = None,
    thread_name: str = "ra-batch",
    done: int = 0,
) -> list[R]:
    """Return ``task(*call)`` for every call, in the order of ``calls``.

    ``executor`` is any ``concurrent.futures.Executor`` (``task`` and its arguments must then be
    picklable for a process pool); without one, ``workers`` threads (default: the machine's cores;
    ``1`` runs inline). ``lost(index, exc)`` stands in for a result whose future raised. ``bar``
    counts on from ``done`` (work finished before this call).
    """
    if executor is None and (workers or os.cpu_count() or 1) <= 1:
        results = []
        for n, args in enumerate(calls, start=1):
            results.append(task(*args))
            bar.update(done + n)
        return results
    slots: list[Any] = [None] * len(calls)
    pool = executor or ThreadPoolExecutor(max_workers=workers or os.cpu_count(), thread_name_prefix=thread_name)
    try:
        futures: dict[Future[R], int] = {pool.submit(task, *args): n for n, args in enumerate(calls)}
        for finished, future in enumerate(as_completed(futures), start=done + 1):
            n = futures[future]
            try:
                slots[n] = future.result()
            except Exception as exc:  # the executor lost the task (a dead worker process, a lost thread)
                slots[n] = lost(n, exc)
            bar.update(finished)
    finally:
        if executor is None:  # ours: an interrupted batch leaves no queued work behind
            pool.shutdown(wait=False, cancel_futures=True)
    return slots
