"""The event bus over Redis pub/sub: a change made by one process reaches the SSE streams,
long-polls and schedulers of every other process.

Publishing goes through Redis even for local listeners, so every process sees notifications
in the same order. Each process keeps one Redis subscription and fans out locally.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

import redis
import redis.asyncio as aioredis

from pigeon.bus.memory import MemoryBus

if TYPE_CHECKING:
    from pigeon.bus.protocols import Subscription

log = logging.getLogger(__name__)


class RedisBus:
    def __init__(self, url: str, *, prefix: str = "pigeon:") -> None:
        self._url = url
        self._prefix = prefix
        self._publisher = redis.Redis.from_url(url)
        self._local = MemoryBus()
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        if self._listener is None:
            self._ready = asyncio.Event()
            self._listener = asyncio.create_task(self._listen(), name="redis-bus-listener")
            await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._local.stop()
        self._publisher.close()

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        self._publisher.publish(self._prefix + topic, json.dumps(payload, default=str))

    def subscribe(self, *topics: str) -> Subscription:
        return self._local.subscribe(*topics)

    def unsubscribe(self, subscription: Subscription) -> None:
        self._local.unsubscribe(subscription)

    async def _listen(self) -> None:
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the connection dropped: reconnect, listeners re-read the DB
                log.warning(
                    "redis bus disconnected; reconnecting",
                    exc_info=True,
                    extra={"action": "bus_reconnect"},
                )
                await asyncio.sleep(0.5)

    async def _listen_once(self) -> None:
        client = aioredis.Redis.from_url(self._url)
        pubsub = client.pubsub()
        try:
            await pubsub.psubscribe(self._prefix + "*")
            self._ready.set()
            async for message in pubsub.listen():
                if message["type"] != "pmessage":
                    continue
                topic = message["channel"].decode()[len(self._prefix) :]
                self._local.fan_out(topic, json.loads(message["data"]))
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await client.aclose()
