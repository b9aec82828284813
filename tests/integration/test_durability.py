"""Accepted means durable: durable SQLite commits, and 503 (never 2xx) when storage fails."""

from __future__ import annotations

import socket

import sqlalchemy as sa
from fastapi.testclient import TestClient

from pigeon import bootstrap
from pigeon.api.app import create_app
from pigeon.bus.memory import MemoryBus
from pigeon.config import Settings
from pigeon.store.database import make_engine


def test_sqlite_connections_are_wal_and_fully_synchronous(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_database_answers_503_with_retry_after() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/none?connect_timeout=2"
    container = bootstrap.build(Settings(database_url=url), bus=MemoryBus(), pool_size=1)
    app = create_app(container, run_workers=False)
    with TestClient(app) as client:
        created = client.post(
            "/v1/messages",
            json={"recipient": "+14155552671", "body": "hi"},
            headers={"Authorization": "Bearer pgn_admin_x"},
        )
        assert created.status_code == 503
        assert created.headers["retry-after"] == "1"
        assert created.headers["content-type"] == "application/problem+json"
        seed = client.post(
            "/admin/send-queue/enqueue",
            json={"batchItemId": "b", "deviceId": "d", "toHandle": "+14155552671", "body": "x"},
            headers={"Authorization": "Bearer k"},
        )
        assert seed.status_code == 503 and seed.json()["success"] is False
        health = client.get("/api/health/")
        assert health.status_code == 503
    container.close()


def test_rolled_back_work_leaves_no_trace(sqlite_url: str) -> None:
    container = bootstrap.build(Settings(database_url=sqlite_url), bus=MemoryBus())
    try:
        with container.db.transaction() as uow:
            uow.conn.execute(
                sa.text("INSERT INTO workspaces VALUES ('w', 'n', 'UTC', '2030-01-01')")
            )
            uow.notify("messages", {"workspace_id": "w"})
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with container.db.transaction(readonly=True) as uow:
        assert uow.conn.execute(sa.text("SELECT count(*) FROM workspaces")).scalar() == 0
    assert isinstance(container.bus, MemoryBus) and container.bus.published == 0
    container.close()
