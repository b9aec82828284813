"""Inbound messages: stored once under their consume-time identity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from pigeon.domain.inbound import InboundMessage, Provider
from pigeon.store.tables import inbound_events, inbound_messages

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pigeon.store.database import UnitOfWork


def insert_once(uow: UnitOfWork, message: InboundMessage) -> bool:
    """Store `message` unless its identity is stored already; True when stored. The unique
    constraint decides, so two consumers racing on one message store it once."""
    values = {
        "id": message.id,
        "workspace_id": message.workspace_id,
        "channel_id": message.channel_id,
        "provider": message.provider.value,
        "external_id": message.external_id,
        "sender": message.sender,
        "recipients": list(message.recipients),
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "internet_message_id": message.internet_message_id,
        "in_reply_to": message.in_reply_to,
        "mailbox": message.mailbox,
        "job_id": message.job_id,
        "received_at": message.received_at,
        "created_at": message.created_at,
    }
    dialect = postgresql if uow.dialect == "postgresql" else sqlite
    statement = (
        dialect.insert(inbound_messages)
        .values(values)
        .on_conflict_do_nothing(index_elements=["workspace_id", "external_id"])
        .returning(inbound_messages.c.id)
    )
    return uow.conn.execute(statement).first() is not None


def get(uow: UnitOfWork, workspace_id: str, message_id: str) -> InboundMessage | None:
    row = uow.conn.execute(
        select(inbound_messages).where(
            inbound_messages.c.workspace_id == workspace_id, inbound_messages.c.id == message_id
        )
    ).first()
    return _message(row._mapping) if row else None


def list_(
    uow: UnitOfWork,
    workspace_id: str,
    *,
    channel_id: str | None,
    limit: int,
    before: str | None,
) -> list[InboundMessage]:
    c = inbound_messages.c
    query = select(inbound_messages).where(c.workspace_id == workspace_id)
    if channel_id is not None:
        query = query.where(c.channel_id == channel_id)
    if before is not None:
        query = query.where(c.id < before)
    rows = uow.conn.execute(query.order_by(c.id.desc()).limit(limit)).all()
    return [_message(row._mapping) for row in rows]


def _message(row: Mapping[Any, Any]) -> InboundMessage:
    return InboundMessage(
        id=row["id"],
        workspace_id=row["workspace_id"],
        channel_id=row["channel_id"],
        provider=Provider(row["provider"]),
        external_id=row["external_id"],
        sender=row["sender"],
        recipients=tuple(row["recipients"]),
        subject=row["subject"],
        text=row["text"],
        received_at=row["received_at"],
        created_at=row["created_at"],
        internet_message_id=row["internet_message_id"],
        in_reply_to=row["in_reply_to"],
        html=row["html"],
        mailbox=row["mailbox"],
        job_id=row["job_id"],
    )


def insert_event(
    uow: UnitOfWork,
    *,
    event_id: str,
    workspace_id: str,
    channel_id: str,
    provider: str,
    event: Mapping[str, Any],
) -> None:
    uow.conn.execute(
        inbound_events.insert().values(
            id=event_id,
            workspace_id=workspace_id,
            channel_id=channel_id,
            provider=provider,
            event=dict(event),
            created_at=uow.now,
        )
    )


def get_event(uow: UnitOfWork, workspace_id: str, event_id: str) -> dict[str, Any] | None:
    row = uow.conn.execute(
        select(inbound_events.c.event).where(
            inbound_events.c.workspace_id == workspace_id, inbound_events.c.id == event_id
        )
    ).first()
    return None if row is None else dict(row.event)
