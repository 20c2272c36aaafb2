"""Status literals, terminal sets and the names every layer shares.

Statuses are neutral and lower case: every adapter maps its provider's spelling onto
these, and every waiter and widget reads only these.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Provider = Literal["toapis", "apimart", "crun", "easyrouter", "anyfast", "byteplus", "volcengine", "sandbox"]
RESELLERS: Final[tuple[str, ...]] = ("toapis", "apimart", "crun", "easyrouter", "anyfast")
"""The five providers that resell the flow (the seeds)."""
UPSTREAM: Final[tuple[str, ...]] = ("byteplus", "volcengine")
"""Upstream itself, which the five resell: BytePlus ModelArk and Volcengine Ark (reference/upstream.md)."""
PROVIDERS: Final[tuple[str, ...]] = (*RESELLERS, *UPSTREAM)
"""Every real provider the client speaks; ``"sandbox"`` is the embedded emulator, in any of their dialects."""

VerificationStatus = Literal["pending", "verified", "failed", "expired"]
AssetStatus = Literal["processing", "active", "failed"]
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "expired"]

VERIFICATION_STATUSES: Final[frozenset[VerificationStatus]] = frozenset(get_args(VerificationStatus))
ASSET_STATUSES: Final[frozenset[AssetStatus]] = frozenset(get_args(AssetStatus))
JOB_STATUSES: Final[frozenset[JobStatus]] = frozenset(get_args(JobStatus))

VERIFICATION_TERMINAL: Final[frozenset[VerificationStatus]] = frozenset({"verified", "failed", "expired"})
ASSET_TERMINAL: Final[frozenset[AssetStatus]] = frozenset({"active", "failed"})
# Asset failures worth uploading the same file again for (upstream.md: clients treat these as transient).
# Any other failure (FaceMismatch, DurationTooShort …) judged the file itself: sending it again pays twice.
ASSET_TRANSIENT_FAILURES: Final = frozenset(
    {"DownloadFailed", "ModerationServiceErrorUploadFailed", "InternalError", "InternalServiceError"}
)
JOB_TERMINAL: Final[frozenset[JobStatus]] = frozenset({"succeeded", "failed", "cancelled", "expired"})

MediaKind = Literal["image", "video", "audio", "unknown"]
AssetType = Literal["Image", "Video", "Audio"]
ASSET_TYPES: Final[tuple[AssetType, ...]] = get_args(AssetType)
"""The asset kinds upstream names (its ``AssetType``); every adapter and check takes these and no others."""
ASSET_TYPE_OF_KIND: Final[dict[str, AssetType]] = {"image": "Image", "video": "Video", "audio": "Audio"}

RESULT_CODE_PASSED: Final = "10000"
"""The H5 page's ``resultCode`` for a passed liveness check (the only documented value)."""

# Asset failure codes as upstream names them (reference/upstream.md §3.9). Local validation
# uses the same names, so a local verdict and a server rejection read the same.
GEOMETRY_PROBLEM_CODES: Final = frozenset(
    {
        "WidthTooSmall",
        "WidthTooLarge",
        "HeightTooSmall",
        "HeightTooLarge",
        "AspectRatioTooSmall",
        "AspectRatioTooLarge",
        "PixelCountTooSmall",
        "PixelCountTooLarge",
    }
)
"""The codes about a picture's size and shape: the ones a scale-and-pad plan answers."""
MEDIA_PROBLEM_CODES: Final = frozenset(
    {
        "TypeMismatch",
        "FormatUnsupported",
        "FormatUndetectable",
        "DurationTooShort",
        "DurationTooLong",
        *GEOMETRY_PROBLEM_CODES,
        "FileSizeTooLarge",
        "FpsTooLow",
        "FpsTooHigh",
        "AudioTrackRequired",
        "AudioTrackForbidden",
    }
)
# Local-only codes for files that never reach a media check; upstream would answer
# DownloadFailed or FormatUndetectable for these.
LOCAL_PROBLEM_CODES: Final = frozenset(
    {
        "FileEmpty",  # zero bytes
        "FileTruncated",  # cut off: a box, chunk or end marker is missing
        "FileUnreadable",  # permissions, symlink loop, vanished, not a regular file
        "ProbeTimeout",  # the probe did not finish in time, even isolated
        "ProbeCrashed",  # the isolated probe process died
    }
)
