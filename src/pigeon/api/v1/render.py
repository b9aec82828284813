"""How /v1 (and the CLI's --json) render resources: plain dicts, times in UTC with a Z.

Free of pydantic and FastAPI so that the CLI can import it cheaply.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pigeon.domain.accounts import ApiKey, Channel, Device, Workspace
from pigeon.domain.channels import CONFIG_SPECS, MAILBOX_KINDS
from pigeon.domain.inbound import InboundMessage
from pigeon.domain.jobs import Depth, Job
from pigeon.domain.messages import Message, MessageEvent

if TYPE_CHECKING:
    from pigeon.services.admin import Revoked


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, whatever zone the value was built in."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat()[:-6] + "Z"  # an aware UTC isoformat ends in +00:00


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


def revoked_device_out(device_id: str, revoked: Revoked) -> dict[str, Any]:
    """A revocation and what it did to the device's work."""
    ended = revoked.claims_ended
    return {
        "id": device_id,
        "revoked": True,
        "claims_unknown": ended.unknown,
        "claims_requeued": ended.requeued,
        "claims_failed": ended.failed,
        "pinned_failed": revoked.pinned_failed,
    }


def channel_out(channel: Channel, public_url: str | None = None) -> dict[str, Any]:
    out = {
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
    if channel.kind in MAILBOX_KINDS:
        path = f"/webhooks/{channel.kind}/{channel.id}"
        out["webhook_path"] = path
        # Providers call PIGEON_PUBLIC_URL: without it pigeon cannot tell them its address.
        out["webhook_url"] = f"{public_url}{path}" if public_url else None
        out["secrets"] = sorted(CONFIG_SPECS[channel.kind].secret)  # sealed, never shown
        out["state"] = dict(channel.state)
    return out


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


def job_out(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "queue": job.queue,
        "kind": job.kind,
        "status": job.status.value,
        "pointer": dict(job.payload),
        "channel_id": job.channel_id,
        "priority": job.priority,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "run_at": iso(job.run_at),
        "last_error": job.last_error,
        "lease_expires_at": iso(job.lease.expires_at) if job.lease else None,
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
    }


def depth_out(depth: Depth) -> dict[str, Any]:
    return {
        "ready": depth.ready,
        "scheduled": depth.scheduled,
        "claimed": depth.claimed,
        "dead": depth.dead,
        "oldest_ready_seconds": round(depth.oldest_ready_seconds, 3),
    }


def inbound_out(message: InboundMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "channel_id": message.channel_id,
        "provider": message.provider.value,
        "external_id": message.external_id,
        "from": message.sender,
        "to": list(message.recipients),
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "internet_message_id": message.internet_message_id,
        "in_reply_to": message.in_reply_to,
        "mailbox": message.mailbox,
        "received_at": iso(message.received_at),
        "created_at": iso(message.created_at),
    }
