"""Workspaces and the credentials that act in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pigeon.domain.channels import ChannelKind, LeaseExpiryPolicy

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime


class Scope(StrEnum):
    ADMIN = "admin"  # everything, including keys, devices and channels
    SEND = "send"  # create and cancel messages, and read them
    READ = "read"  # read only


SCOPE_IMPLIES: Mapping[Scope, frozenset[Scope]] = {
    Scope.ADMIN: frozenset(Scope),
    Scope.SEND: frozenset({Scope.SEND, Scope.READ}),
    Scope.READ: frozenset({Scope.READ}),
}


def grants(held: frozenset[Scope], needed: Scope) -> bool:
    return any(needed in SCOPE_IMPLIES[scope] for scope in held)


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    name: str
    timezone: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Workspace:
        return cls(row["id"], row["name"], row["timezone"], row["created_at"])


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    workspace_id: str
    name: str
    prefix: str
    scopes: frozenset[Scope]
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> ApiKey:
        return cls(
            id=row["id"],
            workspace_id=row["workspace_id"],
            name=row["name"],
            prefix=row["prefix"],
            scopes=frozenset(Scope(s) for s in row["scopes"].split()),
            created_at=row["created_at"],
            revoked_at=row["revoked_at"],
        )


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    workspace_id: str
    kind: ChannelKind
    name: str
    config: Mapping[str, Any]
    is_default: bool
    on_lease_expiry: LeaseExpiryPolicy
    created_at: datetime
    updated_at: datetime
    disabled_at: datetime | None
    sealed_secrets: str | None = None  # never rendered: services open it when they need it
    state: Mapping[str, Any] = field(default_factory=dict)  # provider state (mailboxes)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Channel:
        return cls(
            id=row["id"],
            workspace_id=row["workspace_id"],
            kind=ChannelKind(row["kind"]),
            name=row["name"],
            config=row["config"] or {},
            is_default=bool(row["is_default"]),
            on_lease_expiry=LeaseExpiryPolicy(row["on_lease_expiry"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            disabled_at=row["disabled_at"],
            sealed_secrets=row["sealed_secrets"],
            state=row["state"] or {},
        )


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    workspace_id: str
    channel_id: str
    name: str
    prefix: str
    created_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Device:
        return cls(
            id=row["id"],
            workspace_id=row["workspace_id"],
            channel_id=row["channel_id"],
            name=row["name"],
            prefix=row["prefix"],
            created_at=row["created_at"],
            last_seen_at=row["last_seen_at"],
            revoked_at=row["revoked_at"],
        )
