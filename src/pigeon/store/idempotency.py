"""Idempotency records: the first response to a key, replayed for the same request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from pigeon.store.tables import idempotency_keys

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from pigeon.store.database import UnitOfWork


@dataclass(frozen=True)
class Recorded:
    request_hash: str
    status_code: int
    response: Any


def recall(uow: UnitOfWork, workspace_id: str, scope: str, key: str) -> Recorded | None:
    c = idempotency_keys.c
    row = uow.conn.execute(
        select(c.request_hash, c.status_code, c.response).where(
            c.workspace_id == workspace_id, c.scope == scope, c.key == key
        )
    ).first()
    return Recorded(row.request_hash, row.status_code, row.response) if row else None


def remember_many(
    uow: UnitOfWork, workspace_id: str, scope: str, records: Mapping[str, Recorded], at: datetime
) -> None:
    """Store records keyed by idempotency key; a concurrent duplicate raises UniqueViolation."""
    if not records:
        return
    uow.conn.execute(
        insert(idempotency_keys),
        [
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
        ],
    )
