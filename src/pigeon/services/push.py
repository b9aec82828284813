"""The push path: a worker claims released messages of push channels, sends them through
the channel's sender outside any transaction, then settles each with its claim token."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from pigeon.domain.delivery import Outcome
from pigeon.domain.leases import Lease
from pigeon.errors import PermanentChannelError
from pigeon.services import delivery
from pigeon.store import accounts
from pigeon.store import messages as store

if TYPE_CHECKING:
    from pigeon.channels.protocols import Sender
    from pigeon.domain.accounts import Channel
    from pigeon.domain.messages import Message
    from pigeon.services.context import Services

log = logging.getLogger(__name__)


HOLDER_CHARS = 36  # messages.claimed_by


def worker_identity() -> str:
    """`w:<host>:<pid>:<random>`, the host cut so the whole fits `claimed_by`."""
    tail = f":{os.getpid()}:{uuid.uuid4().hex[:6]}"
    host = socket.gethostname()[: HOLDER_CHARS - len(tail) - 2]
    return f"w:{host}{tail}"


@dataclass(frozen=True)
class Attempt:
    message: Message
    outcome: Outcome
    error: str | None = None


@dataclass(frozen=True)
class Claim:
    message: Message
    channel: Channel


def claim(svc: Services, holder: str, limit: int) -> list[Claim]:
    """Claim due messages of push channels this process has a sender for, with their
    channels, releasing due ones on the way (the scheduler need not have run)."""
    with svc.db.transaction() as uow:
        lease = Lease.new(holder, uow.now + timedelta(seconds=svc.settings.lease_seconds))
        claimed = store.claim_for_push(uow, kinds=frozenset(svc.senders), limit=limit, lease=lease)
        channels = accounts.channels_by_id(uow, {m.channel_id for m in claimed})
    return [Claim(m, channels[m.channel_id]) for m in claimed if m.channel_id in channels]


def served_channels(svc: Services, channel_ids: list[str]) -> dict[str, bool]:
    """Whether each channel is one this process's senders deliver."""
    with svc.db.transaction(readonly=True) as uow:
        found = accounts.channels_by_id(uow, set(channel_ids))
    return {cid: cid in found and found[cid].kind in svc.senders for cid in channel_ids}


async def send(svc: Services, claimed: Claim) -> Attempt:
    return await _send_through(svc.senders[claimed.channel.kind], claimed.message, claimed.channel)


async def _send_through(sender: Sender, message: Message, channel: Channel) -> Attempt:
    try:
        await sender.send(message, channel)
    except PermanentChannelError as error:
        return Attempt(message, Outcome.REJECTED, error.message)
    except Exception as error:  # transient, or an unexpected failure: retry with backoff
        log.warning(
            "send failed",
            extra={
                "action": "send_failed",
                "message_id": message.id,
                "channel": channel.kind,
                "error": str(error),
            },
        )
        return Attempt(message, Outcome.FAILED, str(error) or type(error).__name__)
    return Attempt(message, Outcome.SENT)


def settle(svc: Services, holder: str, attempts: list[Attempt]) -> int:
    """Record the outcomes; returns how many applied (a lost lease is logged, not raised)."""
    reports = [
        delivery.Report(a.message.id, a.outcome, a.message.claim_token, a.error) for a in attempts
    ]
    with svc.db.transaction() as uow:
        settled = delivery.settle(svc, uow, reports, holder=holder, workspace_id=None, actor=holder)
    for result in settled:
        if result.error is not None:
            log.warning(
                "outcome not recorded: %s",
                result.error,
                extra={"action": "settle_refused", "message_id": result.message_id},
            )
    return sum(1 for result in settled if result.error is None)
