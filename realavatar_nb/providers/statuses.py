"""Each provider's status spellings onto the neutral ones (``_types``): the tables adapters share.

An adapter names its ``verification_statuses``, ``asset_statuses`` and ``job_statuses`` from these
(``providers/base.py`` re-exports them); a spelling no table knows is an ``UnknownStatusError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .._types import (
    ASSET_STATUSES,
    JOB_STATUSES,
    VERIFICATION_STATUSES,
    AssetStatus,
    JobStatus,
    VerificationStatus,
)

__all__ = [
    "NEUTRAL_ASSET_STATUSES",
    "NEUTRAL_JOB_STATUSES",
    "NEUTRAL_VERIFICATION_STATUSES",
    "NEW_API_JOB_STATUSES",
    "TASK_VERIFICATION_STATUSES",
    "UPSTREAM_ASSET_STATUSES",
]

# The neutral statuses spelled as they are named: toapis' assets, EasyRouter's sessions, Ark's tasks.
NEUTRAL_ASSET_STATUSES: Final[Mapping[str, AssetStatus]] = {status: status for status in ASSET_STATUSES}
NEUTRAL_JOB_STATUSES: Final[Mapping[str, JobStatus]] = {status: status for status in JOB_STATUSES}
NEUTRAL_VERIFICATION_STATUSES: Final[Mapping[str, VerificationStatus]] = {
    status: status for status in VERIFICATION_STATUSES
}
# The task-shaped sessions' spellings, APIMart's and toapis' (both inferred): `processing` read as pending.
TASK_VERIFICATION_STATUSES: Final[Mapping[str, VerificationStatus]] = {
    **NEUTRAL_VERIFICATION_STATUSES,
    "processing": "pending",
}
# Upstream's asset statuses, passed through as they are by APIMart, Crun and EasyRouter.
UPSTREAM_ASSET_STATUSES: Final[Mapping[str, AssetStatus]] = {
    "Processing": "processing",
    "Active": "active",
    "Failed": "failed",
}
# new-api's task spellings, passed through by the gateways built on it (Anyfast, EasyRouter).
NEW_API_JOB_STATUSES: Final[Mapping[str, JobStatus]] = {
    "NOT_START": "queued",
    "SUBMITTED": "queued",
    "QUEUED": "queued",
    "IN_PROGRESS": "running",
    "SUCCESS": "succeeded",
    "FAILURE": "failed",
}
