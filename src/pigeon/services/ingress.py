"""Inbound ingress: a provider's webhook, authenticated first, becomes pointer jobs, and its
answer is a success only once those jobs are durable.

Providers that keep the message (Graph, Gmail, IMAP) get pointers to it (`accept`).
Providers that push the content and keep no history (WhatsApp, Twilio) have their event
stored at ingress and a job that points at the stored event (`accept_event`): the queue
still carries ids only.

The provider adapters verify signatures and tokens and say which pointers a request
carries; this module finds the mailbox channel a webhook URL names and enqueues the
pointers. When the queue cannot take them (the database or Redis is down) it raises
StorageUnavailable, which the API answers with 503 and Retry-After: every provider retries
those, so nothing accepted is lost and nothing is accepted that was not stored.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pigeon.domain.ids import is_uuid, new_id
from pigeon.domain.inbound import INBOUND_QUEUE, Provider, SourceUnavailable, pointer_kind
from pigeon.domain.jobs import NewJob
from pigeon.domain.storable import json_problem
from pigeon.errors import NotFound, PigeonError, StorageUnavailable, ValidationError
from pigeon.services import jobs
from pigeon.services.inbound import open_mailbox
from pigeon.store import inbound as store

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from pigeon.domain.accounts import Channel
    from pigeon.domain.jobs import Enqueued
    from pigeon.providers.protocols import Mailbox
    from pigeon.services.context import Services

log = logging.getLogger(__name__)

MAX_EVENT_BYTES = 256 * 1024  # a WhatsApp or Twilio event is a few KiB; media are links
MAX_EVENT_DEPTH = 32  # a WhatsApp message sits seven objects and lists deep


def mailbox(svc: Services, channel_id: str, provider: Provider) -> Mailbox:
    """The enabled mailbox channel of `provider` a webhook URL names, or NotFound: a URL
    guessed or left behind by a deleted channel learns nothing more. Found channels are kept
    a moment (`recent.MAILBOX_SECONDS`) so that a stream of pushes costs no query each; a
    channel disabled meanwhile may accept for that long, and its jobs are then skipped."""
    cached = svc.credentials.mailboxes.get(channel_id)
    found = cached if cached is not None else open_mailbox(svc, channel_id)
    if found is None or found.channel.kind != provider.value or found.channel.disabled_at:
        raise NotFound("no such webhook")
    if cached is None:
        svc.credentials.mailboxes.put(channel_id, found)
    return found


def accept(
    svc: Services, box: Mailbox, provider: Provider, pointers: Sequence[Mapping[str, Any]]
) -> list[Enqueued]:
    """Enqueue one pointer job per pointer, durably, or raise StorageUnavailable. Concurrent
    requests share commits (services/group_commit.py)."""
    if not pointers:
        return []
    new = [
        NewJob(
            workspace_id=box.workspace_id,
            kind=pointer_kind(provider),
            queue=INBOUND_QUEUE,
            payload={"provider": provider.value, "channel_id": box.id, **pointer},
            channel_id=box.id,
        )
        for pointer in pointers
    ]
    return svc.ingress_commits.enqueue(new)


def write_durably(svc: Services, new: Sequence[NewJob]) -> list[Enqueued]:
    """Enqueue `new` in one commit (the group commit's write), or raise StorageUnavailable."""
    with _unavailable_when_refused(new):
        if svc.queue.name == "sql":
            with svc.db.transaction() as uow:
                return jobs.enqueue(svc, new, uow)
        return jobs.enqueue(svc, new)


@contextmanager
def _unavailable_when_refused(new: Sequence[NewJob]) -> Iterator[None]:
    """A queue or database outage as StorageUnavailable (503 + Retry-After), logged with the
    jobs it refused; a PigeonError of another kind (a pointer built wrongly) passes as is."""
    try:
        yield
    except StorageUnavailable as unavailable:
        _log_refused(new, unavailable)
        raise
    except PigeonError:
        raise
    except Exception as error:  # the queue's own outage (a lost connection)
        lost = StorageUnavailable(f"the job queue is unavailable: {type(error).__name__}")
        _log_refused(new, lost)
        raise lost from None


def _log_refused(new: Sequence[NewJob], outage: StorageUnavailable) -> None:
    providers = sorted({str(job.payload.get("provider")) for job in new})
    log.error(
        "ingress could not enqueue; the provider will retry",
        extra={
            "action": "inbound_email_queue_enqueue_failed",
            "jobs": len(new),
            "provider": ",".join(providers),
            "channel_ids": sorted({job.channel_id for job in new if job.channel_id}),
            "error": outage.message,
        },
    )


def accept_event(
    svc: Services, channel: Channel, provider: str, event: Mapping[str, Any]
) -> Enqueued:
    """Store a content-carrying event, and enqueue a job that points at it (`event_id`),
    durably, or raise StorageUnavailable. On the SQL queue both commit together; with a
    queue outside the database the event commits first, and an enqueue that then fails
    leaves it unpointed-at (the provider's retry brings a new one)."""
    if problem := json_problem(event, max_bytes=MAX_EVENT_BYTES, max_depth=MAX_EVENT_DEPTH):
        raise ValidationError.field("event", problem)
    event_id = new_id()
    job = NewJob(
        workspace_id=channel.workspace_id,
        kind=f"inbound.{provider}",
        queue=INBOUND_QUEUE,
        payload={"provider": provider, "channel_id": channel.id, "event_id": event_id},
        channel_id=channel.id,
    )
    fields = {"event_id": event_id, "workspace_id": channel.workspace_id}
    with _unavailable_when_refused([job]):
        with svc.db.transaction() as uow:
            store.insert_event(uow, channel_id=channel.id, provider=provider, event=event, **fields)
            if svc.queue.name == "sql":
                return jobs.enqueue(svc, [job], uow)[0]
        return jobs.enqueue(svc, [job])[0]


def stored_event(svc: Services, workspace_id: str, pointer: Mapping[str, Any]) -> dict[str, Any]:
    """The event a job points at; SourceUnavailable when it is gone (purged by retention)."""
    event_id = pointer.get("event_id")
    with svc.db.transaction(readonly=True) as uow:
        found = (
            store.get_event(uow, workspace_id, event_id)
            if isinstance(event_id, str) and is_uuid(event_id)
            else None
        )
    if found is None:
        raise SourceUnavailable("event_missing")
    return found
