"""Long-polling claims asleep until work they can take arrives.

One subscription to the bus serves every waiting claim of the process. A notification that
messages were released (or queued, due now) wakes as many waiters of their channel as there
are messages, oldest waiter first, and the waiters of a device its pinned messages name; a
device's revocation wakes its waiters to end them. Nothing else wakes a waiter, so a
thousand idle long-polls cost nothing but their sockets. While the bus reports an outage,
notifications from other processes may be lost: then every waiter is woken every
`fallback_seconds` to look for itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pigeon.domain.transitions import MessageStatus
from pigeon.errors import AuthError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pigeon.bus.protocols import EventBus, Subscription
    from pigeon.clock import Clock
    from pigeon.domain.accounts import Device

log = logging.getLogger(__name__)

MESSAGES = "messages"
DEVICES = "devices"
# A message queued "now" may carry a time a hair ahead of this process's clock.
DUE_SLACK = timedelta(seconds=0.5)


class Waiter:
    """One waiting claim. `sleep` returns True when woken, False when its time is up."""

    def __init__(self, device: Device, deadline: float) -> None:
        self.device = device
        self.deadline = deadline
        self.revoked = False
        self._woken = asyncio.Event()
        self.owes_a_claim = False  # woken, not yet claimed: pass the wake on if it leaves

    def wake(self) -> None:
        self.owes_a_claim = True
        self._woken.set()

    @property
    def is_woken(self) -> bool:
        return self._woken.is_set()

    def ready_to_claim(self) -> None:
        """Called just before each claim: a wake that arrives during it is kept."""
        self._woken.clear()
        self.owes_a_claim = False

    async def sleep(self) -> bool:
        remaining = self.deadline - asyncio.get_running_loop().time()
        if remaining > 0 and not self._woken.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), remaining)
        if self.revoked:
            raise AuthError("this device has been revoked")
        return self._woken.is_set()


class Waiters:
    def __init__(self, bus: EventBus, clock: Clock, *, fallback_seconds: float = 2.0) -> None:
        self._bus = bus
        self._clock = clock
        self._fallback_seconds = fallback_seconds
        self._ids = itertools.count()
        # Insertion-ordered, so the longest waiting is woken first.
        self._by_channel: dict[str, dict[int, Waiter]] = {}
        self._by_device: dict[str, dict[int, Waiter]] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = self._bus.subscribe(MESSAGES, DEVICES)
        self._task = asyncio.create_task(self._listen(self._subscription), name="claim-waiters")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._subscription is not None:
            self._bus.unsubscribe(self._subscription)
            self._subscription = None

    @contextlib.contextmanager
    def register(self, device: Device, *, timeout: float) -> Iterator[Waiter]:
        """Register before the first claim, so no wake between claim and sleep is lost."""
        waiter = Waiter(device, asyncio.get_running_loop().time() + timeout)
        key = next(self._ids)
        self._by_channel.setdefault(device.channel_id, {})[key] = waiter
        self._by_device.setdefault(device.id, {})[key] = waiter
        try:
            yield waiter
        finally:
            _remove(self._by_channel, device.channel_id, key)
            _remove(self._by_device, device.id, key)
            if waiter.owes_a_claim:
                # Woken for work it never claimed (its client went away): someone else may.
                self._wake(self._by_channel.get(device.channel_id, {}), 1)

    async def _listen(self, subscription: Subscription) -> None:
        loop = asyncio.get_running_loop()
        next_fallback = loop.time() + self._fallback_seconds
        while True:
            note = await subscription.get(max(next_fallback - loop.time(), 0.0))
            try:
                if note is not None:
                    self._on_notification(*note)
                if loop.time() >= next_fallback:
                    # On its own clock: local notifications keep coming in a busy process
                    # while those of other processes are lost.
                    next_fallback = loop.time() + self._fallback_seconds
                    if not self._bus.healthy:
                        self._wake_all()
            except Exception:  # one odd payload must not end every long-poll's wake-ups
                log.exception("waiter wake-up failed", extra={"action": "waiters_error"})

    def _on_notification(self, topic: str, payload: dict[str, Any]) -> None:
        if topic == DEVICES:
            for waiter in list(self._by_device.get(payload.get("revoked", ""), {}).values()):
                waiter.revoked = True
                waiter.wake()
            return
        if not self._brings_work(payload):
            return
        for device_id, count in (payload.get("devices") or {}).items():
            self._wake(self._by_device.get(device_id, {}), count)
        for channel_id, count in (payload.get("channels") or {}).items():
            self._wake(self._by_channel.get(channel_id, {}), count)

    def _brings_work(self, payload: dict[str, Any]) -> bool:
        status = payload.get("status")
        if status == MessageStatus.RELEASED:
            return True
        if status != MessageStatus.QUEUED or "earliest" not in payload:
            return False
        earliest = datetime.fromisoformat(payload["earliest"])
        return earliest <= self._clock.now() + DUE_SLACK

    @staticmethod
    def _wake(group: dict[int, Waiter], count: int) -> None:
        for waiter in group.values():
            if count <= 0:
                return
            if not waiter.is_woken:
                waiter.wake()
                count -= 1

    def _wake_all(self) -> None:
        for group in self._by_channel.values():
            for waiter in group.values():
                waiter.wake()


def _remove(index: dict[str, dict[int, Waiter]], name: str, key: int) -> None:
    group = index.get(name)
    if group is not None:
        group.pop(key, None)
        if not group:
            del index[name]
