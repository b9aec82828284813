"""SQL expressions written in the form the query planners need.

Both exist for speed, and both keep their results identical on either dialect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import String, any_, bindparam, literal
from sqlalchemy.dialects.postgresql import ARRAY

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy import Column, Table
    from sqlalchemy.sql.elements import ColumnElement


def status_is(table: Table, status: str) -> ColumnElement[bool]:
    """`<table>.status = '<status>'`, the value written into the SQL text.

    A planner uses a partial index (tables.py: one per status a worker looks for) only when
    it can prove the index's predicate from the query. A bound parameter defeats that in a
    generic plan, the one PostgreSQL may settle on for a statement that psycopg prepared
    after its fifth run (tests/integration/test_query_plans.py).
    """
    return table.c.status == literal(str(status), literal_execute=True)


def one_of(dialect: str, column: Column[Any], values: Iterable[str]) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(array)`, one parameter.

    An IN list is rendered anew for each length, with a parameter per value, and a statement
    that long is parsed again by the driver on every call: for the 200 ids of a report that
    was a tenth of the API process's CPU.
    """
    values = list(values)
    if dialect == "postgresql":
        return column == any_(literal(values, ARRAY(String())))
    return column.in_(values)


def one_of_param(dialect: str, column: Column[Any], name: str) -> ColumnElement[bool]:
    """`one_of` with the values left to a bound parameter `name`, for statements built once:
    an array on PostgreSQL, an expanding IN list on SQLite."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(String())))
    return column.in_(bindparam(name, expanding=True))
