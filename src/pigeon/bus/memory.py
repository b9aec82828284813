"""The in-process event bus: for one `pigeon serve`, and for tests."""

from __future__ import annotations

import threading
from typing import Any

from pigeon.bus.protocols import Subscription


class MemoryBus:
    healthy = True  # nothing between publisher and listeners to fail

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self._lock = threading.Lock()
        self.published = 0

    def check(self) -> None:
        return None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        with self._lock:
            self._subscriptions.clear()

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        self.published += 1
        self.fan_out(topic, payload)

    def fan_out(self, topic: str, payload: dict[str, Any]) -> None:
        with self._lock:
            listeners = [s for s in self._subscriptions if topic in s.topics]
        for subscription in listeners:
            subscription.deliver(topic, payload)

    def subscribe(self, *topics: str) -> Subscription:
        subscription = Subscription(frozenset(topics))
        with self._lock:
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)
