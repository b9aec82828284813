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
from pigeon.domain.recurrence import Recurrence
from pigeon.domain.transitions import ITEMS, ItemStatus, MessageStatus

MAX_SKIPPED_LISTED = 1000  # skipped recipients a preview lists (all are counted)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pigeon.domain.contacts import Contact
    from pigeon.extract.protocols import TimeMention
    from pigeon.services.admin import Revoked
    from pigeon.services.batches import Preview
    from pigeon.services.extraction import Extracted
    from pigeon.store.batches import Batch, Item


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
        "batch_id": message.batch_id,
        "held": held_out(message),
    }


def held_out(message: Message) -> dict[str, Any] | None:
    """Why a queued message waits past its time, and until when (None: until the hold is
    lifted, e.g. a paused batch or policy)."""
    if message.status != MessageStatus.QUEUED or message.hold_reason is None:
        return None
    return {"reason": message.hold_reason, "until": iso(message.release_at)}


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


def batch_out(batch: Batch, items: Mapping[ItemStatus, int] | None) -> dict[str, Any]:
    out = {
        "id": batch.id,
        "name": batch.name,
        "status": str(batch.status),
        "status_reason": batch.status_reason,
        "channel_id": batch.channel_id,
        "template": batch.template,
        "audience": dict(batch.audience),
        "variables": dict(batch.variables),
        "send_at": iso(batch.send_at),
        "auto_pause": dict(batch.auto_pause) if batch.auto_pause else None,
        "repeat": dict(batch.repeat) if batch.repeat else None,
        "created_at": iso(batch.created_at),
        "updated_at": iso(batch.updated_at),
        "started_at": iso(batch.started_at),
        "finished_at": iso(batch.finished_at),
    }
    if items is not None:
        total = sum(items.values())
        done = sum(n for s, n in items.items() if s in ITEMS.terminal)
        out["progress"] = {
            "items": {str(s): n for s, n in items.items()},
            "total": total,
            "finished": done,
        }
    return out


def batch_item_out(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "contact_id": item.contact_id,
        "recipient": item.recipient,
        "body": item.body,
        "status": str(item.status),
        "reason": item.reason,
        "detail": item.detail,
        "message_id": item.message_id,
        "updated_at": iso(item.updated_at),
    }


def preview_out(preview: Preview) -> dict[str, Any]:
    resolution, timeline = preview.resolution, preview.timeline
    reasons: dict[str, int] = {}
    for skipped in resolution.skipped:
        reasons[skipped.reason] = reasons.get(skipped.reason, 0) + 1
    return {
        "batch_id": preview.batch.id,
        "audience": resolution.audience,
        "will_send": len(resolution.sendable),
        "skipped": {
            "count": len(resolution.skipped),
            "by_reason": reasons,
            "items": [
                {
                    "contact_id": s.contact_id,
                    "name": s.name,
                    "recipient": s.recipient,
                    "reason": s.reason,
                    "detail": s.detail,
                }
                for s in resolution.skipped[:MAX_SKIPPED_LISTED]
            ],
        },
        "samples": [
            {"contact_id": p.contact_id, "name": p.name, "recipient": p.recipient, "body": p.body}
            for p in preview.samples
        ],
        "timeline": {
            "start": iso(timeline.start),
            "first_at": iso(timeline.first_at),
            "last_at": iso(timeline.last_at),
            "held_by": timeline.held_by,
            "by_hour": [{"hour": iso(hour), "count": n} for hour, n in timeline.by_hour],
        },
    }


def recurrence_out(recurrence: Recurrence) -> dict[str, Any]:
    if recurrence.stopped_at is not None:
        status = "stopped"
    elif recurrence.next_at is None:
        status = "ended"
    else:
        status = "active"
    return {
        "id": recurrence.id,
        "kind": recurrence.kind,
        "status": status,
        "rrule": recurrence.rrule,
        "timezone": recurrence.timezone,
        "dtstart": iso(recurrence.dtstart),
        "next_at": iso(recurrence.next_at),
        "occurrences": recurrence.occurrences,
        "template": dict(recurrence.template),
        "created_at": iso(recurrence.created_at),
        "updated_at": iso(recurrence.updated_at),
        "stopped_at": iso(recurrence.stopped_at),
    }


def contact_out(contact: Contact) -> dict[str, Any]:
    """A contact with its handles and, per channel it opted out of, its consent."""
    return {
        "id": contact.id,
        "external_id": contact.external_id,
        "name": contact.name,
        "timezone": contact.timezone,
        "timezone_source": contact.timezone_source,
        "handles": [
            {"kind": h.kind.value, "value": h.value, "primary": h.primary} for h in contact.handles
        ],
        "tags": list(contact.tags),
        "attributes": dict(contact.attributes),
        "consent": {
            channel_id: {
                "status": c.status,
                "at": iso(c.at),
                "source": c.source,
                "keyword": c.keyword,
                "handles": list(c.handles),
            }
            for channel_id, c in contact.consent.items()
        },
        "created_at": iso(contact.created_at),
        "updated_at": iso(contact.updated_at),
    }


def extracted_out(found: Extracted) -> dict[str, Any]:
    """An extraction with the reference, zone and locale it was read at (POST /v1/extract)."""
    result = found.extraction
    return {
        "extraction": {
            "due": iso(result.due),
            "grain": result.grain.label if result.grain is not None else None,
            "summary": result.summary,
            "action": result.action.value,
            "ambiguous": result.ambiguous,
            "wants_follow_up": result.wants_follow_up,
            "reason": result.reason.value if result.reason is not None else None,
            "reason_text": result.reason_text,
            "question": result.question,
            "source": result.source,
            "notes": list(result.notes),  # "fallback:ModelError" when a model failed
        },
        "mentions": [mention_out(mention) for mention in result.mentions],
        "reference": iso(found.reference),
        "zone": found.zone,
        "locale": found.locale,
    }


def mention_out(mention: TimeMention) -> dict[str, Any]:
    return {
        "text": mention.text,
        "span": [mention.span[0], mention.span[1]],
        "start": iso(mention.start),
        "end": iso(mention.end),
        "grain": mention.grain.label,
        "kind": mention.kind,
        "open": mention.open,
        "vague": mention.vague,
    }
