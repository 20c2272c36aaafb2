"""Where face scans run: the caller's executor, worker processes of our own, or the calling process.

``scan_all`` is what ``detect.scan_many`` does. A scan costs about 0.3 s of CPU and dlib's
descriptor holds the GIL, so files are spread over processes: the ``executor`` the caller passes
(a ``dask.distributed`` client's ``get_executor()`` spreads them over a cluster), else a pool of
spawned processes kept for later calls. A face check that cannot run must never read as a pass:

* a pool whose workers cannot start (a script whose ``__main__`` they cannot import, a sandbox
  that forbids processes) is given up for the session, and files are scanned here in turn;
* an executor that loses a file (a dead worker, a cancelled task, workers without the ``faces``
  extra) hands it back, and it is scanned here;
* a worker that dies part-way (a crash, out of memory) is replaced and its files are tried again
  once, in fresh workers: a file that kills a worker twice would kill the notebook's kernel too,
  so it is never scanned in the calling process; its result says so instead.

Files are handed out costliest first (videos, then larger files), so the long scans start early and
the workers finish together; results still come back in the caller's order. Each task carries the
file's size and modification time, so an executor that reuses results for equal arguments (a Dask
client's default, ``pure=True``) scans a file again once it has changed.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from typing import Final

from ..._display import printable
from ..._exceptions import MediaError
from ..sniff import AV_FORMATS, family_of_extension
from . import detect
from .detect import FaceScan, FacesUnavailableError, scan

__all__ = ["FaceWorkersWarning", "scan_all", "workers_unavailable"]

START_TIMEOUT_S: Final = 120.0  # spawning a worker and loading its models takes 1–25 s on a busy 2-core box

Result = FaceScan | Exception


class FaceWorkersWarning(RuntimeWarning):
    """Face workers could not start: faces are scanned in the calling process, one file at a time."""


_pools: dict[int, ProcessPoolExecutor] = {}
_pools_lock = threading.Lock()
_cannot_start: list[str] = []  # why worker processes cannot start here; once known, they are not tried again


def workers_unavailable() -> str | None:
    """Return why face worker processes cannot start in this process, or ``None`` when they can (or untried)."""
    return _cannot_start[0] if _cannot_start else None


def _warm_worker() -> None:
    # A kernel's interrupt or shutdown signals its whole process group: the pool's owner decides when
    # workers end, so an idle worker must not die printing a KeyboardInterrupt traceback into the notebook.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Pay the model load while the pool starts, not on the first file; scan reports any failure itself.
    with suppress(Exception), detect._borrowed():
        pass


def _pool(workers: int, broken: ProcessPoolExecutor | None = None) -> tuple[ProcessPoolExecutor, bool]:
    """Return a pool of ``workers`` processes kept for later calls (never ``broken``), and whether it is new."""
    with _pools_lock:
        pool = _pools.get(workers)
        if pool is not None and pool is not broken:
            return pool, False
        # spawn, not fork: a notebook kernel runs threads, and a forked child inherits their locks.
        context = multiprocessing.get_context("spawn")
        pool = _pools[workers] = ProcessPoolExecutor(workers, mp_context=context, initializer=_warm_worker)
        return pool, True


def _started(pool: ProcessPoolExecutor) -> str | None:
    """Return why a new pool's workers did not start, or ``None`` once one of them answers."""
    try:
        pool.submit(os.getpid).result(timeout=START_TIMEOUT_S)
    except BrokenProcessPool:
        return "the face worker processes exited as they started (a script they cannot import as __main__?)"
    except TimeoutError:
        return f"no face worker process answered within {START_TIMEOUT_S:g} s"
    except (OSError, RuntimeError) as exc:  # no processes allowed here, or too many open files
        return f"face worker processes cannot start ({type(exc).__name__}: {exc})"
    return None


def _give_up(pool: ProcessPoolExecutor, workers: int, why: str) -> None:
    with _pools_lock:
        if _pools.get(workers) is pool:
            del _pools[workers]
        if not _cannot_start:
            _cannot_start.append(why)
    processes = list((getattr(pool, "_processes", None) or {}).values())  # a hung start must not linger
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with suppress(Exception):
            process.terminate()
    warnings.warn(f"{why}: scanning faces in this process, one file at a time.", FaceWorkersWarning, stacklevel=4)


def _bootstrapping() -> bool:
    # True while a spawned worker runs its parent's __main__ to rebuild it: the script called us at import.
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


def scan_all(names: Sequence[str], *, workers: int | None = None, executor: Executor | None = None) -> list[Result]:
    """Return ``scan(name)`` or the exception it raised, for every name, in order (see the module's docstring)."""
    if _bootstrapping():
        raise RuntimeError(
            "Faces were scanned while a worker process was starting: this script calls validate_folder (or "
            'scan_many) when it is imported. Put that call under `if __name__ == "__main__":`.'
        )
    results: list[Result | None] = [None] * len(names)
    todo = list(range(len(names)))
    if executor is not None:
        todo = _run(executor, names, todo, results, lost_ok=True)
    count = min(len(todo), workers if workers is not None else (os.cpu_count() or 1))
    if count > 1 and multiprocessing.parent_process() is None and not _cannot_start:  # no pools inside pools
        todo = _on_pool(count, names, todo, results)
    for n in todo:
        results[n] = _scan_or_error(names[n])
    return [r if r is not None else MediaError("not scanned") for r in results]


def _on_pool(count: int, names: Sequence[str], todo: list[int], results: list[Result | None]) -> list[int]:
    """Scan ``todo`` on our pool; return the indices left for the calling process (all, if it cannot start)."""
    pool, new = _pool(count)
    if new and (why := _started(pool)):
        _give_up(pool, count, why)
        return todo
    lost = _run(pool, names, todo, results, lost_ok=False)
    if lost:  # a worker died (after an earlier call, or part-way): fresh workers try those files once more
        pool, _ = _pool(count, broken=pool)
        if why := _started(pool):
            _give_up(pool, count, why)
            return lost
        for n in _run(pool, names, lost, results, lost_ok=False):
            results[n] = MediaError(
                f"{printable(os.path.basename(names[n]))}: a face-scanning process died twice on this file "
                "(a crash or out of memory)"
            )
    return []


def _run(executor: Executor, names: Sequence[str], todo: list[int], results: list[Result | None],
         *, lost_ok: bool) -> list[int]:  # fmt: skip
    """Fill ``results`` for ``todo`` from ``executor``; return the indices it lost (its workers died or lack dlib)."""
    futures: dict[int, Future[FaceScan]] = {}
    try:
        versions = {n: _version(names[n]) for n in todo}
        for n in _costliest_first(names, versions):
            futures[n] = executor.submit(scan_as_of, names[n], versions[n])
    except Exception:  # shut down, broken, or refusing work: whatever was not submitted is lost
        pass
    lost = [n for n in todo if n not in futures]
    for n, future in futures.items():
        try:
            results[n] = future.result()
        except BrokenProcessPool:
            lost.append(n)
        except FacesUnavailableError:  # the executor's workers lack the extra: this process may have it
            lost.append(n)
        except MediaError as exc:  # the file's own verdict: it cannot be decoded
            results[n] = exc
        except Exception as exc:  # a lost task (KilledWorker, CancelledError, BrokenExecutor) or a bug
            if lost_ok:
                lost.append(n)
            else:
                results[n] = exc
    return sorted(lost)


def _costliest_first(names: Sequence[str], versions: dict[int, tuple[int, int] | None]) -> list[int]:
    """Return the indices of ``versions`` with the likely longest scans first: videos, then larger files."""

    def cost(n: int) -> tuple[bool, int]:
        video = family_of_extension(os.path.splitext(names[n])[1].lstrip(".")) in AV_FORMATS
        version = versions[n]
        return video, version[0] if version else 0

    return sorted(versions, key=cost, reverse=True)  # stable: equal costs keep the caller's order


def _version(path: str) -> tuple[int, int] | None:
    """Return the file's (size, mtime in ns), or ``None`` when it cannot be read (the scan then says why)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def scan_as_of(path: str, version: tuple[int, int] | None) -> FaceScan:
    """Return ``scan(path)``; ``version`` (the file's size and mtime) only makes the task's arguments change with it."""
    del version
    return scan(path)


def _scan_or_error(path: str) -> Result:
    try:
        return scan(path)
    except FacesUnavailableError:
        raise
    except Exception as exc:
        return exc
