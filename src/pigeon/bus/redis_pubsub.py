"""The event bus over Redis pub/sub: a change made by one process reaches the SSE streams,
long-polls and schedulers of every other process.

A notification reaches this process's own listeners at once, without a round trip; Redis
carries it to the other processes, each of which keeps one subscription and fans out
locally (a process skips its own notifications when they come back).

Redis is a helper here, never a dependency of a write: publishing hands the notification to
a background thread and returns, so a slow or unreachable Redis costs a request nothing.
While Redis is down, notifications for other processes are dropped (they are hints: every
listener finds the truth in the database), `healthy` is False so listeners fall back to
polling, and the outage is logged once when it starts and once when it ends. A Redis that
stops answering without closing its connections (a paused process, a network that drops
packets) is caught by a heartbeat: each process publishes one every few seconds and expects
to hear it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import threading
import time
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
HEARTBEAT_SECONDS = 2.0
SILENCE_SECONDS = 3 * HEARTBEAT_SECONDS  # no heartbeat back for this long: an outage
HEARTBEAT_TOPIC = "__heartbeat"


def check_url(url: str) -> None:
    """Raise ConfigError unless `url` is a Redis URL redis-py can use."""
    try:
        redis.connection.parse_url(url)  # type: ignore[no-untyped-call]
    except ValueError as error:
        raise ConfigError("PIGEON_REDIS_URL", f"not a Redis URL ({error})") from None


class RedisBus:
    def __init__(self, url: str, *, prefix: str = "pigeon:") -> None:
        check_url(url)
        self._url = url
        self._prefix = prefix
        self._origin = uuid.uuid4().hex
        self._local = MemoryBus()
        self._outbox: queue.Queue[tuple[str, str] | None] = queue.Queue(BACKLOG)
        self._sender: threading.Thread | None = None
        self._listener: asyncio.Task[None] | None = None
        self._listening = False
        self._sending = True
        self._heard_at = 0.0  # when our own heartbeat last came back (monotonic)

    @property
    def healthy(self) -> bool:
        """Whether notifications from other processes are arriving and ours leaving."""
        return self._listening and self._sending

    def _client(self) -> redis.Redis:
        return redis.Redis.from_url(
            self._url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT
        )

    def check(self) -> None:
        """Raise ConfigError, in one line that names the setting, unless Redis answers."""
        client = self._client()
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
        if self._sender is None:
            # Not started: a command-line process (`pigeon devices revoke`) that runs no
            # event loop. Published at once, best effort: the running servers must hear it.
            self._publish_now(self._prefix + topic, wire)
            return
        try:
            self._outbox.put_nowait((self._prefix + topic, wire))
        except queue.Full:
            with contextlib.suppress(queue.Empty):
                self._outbox.get_nowait()  # drop the oldest: a hint, superseded anyway
            with contextlib.suppress(queue.Full):
                self._outbox.put_nowait((self._prefix + topic, wire))

    def _publish_now(self, channel: str, wire: str) -> None:
        client = self._client()
        try:
            client.publish(channel, wire)
        except (redis.RedisError, OSError) as error:
            log.warning(
                "redis bus: could not publish (%s); other processes will find the change "
                "in the database",
                error,
                extra={"action": "bus_publish_failed"},
            )
        finally:
            client.close()

    def subscribe(self, *topics: str) -> Subscription:
        return self._local.subscribe(*topics)

    def unsubscribe(self, subscription: Subscription) -> None:
        self._local.unsubscribe(subscription)

    # Sending, on a thread: batches whatever has queued into one pipeline round trip, and
    # a heartbeat when nothing has gone out for a while.

    def _send_forever(self) -> None:
        client = self._client()
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
        try:
            first = self._outbox.get(timeout=HEARTBEAT_SECONDS)
        except queue.Empty:
            return [(self._prefix + HEARTBEAT_TOPIC, json.dumps({"origin": self._origin}))]
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
            except Exception as error:  # the connection dropped or went silent: reconnect
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
            await asyncio.wait_for(pubsub.psubscribe(self._prefix + "*"), CONNECT_TIMEOUT)
            if ready.is_set() and not self._listening:
                log.warning("redis bus: listening again", extra={"action": "bus_recovered"})
            self._listening = True
            self._heard_at = time.monotonic()
            ready.set()
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None and message["type"] == "pmessage":
                    self._deliver(message)
                if time.monotonic() - self._heard_at > SILENCE_SECONDS:
                    raise TimeoutError(f"no heartbeat back from Redis for {SILENCE_SECONDS:g} s")
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            with contextlib.suppress(Exception):
                await client.aclose()

    def _deliver(self, message: dict[str, Any]) -> None:
        envelope = json.loads(message["data"])
        if envelope.get("origin") == self._origin:
            self._heard_at = time.monotonic()  # anything of ours that came back will do
            return  # delivered locally when it was published
        topic = message["channel"].decode()[len(self._prefix) :]
        if topic != HEARTBEAT_TOPIC:
            self._local.fan_out(topic, envelope["payload"])

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
