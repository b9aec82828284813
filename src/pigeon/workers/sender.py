"""The sender worker: delivers messages of push channels (console today; WhatsApp, SMTP and
Twilio as their senders arrive).

It wakes when messages of a push channel become due (queued for now, or released by the
scheduler) and claims them, releasing the due ones on the way; changes on gateway channels,
which devices serve, never wake it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from anyio import to_thread

from pigeon.domain.transitions import MessageStatus
from pigeon.services import push
from pigeon.services.waiters import DUE_SLACK
from pigeon.workers.scheduler import first_of

if TYPE_CHECKING:
    from pigeon.bus.protocols import Subscription
    from pigeon.services.context import Services

log = logging.getLogger(__name__)


class SenderWorker:
    name = "sender"

    def __init__(
        self,
        svc: Services,
        *,
        batch: int = 50,
        concurrency: int = 10,
        interval: float = 1.0,
    ) -> None:
        self.svc = svc
        self.batch = batch
        self.interval = interval
        self.holder = push.worker_identity()
        self._slots = asyncio.Semaphore(concurrency)
        self._push_channels: dict[str, bool] = {}  # channel id -> served by a sender here

    async def _send(self, claimed: push.Claim) -> push.Attempt:
        async with self._slots:
            return await push.send(self.svc, claimed)

    async def run_once(self) -> int:
        """Claim one batch, send it, record the outcomes; returns how many were claimed."""
        claimed = await to_thread.run_sync(lambda: push.claim(self.svc, self.holder, self.batch))
        if claimed:
            attempts = await asyncio.gather(*(self._send(m) for m in claimed))
            # Shielded: a stop during the write must not lose outcomes already obtained.
            await asyncio.shield(
                to_thread.run_sync(lambda: push.settle(self.svc, self.holder, list(attempts)))
            )
        return len(claimed)

    async def drain(self) -> int:
        return await self.run_once() if self.svc.senders else 0

    async def run(self, stop: asyncio.Event) -> None:
        if not self.svc.senders:
            return
        subscription = self.svc.bus.subscribe("messages")
        log.info("sender started", extra={"action": "sender_started", "holder": self.holder})
        try:
            while not stop.is_set():
                try:
                    if await self.run_once() == self.batch:
                        continue  # more may be waiting
                except Exception:
                    log.exception("sender pass failed", extra={"action": "sender_error"})
                await self._until_push_work(stop, subscription)
        finally:
            self.svc.bus.unsubscribe(subscription)

    async def _until_push_work(self, stop: asyncio.Event, subscription: Subscription) -> None:
        """Wait for due messages of a push channel (or the interval, or the stop). Channels
        not seen before are looked up here, never inside the wait that a stop cancels: a
        query cancelled mid-way would leave its thread holding a connection."""
        while not stop.is_set():
            woken: list[list[str]] = []
            await first_of(stop, self._due_channels(subscription, woken), self.interval)
            if not woken:
                return  # the interval or the stop
            [channels] = woken
            unknown = [c for c in channels if c not in self._push_channels]
            if unknown:
                found = await to_thread.run_sync(push.served_channels, self.svc, unknown)
                self._push_channels.update(found)
            if any(self._push_channels.get(c) for c in channels):
                return

    async def _due_channels(self, subscription: Subscription, out: list[list[str]]) -> None:
        """Return with the channels of the next notification that brings due messages (the
        pinned ones name devices, which serve gateway channels only)."""
        while True:
            note = await subscription.get()
            if note is not None and self._brings_work(note[1]):
                out.append(list(note[1].get("channels") or {}))
                return

    def _brings_work(self, payload: dict[str, Any]) -> bool:
        status = payload.get("status")
        if status == MessageStatus.RELEASED:
            return True
        earliest = payload.get("earliest")
        if status != MessageStatus.QUEUED or earliest is None:
            return False
        return datetime.fromisoformat(earliest) <= self.svc.clock.now() + DUE_SLACK
