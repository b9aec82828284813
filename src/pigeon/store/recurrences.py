"""Recurrences (`recurrences`): a rule, a template, and when its next occurrence is due.

The upkeep takes due rows with `due` (locked, SKIP LOCKED on PostgreSQL: two workers never
take one row; SQLite's write transaction serialises them) and moves each on with `advance`
in the transaction that made its occurrence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select, update

from pigeon.domain.recurrence import Recurrence
from pigeon.store import claims
from pigeon.store.tables import recurrences

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping
    from datetime import datetime

    from pigeon.store.database import UnitOfWork

c = recurrences.c


def insert(uow: UnitOfWork, recurrence: Recurrence) -> None:
    uow.conn.execute(
        recurrences.insert().values(
            id=recurrence.id,
            workspace_id=recurrence.workspace_id,
            kind=recurrence.kind,
            rrule=recurrence.rrule,
            timezone=recurrence.timezone,
            dtstart=recurrence.dtstart,
            template=dict(recurrence.template),
            next_at=recurrence.next_at,
            occurrences=recurrence.occurrences,
            created_at=recurrence.created_at,
            updated_at=recurrence.updated_at,
            stopped_at=recurrence.stopped_at,
        )
    )


def get(
    uow: UnitOfWork, workspace_id: str, recurrence_id: str, *, lock: bool = False
) -> Recurrence | None:
    query = select(recurrences).where(c.workspace_id == workspace_id, c.id == recurrence_id)
    if lock and uow.dialect == "postgresql":
        query = query.with_for_update()
    row = uow.conn.execute(query).first()
    return Recurrence.from_row(row._mapping) if row else None


def list_(
    uow: UnitOfWork, workspace_id: str, *, limit: int, after_id: str | None
) -> list[Recurrence]:
    """Oldest first (ids are time-ordered), from after `after_id`."""
    query = select(recurrences).where(c.workspace_id == workspace_id)
    if after_id is not None:
        query = query.where(c.id > after_id)
    rows = uow.conn.execute(query.order_by(c.id).limit(limit)).all()
    return [Recurrence.from_row(row._mapping) for row in rows]


def due(
    uow: UnitOfWork,
    *,
    before: datetime,
    kinds: Collection[str],
    skip: Collection[str] = (),
    limit: int,
) -> list[Recurrence]:
    """Up to `limit` live recurrences of `kinds` due by `before`, earliest first, locked
    until the transaction ends; rows another transaction holds are passed over."""
    eligible = and_(c.next_at <= before, c.stopped_at.is_(None), c.kind.in_(sorted(kinds)))
    if skip:
        eligible = and_(eligible, c.id.not_in(sorted(skip)))
    query = claims.pick(
        recurrences,
        eligible=eligible,
        order_by=[c.next_at],
        dialect=uow.dialect,
        limit=limit,
        columns=list(recurrences.c),
    )
    rows = uow.conn.execute(query).all()
    return [Recurrence.from_row(row._mapping) for row in rows]


def due_kinds(uow: UnitOfWork, *, before: datetime, known: Collection[str]) -> list[str]:
    """The kinds, other than `known`, of live recurrences due by `before`."""
    rows = uow.conn.execute(
        select(c.kind)
        .where(c.next_at <= before, c.stopped_at.is_(None), c.kind.not_in(sorted(known)))
        .group_by(c.kind)
    ).all()
    return sorted(row.kind for row in rows)


def advance(
    uow: UnitOfWork,
    recurrence: Recurrence,
    *,
    next_at: datetime | None,
    made: int,
) -> None:
    """Set the next occurrence (None: the rule has ended), counting `made` occurrences."""
    uow.conn.execute(
        update(recurrences)
        .where(c.id == recurrence.id)
        .values(next_at=next_at, occurrences=c.occurrences + made, updated_at=uow.now)
    )


def stop(uow: UnitOfWork, recurrence: Recurrence) -> Recurrence:
    values: Mapping[str, Any] = {"next_at": None, "stopped_at": uow.now, "updated_at": uow.now}
    row = uow.conn.execute(
        update(recurrences).where(c.id == recurrence.id).values(**values).returning(*recurrences.c)
    ).one()
    return Recurrence.from_row(row._mapping)
