"""Leases with fencing: the one claim mechanism, for messages today and jobs next.

A claim moves up to `limit` eligible rows to a claimed status in ONE statement and stamps
them with a lease (`lease_expires_at`), a holder and a fresh claim token. A later write on
behalf of that claim (`settle`) must present the token; once the lease has been taken over,
the old token matches nothing, so a holder that lost its lease cannot overwrite newer state.

PostgreSQL: `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED LIMIT n) RETURNING`, so
concurrent claimers pass over each other's rows instead of queueing behind them.
SQLite: the same statement without the lock clause; the unit of work opened the transaction
with BEGIN IMMEDIATE, which makes writers take turns.

A table that uses this module needs the columns `id`, `status`, `claim_token`, `claimed_by`
and `lease_expires_at`. The token of the latest claim stays on a row after its lease ends;
only the next claim replaces it (domain/delivery.check_report says what it may still do).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, ColumnElement, Row, Table, Update, bindparam, select, update

from pigeon.domain.leases import Lease
from pigeon.store.sql import one_of_param, status_is

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from sqlalchemy.engine import Connection


__all__ = ["Claim", "Lease", "expired", "renew_held", "settle"]


class Claim:
    """One kind of claim, its statement built once per dialect with bound parameters: the
    rows of `table` matching `eligible` (its own bind parameters named by the caller), taken
    in ascending `order_by` order.

    Building a statement costs the server more CPU than PostgreSQL spends running it, and a
    claim runs on every long-poll answer.
    """

    def __init__(
        self,
        table: Table,
        *,
        eligible: ColumnElement[bool],
        order_by: Sequence[Column[Any]],
        claimed_status: str,
        extra_values: Mapping[str, Any] | None = None,
    ) -> None:
        self.table = table
        self.order_by = list(order_by)
        self._eligible = eligible
        self._claimed_status = claimed_status
        self._extra_values = dict(extra_values or {})
        self._statements: dict[str, Update] = {}

    def statement(self, dialect: str) -> Update:
        if dialect not in self._statements:
            table = self.table
            pick = (
                select(table.c.id)
                .where(self._eligible)
                .order_by(*self.order_by)
                .limit(bindparam("claim_limit"))
            )
            if dialect == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            self._statements[dialect] = (
                update(table)
                .where(table.c.id.in_(pick.scalar_subquery()))
                .values(
                    status=self._claimed_status,
                    claim_token=bindparam("claim_token"),
                    claimed_by=bindparam("claim_holder"),
                    lease_expires_at=bindparam("claim_expires_at"),
                    **self._extra_values,
                )
                .returning(*table.c)
            )
        return self._statements[dialect]

    def run(
        self, conn: Connection, *, limit: int, lease: Lease, **params: Any
    ) -> Sequence[Row[Any]]:
        """Claim up to `limit` rows under `lease`; `params` fill `eligible`'s parameters."""
        values = {
            "claim_limit": limit,
            "claim_token": lease.token,
            "claim_holder": lease.holder,
            "claim_expires_at": lease.expires_at,
            **params,
        }
        rows = conn.execute(self.statement(conn.dialect.name), values).all()
        # RETURNING order is unspecified; hand rows out in the order they were picked.
        names = [column.name for column in self.order_by]
        return sorted(rows, key=lambda row: tuple(row._mapping[name] for name in names))


def renew_held(
    conn: Connection,
    table: Table,
    *,
    holder: str,
    claimed_status: str,
    now: datetime,
    expires_at: datetime,
    order_by: Sequence[Column[Any]],
    limit: int,
) -> Sequence[Row[Any]]:
    """The unexpired claims `holder` still holds, their leases renewed to `expires_at`
    under their own tokens.

    A holder that claims again has not reported these: most often the answer to its last
    claim was lost (a timeout, a server killed after the commit). Handing them back lets it
    send and report them now instead of leaving them to expire into `unknown`. Rows being
    settled at this moment are skipped (PostgreSQL), not waited for.
    """
    c = table.c
    pick = (
        select(c.id)
        .where(status_is(table, claimed_status), c.claimed_by == holder, c.lease_expires_at > now)
        .order_by(*order_by)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    statement = (
        update(table)
        .where(c.id.in_(pick.scalar_subquery()), c.claimed_by == holder)
        .values(lease_expires_at=expires_at)
        .returning(*table.c)
    )
    rows = conn.execute(statement).all()
    return sorted(rows, key=lambda row: tuple(row._mapping[column.name] for column in order_by))


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

    Returns the ids of the updated rows (the caller knows their new values: it gave them); a
    row left out has a stale token or has moved on, and the caller tells those apart (and a
    missing row) with a plain read.
    """
    statement = _settle_statement(
        conn.dialect.name, table, tuple(sorted(from_statuses)), tuple(sorted(values))
    )
    params = {"settle_ids": list(row_ids), "settle_token": token}
    params.update({f"set_{name}": value for name, value in values.items()})
    return set(conn.execute(statement, params).scalars())


@functools.cache
def _settle_statement(
    dialect: str, table: Table, from_statuses: tuple[str, ...], names: tuple[str, ...]
) -> Update:
    """Built once per kind of change: a report's costs less than its statement's building."""
    return (
        update(table)
        .where(
            one_of_param(dialect, table.c.id, "settle_ids"),
            table.c.claim_token == bindparam("settle_token"),
            table.c.status.in_(from_statuses),
        )
        .values({name: bindparam(f"set_{name}") for name in names})
        .returning(table.c.id)
    )


def expired(
    conn: Connection,
    table: Table,
    *,
    claimed_status: str,
    now: datetime,
    limit: int,
) -> Sequence[Row[Any]]:
    """Claimed rows whose lease ran out, locked (PostgreSQL) so one sweeper handles each."""
    query = (
        select(table)
        .where(status_is(table, claimed_status), table.c.lease_expires_at < now)
        .order_by(table.c.lease_expires_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return conn.execute(query).all()
