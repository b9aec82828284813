"""The event bus: tells live listeners (SSE streams, the scheduler, long-polls) that
something changed. It carries notifications, never state: a listener that misses one still
finds the truth in the database on its next read or timer.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol


class Subscription:
    """Notifications for one listener, buffered in a bounded queue on the listener's loop."""

    def __init__(self, topics: frozenset[str], maxsize: int = 1000) -> None:
        self.topics = topics
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(maxsize)
        self._loop = asyncio.get_running_loop()
        self.dropped = 0

    def deliver(self, topic: str, payload: dict[str, Any]) -> None:
        """Hand over a notification from any thread."""
        self._loop.call_soon_threadsafe(self._put, topic, payload)

    def _put(self, topic: str, payload: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait((topic, payload))
        except asyncio.QueueFull:
            # A slow listener loses notifications, not the bus; it re-reads the database.
            self.dropped += 1

    async def get(self, timeout: float | None = None) -> tuple[str, dict[str, Any]] | None:
        """The next notification, or None after `timeout` seconds."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        items = []
        while not self._queue.empty():
            items.append(self._queue.get_nowait())
        return items


class EventBus(Protocol):
    @property
    def healthy(self) -> bool:
        """False while notifications may be lost (a broker outage): listeners poll then."""
        ...

    def check(self) -> None:
        """Raise ConfigError, naming the setting, if the bus cannot work; for start-up."""
        ...

    async def start(self) -> None:
        """Connect; called once on the event loop before the first subscribe."""
        ...

    async def stop(self) -> None: ...

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Send a JSON-serialisable notification; callable from any thread."""
        ...

    def subscribe(self, *topics: str) -> Subscription:
        """Start receiving notifications on `topics`; call from the event loop."""
        ...

    def unsubscribe(self, subscription: Subscription) -> None: ...
