"""Where ``fix`` writes each copy: the source's relative layout under ``out_dir``, never onto a source.

An output keeps its file name when the extension already names the output's format family
(``photo.jpeg`` stays ``photo.jpeg``, an MP4 in ``clip.mov`` stays ``clip.mov``); otherwise the
extension becomes the family's canonical one (``scan.bmp`` → ``scan.jpg``). Two outputs that
would share a name are told apart in row order (``clip.mp4``, ``clip-2.mp4``). No I/O here
except resolving paths to compare them with the sources.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Final

from ..._display import printable
from ..._exceptions import FixError
from ..sniff import compatible, family_of_extension

__all__ = ["CANONICAL_EXTENSIONS", "Output", "output_names", "refuse_overwrites", "relative_name"]

CANONICAL_EXTENSIONS: Final[dict[str, str]] = {
    "jpeg": "jpg", "png": "png", "webp": "webp", "gif": "gif", "heic": "heic", "bmp": "bmp", "tiff": "tiff",
    "avif": "avif", "mp4": "mp4", "mov": "mov", "mp3": "mp3", "wav": "wav",
}  # fmt: skip


@dataclass(frozen=True)
class Output:
    """One file to write: its source ``path``, the report's ``name`` for it, and the format it takes.

    ``target`` ``None`` keeps the file name as it is (a plain copy).
    """

    path: str
    name: str
    target: str | None


def relative_name(path: str, name: str) -> str:
    """Return the file's path relative to its folder, built from the real ``path`` so undecodable bytes survive.

    ``name`` (the report's printable name) says how many trailing parts to keep; an absolute
    name or one that climbs with ``..`` (a list of paths was validated) keeps the file name only.
    """
    shown = PurePath(name)
    real = PurePath(path)
    keep = 1 if shown.is_absolute() or ".." in shown.parts or not shown.parts else len(shown.parts)
    return os.path.join(*real.parts[-min(keep, len(real.parts)) :])


def split_name(rel: str) -> tuple[str, str, str]:
    """Return ``rel`` as (folder, stem, extension); a dot-file's name is all stem."""
    head, base = os.path.split(rel)
    stem, dot, ext = base.rpartition(".")
    return (head, stem, ext) if dot and stem else (head, base, "")


def _natural(output: Output) -> str:
    rel = relative_name(output.path, output.name)
    if output.target is None:
        return rel
    head, stem, ext = split_name(rel)
    claimed = family_of_extension(ext) if ext else None
    if claimed is not None and compatible(claimed, output.target):
        return rel
    return os.path.join(head, f"{stem}.{CANONICAL_EXTENSIONS.get(output.target, output.target)}")


def output_names(outputs: Sequence[Output]) -> list[str]:
    """Return a distinct relative name for each output, in order; a later duplicate gets ``-2``, ``-3`` …"""
    natural = [_natural(output) for output in outputs]
    # Case-folded, so the names stay distinct on case-insensitive file systems too; a suffixed
    # name also avoids every natural one, so it never takes a later row's own name.
    reserved = {name.lower() for name in natural}
    taken: set[str] = set()
    names = []
    for name in natural:
        if name.lower() in taken:
            head, stem, ext = split_name(name)
            n = 2
            while True:
                name = os.path.join(head, f"{stem}-{n}.{ext}" if ext else f"{stem}-{n}")
                if name.lower() not in taken and name.lower() not in reserved:
                    break
                n += 1
        taken.add(name.lower())
        names.append(name)
    return names


def refuse_overwrites(sources: Sequence[str], dests: Sequence[str], out_dir: str) -> None:
    """Raise ``FixError`` when any of ``dests`` resolves to one of ``sources`` (links followed)."""
    resolved = {os.path.realpath(source): source for source in sources}
    for dest in dests:
        hit = resolved.get(os.path.realpath(dest))
        if hit is not None:
            raise FixError(
                f"Writing {printable(dest)} would overwrite the original {printable(hit)}. "
                f"Originals are never modified: pass an out_dir outside the source folder "
                f"(for example {printable(out_dir.rstrip(os.sep))}_fixed)."
            )
