"""What the emulator keeps: its settings, its refusals, and the records it creates.

Plain dataclasses with no behaviour beyond derived properties; ``state.State`` owns them.
"""

from __future__ import annotations

import secrets
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ALGORITHM_FAILED",
    "MODERATE_MARKER",
    "OUTPUT_MODERATION_CODE",
    "OUTPUT_MODERATION_MESSAGE",
    "RESULT_FAILED",
    "RESULT_PASSED",
    "Asset",
    "Group",
    "Job",
    "Session",
    "SimConfig",
    "SimError",
    "Task",
    "Verdict",
]

# An asset's judgement: (error code, message, sha256 of the downloaded file, its local path).
Verdict = tuple[str | None, str | None, str | None, str | None]

ErrorKind = Literal[
    "unauthorized", "not_found", "invalid", "not_ready", "expired", "conflict", "forbidden", "rate_limited", "quota"
]

# The H5 page's failure code when a person presses "Fail": upstream documents only 10000 (pass);
# inferred: a KYC-style 5-digit code, with the algorithm's sub-code beside it.
RESULT_PASSED = "10000"
RESULT_FAILED = "60203"
ALGORITHM_FAILED = "10001"

# A prompt containing this marker makes its job go queued → running → failed, as a job whose video
# upstream's output moderation rejects: a deterministic provider-side failure for tests and demos.
MODERATE_MARKER = "[moderate]"
# inferred: upstream names its input checks Input{Text,Image,Video,Audio}SensitiveContentDetected
# (reference/upstream.md §3.9); the output check's code is taken to follow that family.
OUTPUT_MODERATION_CODE = "OutputVideoSensitiveContentDetected"
OUTPUT_MODERATION_MESSAGE = "The output video may contain sensitive content."


class SimError(Exception):
    """A request the emulator refuses; dialects turn ``kind`` into their own error shape.

    ``code`` is upstream's own error code when the refusal is upstream's (a generation input it
    refuses): Ark answers it as is, and each reseller relays it inside its own error shape.
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        field: str | None = None,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> None:
        self.kind = kind
        self.message = message
        self.field = field
        self.retry_after = retry_after
        self.code = code
        super().__init__(message)


@dataclass
class SimConfig:
    """How the emulator behaves; every default is what upstream documents or what tests want."""

    autopilot: float | None = None  # seconds after which a new session passes by itself
    autopilot_person: str = "autopilot"
    processing_seconds: float = 3.0  # an asset's time in Processing
    job_seconds: float = 4.0  # a generation job's time from queued to succeeded
    link_ttl: float = 120.0  # the H5 link's life
    token_ttl: float = 1800.0  # how long a passed session's token still answers
    profile: str = "seedance-2.0"  # the media limits uploads are checked against
    api_keys: frozenset[str] | None = None  # None: any non-empty key is an account
    seed: int = 0
    # A dialect's own settings, by dialect name; each dialect documents the ones it reads
    # (e.g. {"crun": {"code": 455}}). Nothing provider-specific lives in the fields above.
    dialect_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    persist: str | None = None  # a SQLite file that keeps the state across restarts
    rate_limit: float | None = None  # requests per second per account (None: unlimited), answered 429
    # What the downloader may fetch beyond public addresses (``downloads``): "host" or "host:port" of
    # a local media server, e.g. a test's S3 stand-in. The emulator's own file host never needs listing.
    fetch_hosts: tuple[str, ...] = ()
    download_seconds: float = 60.0  # one asset URL's download, redirects included
    downloads_per_account: int = 2  # an account's downloads at once; the rest wait their turn
    body_idle: float = 30.0  # longest wait for the next chunk of a request body
    body_total: float = 300.0  # longest time for a whole request body
    # An account's limits (``limits``), each None = unlimited: the assets it may hold (failed ones
    # included), CreateAsset calls in any 60 s, and list calls (ListAssets, ListAssetGroups, the
    # resellers' lists) in any 1 s. Reported at upstream's entry tier: about 50 slots and 3 writes a minute.
    asset_slots: int | None = None
    write_qpm: int | None = None
    list_qps: int | None = None


@dataclass
class Session:
    token: str
    account: str
    created_at: float
    expires_at: float
    callback_url: str | None = None
    project: str = "default"
    lng: str = "zh"
    biz_id: str | None = None
    state: Literal["pending", "verified", "failed", "expired"] = "pending"
    person: str | None = None
    result_code: str | None = None
    algorithm_code: str | None = None
    group_id: str | None = None
    finished_at: float | None = None


@dataclass
class Group:
    id: str
    account: str
    person: str
    token: str
    created_at: float
    project: str = "default"
    group_type: str = "LivenessFace"
    name: str = ""  # a LivenessFace group has none until renamed (UpdateAssetGroup); AIGC groups are named
    description: str = ""
    updated_at: float = 0.0
    # The descriptor of the first real face accepted into the group, which later real faces must match
    # (the emulator's stand-in for the liveness capture; see ``checks``). None until a real face arrives.
    face: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.face is not None:  # a persisted group comes back from JSON with a list
            self.face = tuple(self.face)


@dataclass
class Asset:
    id: str
    account: str
    group_id: str
    url: str
    asset_type: str  # Image | Video | Audio
    name: str
    created_at: float
    ready_at: float
    project: str = "default"
    status: Literal["Processing", "Active", "Failed"] = "Processing"
    error_code: str | None = None
    error_message: str | None = None
    updated_at: float = 0.0
    sha256: str | None = None
    path: str | None = None  # the downloaded copy the checks judged (generation reads it, never the URL again)
    verdict: Future[Verdict] | None = field(default=None, repr=False)


@dataclass
class Job:
    id: str
    account: str
    model: str
    prompt: str
    references: tuple[str, ...]
    duration: int
    ratio: str
    resolution: str
    created_at: float
    started_at: float
    done_at: float
    seed: int | None = None
    status: Literal["queued", "running", "succeeded", "failed", "cancelled", "expired"] = "queued"
    video_path: str | None = None
    last_frame_path: str | None = None  # the PNG of the video's last frame, when return_last_frame asked for it
    error_code: str | None = None
    error_message: str | None = None
    render: Future[str] | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict)
    # The video URL's credential, as a provider's signed CDN link: job ids follow the seed, so an id
    # alone would let anyone who can reach the emulator fetch the person's video.
    video_key: str = field(default_factory=lambda: secrets.token_urlsafe(16), repr=False)

    @property
    def progress(self) -> int:
        return {"queued": 0, "running": 50, "succeeded": 100}.get(self.status, 100)


@dataclass
class Task:
    """A provider-side task wrapper (toapis verify-tasks, APIMart's every step): id → what it points at."""

    id: str
    account: str
    kind: str
    created_at: float
    refs: dict[str, Any] = field(default_factory=dict)
