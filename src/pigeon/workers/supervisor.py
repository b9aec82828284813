"""What a process runs in the background, assembled on the one worker runtime: the
scheduler, the sender, a consumer per job queue, and the upkeep timers."""

from __future__ import annotations

from typing import TYPE_CHECKING

# batches: imported for the maker of recurring batches it registers with recurrences.
from pigeon.services import batches, jobs, mailboxes, recurrences  # noqa: F401
from pigeon.services.push import worker_identity
from pigeon.workers.consumer import Consumer, reclaim_expired
from pigeon.workers.runtime import Runtime, Timer, Worker
from pigeon.workers.scheduler import Scheduler
from pigeon.workers.sender import SenderWorker

if TYPE_CHECKING:
    import asyncio

    from pigeon.services.context import Services

GRACE_SECONDS = 10.0
HARD_SECONDS = 5.0


def runtime_of(svc: Services, *, grace_seconds: float = GRACE_SECONDS) -> Runtime:
    holder = worker_identity()
    consumers = [
        Consumer(svc, queue.name, queue.handlers, holder=holder, log_prefix=queue.log_prefix)
        for queue in jobs.queues()
    ]
    # Sweeping at half the lease recovers a dead consumer's jobs within 1.5 leases.
    every = max(svc.queue.lease_seconds / 2, 0.2)
    sweep = Timer("reclaim_jobs", every, lambda: reclaim_expired(svc))
    upkeep = Timer("mailbox_upkeep", mailboxes.UPKEEP_SECONDS, lambda: mailboxes.run_upkeep(svc))
    # Makes each recurrence's occurrences shortly before they are due.
    repeat = Timer("recurrences", recurrences.UPKEEP_SECONDS, lambda: recurrences.run_upkeep(svc))
    workers: list[Worker] = [Scheduler(svc), SenderWorker(svc), *consumers]
    if svc.settings.imap_listener:
        from pigeon.providers.imap_listener import ListenerWorker

        workers.append(ListenerWorker(svc))
    return Runtime(
        workers,
        [sweep, upkeep, repeat],
        grace_seconds=grace_seconds,
        hard_seconds=HARD_SECONDS,
    )


async def run_workers(services: Services, stop: asyncio.Event) -> None:
    await runtime_of(services).run(stop)


async def drain(services: Services) -> dict[str, int]:
    """Everything that can be done now: messages released and sent, jobs run."""
    return await runtime_of(services).drain()
