"""Outages of what pigeon depends on: a committed write never answers 5xx, a busy or
unwritable database answers 503 in bounded time (and says so on health), and processes
started together set the database up once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from pigeon import bootstrap
from pigeon.bus.memory import MemoryBus
from pigeon.clock import SystemClock
from pigeon.config import Settings
from pigeon.services.context import Services
from pigeon.store import migrate
from pigeon.store.tables import workspaces
from tests.conftest import POSTGRES_URL, service_missing
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    PHONE,
    InProcessClient,
    new_device,
    new_tenant,
    serve_in_process,
)


class BrokenBus(MemoryBus):
    """A bus whose broker is down: publishing raises, as redis-py did before."""

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")


def test_a_committed_write_answers_2xx_when_the_bus_fails(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=settings.database_url, operator_token=OPERATOR_TOKEN)
    services = bootstrap.build(settings, clock=SystemClock(), bus=BrokenBus(), pool_size=4)
    try:
        with serve_in_process(services) as api:
            tenant = new_tenant(api)
            device = new_device(api, tenant)
            created = api.post(
                "/v1/messages", json={"recipient": PHONE, "body": "hi"}, headers=tenant.auth
            )
            assert created.status_code == 201, created.text
            claimed = api.post("/v1/gateway/claim", json={}, headers=device.auth)
            assert claimed.status_code == 200, claimed.text
            [message] = claimed.json()["messages"]
            report = {"message_id": message["id"], "claim_token": message["claim_token"]}
            sent = api.post(
                "/v1/gateway/report", json={**report, "status": "sent"}, headers=device.auth
            )
            assert sent.status_code == 200, sent.text
            found = api.get(f"/v1/messages/{message['id']}", headers=tenant.auth).json()
            assert found["status"] == "sent"
    finally:
        services.close()
    failures = [r for r in caplog.records if getattr(r, "action", "") == "bus_publish_failed"]
    assert len(failures) == 1  # logged once for the spell, not once per write


# SQLite: a lock held elsewhere, a file opened read-only ------------------------------------


@pytest.fixture
def sqlite_services(sqlite_url: str) -> Iterator[Services]:
    settings = Settings(
        database_url=sqlite_url, operator_token=OPERATOR_TOKEN, sqlite_busy_seconds=0.3
    )
    services = bootstrap.build(settings, clock=SystemClock(), bus=MemoryBus(), pool_size=4)
    yield services
    services.close()


@pytest.fixture
def sqlite_api(sqlite_services: Services) -> Iterator[InProcessClient]:
    with serve_in_process(sqlite_services) as client:
        yield client


@pytest.fixture
def locked(sqlite_url: str) -> Iterator[None]:
    """Another process's writer holding SQLite's lock (as a long transaction would)."""
    path = sqlite_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield
    other.execute("ROLLBACK")
    other.close()


def test_a_write_behind_a_held_lock_answers_503_within_its_bound(
    sqlite_api: InProcessClient, locked: None
) -> None:
    started = time.monotonic()
    answer = sqlite_api.post(
        "/v1/workspaces", json={"name": "x"}, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    )
    elapsed = time.monotonic() - started
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "1"
    assert "busy" in answer.json()["detail"]
    assert elapsed < 1.5  # 0.3 s bound, not SQLite's former 10 s


def test_reads_and_health_answer_while_writers_wait(
    sqlite_api: InProcessClient, sqlite_url: str
) -> None:
    tenant = new_tenant(sqlite_api)
    path = sqlite_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        writers = [
            threading.Thread(
                target=sqlite_api.post,
                args=("/v1/messages",),
                kwargs={"json": {"recipient": PHONE, "body": "w"}, "headers": tenant.auth},
            )
            for _ in range(30)
        ]
        for writer in writers:
            writer.start()
        started = time.monotonic()
        listed = sqlite_api.get("/v1/messages", headers=tenant.auth)
        health = sqlite_api.get("/v1/health")
        elapsed = time.monotonic() - started
        for writer in writers:
            writer.join(timeout=30)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert listed.status_code == 200
    assert health.status_code == 503 and health.json()["writes"].startswith("the database is busy")
    assert elapsed < 1.5
    assert sqlite_api.get("/v1/health").json()["writes"] == "ok"  # the lock is gone


def test_a_database_that_becomes_writable_is_written_without_a_restart(
    sqlite_services: Services, sqlite_url: str
) -> None:
    """SQLite opens a file it may not write read-only and keeps that connection: pigeon drops
    it when a write fails so, and the next attempt opens the file anew."""
    path = sqlite_url.removeprefix("sqlite:///")
    writable = threading.Event()

    @event.listens_for(sqlite_services.db.engine, "do_connect")
    def _open(_dialect: Any, _record: Any, _args: Any, kwargs: Any) -> Any:
        mode = "rw" if writable.is_set() else "ro"
        return sqlite3.connect(f"file:{path}?mode={mode}", uri=True, **kwargs)

    sqlite_services.db.engine.dispose()
    with serve_in_process(sqlite_services) as api:
        operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
        refused = api.post("/v1/workspaces", json={"name": "x"}, headers=operator)
        assert refused.status_code == 503, refused.text
        health = api.get("/v1/health")
        assert health.status_code == 503 and "cannot be written" in health.json()["writes"]
        writable.set()  # chmod u+w, as the operator would
        created = api.post("/v1/workspaces", json={"name": "x"}, headers=operator)
        assert created.status_code == 201, created.text
        assert api.get("/v1/health").json()["writes"] == "ok"


# Processes started together --------------------------------------------------------------


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    name = f"pigeon_empty_{uuid.uuid4().hex[:10]}"
    admin_engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        service_missing("PostgreSQL", error)
    yield sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin_engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    url: str = request.getfixturevalue("empty_postgres")
    return url


START = """
import sys
from pigeon import bootstrap
from pigeon.config import Settings
from pigeon.services import admin, schema

url = sys.argv[1]
schema.migrate(url)
services = bootstrap.build(Settings(database_url=url), pool_size=1)
try:
    admin.first_run(services)
finally:
    services.close()
"""


def test_servers_started_together_migrate_and_set_up_once(empty_url: str) -> None:
    """Three `pigeon serve` start on an empty database at once (each migrates, then sets up
    the first workspace); separate processes, as alembic's context is one per process."""
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", START, empty_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [start.communicate(timeout=120)[0] for start in starts]
    assert [start.returncode for start in starts] == [0, 0, 0], "\n".join(outputs)
    assert migrate.is_current(empty_url)
    engine = sa.create_engine(empty_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(workspaces)).scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_health_answers_in_time_when_postgresql_writes_stall(postgres_url: str) -> None:
    """Another session locks the table health writes: health says so within its bound."""
    settings = Settings(database_url=postgres_url, operator_token=OPERATOR_TOKEN)
    services = bootstrap.build(settings, clock=SystemClock(), bus=MemoryBus(), pool_size=2)
    other = sa.create_engine(postgres_url)
    try:
        with serve_in_process(services) as api, other.connect() as conn:
            assert api.get("/v1/health").status_code == 200
            conn.exec_driver_sql("BEGIN")
            conn.exec_driver_sql("LOCK TABLE timers IN EXCLUSIVE MODE")
            started = time.monotonic()
            health = api.get("/v1/health")
            elapsed = time.monotonic() - started
            conn.exec_driver_sql("ROLLBACK")
    finally:
        other.dispose()
        services.close()
    assert health.status_code == 503 and "busy" in health.json()["writes"]
    assert elapsed < 2.0
