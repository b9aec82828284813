"""Waiting claims sleep until work they can take arrives: idle ones cost no queries, and a
new message wakes one waiter of its channel (or the device it is pinned to), at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event

from pigeon import bootstrap
from pigeon.bus.memory import MemoryBus
from pigeon.clock import SystemClock
from pigeon.config import Settings
from pigeon.services.context import Services
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    InProcessClient,
    NewDevice,
    Tenant,
    new_device,
    new_message,
    serve_in_process,
)

WAITERS = 40


class Statements:
    """Counts the statements the app runs, by kind."""

    def __init__(self, services: Services) -> None:
        self.seen: list[str] = []
        event.listen(services.db.engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.seen.append(statement)

    def claims(self) -> int:
        """Claim attempts: each begins by recording its device as seen."""
        return sum(1 for s in self.seen if s.startswith("UPDATE devices SET last_seen_at"))


@pytest.fixture
def services(db_url: str) -> Iterator[Services]:
    settings = Settings(database_url=db_url, operator_token=OPERATOR_TOKEN)
    built = bootstrap.build(settings, clock=SystemClock(), bus=MemoryBus(), pool_size=4)
    yield built
    built.close()


@pytest.fixture
def api(services: Services) -> Iterator[InProcessClient]:
    with serve_in_process(services) as client:  # no workers: only the waiters act
        yield client


class Waiting:
    """Long-polling claims on threads, each answer with the time it arrived."""

    def __init__(self, api: InProcessClient, devices: list[NewDevice], wait: float) -> None:
        self.answers: list[tuple[str, float, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._claim, args=(api, device, wait), daemon=True)
            for device in devices
        ]
        for thread in self.threads:
            thread.start()

    def _claim(self, api: InProcessClient, device: NewDevice, wait: float) -> None:
        answer = api.post("/v1/gateway/claim", json={"wait": wait}, headers=device.auth)
        with self._lock:
            self.answers.append((device.id, time.monotonic(), answer.json()))

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=30)

    def given(self) -> list[tuple[str, float, str]]:
        return [(d, at, m["id"]) for d, at, body in self.answers for m in body["messages"]]


StartWaiting = Callable[..., Waiting]


@pytest.fixture
def start_waiting(api: InProcessClient) -> Iterator[StartWaiting]:
    """`start_waiting(devices, wait=...)`; every claim has answered before the app closes,
    even when the test failed, so no connection outlives its pool."""
    started: list[Waiting] = []

    def start(devices: list[NewDevice], wait: float) -> Waiting:
        started.append(Waiting(api, devices, wait))
        return started[-1]

    yield start
    for waiting in started:
        waiting.join()


def _until(condition: Callable[[], bool], within: float) -> None:
    """Poll `condition`: forty threads start slowly on a loaded machine."""
    deadline = time.monotonic() + within
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_idle_waiters_run_no_queries_and_new_work_wakes_one(
    api: InProcessClient, tenant: Tenant, services: Services, start_waiting: StartWaiting
) -> None:
    devices = [new_device(api, tenant, f"mac-{i}") for i in range(WAITERS)]
    statements = Statements(services)
    # The wait outlasts the slowest start (15 s) and the quiet spell after it: a waiter whose
    # wait ran out during that spell would look once more, as it should, and fail the test.
    waiting = start_waiting(devices, wait=20)
    _until(lambda: statements.claims() >= WAITERS, within=15.0)  # each claimed once, sleeps
    assert statements.claims() == WAITERS
    before = len(statements.seen)
    time.sleep(1.5)
    assert len(statements.seen) == before, statements.seen[before:]  # asleep, at no cost

    created_at = time.monotonic()
    message = new_message(api, tenant, body="for one of you")
    _until(lambda: bool(waiting.given()), within=5.0)
    time.sleep(0.3)  # time for a second waiter to answer, were more than one woken
    [(_device, at, message_id)] = waiting.given()
    assert message_id == message["id"]
    assert at - created_at < 1.0  # woken by the commit, not at its wait's end (20 s)
    assert statements.claims() == WAITERS + 1  # one waiter woke, not all
    waiting.join()
    assert len(waiting.answers) == WAITERS


def test_a_pinned_message_wakes_its_own_device(
    api: InProcessClient, tenant: Tenant, start_waiting: StartWaiting
) -> None:
    devices = [new_device(api, tenant, f"mac-{i}") for i in range(5)]
    waiting = start_waiting(devices, wait=3)
    time.sleep(0.5)
    message = new_message(api, tenant, device_id=devices[-1].id)  # the newest waiter
    time.sleep(0.5)
    assert [(d, m) for d, _at, m in waiting.given()] == [(devices[-1].id, message["id"])]
    waiting.join()
