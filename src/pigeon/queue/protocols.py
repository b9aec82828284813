"""What every job queue backend provides. The contract suite in
`tests/contract/test_queue.py` runs each backend through the same behaviour.

Every call is synchronous (the workers run them in threads, as they do database calls).
Fencing: a claim stamps its jobs with one lease; `ack`, `fail`, `extend` and `release` must
present its token, and once a job was reclaimed (its lease ran out and a sweep put it back)
the old token matches nothing, so a holder that lost its lease cannot overwrite newer state.
A lease that ran out but was not yet reclaimed still counts: the holder was slow, not wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from pigeon.domain.jobs import Ack, DeadFilter, Depth, Enqueued, Job, NewJob, Reclaimed
    from pigeon.store.database import UnitOfWork


class JobQueue(Protocol):
    name: str  # "sql", "redis", "memory": in logs and stats
    lease_seconds: float
    max_attempts: int  # for jobs enqueued without their own

    def enqueue(self, jobs: Sequence[NewJob], *, uow: UnitOfWork | None = None) -> list[Enqueued]:
        """Store `jobs` durably, in order. On SQL, inside `uow` when given (the job commits
        with the caller's writes); other backends refuse a `uow`. Refuses (ValidationError,
        nothing stored) a payload that carries content."""
        ...

    def claim(
        self, queue: str, holder: str, *, limit: int, block_seconds: float = 0.0
    ) -> list[Job]:
        """Up to `limit` due ready jobs of `queue`, highest priority first, then earliest
        run-at, each under one new lease held by `holder` with its attempts counted. Waits up
        to `block_seconds` for work when there is none."""
        ...

    def ack(self, acks: Sequence[Ack]) -> set[str]:
        """Finish claimed jobs (done, or skipped); returns the ids whose token was current.
        A job left out was taken over: its late ack changes nothing."""
        ...

    def fail(self, job_id: str, token: str, *, error: str, retry_at: datetime | None) -> Job:
        """Record a failed attempt: ready again at `retry_at` (a datetime) while attempts
        remain, dead when they are spent or `retry_at` is None. Raises StaleClaim when the
        token is not the job's current lease."""
        ...

    def extend(self, job_ids: Sequence[str], token: str) -> set[str]:
        """Renew the leases of `job_ids` still held under `token` for another lease period;
        returns those renewed."""
        ...

    def release(self, job_ids: Sequence[str], token: str) -> set[str]:
        """Hand back claimed jobs that were never started (a stop): ready at once, the
        attempt not counted."""
        ...

    def reclaim_expired(self, *, limit: int = 500) -> Reclaimed:
        """Jobs whose lease ran out: ready again now, or dead when their attempts are spent."""
        ...

    def get(self, workspace_id: str, job_id: str) -> Job | None: ...

    def list_jobs(
        self,
        workspace_id: str,
        *,
        status: str | None = None,
        kind: str | None = None,
        channel_id: str | None = None,
        limit: int = 50,
        before: str | None = None,
    ) -> list[Job]:
        """Newest first; `before`: a job id, for the next page."""
        ...

    def redrive(self, workspace_id: str, where: DeadFilter) -> list[str]:
        """Dead jobs back to ready, now, with fresh attempts; returns their ids."""
        ...

    def purge(self, workspace_id: str, where: DeadFilter) -> list[str]:
        """Delete dead jobs; returns their ids."""
        ...

    def depth(self, queue: str | None = None, *, workspace_id: str | None = None) -> Depth: ...

    def close(self) -> None: ...
