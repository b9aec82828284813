"""Engines and the unit of work: one transaction, its rows, its events, then notifications.

A `UnitOfWork` commits when its block ends without an exception and rolls back otherwise.
Notifications (`uow.notify`) reach the event bus only after the commit, so no listener ever
sees a change that was rolled back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.pool import NullPool

from pigeon.errors import PigeonError, StorageUnavailable

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Connection, ExceptionContext

    from pigeon.clock import Clock

Notify = Callable[[str, dict[str, Any]], None]
UNDEFINED_TABLE = "42P01"  # PostgreSQL


class UniqueViolation(PigeonError):
    """A unique constraint refused the row."""


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: in WAL mode NORMAL may lose the last commits on power loss; accepted means durable.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front: no deadlock-prone upgrade from a read lock later.
        mode = "DEFERRED" if conn.get_execution_options().get("pigeon_readonly") else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {mode}")


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Timestamps come back in UTC, as pigeon keeps them: no conversion per value read.
        dbapi_conn.execute("SET TIME ZONE 'UTC'")
        dbapi_conn.commit()


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        _configure_postgresql(engine)
    _translate_errors(engine)
    return engine


def make_throwaway_engine(url: str) -> Engine:
    """An engine without a pool, for one-off work such as migrations."""
    engine = create_engine(url, poolclass=NullPool)
    if url.startswith("sqlite"):
        _configure_sqlite(engine)
    else:
        _configure_postgresql(engine)
    _translate_errors(engine)
    return engine


class UnitOfWork:
    def __init__(self, conn: Connection, now: datetime) -> None:
        self.conn = conn
        self.now = now  # one instant for every row this transaction writes
        self.notifications: list[tuple[str, dict[str, Any]]] = []

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    def notify(self, topic: str, payload: dict[str, Any]) -> None:
        """Publish `payload` on `topic` once this unit of work has committed."""
        self.notifications.append((topic, payload))


class Database:
    def __init__(self, engine: Engine, clock: Clock, notify: Notify | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self._notify = notify
        # SQLite has one writer at a time, and a writer that finds the lock taken sleeps in
        # its busy handler while newcomers overtake it: under load a release or a report could
        # starve for seconds. This process's writers queue here instead, first come first
        # served; other processes still meet at BEGIN IMMEDIATE.
        self._writers = threading.Lock() if engine.dialect.name == "sqlite" else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[UnitOfWork]:
        uow: UnitOfWork
        queue = self._writers if self._writers is not None and not readonly else nullcontext()
        with queue, self.engine.connect() as conn:
            if readonly:
                conn.execution_options(pigeon_readonly=True)
            with conn.begin():
                uow = UnitOfWork(conn, self.clock.now())
                yield uow
        if self._notify is not None:
            for topic, payload in uow.notifications:
                self._notify(topic, payload)

    def dispose(self) -> None:
        self.engine.dispose()


def _translate_errors(engine: Engine) -> None:
    """Turn driver errors into pigeon's at the adapter edge, keeping the original as
    `__cause__`, so services can catch `UniqueViolation` around the statement that failed."""

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        error = context.sqlalchemy_exception
        if isinstance(error, exc.IntegrityError):
            text = str(error.orig).lower()
            if "unique" in text or "duplicate key" in text:
                raise UniqueViolation(str(error.orig)) from error
        elif isinstance(error, exc.OperationalError | exc.InterfaceError):
            raise StorageUnavailable(f"database unavailable: {error.orig}") from error
        elif isinstance(error, exc.DBAPIError) and (
            getattr(error.orig, "sqlstate", None) == UNDEFINED_TABLE
        ):
            # An unmigrated database is an operating problem, not a bug in a query.
            raise StorageUnavailable(
                f"schema missing ({error.orig}): run pigeon migrate"
            ) from error
