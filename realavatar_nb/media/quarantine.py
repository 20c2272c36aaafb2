"""A worker process for probes that cannot be trusted in-process.

Files with no known signature, and in-process probes that ran past their deadline, are sent
here. The worker is a long-lived ``python -m realavatar_nb.media.quarantine`` child that
reads one request per line and answers one line; a request that runs past its timeout
gets the worker killed (and a fresh one started for the next file), and a worker that dies
mid-request (a crash in a decoder) is reported, never propagated.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, Final

__all__ = ["ProbeFailure", "Quarantine", "default", "probe"]

_MEMORY_LIMIT: Final = 2 * 1024**3


class ProbeFailure(Exception):
    """The isolated probe could not answer: ``code`` is ``ProbeTimeout``, ``ProbeCrashed`` or ``FormatUndetectable``."""

    def __init__(self, code: str, note: str) -> None:
        self.code = code
        self.note = note
        super().__init__(note)


def _worker_command() -> list[str]:
    return [sys.executable, "-m", "realavatar_nb.media.quarantine"]


class Quarantine:
    """One isolated probe process, started on first use; ``probe`` is safe to call from many threads."""

    def __init__(self, command: Sequence[str] | None = None, *, startup_allowance: float = 30.0) -> None:
        self._command = list(command) if command is not None else _worker_command()
        self._startup_allowance = startup_allowance
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._buffer = b""

    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        self._buffer = b""
        return subprocess.Popen(
            self._command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )

    def close(self) -> None:
        """Stop the worker process, if one is running."""
        with self._lock:
            self._kill()

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
        if proc is not None:
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()

    def _readline(self, proc: subprocess.Popen[bytes], deadline: float) -> bytes | None:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return None
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise EOFError
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def probe(self, path: str, *, timeout: float, decode_check: bool) -> dict[str, Any]:
        """Return the PyAV facts for ``path`` from the worker, or raise ``ProbeFailure``."""
        request = {
            "path": base64.b64encode(os.fsencode(path)).decode(),
            "timeout": timeout,
            "decode": decode_check,
        }
        with self._lock:
            # Starting the worker (interpreter + PyAV import) is not the file's fault: allow for it.
            startup = 0.0
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
                startup = self._startup_allowance
            proc = self._proc
            assert proc.stdin is not None
            try:
                proc.stdin.write(json.dumps(request).encode() + b"\n")
                proc.stdin.flush()
                line = self._readline(proc, time.monotonic() + timeout + startup)
            except (BrokenPipeError, EOFError):
                code = proc.wait()
                self._kill()
                raise ProbeFailure(
                    "ProbeCrashed", f"the isolated probe process died (exit code {code}) reading this file"
                ) from None
            if line is None:
                self._kill()
                raise ProbeFailure("ProbeTimeout", f"the probe did not finish in {timeout:g} s, even isolated")
        reply = json.loads(line)
        if "error" in reply:
            raise ProbeFailure("FormatUndetectable", reply["error"])
        return reply["facts"]


_default: Quarantine | None = None
_default_lock = threading.Lock()


def default() -> Quarantine:
    """Return this process's shared quarantine (started lazily, stopped at exit)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Quarantine()
            atexit.register(_default.close)
        return _default


def probe(path: str, *, timeout: float, decode_check: bool) -> dict[str, Any]:
    """Probe ``path`` in this process's shared quarantine."""
    return default().probe(path, timeout=timeout, decode_check=decode_check)


def _serve() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_LIMIT, _MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass
    from .probe import pyav_facts

    for raw in sys.stdin.buffer:
        request = json.loads(raw)
        path = os.fsdecode(base64.b64decode(request["path"]))
        try:
            reply: dict[str, Any] = {"facts": pyav_facts(path, request["timeout"], decode_check=request["decode"])}
        except Exception as exc:
            text = str(getattr(exc, "strerror", None) or exc).strip()
            text = (text.splitlines()[0] if text else type(exc).__name__)[:160]
            reply = {"error": f"the file cannot be read as media ({text})"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve()
