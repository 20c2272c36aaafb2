"""Map upstream's ``content[N]`` back to the input the caller passed.

Upstream's refusals and failed jobs name an input by its index in the task's ``content[]`` ("input
image 'content[5]' may contain real person"); the adapter knows the order it sent
(``Adapter.content_order``), so the index names a file, a URL or an asset.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

from .request import GenerationRequest

__all__ = ["NOTE", "blame_note", "blamed", "recorded_order"]

_CONTENT: Final = re.compile(r"content\[(\d+)\]")
NOTE: Final = re.compile(r"content\[\d+\] is reference (\d+):")
"""Finds the note ``blame_note`` adds to a refusal, and the reference number (from 1) it names."""


def blamed(message: str | None, order: Sequence[int | None]) -> int | None:
    """Return the position in ``references`` of the input ``message`` names as ``content[N]``, else ``None``."""
    match = _CONTENT.search(message or "")
    if match is None:
        return None
    n = int(match.group(1))
    return order[n] if n < len(order) else None


def blame_note(message: str | None, request: GenerationRequest, order: Sequence[int | None]) -> str | None:
    """Return "content[N] is reference i (label, role)" for a message that names an input, else ``None``."""
    index = blamed(message, order)
    if index is None:
        return None
    ref = request.references[index]
    match = _CONTENT.search(message or "")
    assert match is not None
    return f"{match.group(0)} is reference {index + 1}: {ref.label} ({ref.effective_role})"


def recorded_order(inputs: Sequence[Mapping[str, object]]) -> list[int | None]:
    """Return upstream's content order from inputs as the ledger keeps them (each with its ``content`` index)."""
    at = {n: index for index, item in enumerate(inputs) if isinstance(n := item.get("content"), int)}
    return [at.get(n) for n in range(1 + max(at, default=-1))]
