"""Inbound messages and the pointer jobs that bring them in.

A provider's webhook (or the IMAP listener) is reduced to a pointer job: which channel,
which mailbox, which message or history position; never the content. The consumer fetches
the content at consume time, then records it once under its identity
`<provider>:<message id>` per workspace: a second delivery of the same message is a no-op.
A source that is gone (a 404 or 410, a missing UID, a changed UIDVALIDITY) ends the job as
`skipped` with a `source_unavailable:*` reason; it is never retried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pigeon.errors import PigeonError

if TYPE_CHECKING:
    from datetime import datetime


class Provider(StrEnum):
    MSGRAPH = "msgraph"
    GMAIL = "gmail"
    IMAP = "imap"
    GATEWAY = "gateway"  # pushed by devices (POST /v1/gateway/inbound), never fetched


# The providers whose messages come in through pointer jobs, fetched at consume time.
MAIL_PROVIDERS = (Provider.MSGRAPH, Provider.GMAIL, Provider.IMAP)


INBOUND_QUEUE = "inbound"


def pointer_kind(provider: Provider) -> str:
    """The job kind of a provider's pointer jobs."""
    return f"inbound.{provider.value}"


class SourceUnavailable(PigeonError):
    """The message a pointer names is gone at its source; retrying cannot bring it back."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"source_unavailable:{reason}")
        self.reason = f"source_unavailable:{reason}"


@dataclass(frozen=True)
class Fetched:
    """A message as its provider returned it, reduced to what pigeon keeps."""

    message_id: str  # the provider's id: identity is `<provider>:<message_id>`
    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    received_at: datetime
    internet_message_id: str | None = None  # the Message-ID header, for threading replies
    in_reply_to: str | None = None
    html: str | None = None
    mailbox: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    id: str
    workspace_id: str
    channel_id: str
    provider: Provider
    external_id: str  # `<provider>:<message id>`
    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    received_at: datetime
    created_at: datetime
    internet_message_id: str | None = None
    in_reply_to: str | None = None
    html: str | None = None
    mailbox: str | None = None
    job_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def identity(provider: Provider, message_id: str) -> str:
    """The consume-time identity; provider ids are compared as the provider spells them."""
    return f"{provider.value}:{message_id}"


# Bounds of what pigeon keeps of one inbound message: enough for any real email's text, not
# enough for one message to fill a database.
MAX_TEXT_CHARS = 200_000
MAX_SUBJECT_CHARS = 1_000
MAX_ADDRESS_CHARS = 320
MAX_RECIPIENTS = 100


def trimmed(message: Fetched) -> Fetched:
    """`message` cut to the bounds pigeon stores, NUL characters dropped (PostgreSQL text
    cannot hold them)."""

    def clean(value: str, limit: int) -> str:
        return value.replace("\x00", "")[:limit]

    return Fetched(
        message_id=message.message_id,
        sender=clean(message.sender, MAX_ADDRESS_CHARS),
        recipients=tuple(clean(r, MAX_ADDRESS_CHARS) for r in message.recipients[:MAX_RECIPIENTS]),
        subject=clean(message.subject, MAX_SUBJECT_CHARS),
        text=clean(message.text, MAX_TEXT_CHARS),
        received_at=message.received_at,
        internet_message_id=(
            clean(message.internet_message_id, 1000) if message.internet_message_id else None
        ),
        in_reply_to=clean(message.in_reply_to, 1000) if message.in_reply_to else None,
        html=clean(message.html, MAX_TEXT_CHARS) if message.html else None,
        mailbox=clean(message.mailbox, 500) if message.mailbox else None,
    )
