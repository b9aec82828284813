"""Consuming inbound pointer jobs, and reading what they brought in.

A pointer job names a mailbox channel and a position at its provider. Consuming it:
1. load the channel and open its secrets (a channel deleted or disabled since: skipped);
2. fetch the content from the provider now (`MailSource.fetch`); a source that is gone
   raises SourceUnavailable, and the job ends `skipped` with that reason, never retried;
3. in one transaction, per message: insert its identity `<provider>:<message id>` (unique
   per workspace; a duplicate is a no-op), store it, hand it on to the receivers (opt-out,
   follow-ups), and keep the provider state the fetch returned (a Gmail history cursor).
An error anywhere else raises, and the consumer retries the job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from anyio import to_thread

from pigeon.domain.channels import MAILBOX_KINDS
from pigeon.domain.ids import is_uuid, new_id
from pigeon.domain.inbound import (
    MAIL_PROVIDERS,
    InboundMessage,
    Provider,
    SourceUnavailable,
    identity,
    pointer_kind,
    trimmed,
)
from pigeon.errors import NotFound, ValidationError
from pigeon.providers.protocols import Mailbox
from pigeon.services import auth, mailboxes
from pigeon.store import accounts
from pigeon.store import inbound as store
from pigeon.workers.consumer import Skipped

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pigeon.domain.accounts import Channel
    from pigeon.domain.inbound import Fetched
    from pigeon.domain.jobs import Job
    from pigeon.providers.protocols import MailSource
    from pigeon.services.context import Principal, Services
    from pigeon.store.database import UnitOfWork
    from pigeon.workers.consumer import Handler

log = logging.getLogger(__name__)

# What consumes an inbound message once stored, in the transaction that stores it: each
# may write (enqueue a job, record an opt-out) but must not call out of the process.
Receiver = Callable[["Services", "UnitOfWork", InboundMessage], None]
RECEIVERS: list[Receiver] = []

MAX_PAGE = 200


@dataclass(frozen=True)
class Consumed:
    stored: int
    duplicates: int


def sources() -> dict[Provider, MailSource]:
    """The provider adapters, imported on first use."""
    from pigeon.providers import gmail, imap, msgraph

    return {
        Provider.MSGRAPH: msgraph.SOURCE,
        Provider.GMAIL: gmail.SOURCE,
        Provider.IMAP: imap.SOURCE,
    }


def handlers() -> dict[str, Handler]:
    """The job handler of each provider's pointer jobs."""

    def handler_of(provider: Provider) -> Handler:
        async def handle(svc: Services, job: Job) -> Skipped | None:
            # A fetch stuck on a provider past the stop's grace period is left to its own
            # timeout; the consumer hands its job back meanwhile.
            return await to_thread.run_sync(consume, svc, job, provider, abandon_on_cancel=True)

        return handle

    return {pointer_kind(provider): handler_of(provider) for provider in MAIL_PROVIDERS}


def consume(svc: Services, job: Job, provider: Provider) -> Skipped | None:
    mailbox = open_mailbox(svc, job.payload.get("channel_id"))
    if mailbox is None or mailbox.channel.workspace_id != job.workspace_id:
        return Skipped("source_unavailable:channel_gone")
    if mailbox.channel.disabled_at is not None:
        return Skipped("source_unavailable:channel_disabled")
    try:
        fetched = sources()[provider].fetch(svc, mailbox, job.payload)
    except SourceUnavailable as gone:
        return Skipped(gone.reason)
    consumed = store_fetched(svc, mailbox, provider, fetched.messages, fetched.state, job.id)
    if consumed.duplicates:
        log.info(
            "duplicate inbound messages ignored",
            extra={
                "action": "inbound_email_queue_duplicate",
                "job_id": job.id,
                "workspace_id": job.workspace_id,
                "provider": provider.value,
                "count": consumed.duplicates,
            },
        )
    return None


def open_mailbox(svc: Services, channel_id: object) -> Mailbox | None:
    """A mailbox channel by id, across workspaces, with its secrets opened; None when no
    such mailbox channel exists."""
    if not isinstance(channel_id, str) or not is_uuid(channel_id):
        return None
    with svc.db.transaction(readonly=True) as uow:
        channel = accounts.channels_by_id(uow, [channel_id]).get(channel_id)
    if channel is None or channel.kind not in MAILBOX_KINDS:
        return None
    return Mailbox(channel, svc.secrets.open(channel.sealed_secrets))


def store_fetched(
    svc: Services,
    mailbox: Mailbox,
    provider: Provider,
    messages: Sequence[Fetched],
    state: mailboxes.StateChanges | None,
    job_id: str | None,
) -> Consumed:
    stored = duplicates = 0
    if not messages and not state:
        return Consumed(0, 0)  # a push that named nothing new: no transaction to spend
    with svc.db.transaction() as uow:
        for fetched in messages:
            message = _message(uow, mailbox.channel, provider, trimmed(fetched), job_id)
            if not store.insert_once(uow, message):
                duplicates += 1
                continue
            stored += 1
            uow.notify("inbound", {"id": message.id, "workspace_id": message.workspace_id})
            for receive in RECEIVERS:
                receive(svc, uow, message)
        if state:
            mailboxes.merge_state(uow, mailbox.id, state)
    return Consumed(stored, duplicates)


def _message(
    uow: UnitOfWork, channel: Channel, provider: Provider, fetched: Fetched, job_id: str | None
) -> InboundMessage:
    return InboundMessage(
        id=new_id(),
        workspace_id=channel.workspace_id,
        channel_id=channel.id,
        provider=provider,
        external_id=identity(provider, fetched.message_id),
        sender=fetched.sender,
        recipients=fetched.recipients,
        subject=fetched.subject,
        text=fetched.text,
        received_at=fetched.received_at,
        created_at=uow.now,
        internet_message_id=fetched.internet_message_id,
        in_reply_to=fetched.in_reply_to,
        html=fetched.html,
        mailbox=fetched.mailbox,
        job_id=job_id,
    )


# Reading ----------------------------------------------------------------------------------


def list_messages(
    svc: Services,
    who: Principal,
    *,
    channel_id: str | None = None,
    limit: int = 50,
    before: str | None = None,
) -> list[InboundMessage]:
    if before is not None and not is_uuid(before):
        raise ValidationError.field("cursor", "expected an inbound message id")
    with auth.acting(svc, who, readonly=True) as uow:
        return store.list_(
            uow,
            who.workspace_id,
            channel_id=channel_id,
            limit=min(limit, MAX_PAGE + 1),
            before=before,
        )


def get(svc: Services, who: Principal, message_id: str) -> InboundMessage:
    with auth.acting(svc, who, readonly=True) as uow:
        found = store.get(uow, who.workspace_id, message_id) if is_uuid(message_id) else None
    if found is None:
        raise NotFound("no such inbound message")
    return found
