"""Jobs of the engine, as values, and the rules every queue backend applies to them.

A job is a unit of background work: a kind (what handles it), a pointer-only payload (ids,
never message content), a run-at time and a priority. A claim gives it a lease with a fencing
token; the holder acks it (`done`, or `skipped` when its source is gone), fails it (back to
`ready` at a later time, or `dead` once its attempts are spent) or extends the lease. A
lease that runs out puts the job back (`ready`) or, attempts spent, `dead`. A person may
re-drive a dead job (`ready` again with fresh attempts) or purge it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pigeon.domain.transitions import JobStatus
from pigeon.errors import ValidationError

if TYPE_CHECKING:
    from datetime import datetime

    from pigeon.domain.leases import Lease

# Keys that would carry message content into a queue. A job holds pointers only: content is
# fetched at consume time (or, for providers that keep no history, stored at ingress and
# pointed at).
CONTENT_KEYS = frozenset(
    {
        "rawmime",
        "raw",
        "mime",
        "body",
        "html",
        "text",
        "attachments",
        "content",
        "bodypreview",
        "snippet",
        "payload_base64",
    }
)
MAX_PAYLOAD_DEPTH = 8
MAX_PAYLOAD_KEYS = 64
MAX_PRIORITY = 1000


@dataclass(frozen=True)
class NewJob:
    """A job to enqueue. `dedupe_key`: while a job with the same key is ready or claimed in
    the same workspace and queue, enqueueing again returns that job instead of a second."""

    workspace_id: str
    kind: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    queue: str = "default"
    run_at: datetime | None = None  # None: now
    priority: int = 0  # higher first
    max_attempts: int | None = None  # None: the queue's setting
    dedupe_key: str | None = None
    channel_id: str | None = None


@dataclass(frozen=True)
class Job:
    id: str
    workspace_id: str
    queue: str
    kind: str
    payload: Mapping[str, Any]
    status: JobStatus
    priority: int
    run_at: datetime
    attempts: int  # claims so far: a crash that loses a claim spends an attempt too
    max_attempts: int
    created_at: datetime
    updated_at: datetime
    dedupe_key: str | None = None
    channel_id: str | None = None
    last_error: str | None = None
    lease: Lease | None = None  # while claimed

    @property
    def token(self) -> str:
        if self.lease is None:
            raise ValueError(f"job {self.id} is not claimed")
        return self.lease.token


@dataclass(frozen=True)
class Enqueued:
    job_id: str
    created: bool  # False: a live job with the same dedupe key was returned


@dataclass(frozen=True)
class Ack:
    """A claimed job finished: done, or skipped with its reason (its source is gone)."""

    job_id: str
    token: str
    skipped: str | None = None


@dataclass(frozen=True)
class Reclaimed:
    requeued: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Depth:
    """How much work waits: per status, and the age of the oldest ready job that is due."""

    ready: int = 0
    scheduled: int = 0  # ready, not due yet
    claimed: int = 0
    dead: int = 0
    oldest_ready_seconds: float = 0.0


@dataclass(frozen=True)
class DeadFilter:
    """Which dead letters a listing, re-drive or purge takes; all of them when empty."""

    job_ids: tuple[str, ...] | None = None
    queue: str | None = None
    kind: str | None = None
    channel_id: str | None = None


def after_failure(attempts: int, max_attempts: int, *, retry: bool) -> JobStatus:
    """Where a failed (or lost) claim leaves its job: ready again while attempts remain and
    the failure is worth retrying, dead otherwise."""
    return JobStatus.READY if retry and attempts < max_attempts else JobStatus.DEAD


def matches(job: Job, where: DeadFilter) -> bool:
    return (
        (where.job_ids is None or job.id in where.job_ids)
        and (where.queue is None or job.queue == where.queue)
        and (where.kind is None or job.kind == where.kind)
        and (where.channel_id is None or job.channel_id == where.channel_id)
    )


def check_new(job: NewJob) -> None:
    """Refuse a job no backend should store: a content key anywhere in its payload, a
    payload too deep or wide, an empty kind, a priority out of range."""
    if not job.kind or len(job.kind) > 100:
        raise ValidationError.field("kind", "must be 1 to 100 characters")
    if not job.queue or len(job.queue) > 100:
        raise ValidationError.field("queue", "must be 1 to 100 characters")
    if not -MAX_PRIORITY <= job.priority <= MAX_PRIORITY:
        raise ValidationError.field("priority", f"must be within ±{MAX_PRIORITY}")
    if job.max_attempts is not None and not 1 <= job.max_attempts <= 1000:
        raise ValidationError.field("max_attempts", "must be 1 to 1000")
    assert_pointer_only(job.payload)


def assert_pointer_only(payload: Any, path: str = "payload", depth: int = 0) -> None:
    """Raise ValidationError naming the first content-like key at any depth."""
    if depth > MAX_PAYLOAD_DEPTH:
        raise ValidationError.field(path, f"nested deeper than {MAX_PAYLOAD_DEPTH} levels")
    if isinstance(payload, Mapping):
        if len(payload) > MAX_PAYLOAD_KEYS:
            raise ValidationError.field(path, f"more than {MAX_PAYLOAD_KEYS} keys")
        for key, value in payload.items():
            if not isinstance(key, str):
                raise ValidationError.field(path, "keys must be strings")
            if _normal(key) in CONTENT_KEYS:
                raise ValidationError.field(
                    f"{path}.{key}", "a job carries pointers only, never message content"
                )
            assert_pointer_only(value, f"{path}.{key}", depth + 1)
    elif isinstance(payload, list | tuple):
        for index, value in enumerate(payload):
            assert_pointer_only(value, f"{path}[{index}]", depth + 1)
    elif not (payload is None or isinstance(payload, str | int | float | bool)):
        raise ValidationError.field(path, f"{type(payload).__name__} is not JSON")


def _normal(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()
