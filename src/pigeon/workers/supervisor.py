"""Runs every background worker of a process until told to stop, then lets each finish
its pass within a grace period before cancelling it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from pigeon.workers.scheduler import Scheduler
from pigeon.workers.sender import SenderWorker

if TYPE_CHECKING:
    from pigeon.bootstrap import Container

log = logging.getLogger(__name__)

GRACE_SECONDS = 10.0


async def run_workers(container: Container, stop: asyncio.Event) -> None:
    services, bus = container.services, container.bus
    tasks = [
        asyncio.create_task(Scheduler(services, bus).run(stop), name="scheduler"),
        asyncio.create_task(
            SenderWorker(services, bus, container.senders).run(stop), name="sender"
        ),
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
