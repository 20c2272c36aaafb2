"""``ra.run(coro)``: run a coroutine to the end from synchronous code, even inside a running kernel.

Outside an event loop it is ``asyncio.run``. Inside one (a Jupyter cell), it applies
nest-asyncio to that loop on demand, and only then; the client and the widgets never need it:
in a notebook, ``await`` at top level is the better way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run"]

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Return the result of ``coro``, run to completion."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import nest_asyncio

    nest_asyncio.apply(loop)
    return loop.run_until_complete(coro)
