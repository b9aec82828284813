"""The in-memory job queue: the reference behaviour of the contract, for tests and for
programs that embed pigeon's consumers without a database. Nothing survives the process."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pigeon.domain import jobs
from pigeon.domain.ids import new_id
from pigeon.domain.jobs import Depth, Enqueued, Job, Reclaimed
from pigeon.domain.leases import Lease
from pigeon.domain.transitions import JOBS, JobStatus
from pigeon.errors import NotFound, StaleClaim, ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pigeon.clock import Clock
    from pigeon.domain.jobs import Ack, DeadFilter, NewJob
    from pigeon.store.database import UnitOfWork

LIVE = frozenset({JobStatus.READY, JobStatus.CLAIMED})


class MemoryQueue:
    name = "memory"

    def __init__(self, clock: Clock, *, lease_seconds: float = 30.0, max_attempts: int = 5):
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self._jobs: dict[str, Job] = {}
        self._changed = threading.Condition()

    # Writing ------------------------------------------------------------------------------

    def enqueue(self, new: Sequence[NewJob], *, uow: UnitOfWork | None = None) -> list[Enqueued]:
        if uow is not None:
            raise ValidationError.field("uow", "the memory queue has no transactions")
        for job in new:
            jobs.check_new(job)
        now = self.clock.now()
        out = []
        with self._changed:
            for job in new:
                twin = self._live_twin(job)
                if twin is not None:
                    out.append(Enqueued(twin.id, created=False))
                    continue
                stored = Job(
                    id=new_id(),
                    workspace_id=job.workspace_id,
                    queue=job.queue,
                    kind=job.kind,
                    payload=dict(job.payload),
                    status=JobStatus.READY,
                    priority=job.priority,
                    run_at=job.run_at or now,
                    attempts=0,
                    max_attempts=job.max_attempts or self.max_attempts,
                    created_at=now,
                    updated_at=now,
                    dedupe_key=job.dedupe_key,
                    channel_id=job.channel_id,
                )
                self._jobs[stored.id] = stored
                out.append(Enqueued(stored.id, created=True))
            self._changed.notify_all()
        return out

    def _live_twin(self, job: NewJob) -> Job | None:
        if job.dedupe_key is None:
            return None
        for other in self._jobs.values():
            if (
                other.dedupe_key == job.dedupe_key
                and other.workspace_id == job.workspace_id
                and other.queue == job.queue
                and other.status in LIVE
            ):
                return other
        return None

    def claim(
        self, queue: str, holder: str, *, limit: int, block_seconds: float = 0.0
    ) -> list[Job]:
        deadline = time.monotonic() + block_seconds
        with self._changed:
            while True:
                taken = self._claim_now(queue, holder, limit)
                left = deadline - time.monotonic()
                if taken or left <= 0:
                    return taken
                # Short waits: a job scheduled for later falls due without a notification.
                self._changed.wait(min(left, 0.05))

    def _claim_now(self, queue: str, holder: str, limit: int) -> list[Job]:
        now = self.clock.now()
        due = [
            job
            for job in self._jobs.values()
            if job.queue == queue and job.status == JobStatus.READY and job.run_at <= now
        ]
        due.sort(key=lambda job: (-job.priority, job.run_at, job.id))
        lease = Lease.new(holder, now + timedelta(seconds=self.lease_seconds))
        taken = []
        for job in due[:limit]:
            claimed = self._move(
                job, JobStatus.CLAIMED, now, lease=lease, attempts=job.attempts + 1
            )
            taken.append(claimed)
        return taken

    def ack(self, acks: Sequence[Ack]) -> set[str]:
        now = self.clock.now()
        done = set()
        with self._changed:
            for ack in acks:
                job = self._jobs.get(ack.job_id)
                if job is None or not _holds(job, ack.token):
                    continue
                status = JobStatus.DONE if ack.skipped is None else JobStatus.SKIPPED
                self._move(job, status, now, lease=None, last_error=ack.skipped)
                done.add(job.id)
        return done

    def fail(self, job_id: str, token: str, *, error: str, retry_at: datetime | None) -> Job:
        now = self.clock.now()
        with self._changed:
            job = self._held(job_id, token)
            status = jobs.after_failure(job.attempts, job.max_attempts, retry=retry_at is not None)
            moved = self._move(
                job, status, now, lease=None, last_error=error, run_at=retry_at or job.run_at
            )
            self._changed.notify_all()
            return moved

    def extend(self, job_ids: Sequence[str], token: str) -> set[str]:
        now = self.clock.now()
        until = now + timedelta(seconds=self.lease_seconds)
        renewed = set()
        with self._changed:
            for job_id in job_ids:
                job = self._jobs.get(job_id)
                if job is not None and _holds(job, token) and job.lease is not None:
                    self._jobs[job_id] = replace(
                        job, lease=replace(job.lease, expires_at=until), updated_at=now
                    )
                    renewed.add(job_id)
        return renewed

    def release(self, job_ids: Sequence[str], token: str) -> set[str]:
        now = self.clock.now()
        released = set()
        with self._changed:
            for job_id in job_ids:
                job = self._jobs.get(job_id)
                if job is not None and _holds(job, token):
                    self._move(job, JobStatus.READY, now, lease=None, attempts=job.attempts - 1)
                    released.add(job_id)
            self._changed.notify_all()
        return released

    def reclaim_expired(self, *, limit: int = 500) -> Reclaimed:
        now = self.clock.now()
        result = Reclaimed()
        with self._changed:
            expired = [
                job
                for job in self._jobs.values()
                if job.status == JobStatus.CLAIMED
                and job.lease is not None
                and job.lease.expires_at < now
            ]
            expired.sort(key=lambda job: job.lease.expires_at if job.lease else now)
            for job in expired[:limit]:
                status = jobs.after_failure(job.attempts, job.max_attempts, retry=True)
                self._move(job, status, now, lease=None, last_error="lease expired", run_at=now)
                (result.requeued if status == JobStatus.READY else result.dead).append(job.id)
            self._changed.notify_all()
        return result

    def redrive(self, workspace_id: str, where: DeadFilter) -> list[str]:
        now = self.clock.now()
        with self._changed:
            ids = [job.id for job in self._dead(workspace_id, where)]
            for job_id in ids:
                self._move(self._jobs[job_id], JobStatus.READY, now, attempts=0, run_at=now)
            self._changed.notify_all()
        return ids

    def purge(self, workspace_id: str, where: DeadFilter) -> list[str]:
        with self._changed:
            ids = [job.id for job in self._dead(workspace_id, where)]
            for job_id in ids:
                del self._jobs[job_id]
        return ids

    # Reading ------------------------------------------------------------------------------

    def get(self, workspace_id: str, job_id: str) -> Job | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.workspace_id == workspace_id else None

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
        with self._changed:
            found = [
                job
                for job in self._jobs.values()
                if job.workspace_id == workspace_id
                and (status is None or job.status == status)
                and (kind is None or job.kind == kind)
                and (channel_id is None or job.channel_id == channel_id)
                and (before is None or job.id < before)
            ]
        found.sort(key=lambda job: job.id, reverse=True)
        return found[:limit]

    def depth(self, queue: str | None = None, *, workspace_id: str | None = None) -> Depth:
        now = self.clock.now()
        counts = dict.fromkeys(("ready", "scheduled", "claimed", "dead"), 0)
        oldest: datetime | None = None
        with self._changed:
            for job in self._jobs.values():
                if (queue is not None and job.queue != queue) or (
                    workspace_id is not None and job.workspace_id != workspace_id
                ):
                    continue
                if job.status == JobStatus.READY and job.run_at > now:
                    counts["scheduled"] += 1
                elif job.status in (JobStatus.READY, JobStatus.CLAIMED, JobStatus.DEAD):
                    counts[job.status.value] += 1
                if job.status == JobStatus.READY and job.run_at <= now:
                    oldest = job.run_at if oldest is None else min(oldest, job.run_at)
        age = 0.0 if oldest is None else (now - oldest).total_seconds()
        return Depth(oldest_ready_seconds=age, **counts)

    def close(self) -> None:
        pass

    # Helpers ------------------------------------------------------------------------------

    def _dead(self, workspace_id: str, where: DeadFilter) -> Iterable[Job]:
        return [
            job
            for job in self._jobs.values()
            if job.workspace_id == workspace_id
            and job.status == JobStatus.DEAD
            and jobs.matches(job, where)
        ]

    def _held(self, job_id: str, token: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        if not _holds(job, token):
            raise StaleClaim(f"job {job_id} is no longer held under this token")
        return job

    def _move(self, job: Job, status: JobStatus, now: datetime, **changes: object) -> Job:
        if status != job.status:
            JOBS.check(job.status, status)
        moved = replace(job, status=status, updated_at=now, **changes)  # type: ignore[arg-type]
        self._jobs[job.id] = moved
        return moved


def _holds(job: Job, token: str) -> bool:
    return job.status == JobStatus.CLAIMED and job.lease is not None and job.lease.token == token
