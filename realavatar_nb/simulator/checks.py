"""Server-side asset checks: the same media rules as local validation, then the face check.

The face check has two sources:

- A file tagged ``realavatar:...`` (``realavatar_nb.media.tags``) is synthetic media: its tag
  decides, as it always did. A person other than the verified one gives ``FaceMismatch``; more
  than one face gives a multiple-faces failure.
- An untagged image or video, when the faces extra is installed (``media.faces.available()``),
  is scanned for real faces with the same detector and descriptors as the local pre-check: more
  than one face fails, and one face must match the group's face (see ``GroupFace``).

An untagged file passes when the extra is missing, when the scan finds no face, or when no group
face is known, as every untagged file did before real faces were judged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from .._exceptions import MediaError
from ..media.faces import detect
from ..media.tags import read_tag
from ..media.validate import validate

__all__ = ["FACE_MISMATCH", "MULTIPLE_FACES", "GroupFace", "check_file"]

FACE_MISMATCH: Final = ("FaceMismatch", "Face consistency verification failed.")
# inferred: upstream says an asset with several faces "cannot be uploaded" without naming the code.
MULTIPLE_FACES: Final = ("MultipleFaces", "Multiple faces detected; an asset must show only the verified person.")

# Given the descriptor of the one real face in a file, return the group's reference descriptor;
# a group that has none yet takes this one (atomically, so concurrent checks agree on one reference).
GroupFace = Callable[[tuple[float, ...]], tuple[float, ...]]

# Local-only codes as upstream would answer them.
_UPSTREAM: Final = {
    "FileEmpty": ("DownloadFailed", "The downloaded file is empty."),
    "FileUnreadable": ("DownloadFailed", "The file could not be downloaded."),
    "FileTruncated": ("FormatUndetectable", "The file is incomplete."),
    "ProbeTimeout": ("TranscodingFailed", "The file could not be processed."),
    "ProbeCrashed": ("TranscodingFailed", "The file could not be processed."),
}


def check_file(
    path: str, asset_type: str, person: str, profile: str, *, group_face: GroupFace | None = None
) -> tuple[str | None, str | None]:
    """Return (error code, message) for a downloaded asset, or (None, None) when it passes.

    ``group_face`` gives the group's reference face for real (untagged) faces; without it a real
    face is only counted, never compared.
    """
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
    if tag:
        # Synthetic media says who it shows; its drawn faces are not meant to be recognised.
        if tag.get("faces", "1").isdigit() and int(tag.get("faces", "1")) > 1:
            return MULTIPLE_FACES
        # An AIGC group (person "") has no liveness capture to match; a LivenessFace group always has a person.
        if tag.get("person") and person and tag["person"] != person:
            return FACE_MISMATCH
        return None, None
    if result.kind in ("image", "video") and detect.available():
        return _real_faces(path, result.kind, group_face)
    return None, None


def _real_faces(path: str, kind: str, group_face: GroupFace | None) -> tuple[str | None, str | None]:
    try:
        scan = detect.scan(path, kind)
    except MediaError:
        # The file already passed the media rules, so upstream could use it; a frame the face
        # scanner cannot decode is no face failure. The extra vanishing mid-run lands here too.
        return None, None
    if scan.faces > 1:
        return MULTIPLE_FACES
    if scan.faces == 0 or scan.descriptor is None or group_face is None:
        # No face found: untagged synthetic media (a drawn placeholder, a gradient) has none, and it
        # passed before real faces were checked, so it keeps passing.
        return None, None
    # inferred: upstream compares with the face of the liveness capture, which the emulator does
    # not have; the group's reference is the first real face accepted into it (``group_face``).
    if detect.distance(scan.descriptor, group_face(scan.descriptor)) >= detect.MATCH_DISTANCE:
        return FACE_MISMATCH
    return None, None
