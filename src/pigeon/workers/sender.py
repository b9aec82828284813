"""The sender worker: delivers released messages of push channels (console today; WhatsApp,
SMTP and Twilio as their senders arrive). Wakes when messages are released."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from anyio import to_thread

from pigeon.domain.transitions import MessageStatus
from pigeon.services import push
from pigeon.workers.scheduler import first_of

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pigeon.bus.protocols import EventBus, Subscription
    from pigeon.channels.protocols import Sender
    from pigeon.domain.messages import Message
    from pigeon.services.context import Services

log = logging.getLogger(__name__)


class SenderWorker:
    def __init__(
        self,
        svc: Services,
        bus: EventBus,
        senders: Mapping[str, Sender],
        *,
        batch: int = 50,
        concurrency: int = 10,
        interval: float = 1.0,
    ) -> None:
        self.svc = svc
        self.bus = bus
        self.senders = senders
        self.batch = batch
        self.interval = interval
        self.holder = push.worker_identity()
        self._slots = asyncio.Semaphore(concurrency)

    async def _send(self, message: Message) -> push.Attempt:
        async with self._slots:
            return await push.send(self.svc, self.senders, message)

    async def run_once(self) -> int:
        """Claim one batch, send it, record the outcomes; returns how many were claimed."""
        claimed = await to_thread.run_sync(
            lambda: push.claim(self.svc, self.senders, self.holder, self.batch)
        )
        if claimed:
            attempts = await asyncio.gather(*(self._send(m) for m in claimed))
            # Shielded: a stop during the write must not lose outcomes already obtained.
            await asyncio.shield(
                to_thread.run_sync(lambda: push.settle(self.svc, self.holder, list(attempts)))
            )
        return len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        if not self.senders:
            return
        subscription = self.bus.subscribe("messages")
        log.info("sender started", extra={"action": "sender_started", "holder": self.holder})
        try:
            while not stop.is_set():
                try:
                    if await self.run_once() == self.batch:
                        continue  # more may be waiting
                except Exception:
                    log.exception("sender pass failed", extra={"action": "sender_error"})
                await first_of(stop, _release_of(subscription), self.interval)
                subscription.drain()
        finally:
            self.bus.unsubscribe(subscription)


async def _release_of(subscription: Subscription) -> None:
    """Return at the next notification that messages were released: other changes (a message
    added for later, a report) give a push channel nothing new to send."""
    while True:
        note = await subscription.get()
        if note is not None and note[1].get("status") == MessageStatus.RELEASED:
            return
