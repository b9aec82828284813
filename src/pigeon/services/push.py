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
from pigeon.errors import PermanentChannelError
from pigeon.services import delivery
from pigeon.store import accounts, claims
from pigeon.store import messages as store

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pigeon.channels.protocols import Sender
    from pigeon.domain.accounts import Channel
    from pigeon.domain.messages import Message
    from pigeon.services.context import Services

log = logging.getLogger(__name__)


def worker_identity() -> str:
    return f"worker:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Attempt:
    message: Message
    outcome: Outcome
    error: str | None = None


def claim(svc: Services, senders: Mapping[str, Sender], holder: str, limit: int) -> list[Message]:
    with svc.db.transaction() as uow:
        lease = claims.Lease.new(holder, uow.now + timedelta(seconds=svc.settings.lease_seconds))
        return store.claim_for_push(uow, kinds=frozenset(senders), limit=limit, lease=lease)


async def send(svc: Services, senders: Mapping[str, Sender], message: Message) -> Attempt:
    with svc.db.transaction(readonly=True) as uow:
        channel = accounts.get_channel(uow, message.workspace_id, message.channel_id)
    if channel is None:
        return Attempt(message, Outcome.REJECTED, "the channel no longer exists")
    return await _send_through(senders[channel.kind], message, channel)


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
