"""Three releasing processes on PostgreSQL under one policy of 30 a minute, over a
simulated hour (a clock 120 times faster than the wall clock, shared by the processes):
no 60-second window ever holds more than 30 releases, and every message still goes."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from pigeon import bootstrap
from pigeon.bus.memory import MemoryBus
from pigeon.clock import FrozenClock
from pigeon.config import Settings
from pigeon.domain.throttle import ThrottleRules
from pigeon.services import admin, throttle
from pigeon.services import messages as message_service
from pigeon.services.context import Principal
from pigeon.store import migrate
from pigeon.store.tables import message_events, throttle_ledger
from tests.fault.conftest import budget

pytestmark = [pytest.mark.fault, pytest.mark.postgres, pytest.mark.xdist_group("fault"), budget(90)]

REPO = Path(__file__).resolve().parents[2]
SPEED = 120.0
HOUR = 3600.0
LIMIT = 30
MESSAGES = 1500  # 50 simulated minutes of sending at the limit: the hour is enough


def test_three_workers_never_overshoot_a_per_minute_limit(scratch_postgres_url: str) -> None:
    start = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
    migrate.upgrade(scratch_postgres_url)
    setup = bootstrap.build(
        Settings(database_url=scratch_postgres_url), clock=FrozenClock(start), bus=MemoryBus()
    )
    try:
        made = admin.create_workspace(setup, name="w", timezone="UTC", actor="t")
        who = Principal(made.workspace.id, "t", frozenset({"admin"}))
        throttle.put(setup, who, "workspace", None, ThrottleRules(max_per_minute=LIMIT).to_json())
        requests = [
            message_service.NewMessage(recipient=f"+1415555{i:04d}", body=f"m{i}")
            for i in range(MESSAGES)
        ]
        for chunk in range(0, MESSAGES, 500):
            message_service.create_batch(setup, who, requests[chunk : chunk + 500])
    finally:
        setup.close()

    epoch = time.time() + 3.0  # the processes start together, at simulated `start`
    args = [scratch_postgres_url, str(epoch), start.isoformat(), str(SPEED), str(HOUR)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.fault.throttle_worker", *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        for worker in workers:
            assert worker.wait(HOUR / SPEED + 60) == 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            if worker.stdout is not None:
                worker.stdout.close()

    engine = sa.create_engine(scratch_postgres_url)
    with engine.connect() as conn:
        released = sorted(
            conn.execute(
                sa.select(message_events.c.at).where(message_events.c.to_status == "released")
            ).scalars()
        )
        spent = conn.execute(sa.select(throttle_ledger.c.at, throttle_ledger.c.count)).all()
        ledger = sorted(at for at, count in spent for _ in range(count))
    engine.dispose()
    assert len(released) == MESSAGES, "every message still goes"
    assert released == ledger
    worst = max(_in_window(released, i) for i in range(len(released)))
    assert worst <= LIMIT, f"a 60-second window held {worst} releases"
    assert worst == LIMIT  # the limit was reached, so the test could have caught an overshoot
    assert released[-1] - released[0] <= timedelta(seconds=HOUR)


def _in_window(times: list[datetime], first: int) -> int:
    """Releases in the 60 seconds that start at the `first`-th."""
    end = times[first] + timedelta(seconds=60)
    count = 0
    for at in times[first:]:
        if at >= end:
            break
        count += 1
    return count
