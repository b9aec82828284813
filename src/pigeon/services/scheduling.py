"""The release step and the lease sweep: what the scheduler worker runs on every wake-up."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pigeon.domain.channels import LeaseExpiryPolicy
from pigeon.domain.transitions import MessageStatus
from pigeon.store import accounts
from pigeon.store import messages as store

if TYPE_CHECKING:
    from pigeon.services.context import Services

log = logging.getLogger(__name__)

RELEASE_CHUNK = 1000


def release_due(svc: Services, *, limit: int = RELEASE_CHUNK) -> int:
    """Mark due queued messages released; returns how many. Safe to run concurrently."""
    with svc.db.transaction() as uow:
        released = store.release_due(uow, now=uow.now, limit=limit)
    if released:
        log.debug(
            "released %d messages",
            len(released),
            extra={"action": "messages_released", "count": len(released)},
        )
    return len(released)


@dataclass(frozen=True)
class Sweep:
    unknown: int = 0
    requeued: int = 0
    failed: int = 0


def expire_leases(svc: Services, *, limit: int = RELEASE_CHUNK) -> Sweep:
    """Settle claims whose lease ran out without a report.

    By default such a message becomes `unknown`: the device may have sent it before it went
    quiet, and sending twice is worse than asking a person. A channel whose policy is `retry`
    puts it back in the queue, with backoff, until the attempts run out.
    """
    unknown = requeued = failed = 0
    backoff = svc.backoff
    with svc.db.transaction() as uow:
        policies: dict[tuple[str, str], LeaseExpiryPolicy] = {}
        for message in store.expired_claims(uow, now=uow.now, limit=limit):
            key = (message.workspace_id, message.channel_id)
            if key not in policies:
                channel = accounts.get_channel(uow, *key)
                policies[key] = channel.on_lease_expiry if channel else LeaseExpiryPolicy.UNKNOWN
            detail = {"reason": "lease_expired", "device_id": message.claimed_by}
            if policies[key] is LeaseExpiryPolicy.UNKNOWN:
                store.move(
                    uow,
                    message,
                    MessageStatus.UNKNOWN,
                    at=uow.now,
                    actor="scheduler",
                    detail=detail,
                )
                unknown += 1
            elif backoff.should_retry(message.attempts):
                delay = timedelta(seconds=backoff.delay(message.attempts))
                store.move(
                    uow,
                    message,
                    MessageStatus.QUEUED,
                    at=uow.now,
                    actor="scheduler",
                    values={
                        "scheduled_for": uow.now + delay,
                        "last_error": "lease expired without a report",
                    },
                    detail=detail,
                )
                requeued += 1
            else:
                store.move(
                    uow,
                    message,
                    MessageStatus.FAILED,
                    at=uow.now,
                    actor="scheduler",
                    values={"last_error": "lease expired without a report"},
                    detail=detail,
                )
                failed += 1
    sweep = Sweep(unknown, requeued, failed)
    if unknown or requeued or failed:
        log.info("expired leases: %s", sweep, extra={"action": "leases_expired"})
    return sweep


def next_due_at(svc: Services) -> datetime | None:
    with svc.db.transaction(readonly=True) as uow:
        return store.next_due_at(uow)
