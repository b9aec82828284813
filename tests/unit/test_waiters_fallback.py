"""While the bus reports an outage, every waiter looks for itself on a timer of its own,
however many local notifications keep arriving."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from pigeon.bus.memory import MemoryBus
from pigeon.clock import FrozenClock
from pigeon.domain.accounts import Device
from pigeon.services.waiters import Waiters


class BrokenBus(MemoryBus):
    healthy = False


def _device(name: str) -> Device:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    return Device(name, "w", "c", name, "p", now, None, None)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_a_busy_process_still_wakes_its_waiters_during_an_outage() -> None:
    bus = BrokenBus()
    waiters = Waiters(bus, FrozenClock(datetime(2030, 1, 1, tzinfo=UTC)), fallback_seconds=0.3)
    await waiters.start()
    chatter_on = True

    async def chatter() -> None:  # local news about another channel, every 0.1 s
        while chatter_on:
            bus.publish("messages", {"status": "sent", "channels": {"other": 1}})
            await asyncio.sleep(0.1)

    talking = asyncio.create_task(chatter())
    try:
        with waiters.register(_device("d"), timeout=5) as waiter:
            waiter.ready_to_claim()
            started = asyncio.get_running_loop().time()
            assert await waiter.sleep()  # woken by the fallback, not its 5 s deadline
            assert asyncio.get_running_loop().time() - started < 1.0
    finally:
        chatter_on = False
        await talking
        await waiters.stop()
