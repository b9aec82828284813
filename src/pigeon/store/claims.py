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
and `lease_expires_at`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, ColumnElement, Row, Table, select, update

from pigeon.store.sql import one_of, status_is

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class Lease:
    token: str
    holder: str
    expires_at: datetime

    @classmethod
    def new(cls, holder: str, expires_at: datetime) -> Lease:
        return cls(token=str(uuid.uuid4()), holder=holder, expires_at=expires_at)


def claim(
    conn: Connection,
    table: Table,
    *,
    eligible: ColumnElement[bool],
    order_by: Sequence[Column[Any]],
    limit: int,
    lease: Lease,
    claimed_status: str,
    extra_values: Mapping[str, Any] | None = None,
) -> Sequence[Row[Any]]:
    """Claim up to `limit` rows matching `eligible`, in ascending `order_by` order."""
    pick = select(table.c.id).where(eligible).order_by(*order_by).limit(limit)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    statement = (
        update(table)
        .where(table.c.id.in_(pick.scalar_subquery()))
        .values(
            status=claimed_status,
            claim_token=lease.token,
            claimed_by=lease.holder,
            lease_expires_at=lease.expires_at,
            **(extra_values or {}),
        )
        .returning(*table.c)
    )
    rows = conn.execute(statement).all()
    # RETURNING order is unspecified; hand rows out in the order they were picked.
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
    statement = (
        update(table)
        .where(
            one_of(conn.dialect.name, table.c.id, row_ids),
            table.c.claim_token == token,
            table.c.status.in_(sorted(from_statuses)),
        )
        .values(**values)
        .returning(table.c.id)
    )
    return set(conn.execute(statement).scalars())


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
