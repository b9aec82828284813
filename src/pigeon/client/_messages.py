"""/v1/messages and /v1/recurrences."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pigeon.client._endpoint import Group, M, endpoint
from pigeon.client._transport import Call, instant, new_key, query, segment

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime

    from pigeon.client.types import (
        CreatedMessages,
        Message,
        MessageStats,
        MessageStatus,
        MessageWithEvents,
        NewMessage,
        Page,
        Recurrence,
        Repeat,
    )


def _message(
    recipient: str,
    body: str,
    scheduled_for: datetime | str | None,
    channel_id: str | None,
    device_id: str | None,
    meta: dict[str, Any] | None,
) -> dict[str, Any]:
    fields = {
        "recipient": recipient,
        "body": body,
        "scheduled_for": instant(scheduled_for, "scheduled_for"),
        "channel_id": channel_id,
        "device_id": device_id,
        "meta": meta,
    }
    return {name: value for name, value in fields.items() if value is not None}


def create_message(
    recipient: str,
    body: str,
    *,
    scheduled_for: datetime | str | None = None,
    channel_id: str | None = None,
    device_id: str | None = None,
    meta: dict[str, Any] | None = None,
    repeat: Repeat | None = None,
    idempotency_key: str | None = None,
    scheduled_for_text: str | None = None,
    timezone: str | None = None,
    locale: str | None = None,
) -> Call[Message]:
    """Create a message, sent at `scheduled_for` (an aware time; now when left out).

    `recipient` is an E.164 phone number or an email address. With `repeat`
    (`{"rrule": "FREQ=WEEKLY;BYDAY=MO"}`), a recurrence makes one message per occurrence after
    this one, and the answer names it in `recurrence_id`. The Idempotency-Key is
    `idempotency_key`, or one made for this call: a retry after a lost answer, or a second
    call with the same key, answers the first message instead of making another.

    `scheduled_for_text` gives the time in words instead ("tomorrow at 3pm"), which pigeon
    reads when the request arrives, in `timezone` (the workspace's when left out) and
    `locale`; the answer's `scheduled_for` is the time it resolved. Words that name no one
    time raise `ValidationFailed` whose `question` is what to ask back.
    """
    payload = _message(recipient, body, scheduled_for, channel_id, device_id, meta)
    words = {"scheduled_for_text": scheduled_for_text, "timezone": timezone, "locale": locale}
    payload.update({name: value for name, value in words.items() if value is not None})
    if repeat is not None:
        payload["repeat"] = repeat
    return Call("POST", "/v1/messages", json=payload, idempotency_key=idempotency_key or new_key())


def create_messages(items: Sequence[NewMessage]) -> Call[CreatedMessages]:
    """Create up to 1,000 messages, all or none. Each item without an `idempotency_key` gets
    one made for this call, so that the batch can be sent again safely."""
    payload = [
        {
            **_message(m.recipient, m.body, m.scheduled_for, m.channel_id, m.device_id, m.meta),
            "idempotency_key": m.idempotency_key or new_key(),
        }
        for m in items
    ]
    # pigeon refuses an Idempotency-Key header on a batch: the items carry the keys.
    return Call("POST", "/v1/messages/batch", json={"items": payload}, repeatable=True)


def list_messages(
    *,
    status: MessageStatus | Iterable[MessageStatus] | None = None,
    recipient: str | None = None,
    scheduled_from: datetime | str | None = None,
    scheduled_until: datetime | str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Call[Page[Message]]:
    """Messages, newest first, `limit` (1 to 200; 50) at a time. `status` takes one status or
    several; `next_cursor` pages on (or use `client.paginate`)."""
    statuses = [status] if isinstance(status, str) else list(status or [])
    params = query(
        status=statuses or None,
        recipient=recipient,
        scheduled_from=scheduled_from,
        scheduled_until=scheduled_until,
        cursor=cursor,
        limit=limit,
    )
    return Call("GET", "/v1/messages", params=params)


def get_message(message_id: str) -> Call[MessageWithEvents]:
    """A message with `events`, its status history."""
    return Call("GET", f"/v1/messages/{segment(message_id)}")


def cancel_message(message_id: str) -> Call[Message]:
    """Cancel a message that is queued, released or unknown (Conflict otherwise)."""
    return Call("POST", f"/v1/messages/{segment(message_id)}/cancel")


def retry_message(message_id: str) -> Call[Message]:
    """Send a failed or unknown message again (Conflict otherwise)."""
    return Call("POST", f"/v1/messages/{segment(message_id)}/retry")


def message_stats() -> Call[MessageStats]:
    """How many messages are in each status."""
    return Call("GET", "/v1/stats/messages")


class Messages(Group[M]):
    """/v1/messages: `client.messages.create(...)`."""

    create = endpoint(create_message)
    create_many = endpoint(create_messages)
    list = endpoint(list_messages)
    get = endpoint(get_message)
    cancel = endpoint(cancel_message)
    retry = endpoint(retry_message)
    stats = endpoint(message_stats)


def list_recurrences(
    *, cursor: str | None = None, limit: int | None = None
) -> Call[Page[Recurrence]]:
    """Recurrences, oldest first."""
    return Call("GET", "/v1/recurrences", params=query(cursor=cursor, limit=limit))


def get_recurrence(recurrence_id: str) -> Call[Recurrence]:
    return Call("GET", f"/v1/recurrences/{segment(recurrence_id)}")


def stop_recurrence(recurrence_id: str) -> Call[Recurrence]:
    """Stop making occurrences; the messages made already stay (cancel them one by one)."""
    return Call("DELETE", f"/v1/recurrences/{segment(recurrence_id)}")


class Recurrences(Group[M]):
    """/v1/recurrences, made by `messages.create(..., repeat=...)`."""

    list = endpoint(list_recurrences)
    get = endpoint(get_recurrence)
    stop = endpoint(stop_recurrence)
