"""Outbound messages and their status events, as frozen values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pigeon.domain.transitions import MessageStatus

if TYPE_CHECKING:
    from collections.abc import Mapping

_TIMES = (
    "scheduled_for",
    "lease_expires_at",
    "created_at",
    "updated_at",
    "sent_at",
    "release_at",
)


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    workspace_id: str
    channel_id: str
    device_id: str | None
    recipient: str
    body: str
    status: MessageStatus
    scheduled_for: datetime
    attempts: int
    last_error: str | None
    claim_token: str | None
    claimed_by: str | None
    lease_expires_at: datetime | None
    meta: Mapping[str, Any] | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    # While queued: when it may be released (later than scheduled_for while the throttle
    # holds it, None while a pause holds it), and why it waits.
    release_at: datetime | None = None
    hold_reason: str | None = None
    batch_id: str | None = None
    device_assigned: bool = False  # pigeon chose the device; failover may move it

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Message:
        return cls(
            id=row["id"],
            workspace_id=row["workspace_id"],
            channel_id=row["channel_id"],
            device_id=row["device_id"],
            recipient=row["recipient"],
            body=row["body"],
            status=MessageStatus(row["status"]),
            scheduled_for=row["scheduled_for"],
            attempts=row["attempts"],
            last_error=row["last_error"],
            claim_token=row["claim_token"],
            claimed_by=row["claimed_by"],
            lease_expires_at=row["lease_expires_at"],
            meta=row["meta"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            sent_at=row["sent_at"],
            # Snapshots kept before these columns existed lack them.
            release_at=row.get("release_at"),
            hold_reason=row.get("hold_reason"),
            batch_id=row.get("batch_id"),
            device_assigned=bool(row.get("device_assigned", False)),
        )

    def snapshot(self) -> dict[str, Any]:
        """The message as JSON values, to keep (an idempotent replay answers with it)."""
        values = {name: getattr(self, name) for name in self.__slots__}
        for name in _TIMES:
            if values[name] is not None:
                values[name] = values[name].isoformat()
        if self.meta is not None:
            values["meta"] = dict(self.meta)
        return values

    @classmethod
    def from_snapshot(cls, values: Mapping[str, Any]) -> Message:
        row = dict(values)
        for name in _TIMES:
            if row.get(name) is not None:
                row[name] = datetime.fromisoformat(row[name])
        return cls.from_row(row)


@dataclass(frozen=True, slots=True)
class MessageEvent:
    id: int
    message_id: str
    from_status: MessageStatus | None
    to_status: MessageStatus
    at: datetime
    actor: str
    detail: Mapping[str, Any] | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> MessageEvent:
        return cls(
            id=row["id"],
            message_id=row["message_id"],
            from_status=MessageStatus(row["from_status"]) if row["from_status"] else None,
            to_status=MessageStatus(row["to_status"]),
            at=row["at"],
            actor=row["actor"],
            detail=row["detail"],
        )
