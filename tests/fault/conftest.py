"""Fixtures of the fault tests: one fault test at a time, a launcher per test that stops
every process it started, a fresh SQLite file, and a scratch PostgreSQL database dropped
after the test.

tests/e2e's fixtures do not reach this directory; its launcher does (tests/fault/harness.py
builds on it).
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import POSTGRES_URL, service_missing
from tests.e2e.conftest import base_environment
from tests.fault.harness import FaultPigeon

TURN_TIMEOUT = 900.0  # waiting for the fault tests queued on the other xdist worker

# Short leases, quick retries: a lost claim or report shows within seconds.
FAULT_ENV = {
    "PIGEON_LEASE_SECONDS": "2",
    "PIGEON_RETRY_BASE_SECONDS": "0.2",
    "PIGEON_LOG_LEVEL": "INFO",
}

Launch = Callable[..., FaultPigeon]


def budget(seconds: float) -> pytest.MarkDecorator:
    """The pytest-timeout backstop of a fault test: its own `seconds`, plus its turn."""
    return pytest.mark.timeout(TURN_TIMEOUT + seconds)


@pytest.fixture(autouse=True)
def _one_fault_test_at_a_time(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fault tests time their processes against deadlines: two at once on a 2-core machine
    would mostly measure each other. They take turns across xdist workers on a file lock (the
    `xdist_group` marker does the same under `--dist loadgroup`, where it works: pytest-xdist
    3.8 renames node ids in a way pytest 9 no longer reads, so here it groups nothing)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of one run
    with (root / "fault-tests.lock").open("a") as handle:
        deadline = time.monotonic() + TURN_TIMEOUT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"another fault test held the turn for over {TURN_TIMEOUT} s",
                        pytrace=False,
                    )
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launch]:
    """`launch(database_url, **env)`: a FaultPigeon on that database; all of them are
    stopped (SIGTERM, then SIGKILL) when the test ends."""
    launchers: list[FaultPigeon] = []

    def _launch(database_url: str, **env: str) -> FaultPigeon:
        workdir = tmp_path / f"run-{len(launchers)}"
        workdir.mkdir()
        launcher = FaultPigeon(base_environment(database_url, **{**FAULT_ENV, **env}), workdir)
        launchers.append(launcher)
        return launcher

    try:
        yield _launch
    finally:
        for launcher in reversed(launchers):
            launcher.stop_all()


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    return tmp_path / "pigeon.db"


@pytest.fixture
def scratch_postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for this test only (the caller migrates it)."""
    name = f"pigeon_fault_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        engine.dispose()
        service_missing("PostgreSQL", error)
    try:
        yield sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()
