"""Inbound ingress: a provider's webhook, authenticated first, becomes pointer jobs, and its
answer is a success only once those jobs are durable.

The provider adapters verify signatures and tokens and say which pointers a request
carries; this module finds the mailbox channel a webhook URL names and enqueues the
pointers. When the queue cannot take them (the database or Redis is down) it raises
StorageUnavailable, which the API answers with 503 and Retry-After: every provider retries
those, so nothing accepted is lost and nothing is accepted that was not stored.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pigeon.domain.inbound import INBOUND_QUEUE, Provider, pointer_kind
from pigeon.domain.jobs import NewJob
from pigeon.errors import NotFound, PigeonError, StorageUnavailable
from pigeon.services import jobs
from pigeon.services.inbound import open_mailbox

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pigeon.domain.jobs import Enqueued
    from pigeon.providers.protocols import Mailbox
    from pigeon.services.context import Services

log = logging.getLogger(__name__)


def mailbox(svc: Services, channel_id: str, provider: Provider) -> Mailbox:
    """The enabled mailbox channel of `provider` a webhook URL names, or NotFound: a URL
    guessed or left behind by a deleted channel learns nothing more."""
    found = open_mailbox(svc, channel_id)
    if found is None or found.channel.kind != provider.value or found.channel.disabled_at:
        raise NotFound("no such webhook")
    return found


def accept(
    svc: Services, box: Mailbox, provider: Provider, pointers: Sequence[Mapping[str, Any]]
) -> list[Enqueued]:
    """Enqueue one pointer job per pointer, durably, or raise StorageUnavailable."""
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
    try:
        if svc.queue.name == "sql":
            with svc.db.transaction() as uow:
                return jobs.enqueue(svc, new, uow)
        return jobs.enqueue(svc, new)
    except PigeonError:
        raise  # StorageUnavailable already, or a pointer built wrongly (a bug, not an outage)
    except Exception as error:  # the queue's own outage (Redis down, a lost connection)
        log.exception(
            "ingress could not enqueue; the provider will retry",
            extra={"action": "inbound_email_queue_enqueue_failed", "provider": provider.value},
        )
        raise StorageUnavailable(f"the job queue is unavailable: {type(error).__name__}") from None
