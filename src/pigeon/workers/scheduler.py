"""The scheduler: releases due messages and settles expired leases.

It wakes when a message is added or changed (a bus notification), when the earliest queued
message falls due, and at least every `interval` seconds, so a due message is released within
a fraction of a second rather than on a long tick. Several schedulers may run at once: the
release statement skips rows another one holds.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from anyio import to_thread

from pigeon.services import scheduling

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from datetime import datetime

    from pigeon.bus.protocols import EventBus
    from pigeon.services.context import Services

log = logging.getLogger(__name__)

LEASE_SWEEP_SECONDS = 1.0


class Scheduler:
    def __init__(self, svc: Services, bus: EventBus, *, interval: float | None = None) -> None:
        self.svc = svc
        self.bus = bus
        self.interval = interval or svc.settings.scheduler_interval_seconds
        self._last_sweep: datetime | None = None

    def tick(self) -> int:
        """One pass, synchronously: release everything due, sweep leases when it is time."""
        released = 0
        due = scheduling.next_due_at(self.svc)
        # A cheap read first: most wake-ups (a future message added) have nothing to release,
        # and a write transaction costs a commit.
        while due is not None and due <= self.svc.clock.now():
            count = scheduling.release_due(self.svc)
            released += count
            if count < scheduling.RELEASE_CHUNK:
                break
        now = self.svc.clock.now()
        since_sweep = None if self._last_sweep is None else now - self._last_sweep
        if since_sweep is None or since_sweep.total_seconds() >= LEASE_SWEEP_SECONDS:
            scheduling.expire_leases(self.svc)
            self._last_sweep = now
        return released

    def _seconds_until_due(self) -> float:
        due = scheduling.next_due_at(self.svc)
        if due is None:
            return self.interval
        return max(0.0, min(self.interval, (due - self.svc.clock.now()).total_seconds()))

    async def run(self, stop: asyncio.Event) -> None:
        subscription = self.bus.subscribe("messages")
        log.info("scheduler started", extra={"action": "scheduler_started"})
        try:
            while not stop.is_set():
                try:
                    await to_thread.run_sync(self.tick)
                    wait = await to_thread.run_sync(self._seconds_until_due)
                except Exception:
                    log.exception("scheduler pass failed", extra={"action": "scheduler_error"})
                    wait = self.interval
                await first_of(stop, subscription.get(wait), wait)
                subscription.drain()
        finally:
            self.bus.unsubscribe(subscription)
            log.info("scheduler stopped", extra={"action": "scheduler_stopped"})


async def first_of(stop: asyncio.Event, notified: Awaitable[object], timeout: float) -> None:
    """Return when stopped, notified or after `timeout`."""
    stopper = asyncio.ensure_future(stop.wait())
    listener = asyncio.ensure_future(notified)
    try:
        await asyncio.wait(
            {stopper, listener}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for task in (stopper, listener):
            task.cancel()
