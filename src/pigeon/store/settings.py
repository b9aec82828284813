"""Workspace settings that are documents (`workspace_settings`): one JSON value per key,
validated by the domain module that owns the key (`opt_out`: domain/optout.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from pigeon.store.tables import workspace_settings

if TYPE_CHECKING:
    from pigeon.store.database import UnitOfWork


def get(uow: UnitOfWork, workspace_id: str, key: str) -> Any | None:
    """The document stored under `key`, or None when there is none."""
    row = uow.conn.execute(
        select(workspace_settings.c.value).where(
            workspace_settings.c.workspace_id == workspace_id, workspace_settings.c.key == key
        )
    ).first()
    return None if row is None else row.value


def put(uow: UnitOfWork, workspace_id: str, key: str, value: Any) -> None:
    """Store `value` under `key`, replacing what was there (an upsert)."""
    dialect = postgresql if uow.dialect == "postgresql" else sqlite
    statement = dialect.insert(workspace_settings).values(
        workspace_id=workspace_id, key=key, value=value, updated_at=uow.now
    )
    uow.conn.execute(
        statement.on_conflict_do_update(
            index_elements=["workspace_id", "key"],
            set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
        )
    )
