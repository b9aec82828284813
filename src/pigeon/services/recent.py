"""Secrets verified lately, kept a short while so a request's first check costs no query;
and the mailbox channels webhooks named lately, for the same reason.

This is a cache of the database's answer, never the last word: services re-check a key or a
device inside the transaction that acts on it (services/auth.py), and the consumer of a
webhook's jobs reads its channel afresh (a channel disabled meanwhile skips its jobs).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pigeon.domain.accounts import ApiKey, Device

if TYPE_CHECKING:
    from pigeon.bus.protocols import EventBus

T = TypeVar("T", ApiKey, Device)
V = TypeVar("V")
KEEP_SECONDS = 30.0
MAX_ENTRIES = 4096
MAILBOX_SECONDS = 2.0  # how long a webhook may still accept for a channel disabled meanwhile


class Lately(Generic[V]):
    """Values by key, each kept `keep_seconds` after it was put."""

    def __init__(self, keep_seconds: float) -> None:
        self.keep_seconds = keep_seconds
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        with self._lock:
            found = self._items.get(key)
        if found is None or time.monotonic() - found[0] > self.keep_seconds:
            return None
        return found[1]

    def put(self, key: str, item: V) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), item)
            self._items.move_to_end(key)
            while len(self._items) > MAX_ENTRIES:
                self._items.popitem(last=False)

    def drop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


class Recent(Lately[T]):
    """Credentials by the hash of their secret."""

    def __init__(self) -> None:
        super().__init__(KEEP_SECONDS)

    def forget(self, item_id: str) -> None:
        with self._lock:
            for digest, (_at, item) in list(self._items.items()):
                if item.id == item_id:
                    del self._items[digest]


class Credentials:
    """The API keys and device tokens this process verified lately, by hash."""

    def __init__(self) -> None:
        self.keys: Recent[ApiKey] = Recent()
        self.devices: Recent[Device] = Recent()
        self.mailboxes: Lately[Any] = Lately(MAILBOX_SECONDS)  # channel id -> Mailbox
        self.google_keys: dict[str, Any] = {}  # certificates URL -> keys (providers/gmail)

    def forget(self, revoked_id: str) -> None:
        self.keys.forget(revoked_id)
        self.devices.forget(revoked_id)


async def forget_revoked(bus: EventBus, credentials: Credentials) -> None:
    """Drop revoked keys and devices from this process's cache as other processes revoke
    them (each request re-checks in its transaction anyway; this spares the wrong answer at
    the door, such as an event stream opened with a key revoked elsewhere)."""
    subscription = bus.subscribe("credentials", "devices")
    try:
        while True:
            note = await subscription.get()
            if note is None:
                continue
            payload = note[1]
            for name in ("revoked_key", "revoked"):
                if isinstance(payload.get(name), str):
                    credentials.forget(payload[name])
    finally:
        bus.unsubscribe(subscription)
