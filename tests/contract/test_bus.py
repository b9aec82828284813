"""The event bus contract, run over every backend: memory and Redis pub/sub."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator

import pytest
import redis

from pigeon.bus.memory import MemoryBus
from pigeon.bus.protocols import EventBus
from pigeon.bus.redis_pubsub import RedisBus
from tests.conftest import REDIS_URL, service_missing


def _redis_prefix() -> str:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as error:
        service_missing("Redis", error)
    return f"pigeon-test-{uuid.uuid4().hex[:8]}:"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    backend: EventBus
    if request.param == "memory":
        backend = MemoryBus()
    else:
        backend = RedisBus(REDIS_URL, prefix=_redis_prefix())
    await backend.start()
    yield backend
    await backend.stop()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_subscriber_receives_its_topics_only(bus: EventBus) -> None:
    messages = bus.subscribe("messages")
    others = bus.subscribe("jobs")
    bus.publish("messages", {"n": 1})
    assert await messages.get(5) == ("messages", {"n": 1})
    assert await others.get(0.2) is None


@pytest.mark.anyio
async def test_every_subscriber_gets_a_copy_in_order(bus: EventBus) -> None:
    first, second = bus.subscribe("messages"), bus.subscribe("messages")
    for n in range(5):
        bus.publish("messages", {"n": n})
    for subscription in (first, second):
        received = [await subscription.get(5) for _ in range(5)]
        assert [item[1]["n"] for item in received if item] == [0, 1, 2, 3, 4]


@pytest.mark.anyio
async def test_publish_from_another_thread(bus: EventBus) -> None:
    subscription = bus.subscribe("messages")
    thread = threading.Thread(target=bus.publish, args=("messages", {"from": "thread"}))
    thread.start()
    thread.join()
    assert await subscription.get(5) == ("messages", {"from": "thread"})


@pytest.mark.anyio
async def test_unsubscribed_listener_hears_nothing(bus: EventBus) -> None:
    subscription = bus.subscribe("messages")
    bus.unsubscribe(subscription)
    bus.publish("messages", {"n": 1})
    assert await subscription.get(0.2) is None


@pytest.mark.anyio
@pytest.mark.redis
async def test_redis_bus_crosses_processes() -> None:
    """Two buses stand for two `pigeon serve` processes sharing one Redis."""
    prefix = _redis_prefix()
    api, worker = RedisBus(REDIS_URL, prefix=prefix), RedisBus(REDIS_URL, prefix=prefix)
    await api.start()
    await worker.start()
    try:
        stream = api.subscribe("messages")
        worker.publish("messages", {"workspace_id": "w", "ids": ["m"], "status": "released"})
        assert await stream.get(5) == (
            "messages",
            {"workspace_id": "w", "ids": ["m"], "status": "released"},
        )
    finally:
        await api.stop()
        await worker.stop()
    await asyncio.sleep(0)
