"""The scheduler wakes on notifications and on due times, not only on its timer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from pigeon import bootstrap
from pigeon.bus.memory import MemoryBus
from pigeon.clock import SystemClock
from pigeon.config import Settings
from pigeon.domain.transitions import MessageStatus
from pigeon.services import admin, gateway, messages
from pigeon.services.context import Principal, Services
from pigeon.workers.scheduler import Scheduler
from tests.factories import add_device, schedule

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def running(
    settings: Settings,
) -> AsyncIterator[tuple[Services, Principal]]:
    # A long timer: anything released quickly was woken by a notification or a due time.
    container = bootstrap.build(settings, clock=SystemClock(), bus=MemoryBus(), pool_size=4)
    created = admin.create_workspace(container, name="w", timezone="UTC", actor="t")
    who = Principal(created.workspace.id, "t", frozenset({"admin"}))
    stop = asyncio.Event()
    task = asyncio.create_task(Scheduler(container, interval=30).run(stop))
    await asyncio.sleep(0.1)
    yield container, who
    stop.set()
    await asyncio.wait_for(task, 10)
    container.close()


async def _status_after(
    container: Services,
    who: Principal,
    message_id: str,
    status: MessageStatus,
    deadline: float,
) -> float:
    while time.monotonic() < deadline:
        if messages.get(container, who, message_id).message.status is status:
            return time.monotonic()
        await asyncio.sleep(0.02)
    raise AssertionError(f"message not {status} in time")


async def test_a_due_message_waits_for_no_scheduler_pass(
    running: tuple[Services, Principal],
) -> None:
    """The scheduler sleeps 30 s here; a claim releases what is due on its way."""
    container, who = running
    device = add_device(container, who)
    [message] = schedule(container, who)
    [claimed] = gateway.claim(container, device).messages
    assert claimed.id == message.id
    events = [e.to_status for e in messages.get(container, who, message.id).events]
    assert events == [MessageStatus.QUEUED, MessageStatus.RELEASED, MessageStatus.CLAIMED]


async def test_future_message_is_released_within_a_second_of_its_time(
    running: tuple[Services, Principal],
) -> None:
    container, who = running
    due = datetime.now(UTC) + timedelta(seconds=1)
    [message] = schedule(container, who, at=due)
    await _status_after(container, who, message.id, MessageStatus.RELEASED, time.monotonic() + 5)
    events = messages.get(container, who, message.id).events
    released_at = next(e.at for e in events if e.to_status is MessageStatus.RELEASED)
    lag = (released_at - due).total_seconds()
    assert 0 <= lag < 1.0
