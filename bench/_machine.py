"""What every benchmark records about the machine it ran on (imported by the bench scripts)."""

from __future__ import annotations

import os
import platform
from typing import Any

__all__ = ["machine_facts"]


def machine_facts(**versions: Any) -> dict[str, Any]:
    """Return cores, CPU model, platform and Python, then ``versions`` (library name → version)."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "platform": platform.platform(),
            "python": platform.python_version(), **versions}  # fmt: skip
