"""Settling claimed messages: one path for device reports and for the sender worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pigeon.domain.delivery import Outcome, decide
from pigeon.errors import StaleClaim
from pigeon.store import messages as store

if TYPE_CHECKING:
    from pigeon.domain.messages import Message
    from pigeon.services.context import Services
    from pigeon.store.database import UnitOfWork


def settle(
    svc: Services,
    uow: UnitOfWork,
    message: Message,
    *,
    holder: str,
    token: str | None,
    outcome: Outcome,
    error: str | None,
    actor: str,
) -> Message:
    """Apply `outcome` to `message` on behalf of the claim `token` held by `holder`.

    A holder that lost its lease (another claim since, or settled by someone else) is
    refused with StaleClaim; a repeated report is accepted and changes nothing.
    """
    if token is None or message.claimed_by != holder or token != message.claim_token:
        raise StaleClaim("this claim is no longer current: the message was claimed again")
    decision = decide(message, outcome, error=error, now=uow.now, backoff=svc.backoff)
    if not decision.changes(message):
        return message
    moved = store.settle_claim(
        uow,
        message,
        token,
        decision.target,
        at=uow.now,
        actor=actor,
        values=decision.values,
        detail={"error": error} if error else None,
    )
    if moved is None:
        raise StaleClaim("this claim is no longer current")
    return moved
