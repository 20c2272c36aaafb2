"""A path argument checked once at the door: str, bytes or ``os.PathLike``, no NUL, else a one-line answer.

Bytes are accepted because ``os`` accepts them: they are decoded as ``os.fsdecode`` does, so a
non-UTF-8 name keeps its bytes (as surrogate escapes) and reaches the file it names.
"""

from __future__ import annotations

import os
import reprlib
from typing import Any, Final

from .._display import printable
from .._exceptions import InvalidArgumentError

__all__ = ["FILE_PATH", "FOLDER_PATH", "path_argument", "shown_argument"]

FILE_PATH: Final = "a file path (str or pathlib.Path)"
FOLDER_PATH: Final = "a folder path (str or pathlib.Path)"

_SHORT = reprlib.Repr()
_SHORT.maxstring = 60
_SHORT.maxother = 60


def shown_argument(value: Any) -> str:
    """Return a short, visible form of an argument for an error message (long values cut, controls escaped)."""
    if isinstance(value, (str, bytes, int, float, type(None))):
        return printable(_SHORT.repr(value))
    return f"<{type(value).__name__}>"  # a frame or an object: its type says enough, its repr may be huge


def path_argument(value: Any, *, call: str, name: str, takes: str = FILE_PATH) -> str:
    """Return ``value`` as a ``str`` path, or raise ``InvalidArgumentError`` naming ``call(name=…)`` and ``takes``."""
    if not isinstance(value, (str, bytes, os.PathLike)):
        raise InvalidArgumentError(f"{call}({name}={shown_argument(value)}): pass {takes}.")
    try:
        path = os.fsdecode(value)
    except TypeError:  # an os.PathLike whose __fspath__ returns neither str nor bytes
        raise InvalidArgumentError(f"{call}({name}={shown_argument(value)}): pass {takes}.") from None
    if "\x00" in path:
        # The OS would refuse it with a bare ValueError; no file can have such a name.
        raise InvalidArgumentError(
            f"{call}({name}={shown_argument(path)}): a path cannot contain a NUL character (\\x00); pass {takes}."
        )
    return path
