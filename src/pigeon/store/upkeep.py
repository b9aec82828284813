"""Named upkeep times (the `timers` table): when a periodic job last ran, and who ran it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from pigeon.store.tables import timers

if TYPE_CHECKING:
    from pigeon.store.database import UnitOfWork


def mark(uow: UnitOfWork, name: str, *, holder: str | None) -> None:
    """Record that `name` ran now (an upsert)."""
    values = {"name": name, "ran_at": uow.now, "holder": holder}
    changed = uow.conn.execute(
        update(timers).where(timers.c.name == name).values(ran_at=uow.now, holder=holder)
    )
    if changed.rowcount:
        return
    insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    uow.conn.execute(insert(timers).values(**values).on_conflict_do_nothing())
