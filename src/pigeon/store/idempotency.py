"""Idempotency records: the first response to a key, replayed for the same request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select

from pigeon.store.sql import one_of
from pigeon.store.tables import idempotency_keys

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from sqlalchemy import Table

    from pigeon.store.database import UnitOfWork


@dataclass(frozen=True)
class Recorded:
    request_hash: str
    status_code: int
    response: Any


_COLUMNS = select(
    idempotency_keys.c.key,
    idempotency_keys.c.request_hash,
    idempotency_keys.c.status_code,
    idempotency_keys.c.response,
)
_ONE = _COLUMNS.where(
    idempotency_keys.c.workspace_id == bindparam("workspace_id"),
    idempotency_keys.c.scope == bindparam("scope"),
    idempotency_keys.c.key == bindparam("key"),
)


def recall_many(
    uow: UnitOfWork, workspace_id: str, scope: str, keys: Sequence[str]
) -> dict[str, Recorded]:
    """The records of those of `keys` seen before, by key; one query for a whole batch."""
    if not keys:
        return {}
    c = idempotency_keys.c
    if len(keys) == 1:  # a single create: the statement built once
        params = {"workspace_id": workspace_id, "scope": scope, "key": keys[0]}
        rows = uow.conn.execute(_ONE, params).all()
    else:
        rows = uow.conn.execute(
            _COLUMNS.where(
                c.workspace_id == workspace_id, c.scope == scope, one_of(uow.dialect, c.key, keys)
            )
        ).all()
    return {row.key: Recorded(row.request_hash, row.status_code, row.response) for row in rows}


def rows(
    workspace_id: str, scope: str, records: Mapping[str, Recorded], at: datetime
) -> tuple[Table, list[dict[str, Any]]]:
    """Rows of new records, to insert beside what they record (a concurrent duplicate then
    raises UniqueViolation on pk_idempotency_keys)."""
    return idempotency_keys, [
        {
            "workspace_id": workspace_id,
            "scope": scope,
            "key": key,
            "request_hash": record.request_hash,
            "status_code": record.status_code,
            "response": record.response,
            "created_at": at,
        }
        for key, record in records.items()
    ]
