"""Workspaces, operator tokens, API keys, channels and devices.

Secrets are stored as SHA-256 hashes and looked up by hash; the lookup is an index probe on a
hash, so response time tells an attacker nothing about a near-miss token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Table, bindparam, func, insert, select, update

from pigeon.domain.accounts import ApiKey, Channel, Device, Workspace
from pigeon.store.tables import (
    api_keys,
    audit_events,
    channels,
    devices,
    operator_tokens,
    workspaces,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime

    from sqlalchemy.engine import RowMapping

    from pigeon.store.database import UnitOfWork


def _first(uow: UnitOfWork, table: Table, *where: ColumnElement[bool]) -> RowMapping | None:
    row = uow.conn.execute(select(table).where(*where).limit(1)).first()
    return row._mapping if row else None


# The lookups every request makes, built once: building a statement costs more CPU than
# PostgreSQL spends running one of these.
_KEY_ACTIVE = select(api_keys.c.id).where(
    api_keys.c.id == bindparam("key_id"), api_keys.c.revoked_at.is_(None)
)
_CHANNEL = select(channels).where(
    channels.c.workspace_id == bindparam("workspace_id"), channels.c.id == bindparam("channel_id")
)
_DEFAULT_CHANNEL = (
    select(channels)
    .where(channels.c.workspace_id == bindparam("workspace_id"), channels.c.is_default.is_(True))
    .limit(1)
)
# Records a device as seen, if active; also the head of store/messages.seen_for_claim.
TOUCH_DEVICE = (
    update(devices)
    .where(devices.c.id == bindparam("device_id"), devices.c.revoked_at.is_(None))
    .values(last_seen_at=bindparam("at"))
)
# Not correlated to the updated row: SQLite renders RETURNING's columns unqualified, where
# `id` would name the subquery's own table.
_DEVICE_CHANNEL = (
    select(devices.c.channel_id).where(devices.c.id == bindparam("device_id")).scalar_subquery()
)
CHANNEL_ENABLED = (
    select(channels.c.disabled_at.is_(None))
    .where(channels.c.id == _DEVICE_CHANNEL)
    .scalar_subquery()
)


def _in_workspace(uow: UnitOfWork, table: Table, workspace_id: str) -> list[RowMapping]:
    rows = uow.conn.execute(
        select(table).where(table.c.workspace_id == workspace_id).order_by(table.c.id)
    ).all()
    return [row._mapping for row in rows]


def _revoke(uow: UnitOfWork, table: Table, workspace_id: str, row_id: str, at: datetime) -> bool:
    result = uow.conn.execute(
        update(table)
        .where(
            table.c.workspace_id == workspace_id,
            table.c.id == row_id,
            table.c.revoked_at.is_(None),
        )
        .values(revoked_at=at)
    )
    return result.rowcount > 0


def audit(
    uow: UnitOfWork,
    *,
    workspace_id: str | None,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    at: datetime,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append an audit event in the caller's transaction, beside the change it describes."""
    uow.conn.execute(
        insert(audit_events).values(
            workspace_id=workspace_id,
            actor=actor,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            at=at,
            detail=dict(detail) if detail else None,
        )
    )


def audit_trail(uow: UnitOfWork, workspace_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
    rows = uow.conn.execute(
        select(audit_events)
        .where(audit_events.c.workspace_id == workspace_id)
        .order_by(audit_events.c.id.desc())
        .limit(limit)
    ).all()
    return [dict(row._mapping) for row in rows]


# Workspaces -----------------------------------------------------------------------------


def insert_workspace(uow: UnitOfWork, workspace: Workspace) -> None:
    uow.conn.execute(
        insert(workspaces).values(
            id=workspace.id,
            name=workspace.name,
            timezone=workspace.timezone,
            created_at=workspace.created_at,
        )
    )


def get_workspace(uow: UnitOfWork, workspace_id: str) -> Workspace | None:
    row = _first(uow, workspaces, workspaces.c.id == workspace_id)
    return Workspace.from_row(row) if row else None


# pg_advisory_xact_lock key of first-run setup (any constant unique to pigeon will do).
SETUP_LOCK = 0x70_69_67_65_6F_6E_01


def lock_for_setup(uow: UnitOfWork) -> None:
    """Serialise first-run setup across processes: PostgreSQL takes an advisory lock for the
    transaction; SQLite's BEGIN IMMEDIATE has serialised writers already."""
    if uow.dialect == "postgresql":
        uow.conn.execute(select(func.pg_advisory_xact_lock(SETUP_LOCK)))


def count_workspaces(uow: UnitOfWork) -> int:
    return len(uow.conn.execute(select(workspaces.c.id).limit(1)).all())


def first_workspace(uow: UnitOfWork) -> Workspace | None:
    row = uow.conn.execute(select(workspaces).order_by(workspaces.c.id).limit(1)).first()
    return Workspace.from_row(row._mapping) if row else None


# Operator tokens ------------------------------------------------------------------------


def insert_operator_token(
    uow: UnitOfWork, *, token_id: str, prefix: str, token_hash: str, at: datetime
) -> None:
    uow.conn.execute(
        insert(operator_tokens).values(
            id=token_id, prefix=prefix, token_hash=token_hash, created_at=at
        )
    )


def operator_token_exists(uow: UnitOfWork, token_hash: str) -> bool:
    row = uow.conn.execute(
        select(operator_tokens.c.id).where(
            operator_tokens.c.token_hash == token_hash, operator_tokens.c.revoked_at.is_(None)
        )
    ).first()
    return row is not None


def any_operator_token(uow: UnitOfWork) -> bool:
    return uow.conn.execute(select(operator_tokens.c.id).limit(1)).first() is not None


# API keys -------------------------------------------------------------------------------


def insert_api_key(uow: UnitOfWork, key: ApiKey, key_hash: str) -> None:
    uow.conn.execute(
        insert(api_keys).values(
            id=key.id,
            workspace_id=key.workspace_id,
            name=key.name,
            prefix=key.prefix,
            key_hash=key_hash,
            scopes=" ".join(sorted(key.scopes)),
            created_at=key.created_at,
        )
    )


def api_key_by_hash(uow: UnitOfWork, key_hash: str) -> ApiKey | None:
    row = _first(uow, api_keys, api_keys.c.key_hash == key_hash)
    return ApiKey.from_row(row) if row else None


def api_key_active(uow: UnitOfWork, key_id: str) -> bool:
    return uow.conn.execute(_KEY_ACTIVE, {"key_id": key_id}).first() is not None


def list_api_keys(uow: UnitOfWork, workspace_id: str) -> list[ApiKey]:
    return [ApiKey.from_row(row) for row in _in_workspace(uow, api_keys, workspace_id)]


def revoke_api_key(uow: UnitOfWork, workspace_id: str, key_id: str, at: datetime) -> bool:
    return _revoke(uow, api_keys, workspace_id, key_id, at)


# Channels -------------------------------------------------------------------------------


def insert_channel(uow: UnitOfWork, channel: Channel) -> None:
    uow.conn.execute(
        insert(channels).values(
            id=channel.id,
            workspace_id=channel.workspace_id,
            kind=channel.kind,
            name=channel.name,
            config=dict(channel.config),
            is_default=channel.is_default,
            on_lease_expiry=channel.on_lease_expiry,
            created_at=channel.created_at,
            updated_at=channel.updated_at,
            disabled_at=channel.disabled_at,
            sealed_secrets=channel.sealed_secrets,
            state=dict(channel.state),
        )
    )


def get_channel(uow: UnitOfWork, workspace_id: str, channel_id: str) -> Channel | None:
    params = {"workspace_id": workspace_id, "channel_id": channel_id}
    row = uow.conn.execute(_CHANNEL, params).first()
    return Channel.from_row(row._mapping) if row else None


def channels_by_id(uow: UnitOfWork, channel_ids: Iterable[str]) -> dict[str, Channel]:
    """Channels by id, across workspaces (for workers)."""
    wanted = sorted(set(channel_ids))
    if not wanted:
        return {}
    rows = uow.conn.execute(select(channels).where(channels.c.id.in_(wanted))).all()
    return {row.id: Channel.from_row(row._mapping) for row in rows}


def channel_by_name(uow: UnitOfWork, workspace_id: str, name: str) -> Channel | None:
    row = _first(uow, channels, channels.c.workspace_id == workspace_id, channels.c.name == name)
    return Channel.from_row(row) if row else None


def default_channel(uow: UnitOfWork, workspace_id: str) -> Channel | None:
    row = uow.conn.execute(_DEFAULT_CHANNEL, {"workspace_id": workspace_id}).first()
    return Channel.from_row(row._mapping) if row else None


def list_channels(uow: UnitOfWork, workspace_id: str) -> list[Channel]:
    return [Channel.from_row(row) for row in _in_workspace(uow, channels, workspace_id)]


def update_channel(
    uow: UnitOfWork, workspace_id: str, channel_id: str, values: Mapping[str, Any]
) -> Channel | None:
    row = uow.conn.execute(
        update(channels)
        .where(channels.c.workspace_id == workspace_id, channels.c.id == channel_id)
        .values(**values)
        .returning(*channels.c)
    ).first()
    return Channel.from_row(row._mapping) if row else None


def clear_default_channel(uow: UnitOfWork, workspace_id: str) -> None:
    uow.conn.execute(
        update(channels)
        .where(channels.c.workspace_id == workspace_id, channels.c.is_default.is_(True))
        .values(is_default=False)
    )


# Devices --------------------------------------------------------------------------------


def insert_device(uow: UnitOfWork, device: Device, token_hash: str) -> None:
    uow.conn.execute(
        insert(devices).values(
            id=device.id,
            workspace_id=device.workspace_id,
            channel_id=device.channel_id,
            name=device.name,
            prefix=device.prefix,
            token_hash=token_hash,
            created_at=device.created_at,
        )
    )


def device_by_hash(uow: UnitOfWork, token_hash: str) -> Device | None:
    row = _first(uow, devices, devices.c.token_hash == token_hash)
    return Device.from_row(row) if row else None


def get_device(
    uow: UnitOfWork, workspace_id: str, device_id: str, *, share_lock: bool = False
) -> Device | None:
    """The device; with `share_lock` (PostgreSQL), held against its revocation until the
    caller commits, so a message pinned to it meanwhile is one the revocation then sees."""
    query = select(devices).where(devices.c.workspace_id == workspace_id, devices.c.id == device_id)
    if share_lock and uow.dialect == "postgresql":
        query = query.with_for_update(read=True)
    row = uow.conn.execute(query).first()
    return Device.from_row(row._mapping) if row else None


def list_devices(uow: UnitOfWork, workspace_id: str) -> list[Device]:
    return [Device.from_row(row) for row in _in_workspace(uow, devices, workspace_id)]


def device_names(uow: UnitOfWork, workspace_id: str, device_ids: Iterable[str]) -> dict[str, str]:
    """Names of these devices of the workspace, by id."""
    wanted = sorted(set(device_ids))
    if not wanted:
        return {}
    rows = uow.conn.execute(
        select(devices.c.id, devices.c.name).where(
            devices.c.workspace_id == workspace_id, devices.c.id.in_(wanted)
        )
    ).all()
    return {row.id: row.name for row in rows}


def revoke_device(uow: UnitOfWork, workspace_id: str, device_id: str, at: datetime) -> bool:
    return _revoke(uow, devices, workspace_id, device_id, at)


def touch_active_device(uow: UnitOfWork, device_id: str, at: datetime) -> bool:
    """Record the device as seen; False if it has been revoked (and nothing is written).

    The row lock this takes orders the caller's transaction against a concurrent revocation.
    """
    result = uow.conn.execute(TOUCH_DEVICE, {"device_id": device_id, "at": at})
    return result.rowcount > 0


def mailbox_channels(uow: UnitOfWork, kinds: Iterable[str]) -> list[Channel]:
    """Enabled channels of these kinds, across workspaces (for the upkeep of mailboxes)."""
    rows = uow.conn.execute(
        select(channels)
        .where(channels.c.kind.in_(sorted(kinds)), channels.c.disabled_at.is_(None))
        .order_by(channels.c.id)
    ).all()
    return [Channel.from_row(row._mapping) for row in rows]


def channel_for_update(uow: UnitOfWork, channel_id: str) -> Channel | None:
    """A channel by id, across workspaces, its row locked until the transaction ends: for
    read-merge-write of its provider state, which concurrent jobs update."""
    query = select(channels).where(channels.c.id == channel_id)
    if uow.dialect == "postgresql":
        query = query.with_for_update()
    row = uow.conn.execute(query).first()
    return Channel.from_row(row._mapping) if row else None
