"""The /v1 wire format: request bodies (unknown fields refused) and resource renderings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from pigeon.domain.accounts import ApiKey, Channel, Device, Workspace
from pigeon.domain.ids import is_uuid
from pigeon.domain.messages import Message, MessageEvent


def _uuid(value: str) -> str:
    if not is_uuid(value):
        raise ValueError("must be an id (a UUID)")
    return value


# An id in a path, query or body: malformed ones are refused naming the field, not looked up.
Uuid = Annotated[str, AfterValidator(_uuid)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceIn(Body):
    name: str = Field(max_length=200)
    timezone: str = "UTC"


class KeyIn(Body):
    name: str = Field(max_length=200)
    scopes: list[str]


class DeviceIn(Body):
    name: str = Field(max_length=200)
    channel_id: str | None = None


class ChannelIn(Body):
    kind: str
    name: str = Field(max_length=100)
    config: dict[str, Any] = Field(default_factory=dict)
    on_lease_expiry: Literal["unknown", "retry"] | None = None
    is_default: bool = False


class ChannelPatch(Body):
    name: str | None = Field(default=None, max_length=100)
    config: dict[str, Any] | None = None
    on_lease_expiry: Literal["unknown", "retry"] | None = None
    is_default: bool | None = None
    disabled: bool | None = None


class MessageIn(Body):
    recipient: str = Field(max_length=254)
    body: str
    scheduled_for: datetime | None = None
    channel_id: str | None = None
    device_id: str | None = None
    meta: dict[str, Any] | None = None


class BatchItemIn(MessageIn):
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=255)


class BatchIn(Body):
    items: list[BatchItemIn]


class ClaimIn(Body):
    limit: int | None = Field(default=None, ge=1, le=500)
    wait: float = Field(default=0, ge=0, le=60)


class ReportIn(Body):
    message_id: Uuid
    claim_token: str
    status: Literal["sent", "failed", "delivered", "read"]
    error: str | None = Field(default=None, max_length=2000)


class ReportsIn(Body):
    reports: list[ReportIn] = Field(min_length=1, max_length=500)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, whatever zone the value was built in."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def workspace_out(workspace: Workspace) -> dict[str, Any]:
    return {
        "id": workspace.id,
        "name": workspace.name,
        "timezone": workspace.timezone,
        "created_at": iso(workspace.created_at),
    }


def key_out(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": sorted(key.scopes),
        "created_at": iso(key.created_at),
        "revoked_at": iso(key.revoked_at),
    }


def device_out(device: Device) -> dict[str, Any]:
    return {
        "id": device.id,
        "name": device.name,
        "channel_id": device.channel_id,
        "prefix": device.prefix,
        "created_at": iso(device.created_at),
        "last_seen_at": iso(device.last_seen_at),
        "revoked_at": iso(device.revoked_at),
    }


def channel_out(channel: Channel) -> dict[str, Any]:
    return {
        "id": channel.id,
        "kind": channel.kind,
        "name": channel.name,
        "config": dict(channel.config),
        "is_default": channel.is_default,
        "on_lease_expiry": channel.on_lease_expiry,
        "created_at": iso(channel.created_at),
        "updated_at": iso(channel.updated_at),
        "disabled": channel.disabled_at is not None,
    }


def message_out(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "channel_id": message.channel_id,
        "device_id": message.device_id,
        "recipient": message.recipient,
        "body": message.body,
        "status": message.status,
        "scheduled_for": iso(message.scheduled_for),
        "attempts": message.attempts,
        "last_error": message.last_error,
        "meta": dict(message.meta) if message.meta is not None else None,
        "created_at": iso(message.created_at),
        "updated_at": iso(message.updated_at),
        "sent_at": iso(message.sent_at),
    }


def event_out(event: MessageEvent) -> dict[str, Any]:
    return {
        "from": event.from_status,
        "to": event.to_status,
        "at": iso(event.at),
        "actor": event.actor,
        "detail": dict(event.detail) if event.detail else None,
    }
