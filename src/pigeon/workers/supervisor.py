"""Runs every background worker of a process until told to stop, then lets each finish
its pass within a grace period before cancelling it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from anyio import to_thread

from pigeon.workers.scheduler import Scheduler
from pigeon.workers.sender import SenderWorker

if TYPE_CHECKING:
    from pigeon.services.context import Services

log = logging.getLogger(__name__)

GRACE_SECONDS = 10.0


async def run_workers(services: Services, stop: asyncio.Event) -> None:
    tasks = [
        asyncio.create_task(Scheduler(services).run(stop), name="scheduler"),
        asyncio.create_task(SenderWorker(services).run(stop), name="sender"),
    ]
    try:
        await stop.wait()
    finally:
        stop.set()
        _done, pending = await asyncio.wait(tasks, timeout=GRACE_SECONDS)
        for task in pending:
            log.warning(
                "worker did not stop in time",
                extra={"action": "worker_cancelled", "worker": task.get_name()},
            )
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def run_once(services: Services) -> tuple[int, int]:
    """One pass of each worker: (messages released, messages claimed for push channels)."""
    released = await to_thread.run_sync(Scheduler(services).tick)
    sent = await SenderWorker(services).run_once()
    return released, sent
