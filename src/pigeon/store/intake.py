"""What creating messages needs to know, read at once: whether the caller's key is still
valid, what its idempotency keys recorded, and the workspace's default channel.

One statement instead of three: a single create makes this read, one write and a commit,
and every round trip costs the server more CPU than PostgreSQL spends answering it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import and_, bindparam, literal_column, select

from pigeon.domain.accounts import Channel
from pigeon.store import accounts, idempotency
from pigeon.store.tables import api_keys, channels, idempotency_keys

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pigeon.store.database import UnitOfWork


@dataclass(frozen=True)
class Known:
    key_valid: bool
    recorded: dict[str, idempotency.Recorded] = field(default_factory=dict)
    default_channel: Channel | None = None


_ONE = select(literal_column("1").label("one")).subquery("one")
_KEY = and_(api_keys.c.id == bindparam("key_id"), api_keys.c.revoked_at.is_(None))
_RECORD = and_(
    idempotency_keys.c.workspace_id == bindparam("workspace_id"),
    idempotency_keys.c.scope == bindparam("scope"),
    idempotency_keys.c.key == bindparam("idempotency_key"),
)
_DEFAULT = and_(channels.c.workspace_id == bindparam("workspace_id"), channels.c.is_default)
_ALL_AT_ONCE = select(
    api_keys.c.id.label("valid_key"),
    idempotency_keys.c.key.label("recorded_key"),
    idempotency_keys.c.request_hash,
    idempotency_keys.c.status_code,
    idempotency_keys.c.response,
    *channels.c,
).select_from(
    _ONE.outerjoin(api_keys, _KEY)
    .outerjoin(idempotency_keys, _RECORD)
    .outerjoin(channels, _DEFAULT)
)


def known(
    uow: UnitOfWork, *, workspace_id: str, key_id: str | None, scope: str, keys: Sequence[str]
) -> Known:
    """What a create needs; one statement when the request holds at most one key."""
    if len(keys) > 1:  # a batch: its keys in one query, the rest beside it
        key_valid = key_id is None or accounts.api_key_active(uow, key_id)
        recorded = idempotency.recall_many(uow, workspace_id, scope, keys)
        return Known(key_valid, recorded, accounts.default_channel(uow, workspace_id))
    params = {
        "key_id": key_id or "",
        "workspace_id": workspace_id,
        "scope": scope,
        "idempotency_key": keys[0] if keys else None,
    }
    found = uow.conn.execute(_ALL_AT_ONCE, params).first()
    assert found is not None  # the outer joins hang from one constant row
    row = found._mapping
    recorded = {}
    if row["recorded_key"] is not None:
        recorded[row["recorded_key"]] = idempotency.Recorded(
            row["request_hash"], row["status_code"], row["response"]
        )
    channel = Channel.from_row(row) if row["id"] is not None else None
    return Known(key_id is None or row["valid_key"] is not None, recorded, channel)
