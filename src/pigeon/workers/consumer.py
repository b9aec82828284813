"""A job consumer: claims jobs of one queue and runs each through the handler of its kind.

- A handler returns None (done) or `Skipped(reason)` (its source is gone: acked, never
  retried). `PermanentJobError` makes the job dead at once; any other exception retries it
  after a capped exponential delay with jitter, until its attempts are spent (then dead).
- While jobs are held, a heartbeat renews their lease every third of it, so a slow job is
  not taken from a live consumer; a consumer that dies stops renewing, and its jobs are
  reclaimed by any process's sweep once the lease runs out.
- Acks are batched: a batch of fast jobs costs one write, not one per job.
- Claims adapt: a consumer takes as many jobs as it can start at once, more while jobs are
  fast (up to `batch`), so slow jobs are not hoarded from other consumers.
- Stopping: jobs not yet started are released at once (not left to expire), jobs running
  finish within the runtime's grace period.

Log events (stable names, `<prefix>_<event>`): `consume_start`, `ack`, `retry`, `dlq`,
`skip`, `reclaim`, with the workspace, the job's kind, its pointer and its attempt; never
message content (payloads are pointers only).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from anyio import to_thread

from pigeon.domain.jobs import Ack
from pigeon.domain.transitions import JobStatus
from pigeon.errors import PigeonError, StaleClaim

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pigeon.domain.jobs import Job
    from pigeon.services.context import Services

log = logging.getLogger(__name__)

LEASE_EXPIRED = "lease expired"  # the last_error of a reclaimed job
FAST_JOB_SECONDS = 0.005
ACK_FLUSH_SECONDS = 0.05
ACK_FLUSH_COUNT = 100


@dataclass(frozen=True)
class Skipped:
    reason: str  # e.g. "source_unavailable:imap_uidvalidity_changed"


class PermanentJobError(PigeonError):
    """Retrying this job cannot succeed."""


Handler = Callable[["Services", "Job"], Awaitable[Skipped | None]]


class Consumer:
    def __init__(
        self,
        svc: Services,
        queue: str,
        handlers: Mapping[str, Handler],
        *,
        holder: str,
        concurrency: int | None = None,
        batch: int = 100,
        log_prefix: str | None = None,
    ) -> None:
        self.svc = svc
        self.queue = queue
        self.handlers = handlers
        self.holder = holder
        self.name = f"consumer:{queue}"
        self.concurrency = concurrency or svc.settings.queue.concurrency
        self.batch = max(batch, self.concurrency)
        self.prefix = log_prefix or f"{queue}_queue"
        self._take = self.concurrency
        self._acks: list[Ack] = []
        self._first_ack_at = 0.0

    # The runtime's two entry points ------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        block = self.svc.settings.queue.block_seconds
        # Claims wait in slices: a stop is noticed within one, and whatever the last claim
        # took is released instead of left to expire.
        slice_seconds = min(block, 1.0)
        while not stop.is_set():
            jobs = await to_thread.run_sync(self._claim, slice_seconds)
            if jobs:
                await self._run_all(jobs, stop)

    async def drain(self) -> int:
        count = 0
        while jobs := await to_thread.run_sync(self._claim, 0.0):
            await self._run_all(jobs, asyncio.Event())
            count += len(jobs)
        return count

    # Claiming and running ----------------------------------------------------------------

    def _claim(self, block_seconds: float) -> list[Job]:
        return self.svc.queue.claim(
            self.queue, self.holder, limit=self._take, block_seconds=block_seconds
        )

    async def _run_all(self, jobs: list[Job], stop: asyncio.Event) -> None:
        token = jobs[0].token
        unfinished = {job.id for job in jobs}
        heartbeat = asyncio.create_task(self._heartbeat(token, unfinished))
        started = time.monotonic()
        try:
            if self.concurrency == 1:
                for index, job in enumerate(jobs):
                    if stop.is_set():
                        await self._release([j.id for j in jobs[index:]], token)
                        break
                    await self._run_one(job, unfinished)
            else:
                await self._run_concurrently(jobs, unfinished, stop)
        except asyncio.CancelledError:
            # Cancelled past the stop's grace period: what still runs or never started is
            # handed back now rather than left claimed until its lease runs out.
            if unfinished:
                await asyncio.shield(self._release(sorted(unfinished), token))
            raise
        finally:
            heartbeat.cancel()
            await asyncio.shield(self._flush_acks())
        self._adapt(len(jobs), time.monotonic() - started)

    async def _run_concurrently(
        self, jobs: list[Job], unfinished: set[str], stop: asyncio.Event
    ) -> None:
        slots = asyncio.Semaphore(self.concurrency)
        unstarted: list[str] = []

        async def start(job: Job) -> None:
            async with slots:
                if stop.is_set():
                    unstarted.append(job.id)
                    return
                await self._run_one(job, unfinished)

        await asyncio.gather(*(start(job) for job in jobs))
        if unstarted:
            await self._release(unstarted, jobs[0].token)

    async def _run_one(self, job: Job, unfinished: set[str]) -> None:
        if job.last_error == LEASE_EXPIRED:
            self._event(logging.WARNING, "reclaim", job)
        self._event(logging.DEBUG, "consume_start", job)
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise PermanentJobError(f"no handler for jobs of kind {job.kind!r}")
            outcome = await handler(self.svc, job)
        except Exception as error:  # a job's failure must never stop the consumer
            unfinished.discard(job.id)
            await self._fail(job, error)
            return
        unfinished.discard(job.id)
        skipped = outcome.reason if isinstance(outcome, Skipped) else None
        self._acks.append(Ack(job.id, job.token, skipped))
        if len(self._acks) == 1:
            self._first_ack_at = time.monotonic()
        if skipped is not None:
            self._event(logging.INFO, "skip", job, reason=skipped)
        if (
            len(self._acks) >= ACK_FLUSH_COUNT
            or time.monotonic() - self._first_ack_at > ACK_FLUSH_SECONDS
        ):
            await self._flush_acks()

    async def _flush_acks(self) -> None:
        acks, self._acks = self._acks, []
        if not acks:
            return
        acked = await to_thread.run_sync(self.svc.queue.ack, acks)
        for ack in acks:
            if ack.job_id in acked:
                if log.isEnabledFor(logging.DEBUG):
                    action = f"{self.prefix}_ack"
                    log.debug(action, extra={"action": action, "job_id": ack.job_id})
            else:
                log.warning(
                    "a job's lease was taken over before its ack; it may run twice",
                    extra={"action": f"{self.prefix}_ack_stale", "job_id": ack.job_id},
                )

    async def _fail(self, job: Job, error: Exception) -> None:
        retry = not isinstance(error, PermanentJobError)
        retry_at = None
        if retry:
            delay = self.svc.job_backoff.delay(job.attempts)
            retry_at = self.svc.clock.now() + timedelta(seconds=delay)
        text = f"{type(error).__name__}: {error}"[:500]
        try:
            failed = await to_thread.run_sync(
                lambda: self.svc.queue.fail(job.id, job.token, error=text, retry_at=retry_at)
            )
        except StaleClaim:
            self._event(logging.WARNING, "retry_stale", job, error=text)
            return
        if failed.status == JobStatus.DEAD:
            self._event(logging.ERROR, "dlq", job, error=text)
        else:
            self._event(logging.WARNING, "retry", job, error=text, retry_at=retry_at)

    async def _release(self, job_ids: list[str], token: str) -> None:
        await to_thread.run_sync(self.svc.queue.release, job_ids, token)
        log.info(
            "released unstarted jobs",
            extra={"action": f"{self.prefix}_release", "count": len(job_ids)},
        )

    async def _heartbeat(self, token: str, unfinished: set[str]) -> None:
        every = max(self.svc.queue.lease_seconds / 3, 0.05)
        while True:
            await asyncio.sleep(every)
            if unfinished:
                await to_thread.run_sync(self.svc.queue.extend, list(unfinished), token)

    def _adapt(self, taken: int, seconds: float) -> None:
        """Take more jobs a claim while they run fast, fewer when they are slow."""
        per_job = seconds / max(taken, 1)
        if per_job < FAST_JOB_SECONDS and taken == self._take:
            self._take = min(self._take * 2, self.batch)
        elif per_job >= FAST_JOB_SECONDS:
            self._take = self.concurrency

    def _event(self, level: int, event: str, job: Job, **fields: Any) -> None:
        if not log.isEnabledFor(level):
            return
        action = f"{self.prefix}_{event}"
        log.log(level, action, extra={"action": action, **job_fields(job), **fields})


def job_fields(job: Job) -> dict[str, Any]:
    """What a log line says of a job: never content (a payload holds pointers only)."""
    return {
        "job_id": job.id,
        "workspace_id": job.workspace_id,
        "kind": job.kind,
        "provider": job.payload.get("provider"),
        "pointer": job.payload,
        "attempt": job.attempts,
        "max_attempts": job.max_attempts,
    }


def reclaim_expired(svc: Services) -> None:
    """Upkeep: put back the jobs whose lease ran out (a consumer died or hung). The consumer
    that runs one again logs `<prefix>_reclaim` with its pointer."""
    reclaimed = svc.queue.reclaim_expired()
    if reclaimed.requeued:
        log.warning(
            "job leases expired; jobs requeued",
            extra={"action": "job_queue_reclaim", "job_ids": reclaimed.requeued},
        )
    if reclaimed.dead:
        log.error(
            "job leases expired with their attempts spent; jobs dead",
            extra={"action": "job_queue_dlq", "job_ids": reclaimed.dead},
        )
