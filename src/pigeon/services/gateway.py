"""The pull protocol: devices claim released messages under a lease and report results,
and push the messages they receive (`receive`).

Every call re-checks the device inside its own transaction (the same statement that records
it as seen), so a revoked device can neither claim nor report from that moment on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from anyio import to_thread

from pigeon import config
from pigeon.domain.delivery import Outcome as Outcome
from pigeon.domain.handles import normalize_handle
from pigeon.domain.ids import new_id
from pigeon.domain.inbound import (
    MAX_TEXT_CHARS,
    Fetched,
    InboundMessage,
    Provider,
    identity,
    trimmed,
)
from pigeon.domain.leases import Lease
from pigeon.domain.storable import cleaned
from pigeon.errors import AuthError, ValidationError
from pigeon.services import delivery, optout
from pigeon.store import accounts
from pigeon.store import inbound as inbound_store
from pigeon.store import messages as store

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from pigeon.domain.accounts import Device
    from pigeon.domain.messages import Message
    from pigeon.services.context import Services
    from pigeon.services.waiters import Waiters
    from pigeon.store.database import UnitOfWork

log = logging.getLogger(__name__)

MAX_CLAIM_LIMIT = config.MAX_CLAIM_LIMIT

Report = delivery.Report
ReportResult = delivery.Settled


@dataclass(frozen=True)
class Claimed:
    messages: list[Message]
    lease_expires_at: datetime | None
    # Claimed by this device before and not reported: handed back under the same token.
    handed_back: frozenset[str] = frozenset()


def _seen(svc: Services, uow: UnitOfWork, device: Device) -> None:
    if not accounts.touch_active_device(uow, device.id, uow.now):
        svc.credentials.forget(device.id)
        raise AuthError("invalid or revoked device token")


def claim(
    svc: Services, device: Device, *, limit: int | None = None, hand_back: bool = True
) -> Claimed:
    """Claim up to `limit` messages for `device`: first (with `hand_back`) those it holds and
    has not reported, since the answer to its last claim may have been lost; then new ones.
    Due messages are released on the way, so a device never waits for the scheduler."""
    limit = svc.settings.claim_limit if limit is None else limit
    if limit < 1 or limit > MAX_CLAIM_LIMIT:
        raise ValidationError.field("limit", f"must be between 1 and {MAX_CLAIM_LIMIT}")
    with svc.db.transaction() as uow:
        context = store.seen_for_claim(uow, device.id)
        if context is None:
            svc.credentials.forget(device.id)
            raise AuthError("invalid or revoked device token")
        if not context.channel_enabled:
            return Claimed([], None)
        lease = Lease.new(device.id, uow.now + timedelta(seconds=svc.settings.lease_seconds))
        held, new = store.claim_for_device(
            uow,
            workspace_id=device.workspace_id,
            channel_id=device.channel_id,
            device_id=device.id,
            limit=limit,
            lease=lease,
            hand_back=hand_back,
            context=context,
        )
    claimed = held + new
    if claimed:
        log.info(
            "device claimed %d messages",
            len(claimed),
            extra={
                "action": "messages_claimed",
                "device_id": device.id,
                "workspace_id": device.workspace_id,
                "count": len(new),
                "handed_back": len(held),
            },
        )
    return Claimed(claimed, lease.expires_at if claimed else None, frozenset(m.id for m in held))


def report(svc: Services, device: Device, reports: Sequence[Report]) -> list[ReportResult]:
    """Apply each report independently: a stale one is refused without touching the others."""
    with svc.db.transaction() as uow:
        _seen(svc, uow, device)
        return delivery.settle(
            svc,
            uow,
            reports,
            holder=device.id,
            workspace_id=device.workspace_id,
            actor=f"device:{device.id}",
        )


@dataclass(frozen=True)
class Release:
    message_id: str
    claim_token: str


def release(svc: Services, device: Device, releases: Sequence[Release]) -> list[ReportResult]:
    """Hand claims back unsent (the device is stopping): each message is released again at
    once, without counting an attempt, and waiting claims of other devices are woken for it.
    A claim whose lease ran out is the lease policy's, and is refused like a late failure."""
    return report(
        svc,
        device,
        [Report(r.message_id, Outcome.RELEASED, claim_token=r.claim_token) for r in releases],
    )


def heartbeat(svc: Services, device: Device) -> datetime:
    with svc.db.transaction() as uow:
        _seen(svc, uow, device)
        return uow.now


async def claim_or_wait(
    svc: Services,
    waiters: Waiters,
    device: Device,
    *,
    limit: int | None,
    wait: float,
    run: Callable[[Callable[[], Claimed]], Awaitable[Claimed]] | None = None,
) -> Claimed:
    """Claim now; if nothing is ready, sleep until work this device can take is added or
    released (or its revocation, or `wait` seconds), then claim again.

    A waiter costs nothing while it sleeps: it is woken by the notification of a change
    that concerns its channel or its device, never by a timer of its own.
    """
    wait = min(wait, svc.settings.max_claim_wait_seconds)
    run = run or to_thread.run_sync
    with waiters.register(device, timeout=wait) as waiter:
        while True:
            waiter.ready_to_claim()
            claimed = await run(lambda: claim(svc, device, limit=limit))
            if claimed.messages or not await waiter.sleep():
                return claimed


# Inbound: what a device received -----------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """A message a device received (a macOS device reads Messages' chat.db)."""

    guid: str  # the message's GUID in chat.db: its identity is `gateway:<guid>`
    sender: str
    text: str
    received_at: datetime
    service: str | None = None  # iMessage | SMS: the device's business, not stored


@dataclass(frozen=True)
class ReceiveResult:
    accepted: int
    duplicates: int


def receive(svc: Services, device: Device, received: Sequence[Received]) -> ReceiveResult:
    """Store each message once per workspace (a GUID seen before changes nothing, so a
    device may push again whatever it is unsure was stored), on the device's channel, and
    hand each new one to the opt-out keywords, in one transaction."""
    errors = {
        f"messages[{index}].received_at": "must include a UTC offset"
        for index, item in enumerate(received)
        if item.received_at.tzinfo is None or item.received_at.utcoffset() is None
    }
    if errors:
        raise ValidationError(errors)
    accepted = duplicates = 0
    with svc.db.transaction() as uow:
        _seen(svc, uow, device)
        for item in received:
            handle = _handle(item.sender)
            fetched = trimmed(
                Fetched(
                    message_id=item.guid,
                    sender=handle or item.sender.strip(),
                    recipients=(),
                    subject="",
                    text=cleaned(item.text, limit=MAX_TEXT_CHARS),
                    received_at=item.received_at.astimezone(UTC),
                )
            )
            message = InboundMessage(
                id=new_id(),
                workspace_id=device.workspace_id,
                channel_id=device.channel_id,
                provider=Provider.GATEWAY,
                external_id=identity(Provider.GATEWAY, item.guid),
                sender=fetched.sender,
                recipients=(),
                subject="",
                text=fetched.text,
                received_at=fetched.received_at,
                created_at=uow.now,
            )
            if not inbound_store.insert_once(uow, message):
                duplicates += 1
                continue
            accepted += 1
            uow.notify("inbound", {"id": message.id, "workspace_id": message.workspace_id})
            if handle is not None:
                optout.handle_inbound(
                    svc,
                    device.workspace_id,
                    device.channel_id,
                    handle,
                    message.text,
                    actor=f"device:{device.id}",
                    uow=uow,
                    device_id=device.id,
                    inbound_id=message.id,
                )
    log.info(
        "device pushed inbound messages",
        extra={
            "action": "inbound_gateway",
            "device_id": device.id,
            "workspace_id": device.workspace_id,
            "count": accepted,
            "duplicates": duplicates,
        },
    )
    return ReceiveResult(accepted, duplicates)


def _handle(sender: str) -> str | None:
    """The sender's canonical handle; None for what is no phone number or email address (a
    short code, a business's name): stored as given, never opted out."""
    try:
        return normalize_handle(sender, field="from")
    except ValidationError:
        return None
