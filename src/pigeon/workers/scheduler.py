"""The scheduler: releases messages as they fall due and settles expired leases.

It sleeps until the earliest queued message falls due, at most `interval` seconds, and a
notification of a message queued for an earlier time wakes it sooner. Messages due at once
are not its business: the claim that takes them releases them on the way (a waiting device
or the sender is woken for them), so the scheduler adds no transaction to the common path.
Several schedulers may run at once: the release statement skips rows another one holds.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from anyio import to_thread

from pigeon.domain.transitions import MessageStatus
from pigeon.services import scheduling

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from pigeon.bus.protocols import Subscription
    from pigeon.services.context import Services

log = logging.getLogger(__name__)

LEASE_SWEEP_SECONDS = 1.0
DEVICE_SWEEP_SECONDS = 5.0
LEDGER_PRUNE_SECONDS = 600.0


class Scheduler:
    name = "scheduler"

    def __init__(self, svc: Services, *, interval: float | None = None) -> None:
        self.svc = svc
        self.interval = interval or svc.settings.scheduler_interval_seconds
        self._last_sweep: datetime | None = None
        self._last_device_sweep: datetime | None = None
        self._last_prune: datetime | None = None
        self._wake_at: datetime | None = None
        # The earliest due time the last pass saw, while nothing since can have changed it.
        self._next_due: datetime | None = None
        self._next_due_known = False

    def tick(self) -> int:
        """One pass, synchronously: release everything due, sweep leases when it is time."""
        released = 0
        now = self.svc.clock.now()
        sweep_due = self._last_sweep is None or (
            (now - self._last_sweep).total_seconds() >= LEASE_SWEEP_SECONDS
        )
        # A cheap read first: most passes have nothing to do, and a write costs a commit.
        look = scheduling.look_ahead(self.svc, leases=sweep_due)
        if look.next_due is not None and look.next_due <= now:
            while True:
                step = scheduling.release_due(self.svc)
                released += len(step.released)
                if step.considered < scheduling.RELEASE_CHUNK:
                    break
        requeued = 0
        if sweep_due:
            if look.leases_expired:
                requeued = scheduling.expire_leases(self.svc).requeued
            self._last_sweep = now
        if self._last_device_sweep is None or (
            (now - self._last_device_sweep).total_seconds() >= DEVICE_SWEEP_SECONDS
        ):
            scheduling.move_off_gone_devices(self.svc)
            self._last_device_sweep = now
        if (
            self._last_prune is None
            or (now - self._last_prune).total_seconds() >= LEDGER_PRUNE_SECONDS
        ):
            scheduling.prune_throttle_ledger(self.svc)
            self._last_prune = now
        # What the look saw stays true unless this pass released, held or requeued messages.
        touched = look.next_due is not None and look.next_due <= now
        self._next_due, self._next_due_known = look.next_due, not touched and not requeued
        return released

    async def drain(self) -> int:
        return await to_thread.run_sync(self.tick)

    def _seconds_until_due(self) -> float:
        due = self._next_due
        if not self._next_due_known:
            due = scheduling.look_ahead(self.svc, leases=False).next_due
        now = self.svc.clock.now()
        wait = self.interval if due is None else min(self.interval, (due - now).total_seconds())
        wait = max(0.0, wait)
        self._wake_at = now + timedelta(seconds=wait)
        return wait

    def _pass(self) -> float:
        """A pass, then how long to sleep before the next; one thread hop for both."""
        self.tick()
        return self._seconds_until_due()

    async def run(self, stop: asyncio.Event) -> None:
        subscription = self.svc.bus.subscribe("messages")
        log.info("scheduler started", extra={"action": "scheduler_started"})
        try:
            while not stop.is_set():
                try:
                    wait = await to_thread.run_sync(self._pass)
                except Exception:
                    log.exception("scheduler pass failed", extra={"action": "scheduler_error"})
                    wait = self.interval
                await first_of(stop, self._earlier_due(subscription), wait)
        finally:
            self.svc.bus.unsubscribe(subscription)
            log.info("scheduler stopped", extra={"action": "scheduler_stopped"})

    async def _earlier_due(self, subscription: Subscription) -> None:
        """Return at a notification of a message that falls due before the planned wake-up
        (and not at once: its claimer releases that)."""
        while True:
            note = await subscription.get()
            if note is not None and self._is_earlier(note[1]):
                return

    def _is_earlier(self, payload: dict[str, Any]) -> bool:
        if payload.get("status") != MessageStatus.QUEUED or "earliest" not in payload:
            return False
        earliest = datetime.fromisoformat(payload["earliest"])
        now = self.svc.clock.now()
        return now < earliest and (self._wake_at is None or earliest < self._wake_at)


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
