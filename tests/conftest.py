"""Shared fixtures: a clean PIGEON_* environment, a frozen clock, and real databases.

Databases: every store-level test runs on SQLite and on PostgreSQL (`db_url` is parametrized).
PostgreSQL gets one database per test process, migrated once and truncated between tests.
With CI=true an unreachable PostgreSQL or Redis fails the run instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from pigeon import bootstrap
from pigeon.bus.memory import MemoryBus
from pigeon.clock import FrozenClock
from pigeon.config import Settings
from pigeon.services import admin
from pigeon.services.context import Principal, Services
from pigeon.store import migrate
from pigeon.store.tables import metadata

POSTGRES_URL = os.environ.get(
    "PIGEON_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PIGEON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


def service_missing(name: str, error: Exception) -> None:
    message = f"{name} unreachable: {error}"
    if IN_CI:
        pytest.fail(f"{message} (required when CI=true)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PIGEON_") and not name.startswith("PIGEON_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


# SQLite ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "pigeon.db"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


# PostgreSQL -----------------------------------------------------------------------------


def _admin_engine() -> sa.Engine:
    return sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


@pytest.fixture(scope="session")
def _postgres_database() -> Iterator[str]:
    name = f"pigeon_test_{uuid.uuid4().hex[:10]}"
    try:
        engine = _admin_engine()
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        service_missing("PostgreSQL", error)
    url = sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield url
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


@pytest.fixture
def postgres_url(_postgres_database: str) -> str:
    engine = sa.create_engine(_postgres_database)
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()
    return _postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


# The composition root, wired for tests ---------------------------------------------------


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, lease_seconds=60)


@pytest.fixture
def container(settings: Settings, clock: FrozenClock) -> Iterator[Services]:
    built = bootstrap.build(settings, clock=clock, bus=MemoryBus(), pool_size=4)
    yield built
    built.close()


@pytest.fixture
def workspace(container: Services) -> admin.NewWorkspace:
    return admin.create_workspace(container, name="acme", timezone="Europe/Paris", actor="test")


@pytest.fixture
def who(workspace: admin.NewWorkspace) -> Principal:
    return Principal(workspace.workspace.id, "test", frozenset({"admin"}))
