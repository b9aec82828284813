"""Engines and the unit of work: one transaction, its rows, its events, then notifications.

A `UnitOfWork` commits when its block ends without an exception and rolls back otherwise.
Notifications (`uow.notify`) reach the event bus only after the commit, so no listener ever
sees a change that was rolled back; a bus that fails then is logged, never raised: the
write has committed, and its caller must hear so.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import psycopg
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.pool import NullPool

from pigeon.errors import Conflict, InvalidValue, PigeonError, StorageUnavailable

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Connection, ExceptionContext
    from sqlalchemy.pool import ConnectionPoolEntry

    from pigeon.clock import Clock

log = logging.getLogger(__name__)

Notify = Callable[[str, dict[str, Any]], None]
UNDEFINED_TABLE = "42P01"  # PostgreSQL
FOREIGN_KEY_VIOLATION = "23503"
UNIQUE_VIOLATION = "23505"
QUERY_CANCELED = "57014"  # statement_timeout
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout
# A pooled connection idle longer than this is pinged before use; a busy one is not, since a
# ping per checkout cost a round trip per transaction.
IDLE_PING_SECONDS = 10.0
POOL_TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5  # an unreachable server answers 503, not a request that hangs


# When the write of the current request must give up (time.monotonic()): set by the API for
# a request that first queued for its turn, so the two waits share one bound.
WRITE_DEADLINE: ContextVar[float | None] = ContextVar("pigeon_write_deadline", default=None)


class UniqueViolation(PigeonError):
    """A unique constraint refused the row."""

    def __init__(self, message: str, constraint: str | None) -> None:
        super().__init__(message)
        self.constraint = constraint  # as named in store/tables.py, e.g. uq_channels_...


def _configure_sqlite(engine: Engine, busy_seconds: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: in WAL mode NORMAL may lose the last commits on power loss; accepted means durable.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get("pigeon_readonly"):
            conn.exec_driver_sql("BEGIN DEFERRED")
            return
        # What is left of the write's bound after it queued for this process's writer lock.
        if busy_ms := options.get("pigeon_busy_ms"):
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(busy_ms)}")
        # Writers take the lock up front: no deadlock-prone upgrade from a read lock later.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Timestamps come back in UTC, as pigeon keeps them: no conversion per value read.
        dbapi_conn.execute("SET TIME ZONE 'UTC'")
        dbapi_conn.commit()


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as error:
            # The pool discards this connection and checks out another (or opens one).
            raise exc.DisconnectionError(str(error)) from error


def make_engine(url: str, *, pool_size: int = 10, busy_seconds: float = 5.0) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_seconds},
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=POOL_TIMEOUT_SECONDS,
        )
        _configure_sqlite(engine, busy_seconds)
    else:
        # No overflow: connections opened past the pool were closed again on return, so a
        # burst cost a new PostgreSQL session per request.
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
        )
        _configure_postgresql(engine)
        _ping_when_idle(engine)
    _translate_errors(engine)
    return engine


def make_throwaway_engine(url: str) -> Engine:
    """An engine without a pool, for one-off work such as migrations."""
    engine = create_engine(url, poolclass=NullPool)
    if url.startswith("sqlite"):
        _configure_sqlite(engine, busy_seconds=30.0)
    else:
        _configure_postgresql(engine)
    _translate_errors(engine)
    return engine


class UnitOfWork:
    def __init__(self, conn: Connection, now: datetime, clock: Clock | None = None) -> None:
        self.conn = conn
        self.now = now  # one instant for every row this transaction writes
        self.notifications: list[tuple[str, dict[str, Any]]] = []
        self._clock = clock

    def catch_up(self) -> datetime:
        """Move `now` to the clock's time: after waiting for a lock, so that what the lock
        serialises (throttled releases) is stamped in the order it happened."""
        if self._clock is not None:
            self.now = max(self.now, self._clock.now())
        return self.now

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    def notify(self, topic: str, payload: dict[str, Any]) -> None:
        """Publish `payload` on `topic` once this unit of work has committed."""
        self.notifications.append((topic, payload))


class Database:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        notify: Notify | None = None,
        *,
        busy_seconds: float = 5.0,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self._notify = notify
        self.busy_seconds = busy_seconds
        # SQLite has one writer at a time, and a writer that finds the lock taken sleeps in
        # its busy handler while newcomers overtake it: under load a release or a report could
        # starve for seconds. This process's writers queue here instead, first come first
        # served; other processes still meet at BEGIN IMMEDIATE. Both waits share one bound.
        self._writers = threading.Lock() if engine.dialect.name == "sqlite" else None
        self._notify_failing = False

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(
        self, *, readonly: bool = False, busy_seconds: float | None = None
    ) -> Iterator[UnitOfWork]:
        """A unit of work; a writer waits at most `busy_seconds` (default: the setting) for
        SQLite's write lock, then fails with StorageUnavailable (a 503: nothing written).
        On PostgreSQL an explicit `busy_seconds` bounds each statement and lock wait."""
        gate = None if readonly else self._writers
        bound = self.busy_seconds if busy_seconds is None else busy_seconds
        started = time.monotonic()
        deadline = WRITE_DEADLINE.get()
        if deadline is not None:
            bound = max(min(bound, deadline - started), 0.01)
        if gate is not None and not gate.acquire(timeout=bound):
            raise StorageUnavailable(_busy(bound))
        try:
            with self._connect() as conn:
                if readonly:
                    conn.execution_options(pigeon_readonly=True)
                elif gate is not None:
                    left = max(bound - (time.monotonic() - started), 0.01)
                    conn.execution_options(pigeon_busy_ms=max(int(left * 1000), 10))
                with conn.begin():
                    if busy_seconds is not None and self.dialect == "postgresql":
                        ms = max(int(busy_seconds * 1000), 1)
                        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
                        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")
                    uow = UnitOfWork(conn, self.clock.now(), self.clock)
                    yield uow
        finally:
            if gate is not None:
                gate.release()
        self._publish(uow.notifications)

    def _connect(self) -> Connection:
        try:
            return self.engine.connect()
        except exc.TimeoutError as error:
            raise StorageUnavailable(
                f"no database connection came free within {POOL_TIMEOUT_SECONDS:g} s"
            ) from error

    def _publish(self, notifications: list[tuple[str, dict[str, Any]]]) -> None:
        if self._notify is None or not notifications:
            return
        try:
            for topic, payload in notifications:
                self._notify(topic, payload)
        except Exception:
            # Committed already: live updates degrade, the write does not. Logged once per
            # failing spell, not once per message.
            if not self._notify_failing:
                self._notify_failing = True
                log.exception(
                    "event bus failed after a commit; live updates degrade until it recovers",
                    extra={"action": "bus_publish_failed"},
                )
            return
        self._notify_failing = False

    def dispose(self) -> None:
        self.engine.dispose()


def _busy(bound: float | None = None) -> str:
    held = f" for {bound:g} s" if bound else ""
    return f"the database is busy: another writer held it{held} (nothing was written; try again)"


_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)")


def _sqlite_constraint(message: str) -> str | None:
    """The name of the unique constraint or primary key SQLite's message points at."""
    from pigeon.store.tables import metadata  # the schema names every constraint

    match = _SQLITE_UNIQUE.search(message)
    if match is None:
        return None
    columns = [part.strip() for part in match.group(1).split(",")]
    table_name = columns[0].split(".")[0]
    wanted = tuple(column.split(".", 1)[1] for column in columns)
    table = metadata.tables.get(table_name)
    if table is None:
        return None
    candidates: list[Any] = [table.primary_key, *table.constraints, *table.indexes]
    for candidate in candidates:
        names = tuple(c.name for c in getattr(candidate, "columns", ()))
        unique = getattr(candidate, "unique", True)  # constraints are; indexes say
        if names == wanted and unique and candidate.name:
            return str(candidate.name)
    return None


def _translate_errors(engine: Engine) -> None:
    """Turn driver errors into pigeon's at the adapter edge, keeping the original as
    `__cause__`: services catch `UniqueViolation` by constraint name, bad values become a
    422, an unreachable or unwritable database a 503, and nothing else reaches a surface as a
    raw driver error."""

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        error = context.sqlalchemy_exception
        original = getattr(error, "orig", None)
        if original is None:
            return
        if "readonly database" in str(original):
            # SQLite opened the file read-only and would stay so on this connection; drop the
            # pool so the next attempt opens it anew (writable again, perhaps).
            context.is_disconnect = True
            context.invalidate_pool_on_disconnect = True
        translated = translate(original)
        if translated is not None:
            raise translated from error


# The drivers' error classes (psycopg's subclasses included: QueryCanceled, AdminShutdown...).
_REFUSED_VALUES = (
    sqlite3.IntegrityError,
    sqlite3.DataError,
    psycopg.IntegrityError,
    psycopg.DataError,
)
_UNAVAILABLE = (
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    OSError,
)


def translate(error: BaseException) -> PigeonError | None:
    """pigeon's error for a driver's (psycopg, sqlite3), or None for a bug in a query. Also
    for errors that reach pigeon without SQLAlchemy, such as those of a COPY."""
    sqlstate = getattr(error, "sqlstate", None)
    text = str(error)
    if sqlstate == UNIQUE_VIOLATION or "UNIQUE constraint failed" in text:
        diag = getattr(error, "diag", None)
        constraint = getattr(diag, "constraint_name", None) or _sqlite_constraint(text)
        return UniqueViolation(text, constraint)
    if sqlstate == FOREIGN_KEY_VIOLATION or "FOREIGN KEY constraint failed" in text:
        return Conflict("a resource this request refers to no longer exists")
    if isinstance(error, _REFUSED_VALUES):
        return InvalidValue(_first_line(text))
    if "readonly database" in text:
        return StorageUnavailable(f"the database cannot be written: {text}")
    if "database is locked" in text or sqlstate in (QUERY_CANCELED, LOCK_NOT_AVAILABLE):
        return StorageUnavailable(_busy())
    if sqlstate == UNDEFINED_TABLE or "no such table" in text:
        # An unmigrated database is an operating problem, not a bug in a query.
        return StorageUnavailable(f"schema missing ({_first_line(text)}): run pigeon migrate")
    if isinstance(error, _UNAVAILABLE):
        return StorageUnavailable(f"database unavailable: {_first_line(text)}")
    return None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "the database refused the change"
