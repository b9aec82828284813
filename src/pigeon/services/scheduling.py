"""The release step and the lease sweep: what the scheduler worker runs on every wake-up."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pigeon.domain.channels import LeaseExpiryPolicy
from pigeon.domain.transitions import MessageStatus
from pigeon.store import accounts
from pigeon.store import messages as store

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pigeon.domain.backoff import Backoff
    from pigeon.domain.messages import Message
    from pigeon.services.context import Services
    from pigeon.store.database import UnitOfWork

log = logging.getLogger(__name__)

RELEASE_CHUNK = store.RELEASE_CHUNK
# What `last_error` says of a claim that ended without a report, by the reason it ended.
ENDED_CLAIM_ERRORS = {
    "lease_expired": "lease expired without a report",
    "device_revoked": "its device was revoked before reporting",
}


def release_due(svc: Services, *, limit: int = RELEASE_CHUNK) -> store.ReleaseStep:
    """Release, hold or suppress up to `limit` due queued messages (the throttle, consent
    and device selection decide which); safe to run concurrently."""
    with svc.db.transaction() as uow:
        step = store.release_step(
            uow, now=uow.now, limit=limit, offline_after=svc.settings.device_offline_seconds
        )
    if step.released:
        log.debug(
            "released %d messages",
            len(step.released),
            extra={"action": "messages_released", "count": len(step.released)},
        )
    return step


def move_off_gone_devices(svc: Services) -> int:
    """Released work pigeon gave to a device that went offline or was revoked goes back to
    every device of its channel (with an event each); returns how many messages moved."""
    with svc.db.transaction() as uow:
        moved = store.unassign(uow, offline_after=svc.settings.device_offline_seconds)
    if moved:
        log.info(
            "moved %d messages off devices that went away",
            moved,
            extra={"action": "messages_moved_off_devices", "count": moved},
        )
    return moved


def prune_throttle_ledger(svc: Services) -> int:
    """Forget releases older than any throttle window; returns how many rows went."""
    from pigeon.store import throttle

    with svc.db.transaction() as uow:
        return throttle.prune_ledger(uow)


@dataclass(frozen=True)
class Sweep:
    unknown: int = 0
    requeued: int = 0
    failed: int = 0

    def __add__(self, other: Sweep) -> Sweep:
        return Sweep(
            self.unknown + other.unknown,
            self.requeued + other.requeued,
            self.failed + other.failed,
        )


def expire_leases(svc: Services, *, limit: int = RELEASE_CHUNK) -> Sweep:
    """Settle claims whose lease ran out without a report (see `end_claims`)."""
    with svc.db.transaction() as uow:
        expired = store.expired_claims(uow, now=uow.now, limit=limit)
        sweep = end_claims(svc, uow, expired, actor="scheduler", reason="lease_expired")
    if sweep != Sweep():
        log.info("expired leases: %s", sweep, extra={"action": "leases_expired"})
    return sweep


def end_claims(
    svc: Services, uow: UnitOfWork, claimed: Iterable[Message], *, actor: str, reason: str
) -> Sweep:
    """End claims that will get no report: their lease ran out, or their device was revoked.

    By default such a message becomes `unknown`: the device may have sent it before it went
    quiet, and sending twice is worse than asking a person. A channel whose policy is `retry`
    puts it back in the queue, with backoff, until the attempts run out. Either way the
    claim's token stays on the message: its holder may still report that it went out.
    """
    sweep = Sweep()
    policies: dict[tuple[str, str], LeaseExpiryPolicy] = {}
    backoff = svc.backoff
    for message in claimed:
        key = (message.workspace_id, message.channel_id)
        if key not in policies:
            channel = accounts.get_channel(uow, *key)
            policies[key] = channel.on_lease_expiry if channel else LeaseExpiryPolicy.UNKNOWN
        detail = {"reason": reason, "device_id": message.claimed_by}
        error = ENDED_CLAIM_ERRORS[reason]
        target, values, counted = _after_claim(policies[key], message, backoff, uow.now, error)
        store.move(uow, message, target, at=uow.now, actor=actor, values=values, detail=detail)
        sweep = sweep + counted
    return sweep


def _after_claim(
    policy: LeaseExpiryPolicy, message: Message, backoff: Backoff, now: datetime, error: str
) -> tuple[MessageStatus, dict[str, Any], Sweep]:
    if policy is LeaseExpiryPolicy.UNKNOWN:
        return MessageStatus.UNKNOWN, {"last_error": error}, Sweep(unknown=1)
    if backoff.should_retry(message.attempts):
        delay = timedelta(seconds=backoff.delay(message.attempts))
        values = {"scheduled_for": now + delay, "last_error": error}
        return MessageStatus.QUEUED, values, Sweep(requeued=1)
    return MessageStatus.FAILED, {"last_error": error}, Sweep(failed=1)


@dataclass(frozen=True)
class LookAhead:
    next_due: datetime | None  # when the earliest queued message falls due
    leases_expired: bool  # whether a claim's lease has run out (if asked)


def look_ahead(svc: Services, *, leases: bool) -> LookAhead:
    """What the scheduler has to do, read in one short read-only transaction."""
    with svc.db.transaction(readonly=True) as uow:
        expired = leases and store.any_expired_claim(uow, now=uow.now)
        return LookAhead(store.next_due_at(uow), expired)
