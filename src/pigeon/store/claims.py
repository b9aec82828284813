"""Leases with fencing: the one claim mechanism, for messages and for jobs.

A claim moves up to `limit` eligible rows to a claimed status and stamps them with a lease
(`lease_expires_at`), a holder and a fresh claim token. A later write on behalf of that claim
(`settle`, `settle_each`, `extend`) must present the token; once the lease has been taken
over, the old token matches nothing, so a holder that lost its lease cannot overwrite newer
state. `reclaim` moves rows whose lease ran out in one statement, fenced the same way.

Every step picks its rows with `pick`: on PostgreSQL `SELECT ... FOR UPDATE SKIP LOCKED LIMIT
n`, so concurrent claimers pass over each other's rows instead of queueing behind them; on
SQLite the same without the lock clause, since the unit of work opened the transaction with
BEGIN IMMEDIATE, which makes writers take turns.

A claim hands its rows out in pick order, sorted by the database: on PostgreSQL one
statement (`WITH picked AS (...), moved AS (UPDATE ... RETURNING ...) SELECT ... ORDER BY`);
on SQLite, whose RETURNING order is arbitrary and which allows no UPDATE inside a WITH, the
UPDATE returns the ids and a SELECT by primary key reads the rows back in order, two steps
inside one write transaction and one process.

A table that uses this module needs the columns `id`, `status`, `claim_token`, `claimed_by`
and `lease_expires_at`. Whether a token outlives its lease is the table's choice: messages
keep the latest one until the next claim (domain/delivery.check_report says what it may
still do), jobs clear it whenever a job leaves `claimed`.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ClauseElement,
    Column,
    ColumnElement,
    Row,
    Select,
    Table,
    UnaryExpression,
    and_,
    bindparam,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import operators
from sqlalchemy.types import String, Text

from pigeon.domain.leases import Lease
from pigeon.store.sql import one_of_param, status_is

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import datetime

    from sqlalchemy.engine import Connection
    from sqlalchemy.sql.expression import Executable, FromClause


__all__ = [
    "Claim",
    "Lease",
    "expired",
    "extend",
    "pick",
    "reclaim",
    "renew_held",
    "settle",
    "settle_each",
]

# A column in ascending order, or `column.desc()`.
Order = Column[Any] | UnaryExpression[Any]


def pick(
    table: Table,
    *,
    eligible: ColumnElement[bool],
    order_by: Sequence[Order],
    dialect: str,
    limit: int | ColumnElement[int],
    columns: Iterable[ColumnElement[Any]] | None = None,
) -> Select[Any]:
    """The ids (or `columns`) of up to `limit` eligible rows, first in `order_by` order,
    locked on PostgreSQL, where rows another transaction holds are skipped, not waited for."""
    query = (
        select(*(columns if columns is not None else [table.c.id]))
        .where(eligible)
        .order_by(*order_by)
        .limit(limit)
    )
    if dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return query


class Claim:
    """One kind of claim, its statements built once per dialect with bound parameters: the
    rows of `table` matching `eligible` (its own bind parameters named by the caller), taken
    in `order_by` order (columns, ascending unless given as `column.desc()`), moved to
    `claimed_status` with `extra_values` (SQL expressions allowed, e.g. `attempts + 1`).

    Building a statement costs the server more CPU than PostgreSQL spends running it, and a
    claim runs on every long-poll answer.
    """

    def __init__(
        self,
        table: Table,
        *,
        eligible: ColumnElement[bool],
        order_by: Sequence[Order],
        claimed_status: str,
        extra_values: Mapping[str, Any] | None = None,
    ) -> None:
        self.table = table
        self.order_by = list(order_by)
        self._eligible = eligible
        self._values = {
            "status": claimed_status,
            "claim_token": bindparam("claim_token"),
            "claimed_by": bindparam("claim_holder"),
            "lease_expires_at": bindparam("claim_expires_at"),
            **(extra_values or {}),
        }
        self._statements: dict[str, tuple[Executable, ...]] = {}

    def statements(self, dialect: str) -> tuple[Executable, ...]:
        """What `run` executes on `dialect`, in order; the last one returns the rows."""
        if dialect not in self._statements:
            self._statements[dialect] = _ordered_move(
                dialect, self.table, self._eligible, self.order_by, self._values
            )
        return self._statements[dialect]

    def run(
        self, conn: Connection, *, limit: int, lease: Lease, **params: Any
    ) -> Sequence[Row[Any]]:
        """Claim up to `limit` rows under `lease`, returned in pick order; `params` fill
        `eligible`'s parameters."""
        values = {
            "claim_limit": limit,
            "claim_token": lease.token,
            "claim_holder": lease.holder,
            "claim_expires_at": lease.expires_at,
            **params,
        }
        return _run_ordered(conn, self.statements(conn.dialect.name), values)


def _ordered_move(
    dialect: str,
    table: Table,
    eligible: ColumnElement[bool],
    order_by: Sequence[Order],
    values: Mapping[str, Any],
) -> tuple[Executable, ...]:
    """Move the picked rows by `values` and read them back in pick order (module docstring):
    one statement on PostgreSQL, two on SQLite. `claim_limit` bounds the pick."""
    picked = pick(
        table,
        eligible=eligible,
        order_by=order_by,
        dialect=dialect,
        limit=bindparam("claim_limit"),
    )
    move = update(table).values(values)
    if dialect == "postgresql":
        picked_cte = picked.cte("picked")
        moved = move.where(table.c.id.in_(select(picked_cte.c.id))).returning(*table.c).cte("moved")
        return (select(moved).order_by(*_reordered(order_by, moved)),)
    ids = bindparam("moved_ids", type_=String())  # a JSON array: one parameter, whatever the count
    return (
        move.where(table.c.id.in_(picked.scalar_subquery())).returning(table.c.id),
        select(table)
        .where(table.c.id.in_(select(literal_column("value")).select_from(func.json_each(ids))))
        .order_by(*order_by),
    )


def _reordered(order_by: Sequence[Order], source: FromClause) -> list[ColumnElement[Any]]:
    """`order_by`, with each column taken from `source` instead of its table."""
    found: list[ColumnElement[Any]] = []
    for item in order_by:
        if isinstance(item, UnaryExpression):
            column = source.c[item.element.name]
            found.append(column.desc() if item.modifier is operators.desc_op else column.asc())
        else:
            found.append(source.c[item.name])
    return found


def _run_ordered(
    conn: Connection, statements: Sequence[Executable], params: Mapping[str, Any]
) -> Sequence[Row[Any]]:
    if len(statements) == 1:
        return conn.execute(statements[0], params).all()
    move, read = statements
    ids = list(conn.execute(move, params).scalars())
    if not ids:
        return []
    return conn.execute(read, {"moved_ids": json.dumps(ids)}).all()


def renew_held(
    conn: Connection,
    table: Table,
    *,
    holder: str,
    claimed_status: str,
    now: datetime,
    expires_at: datetime,
    order_by: Sequence[Order],
    limit: int,
) -> Sequence[Row[Any]]:
    """The unexpired claims `holder` still holds, their leases renewed to `expires_at`
    under their own tokens, in `order_by` order.

    A holder that claims again has not reported these: most often the answer to its last
    claim was lost (a timeout, a server killed after the commit). Handing them back lets it
    send and report them now instead of leaving them to expire into `unknown`. Rows being
    settled at this moment are skipped (PostgreSQL), not waited for.
    """
    statements = _renew_statements(conn.dialect.name, table, claimed_status, tuple(order_by))
    params = {"claim_limit": limit, "held_by": holder, "held_at": now, "renew_to": expires_at}
    return _run_ordered(conn, statements, params)


@functools.cache
def _renew_statements(
    dialect: str, table: Table, claimed_status: str, order_by: tuple[Order, ...]
) -> tuple[Executable, ...]:
    c = table.c
    held = and_(
        status_is(table, claimed_status),
        c.claimed_by == bindparam("held_by"),
        c.lease_expires_at > bindparam("held_at"),
    )
    return _ordered_move(
        dialect, table, held, order_by, {"lease_expires_at": bindparam("renew_to")}
    )


def settle(
    conn: Connection,
    table: Table,
    *,
    row_ids: Sequence[str],
    token: str,
    from_statuses: frozenset[str],
    values: Mapping[str, Any],
) -> set[str]:
    """Apply `values` to those of `row_ids` whose current claim is still `token`.

    A value is bound as a parameter, or, if it is an SQL expression (`attempts - 1`), written
    into the statement; such an expression must be built once (it keys the statement cache).
    Returns the ids of the updated rows (the caller knows their new values: it gave them); a
    row left out has a stale token or has moved on, and the caller tells those apart (and a
    missing row) with a plain read.
    """
    statement = _settle_statement(
        conn.dialect.name, table, tuple(sorted(from_statuses)), _shape(values)
    )
    params = {"settle_ids": list(row_ids), "settle_token": token}
    params.update(_bound(values))
    return set(conn.execute(statement, params).scalars())


def _shape(values: Mapping[str, Any]) -> tuple[tuple[str, ClauseElement | None], ...]:
    """The statement-shaping part of `values`: names, and the SQL expressions among them."""
    return tuple(
        (name, value if isinstance(value, ClauseElement) else None)
        for name, value in sorted(values.items())
    )


def _bound(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        f"set_{name}": value
        for name, value in values.items()
        if not isinstance(value, ClauseElement)
    }


def _set(shape: Sequence[tuple[str, ClauseElement | None]]) -> dict[str, Any]:
    return {name: bindparam(f"set_{name}") if expr is None else expr for name, expr in shape}


@functools.cache
def _settle_statement(
    dialect: str,
    table: Table,
    from_statuses: tuple[str, ...],
    shape: tuple[tuple[str, ClauseElement | None], ...],
) -> Executable:
    """Built once per kind of change: a report's costs less than its statement's building."""
    return (
        update(table)
        .where(
            one_of_param(dialect, table.c.id, "settle_ids"),
            table.c.claim_token == bindparam("settle_token"),
            table.c.status.in_(from_statuses),
        )
        .values(_set(shape))
        .returning(table.c.id)
    )


def settle_each(
    conn: Connection,
    table: Table,
    *,
    rows: Sequence[Mapping[str, str | None]],
    from_statuses: frozenset[str],
    values: Mapping[str, Any],
) -> set[str]:
    """`settle` for rows held under different tokens, in one statement.

    Each of `rows` names its row (`id`), the token it presents (`token`) and, under the same
    other keys in every row, text values of its own (a status, an error); `values` (as for
    `settle`) apply to every row. The rows travel as one parameter: arrays unnested on
    PostgreSQL, a JSON array on SQLite, so the statement is the same for any count.
    """
    if not rows:
        return set()
    own = tuple(name for name in rows[0] if name not in ("id", "token"))
    dialect = conn.dialect.name
    statement = _settle_each_statement(
        dialect, table, tuple(sorted(from_statuses)), own, _shape(values)
    )
    params = _bound(values)
    names = ("id", "token", *own)
    if dialect == "postgresql":
        params.update({f"each_{name}": [row[name] for row in rows] for name in names})
    else:
        params["each_rows"] = json.dumps([[row[name] for name in names] for row in rows])
    return set(conn.execute(statement, params).scalars())


@functools.cache
def _settle_each_statement(
    dialect: str,
    table: Table,
    from_statuses: tuple[str, ...],
    own: tuple[str, ...],
    shape: tuple[tuple[str, ClauseElement | None], ...],
) -> Executable:
    names = ("id", "token", *own)
    each: FromClause
    if dialect == "postgresql":
        arrays = [bindparam(f"each_{name}", type_=ARRAY(Text())) for name in names]
        each = func.unnest(*arrays).table_valued(*names).render_derived(name="held")
    else:
        value: ColumnElement[Any] = literal_column("value")
        each = (
            select(
                *(
                    func.json_extract(value, f"$[{index}]", type_=String()).label(name)
                    for index, name in enumerate(names)
                )
            )
            .select_from(func.json_each(bindparam("each_rows")))
            .subquery("held")
        )
    return (
        update(table)
        .where(
            table.c.id == each.c.id,
            table.c.claim_token == each.c.token,
            table.c.status.in_(from_statuses),
        )
        .values({**_set(shape), **{name: each.c[name] for name in own}})
        .returning(table.c.id)
    )


def extend(
    conn: Connection,
    table: Table,
    *,
    row_ids: Sequence[str],
    token: str,
    claimed_status: str,
    expires_at: datetime,
    values: Mapping[str, Any] | None = None,
) -> set[str]:
    """Renew the leases of those of `row_ids` still claimed under `token` until
    `expires_at` (and apply `values`, e.g. `updated_at`); returns the renewed ids."""
    return settle(
        conn,
        table,
        row_ids=row_ids,
        token=token,
        from_statuses=frozenset({claimed_status}),
        values={**(values or {}), "lease_expires_at": expires_at},
    )


def reclaim(
    conn: Connection,
    table: Table,
    *,
    claimed_status: str,
    now: datetime,
    limit: int,
    values: Mapping[str, Any],
    returning: Sequence[str] = ("id", "status"),
) -> Sequence[Row[Any]]:
    """Move up to `limit` claimed rows whose lease ran out before `now`, the longest
    expired first, by `values`, in one statement; returns their `returning` columns.

    `values` may hold SQL expressions over the row (a CASE choosing each row's status). To
    fence out the old holder, they move the row off `claimed_status` or clear its token.
    Rows being settled at this moment are skipped (PostgreSQL): their holder was slow, not
    gone. Built per call: a sweep runs once a poll, and SQLAlchemy caches its compilation.
    """
    c = table.c
    lapsed = and_(status_is(table, claimed_status), c.lease_expires_at < now)
    picked = pick(
        table,
        eligible=lapsed,
        order_by=[c.lease_expires_at],
        dialect=conn.dialect.name,
        limit=limit,
    )
    # The pick's lock holds its rows as picked: no second test of `lapsed` out here, which
    # made PostgreSQL walk every lapsed row and probe the pick for each.
    statement = (
        update(table)
        .where(c.id.in_(picked.scalar_subquery()))
        .values(dict(values))
        .returning(*(c[name] for name in returning))
    )
    return conn.execute(statement).all()


def expired(
    conn: Connection,
    table: Table,
    *,
    claimed_status: str,
    now: datetime,
    limit: int,
) -> Sequence[Row[Any]]:
    """Claimed rows whose lease ran out, locked (PostgreSQL) so one sweeper handles each.

    For callers that decide each row's fate in Python (messages: a per-channel policy and
    backoff); `reclaim` moves them in one statement when SQL can decide.
    """
    query = pick(
        table,
        eligible=and_(status_is(table, claimed_status), table.c.lease_expires_at < now),
        order_by=[table.c.lease_expires_at],
        dialect=conn.dialect.name,
        limit=limit,
        columns=table.c,
    )
    return conn.execute(query).all()
