"""The event bus over Redis pub/sub: a change made by one process reaches the SSE streams,
long-polls and schedulers of every other process.

A notification reaches this process's own listeners at once, without a round trip; Redis
carries it to the other processes, each of which keeps one subscription and fans out
locally (a process skips its own notifications when they come back).

Redis is a helper here, never a dependency of a write: publishing hands the notification to
a background thread and returns, so a slow or unreachable Redis costs a request nothing.
While Redis is down, notifications for other processes are dropped (they are hints: every
listener finds the truth in the database), `healthy` is False so listeners fall back to
polling, and the outage is logged once when it starts and once when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import threading
import uuid
from typing import TYPE_CHECKING, Any

import redis
import redis.asyncio as aioredis

from pigeon.bus.memory import MemoryBus
from pigeon.errors import ConfigError

if TYPE_CHECKING:
    from pigeon.bus.protocols import Subscription

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 2.0
RETRY_FIRST, RETRY_MAX = 0.5, 5.0
BACKLOG = 10_000  # notifications waiting for Redis; older ones give way


class RedisBus:
    def __init__(self, url: str, *, prefix: str = "pigeon:") -> None:
        self._url = url
        self._prefix = prefix
        self._origin = uuid.uuid4().hex
        self._local = MemoryBus()
        self._outbox: queue.Queue[tuple[str, str] | None] = queue.Queue(BACKLOG)
        self._sender: threading.Thread | None = None
        self._listener: asyncio.Task[None] | None = None
        self._listening = False
        self._sending = True

    @property
    def healthy(self) -> bool:
        """Whether notifications from other processes are arriving and ours leaving."""
        return self._listening and self._sending

    def check(self) -> None:
        """Raise ConfigError, in one line that names the setting, unless Redis answers."""
        client = redis.Redis.from_url(
            self._url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT
        )
        try:
            client.ping()
        except (redis.RedisError, OSError) as error:
            raise ConfigError(
                "PIGEON_REDIS_URL", f"cannot reach Redis at {_safe(self._url)}: {error}"
            ) from None
        finally:
            client.close()

    async def start(self) -> None:
        """Check that Redis answers, then listen and send."""
        if self._listener is not None:
            return
        await asyncio.to_thread(self.check)
        self._sender = threading.Thread(target=self._send_forever, name="redis-bus-sender")
        self._sender.daemon = True
        self._sender.start()
        ready = asyncio.Event()
        self._listener = asyncio.create_task(self._listen(ready), name="redis-bus-listener")
        await asyncio.wait_for(ready.wait(), CONNECT_TIMEOUT * 2)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._sender is not None:
            with contextlib.suppress(queue.Full):
                self._outbox.put_nowait(None)
            await asyncio.to_thread(self._sender.join, CONNECT_TIMEOUT * 2)
            self._sender = None
        await self._local.stop()

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        self._local.publish(topic, payload)
        wire = json.dumps({"origin": self._origin, "payload": payload}, default=str)
        try:
            self._outbox.put_nowait((self._prefix + topic, wire))
        except queue.Full:
            with contextlib.suppress(queue.Empty):
                self._outbox.get_nowait()  # drop the oldest: a hint, superseded anyway
            with contextlib.suppress(queue.Full):
                self._outbox.put_nowait((self._prefix + topic, wire))

    def subscribe(self, *topics: str) -> Subscription:
        return self._local.subscribe(*topics)

    def unsubscribe(self, subscription: Subscription) -> None:
        self._local.unsubscribe(subscription)

    # Sending, on a thread: batches whatever has queued into one pipeline round trip.

    def _send_forever(self) -> None:
        client = redis.Redis.from_url(
            self._url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT
        )
        delay = RETRY_FIRST
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    return
                try:
                    pipe = client.pipeline(transaction=False)
                    for channel, wire in batch:
                        pipe.publish(channel, wire)
                    pipe.execute()
                except (redis.RedisError, OSError) as error:
                    self._outage("publishing", error)
                    self._sending = False
                    threading.Event().wait(delay)
                    delay = min(delay * 2, RETRY_MAX)
                    continue
                if not self._sending:
                    log.warning("redis bus: publishing again", extra={"action": "bus_recovered"})
                self._sending, delay = True, RETRY_FIRST
        finally:
            client.close()

    def _next_batch(self) -> list[tuple[str, str]] | None:
        first = self._outbox.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < 500:
            try:
                item = self._outbox.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._outbox.put(None)  # stop after this batch
                break
            batch.append(item)
        return batch

    # Listening, on the event loop: one subscription for the whole process.

    async def _listen(self, ready: asyncio.Event) -> None:
        delay = RETRY_FIRST
        while True:
            try:
                await self._listen_once(ready)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the connection dropped: reconnect with backoff
                if self._listening:
                    self._outage("listening", error)
                self._listening = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
            else:
                delay = RETRY_FIRST

    async def _listen_once(self, ready: asyncio.Event) -> None:
        client = aioredis.Redis.from_url(self._url, socket_connect_timeout=CONNECT_TIMEOUT)
        pubsub = client.pubsub()
        try:
            await pubsub.psubscribe(self._prefix + "*")
            if ready.is_set() and not self._listening:
                log.warning("redis bus: listening again", extra={"action": "bus_recovered"})
            self._listening = True
            ready.set()
            async for message in pubsub.listen():
                if message["type"] != "pmessage":
                    continue
                envelope = json.loads(message["data"])
                if envelope.get("origin") == self._origin:
                    continue  # delivered locally when it was published
                topic = message["channel"].decode()[len(self._prefix) :]
                self._local.fan_out(topic, envelope["payload"])
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await client.aclose()

    def _outage(self, doing: str, error: BaseException) -> None:
        if self.healthy:
            log.warning(
                "redis bus: %s failed (%s); live updates across processes pause until it "
                "recovers, writes go on",
                doing,
                error,
                extra={"action": "bus_outage"},
            )


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest
