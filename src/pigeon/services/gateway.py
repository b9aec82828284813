"""The pull protocol: devices claim released messages under a lease and report results."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from anyio import to_thread

from pigeon.domain.delivery import Outcome as Outcome
from pigeon.domain.transitions import MessageStatus
from pigeon.errors import ValidationError
from pigeon.services import delivery, scheduling
from pigeon.store import accounts, claims
from pigeon.store import messages as store

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pigeon.bus.protocols import EventBus
    from pigeon.domain.accounts import Device
    from pigeon.domain.messages import Message
    from pigeon.services.context import Services

log = logging.getLogger(__name__)

M = MessageStatus


Report = delivery.Report
ReportResult = delivery.Settled


@dataclass(frozen=True)
class Claimed:
    messages: list[Message]
    lease_expires_at: datetime | None


def claim(svc: Services, device: Device, *, limit: int | None = None) -> Claimed:
    """Claim up to `limit` released messages for `device`, releasing anything due first so a
    device never waits for the scheduler's next turn."""
    limit = svc.settings.claim_limit if limit is None else limit
    if limit < 1 or limit > 500:
        raise ValidationError.field("limit", "must be between 1 and 500")
    scheduling.release_due(svc)
    with svc.db.transaction() as uow:
        accounts.touch_device(uow, device.id, uow.now)
        channel = accounts.get_channel(uow, device.workspace_id, device.channel_id)
        if channel is None or channel.disabled_at is not None:
            return Claimed([], None)
        lease = claims.Lease.new(device.id, uow.now + timedelta(seconds=svc.settings.lease_seconds))
        claimed = store.claim_for_device(
            uow,
            workspace_id=device.workspace_id,
            channel_id=device.channel_id,
            device_id=device.id,
            limit=limit,
            lease=lease,
            now=uow.now,
        )
    if claimed:
        log.info(
            "device claimed %d messages",
            len(claimed),
            extra={
                "action": "messages_claimed",
                "device_id": device.id,
                "workspace_id": device.workspace_id,
                "count": len(claimed),
            },
        )
    return Claimed(claimed, lease.expires_at if claimed else None)


def report(svc: Services, device: Device, reports: Sequence[Report]) -> list[ReportResult]:
    """Apply each report independently: a stale one is refused without touching the others."""
    with svc.db.transaction() as uow:
        accounts.touch_device(uow, device.id, uow.now)
        return delivery.settle(
            svc,
            uow,
            reports,
            holder=device.id,
            workspace_id=device.workspace_id,
            actor=f"device:{device.id}",
        )


def heartbeat(svc: Services, device: Device) -> datetime:
    with svc.db.transaction() as uow:
        accounts.touch_device(uow, device.id, uow.now)
        return uow.now


async def claim_or_wait(
    svc: Services, bus: EventBus, device: Device, *, limit: int | None, wait: float
) -> Claimed:
    """Claim now; if nothing is ready, wait up to `wait` seconds and answer as soon as work
    for this device's workspace is added or released."""
    wait = min(wait, svc.settings.max_claim_wait_seconds)
    deadline = asyncio.get_running_loop().time() + wait
    subscription = bus.subscribe("messages")
    try:
        while True:
            claimed = await to_thread.run_sync(lambda: claim(svc, device, limit=limit))
            remaining = deadline - asyncio.get_running_loop().time()
            if claimed.messages or remaining <= 0:
                return claimed
            # Wake on news for this workspace, or every second to catch due times.
            timeout = min(remaining, 1.0)
            while timeout > 0:
                started = asyncio.get_running_loop().time()
                note = await subscription.get(timeout)
                if note is None or note[1].get("workspace_id") == device.workspace_id:
                    break
                timeout -= asyncio.get_running_loop().time() - started
    finally:
        bus.unsubscribe(subscription)
