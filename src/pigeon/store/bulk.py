"""Inserts by the fewest round trips: on PostgreSQL a few rows go as one multi-row INSERT
(rows of several tables together, as one statement of data-modifying CTEs), many rows by
COPY; on SQLite, executemany.

SQLAlchemy's executemany reaches PostgreSQL as one Bind/Execute per row; COPY sends the rows
in one stream, about three times cheaper per event row on both sides (docs/benchmarks.md),
but it costs two round trips, and a round trip costs the client more CPU than the rows of a
single create. COPY bypasses SQLAlchemy's type processing, so values are prepared here.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.json import Json
from sqlalchemy import JSON, insert

from pigeon.store.database import translate

if TYPE_CHECKING:
    from sqlalchemy import Table

    from pigeon.store.database import UnitOfWork


# Up to this many rows (of all the tables together) go as one INSERT statement on
# PostgreSQL; more go by COPY. Measured here (docs/benchmarks.md): psycopg's per-parameter
# cost makes a multi-row INSERT dearer than COPY from about 8 rows of one table, while one
# statement for a create's 3 rows of 3 tables saves two round trips of 3 COPYs.
FEW_ROWS = 6

Rows = Sequence[Mapping[str, Any]]


def insert_rows(uow: UnitOfWork, table: Table, rows: Rows) -> None:
    """Insert `rows` (dicts with the same keys) into `table` within the unit of work."""
    insert_together(uow, [(table, rows)])


def insert_together(uow: UnitOfWork, batches: Sequence[tuple[Table, Rows]]) -> None:
    """Insert rows into several tables, in order (a row may refer to one before it)."""
    batches = [(table, rows) for table, rows in batches if rows]
    if not batches:
        return
    if uow.dialect != "postgresql":
        for table, rows in batches:
            uow.conn.execute(insert(table), [dict(row) for row in rows])
        return
    if sum(len(rows) for _, rows in batches) > FEW_ROWS:
        for table, rows in batches:
            _copy(uow, table, rows)
        return
    shape = tuple((table, tuple(rows[0]), len(rows)) for table, rows in batches)
    values = [
        _driver_value(table, name, row[name])
        for table, rows in batches
        for row in rows
        for name in rows[0]
    ]
    uow.conn.exec_driver_sql(_statement(shape), tuple(values))  # the engine translates


@functools.lru_cache(maxsize=256)
def _statement(shape: tuple[tuple[Table, tuple[str, ...], int], ...]) -> str:
    """`WITH r0 AS (INSERT ...), r1 AS (INSERT ...) INSERT ...`: one round trip for all.

    Built once per shape of rows (SQLAlchemy compiles a multi-row INSERT anew each time). A
    foreign key is checked at the end of the statement, when every row is in.
    """
    parts = []
    for table, names, count in shape:
        columns = ", ".join(f'"{name}"' for name in names)
        row = "(" + ", ".join(["%s"] * len(names)) + ")"
        # Names come from the schema (table.c checks each in _driver_value), never from input.
        parts.append(f'INSERT INTO "{table.name}" ({columns}) VALUES ' + ", ".join([row] * count))  # noqa: S608
    *earlier, last = parts
    if not earlier:
        return last
    ctes = ", ".join(f"r{index} AS ({part})" for index, part in enumerate(earlier))
    return f"WITH {ctes} {last}"


def _driver_value(table: Table, name: str, value: Any) -> Any:
    """A value as psycopg takes it, SQLAlchemy's type processing bypassed: JSON wrapped."""
    if value is not None and isinstance(table.c[name].type, JSON):
        return Json(value)
    return value


def _copy(uow: UnitOfWork, table: Table, rows: Rows) -> None:
    names = list(rows[0])
    # psycopg dumps str enums (StrEnum) by value, as text; JSON columns need wrapping.
    json_at = [i for i, name in enumerate(names) if isinstance(table.c[name].type, JSON)]
    columns = ", ".join(f'"{name}"' for name in names)
    driver = uow.conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        with driver.cursor().copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                values = [row[name] for name in names]
                for i in json_at:
                    if values[i] is not None:
                        values[i] = Json(values[i])
                copy.write_row(values)
    except psycopg.Error as error:
        # COPY bypasses SQLAlchemy and so its error translation (a duplicate idempotency
        # key in a batch must be a UniqueViolation the service replays, not a 500).
        raise translate(error) or error from error
