"""Near-duplicates: burst shots of one pose, found before each of them takes an asset slot.

Every image is reduced to a 64-bit perceptual hash (``imagehash.phash``: a DCT of a 32×32 grey
copy, decoded small in Pillow's draft mode) and every video to the hashes of a few keyframes. Two
files of one kind are near-identical when their hashes differ in at most ``threshold`` bits (a
video's distance to another is the worst of its keyframes' best matches, both ways round).

Within each person's files (``person=…``, each first-level folder with ``people=True``, else the
whole folder), in sorted name order, a file is flagged ``NearDuplicate`` (a warning: ``ok`` is
unchanged) when it is that close to a file kept before it, or to a file already uploaded to the
person's group (``uploaded``, e.g. ``client.ledger``, which keeps the hashes of every validated
file per sha256). The first of a burst stays clean, so the user keeps one. Only files that can be
uploaded (``ok`` or ``fixable``) take part, and an image is never compared with a video.

The default threshold, 10 bits of 64, was chosen on the face tests' real photos: re-encoding at
JPEG quality 40, scaling, greying or brightening by 40% moves a hash 0–2 bits, a 1–3% crop with a
brighter exposure (a burst) 2–8; a 5° turn 8–14, a 5% crop 12–14, a mirror image or a 10° turn
12–32; and 209 pairs of distinct pictures (Hopper and 20 of scikit-image's samples, its "cat" and
"chelsea" being one picture) are 20 bits apart or more. 10 is above every burst measured and 10
bits below the nearest distinct pair: a false warning costs a look, a missed twin a slot.
Comparing is pairwise within a person, O(n²): 0.2 s for a thousand photos, 0.7 s for 300 clips of
four keyframes; fine for folders of hundreds. Hashing costs more: 2–4 ms for a JPEG of 1 MP, 25 ms
for one of 12 MP (draft mode), 25–40 ms for a PNG or HEIC (full decode), 10–30 ms for a clip.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Executor
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from .._display import printable
from .._exceptions import InvalidArgumentError, LedgerError, MediaError
from .containers import open_container, video_streams
from .pixels import open_image
from .pool import run_each
from .progress import make_progress

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "HASH_BITS", "KEYFRAMES", "NEAR_DUPLICATE_DISTANCE", "NearDuplicates", "UploadedHashes", "carry_near_duplicates",
    "file_hashes", "hash_distance",
]  # fmt: skip

NEAR_DUPLICATE_DISTANCE: Final = 10  # bits of 64 at or under which two files are one shot (see above)
HASH_BITS: Final = 64
KEYFRAMES: Final = 4  # a video is hashed by at most this many keyframes, spread over its length
CODE: Final = "NearDuplicate"
_DRAFT: Final = (64, 64)  # a JPEG decodes at 1/2–1/8 scale, still above phash's 32×32
_HEX: Final = HASH_BITS // 4
_FAILED: Final = frozenset({"FileEmpty", "FileUnreadable", "FileTruncated", "ProbeTimeout", "ProbeCrashed",
                            "FormatUndetectable"})  # fmt: skip


@runtime_checkable
class UploadedHashes(Protocol):
    """Where perceptual hashes are kept per file and looked up per person (``ra.Ledger`` is one)."""

    def record_hashes(self, sha256: str, kind: str, hashes: Sequence[str]) -> None: ...

    def uploaded_hashes(self, person: str) -> Sequence[tuple[str, str, str, Sequence[str]]]:
        """Return (sha256, kind, the asset as a person reads it, hashes) for each file uploaded for ``person``."""
        ...


def _phash(picture: Any) -> str:
    import imagehash

    return str(imagehash.phash(picture))


def image_hashes(path: str) -> tuple[str, ...]:
    """Return the image's perceptual hash (one, as hex), decoded small and turned upright."""
    return (_phash(open_image(path, draft=_DRAFT)),)


def video_hashes(path: str, count: int = KEYFRAMES) -> tuple[str, ...]:
    """Return the perceptual hashes of up to ``count`` keyframes spread over the video (only keyframes decode)."""
    import av
    from PIL import Image

    turns = {1: Image.Transpose.ROTATE_90, 2: Image.Transpose.ROTATE_180, 3: Image.Transpose.ROTATE_270}
    hashes: list[str] = []
    with open_container(path) as container:
        streams = video_streams(container)
        if not streams:
            raise MediaError(f"{printable(os.path.basename(path))}: has no video stream")
        stream = streams[0]
        stream.codec_context.skip_frame = "NONKEY"
        step = container.duration / 1_000_000 / count if container.duration else 1.0
        first, due = None, 0.0
        try:
            for frame in container.decode(stream):
                now = frame.time or 0.0
                first = now if first is None else first
                if now - first + 1e-3 < due:
                    continue
                # A 64×64 copy is all phash needs; phones store portrait clips sideways with a display matrix.
                picture = frame.to_image(width=64, height=64)
                quarter_turns = round((getattr(frame, "rotation", 0) or 0) / 90) % 4
                hashes.append(_phash(picture.transpose(turns[quarter_turns]) if quarter_turns else picture))
                due = now - first + step
                if len(hashes) >= count:
                    break
        except av.FFmpegError:
            if not hashes:  # damage part-way: the keyframes already read still count
                raise
    return tuple(hashes)


def file_hashes(path: str, kind: str) -> tuple[str, ...] | None:
    """Return the file's perceptual hashes (hex), or ``None`` when its pixels cannot be read. Never raises."""
    try:
        return (image_hashes if kind == "image" else video_hashes)(path) or None
    except Exception:  # a file that does not decode is the probe's to report, not this check's
        return None


def hash_distance(one: Sequence[int], other: Sequence[int]) -> int:
    """Return how many bits two files' hashes differ by: for videos, the worst best match, both ways round."""
    if len(one) == 1 and len(other) == 1:  # two images: the common case, kept cheap
        return (one[0] ^ other[0]).bit_count()
    forth = max(min((a ^ b).bit_count() for b in other) for a in one)
    back = max(min((a ^ b).bit_count() for a in one) for b in other)
    return max(forth, back)


def _bits(hashes: Sequence[str]) -> tuple[int, ...]:
    # Hashes of another size (another algorithm, another release) are not comparable: none.
    bits = []
    for text in hashes:
        with suppress(TypeError, ValueError):  # hand-edited or damaged: that hash is left out
            if len(text) == _HEX:
                bits.append(int(text, 16))
    return tuple(bits)


@dataclass(frozen=True)
class _File:
    index: int
    name: str
    kind: str
    sha256: str | None
    hashes: tuple[str, ...]
    bits: tuple[int, ...]


def _owner(name: str, person: str | None, people: bool) -> str | None:
    if people:
        head, sep, _ = name.replace(os.sep, "/").partition("/")
        return head if sep else None  # a file at the root belongs to no one
    return person


def _threshold(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= HASH_BITS:
        raise InvalidArgumentError(
            f"validate_folder(near_duplicates={value!r}): pass a Hamming distance from 0 to {HASH_BITS} "
            f"(bits of a {HASH_BITS}-bit perceptual hash; default {NEAR_DUPLICATE_DISTANCE}), or None to turn it off."
        )
    return value


def _closest(bits: tuple[int, ...], kind: str, candidates: Sequence[tuple[str, str, tuple[int, ...]]],
             threshold: int) -> tuple[str, int] | None:  # fmt: skip
    """Return the candidate of the same kind nearest to ``bits`` (the first of equals) and its distance, if close."""
    best: tuple[str, int] | None = None
    for label, other_kind, other in candidates:
        if other_kind != kind or not other:
            continue
        gap = hash_distance(bits, other)
        if gap <= threshold and (best is None or gap < best[1]):
            best = (label, gap)
    return best


@dataclass(frozen=True)
class NearDuplicates:
    """The near-duplicate check as asked for: a threshold (``None``: off) and where hashes are kept."""

    threshold: int | None = NEAR_DUPLICATE_DISTANCE
    uploaded: UploadedHashes | None = None

    @classmethod
    def asked(cls, threshold: object, uploaded: UploadedHashes | None, references: object = None) -> NearDuplicates:
        """Return the check ``validate_folder`` was asked for (raises ``InvalidArgumentError`` on a bad threshold).

        Without ``uploaded``, ``references`` (the face check's) serves when it keeps hashes too, as the ledger does.
        """
        store = uploaded if uploaded is not None else references if isinstance(references, UploadedHashes) else None
        return cls(_threshold(threshold), store)

    def flag(
        self, report: pd.DataFrame, *, person: str | None = None, people: bool = False,
        executor: Executor | None = None, workers: int | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """Return ``report`` with ``NearDuplicate`` in ``warnings`` and the twin in ``message`` of each later twin."""
        if self.threshold is None:
            return report
        files = self._hashed(report, executor, workers)
        note = self._record(files)
        owners: dict[str | None, list[_File]] = {}
        for item in files:
            owners.setdefault(_owner(item.name, person, people), []).append(item)
        found: dict[int, str] = {}
        for owner, members in owners.items():
            found.update(self._twins(owner, members, self.threshold))
        out = report.copy()
        _write(out, found)
        out.attrs["near_duplicates"] = {"threshold": self.threshold, "hash": f"imagehash.phash, {HASH_BITS} bits",
                                        "hashed": len(files), "flagged": len(found), "note": note}  # fmt: skip
        return out

    @staticmethod
    def _hashed(report: pd.DataFrame, executor: Executor | None, workers: int | None) -> list[_File]:
        """Return the files that can be uploaded, each with its hashes (files that do not decode left out)."""
        rows = [
            (n, str(r.path), _text(r.name), _text(r.kind), _text(r.sha256) or None)
            for n, r in enumerate(report.itertuples(index=False))
            if _text(r.kind) in ("image", "video") and (_yes(r.ok) or _yes(r.fixable))
            and not set(_text(r.problems).split(";")) & _FAILED
        ]  # fmt: skip
        # Byte-identical files have one picture: each distinct sha256 (of a kind) is decoded once.
        keys: list[object] = [(sha, kind) if sha else n for n, _, _, kind, sha in rows]
        work: dict[object, tuple[str, str]] = {}
        for key, (_, path, _, kind, _) in zip(keys, rows, strict=True):
            work.setdefault(key, (path, kind))
        hashes = run_each(file_hashes, list(work.values()), lost=lambda n, exc: None,
                          bar=make_progress(False, len(work)), executor=executor, workers=workers,
                          thread_name="ra-hash")  # fmt: skip
        found = {key: got for key, got in zip(work, hashes, strict=True) if got}
        return [_File(n, name, kind, sha, found[key], _bits(found[key]))
                for (n, _, name, kind, sha), key in zip(rows, keys, strict=True) if key in found]  # fmt: skip

    def _record(self, files: Sequence[_File]) -> str:
        """Keep each file's hashes by its sha256, so a later run can compare with what gets uploaded meanwhile."""
        if self.uploaded is None:
            return ""
        try:
            for item in files:
                if item.sha256:
                    self.uploaded.record_hashes(item.sha256, item.kind, item.hashes)
        except LedgerError as exc:  # the check still runs; only later runs lose these files' hashes
            return f"hashes not kept: {exc}"
        return ""

    def _twins(self, owner: str | None, members: list[_File], threshold: int) -> dict[int, str]:
        """Return, by row, the message of each file near one kept before it (or near an upload) in sorted name order."""
        uploads = self.uploaded.uploaded_hashes(owner) if self.uploaded is not None and owner is not None else ()
        mine = {sha for sha, *_ in uploads}
        earlier = [(f"already uploaded: {printable(label)}", kind, _bits(hashes))
                   for sha, kind, label, hashes in uploads]  # fmt: skip
        kept: list[tuple[str, str, tuple[int, ...]]] = []
        found: dict[int, str] = {}
        for item in sorted(members, key=lambda f: f.name):
            # A file already uploaded itself adds nothing new either way: only its twins in the folder count.
            candidates = [*([] if item.sha256 in mine else earlier), *kept]
            twin = _closest(item.bits, item.kind, candidates, threshold)
            if twin is None:
                kept.append((item.name, item.kind, item.bits))
            else:
                found[item.index] = (f"{CODE}: near-identical to {twin[0]}, hash distance {twin[1]} of {HASH_BITS}"
                                     f" (flagged at ≤ {threshold})")  # fmt: skip
        return found


def _write(report: pd.DataFrame, found: dict[int, str]) -> None:
    if "warnings" not in report.columns:
        import pandas as pd

        report["warnings"] = pd.Series([""] * len(report), index=report.index, dtype="string")
    for n, detail in found.items():
        index = report.index[n]
        old = [w for w in _text(report.at[index, "warnings"]).split(";") if w]
        report.at[index, "warnings"] = ";".join([*old, CODE] if CODE not in old else old)
        message = _text(report.at[index, "message"])
        report.at[index, "message"] = detail if message in ("", "ok") else f"{message}; {detail}"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""  # NA and None read as nothing


def _yes(value: Any) -> bool:
    try:
        return bool(value)
    except TypeError:  # NA
        return False


def carry_near_duplicates(fixed: pd.DataFrame, original: pd.DataFrame) -> pd.DataFrame:
    """Return ``fixed`` (a ``ra.fix`` report) with the near-duplicate verdicts of the files its copies came from.

    A copy shows what its source shows, and the sources were judged per person: a verdict on the
    copies alone (one folder, whoever's they are) is dropped for the original's.
    """
    if "near_duplicates" not in original.attrs or "source" not in fixed.columns:
        return fixed
    verdicts: dict[Any, str] = {}
    for row in original.itertuples(index=False):
        if CODE in _text(row.warnings).split(";"):
            verdicts[row.path] = next((p for p in _text(row.message).split("; ") if p.startswith(f"{CODE}:")), "")
    out = fixed.copy()
    for n, source in enumerate(out["source"]):
        index = out.index[n]
        warnings = [w for w in _text(out.at[index, "warnings"]).split(";") if w and w != CODE]
        parts = [p for p in _text(out.at[index, "message"]).split("; ") if p and not p.startswith(f"{CODE}:")]
        detail = verdicts.get(source)
        if detail is not None:
            warnings.append(CODE)
            parts = [*(p for p in parts if p != "ok"), detail] if detail else parts
        out.at[index, "warnings"] = ";".join(warnings)
        out.at[index, "message"] = "; ".join(parts) or "ok"
    out.attrs["near_duplicates"] = original.attrs["near_duplicates"]
    return out
