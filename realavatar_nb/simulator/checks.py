"""Server-side asset checks: the same media rules as local validation, then the face check.

Face identity is simulated from a file's tag (``realavatar_nb.media.tags``): a person other
than the verified one gives ``FaceMismatch``; more than one face gives a multiple-faces
failure; an untagged file matches.
"""

from __future__ import annotations

from typing import Final

from ..media.tags import read_tag
from ..media.validate import validate

__all__ = ["FACE_MISMATCH", "check_file"]

FACE_MISMATCH: Final = ("FaceMismatch", "Face consistency verification failed.")
# inferred: upstream says an asset with several faces "cannot be uploaded" without naming the code.
MULTIPLE_FACES: Final = ("MultipleFaces", "Multiple faces detected; an asset must show only the verified person.")

# Local-only codes as upstream would answer them.
_UPSTREAM: Final = {
    "FileEmpty": ("DownloadFailed", "The downloaded file is empty."),
    "FileUnreadable": ("DownloadFailed", "The file could not be downloaded."),
    "FileTruncated": ("FormatUndetectable", "The file is incomplete."),
    "ProbeTimeout": ("TranscodingFailed", "The file could not be processed."),
    "ProbeCrashed": ("TranscodingFailed", "The file could not be processed."),
}


def check_file(path: str, asset_type: str, person: str, profile: str) -> tuple[str | None, str | None]:
    """Return (error code, message) for a downloaded asset, or (None, None) when it passes."""
    result = validate(path, profile)
    expected = asset_type.lower()
    if result.kind in ("image", "video", "audio") and result.kind != expected:
        return "TypeMismatch", f"AssetType {asset_type} does not match the file, which is {result.kind}."
    # Upstream judges what it downloaded, not a file name: a name that disagrees is no failure there.
    problems = [p for p in result.problems if p != "TypeMismatch"]
    if problems:
        code = problems[0]
        if code in _UPSTREAM:
            return _UPSTREAM[code]
        failed = next((c for c in result.checks if c.code == code), None)
        detail = f"{failed.check} is {failed.actual}, allowed {failed.required}" if failed else code
        return code, f"{code}: {detail}."
    tag = read_tag(path)
    if tag.get("faces", "1").isdigit() and int(tag.get("faces", "1")) > 1:
        return MULTIPLE_FACES
    if tag.get("person") and tag["person"] != person:
        return FACE_MISMATCH
    return None, None
