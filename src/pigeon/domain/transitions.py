"""Every state machine of pigeon, as data, and the one function that applies them.

The store consults `check` before it writes a status, so an illegal move cannot reach the
database whatever path asked for it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from pigeon.errors import IllegalTransition

if TYPE_CHECKING:
    from collections.abc import Mapping


class MessageStatus(StrEnum):
    QUEUED = "queued"
    RELEASED = "released"
    CLAIMED = "claimed"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    CANCELED = "canceled"
    SUPPRESSED = "suppressed"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


M = MessageStatus

# queued|released -> failed: the message can never go out (the device it is pinned to was
# revoked).
MESSAGE_TRANSITIONS: Mapping[MessageStatus, frozenset[MessageStatus]] = {
    M.QUEUED: frozenset({M.RELEASED, M.CANCELED, M.SUPPRESSED, M.EXPIRED, M.FAILED}),
    M.RELEASED: frozenset({M.CLAIMED, M.QUEUED, M.CANCELED, M.SUPPRESSED, M.EXPIRED, M.FAILED}),
    # claimed -> queued is a retry after a failed attempt or an expired lease (channel policy).
    M.CLAIMED: frozenset({M.SENT, M.DELIVERED, M.FAILED, M.QUEUED, M.UNKNOWN}),
    M.SENT: frozenset({M.DELIVERED, M.READ, M.FAILED}),
    M.DELIVERED: frozenset({M.READ}),
    M.READ: frozenset(),
    # A person may retry a failed message.
    M.FAILED: frozenset({M.QUEUED}),
    M.CANCELED: frozenset(),
    M.SUPPRESSED: frozenset(),
    M.EXPIRED: frozenset(),
    # The send may have happened: a late report from the lease holder settles it, or a
    # person retries or gives up.
    M.UNKNOWN: frozenset({M.SENT, M.DELIVERED, M.FAILED, M.QUEUED, M.CANCELED}),
}

# Reports only: the holder of a message's latest claim may report that it went out after
# its lease ended, while the message was requeued, released again or given up on. That is
# recorded while nobody has claimed the message since (services/delivery checks the token),
# because the send happened and a second one would duplicate it. No other path takes these.
WENT_OUT_LATE = frozenset({M.SENT, M.DELIVERED})
LATE_REPORT_TRANSITIONS: Mapping[MessageStatus, frozenset[MessageStatus]] = {
    M.QUEUED: WENT_OUT_LATE,
    M.RELEASED: WENT_OUT_LATE,
    M.FAILED: WENT_OUT_LATE,
}

TERMINAL_MESSAGE_STATUSES = frozenset(s for s, nxt in MESSAGE_TRANSITIONS.items() if not nxt)
CANCELABLE_MESSAGE_STATUSES = frozenset(
    s for s, nxt in MESSAGE_TRANSITIONS.items() if M.CANCELED in nxt
)


def can_move(current: MessageStatus, target: MessageStatus, *, report: bool = False) -> bool:
    """Whether `current -> target` is allowed; `report`: as a claim holder's report."""
    if target in MESSAGE_TRANSITIONS[current]:
        return True
    return report and target in LATE_REPORT_TRANSITIONS.get(current, frozenset())


def check(current: MessageStatus, target: MessageStatus, *, report: bool = False) -> None:
    """Raise `IllegalTransition` unless `current -> target` is allowed."""
    if not can_move(current, target, report=report):
        raise IllegalTransition(f"a {current} message cannot become {target}")


def sources_of(target: MessageStatus) -> frozenset[MessageStatus]:
    """The statuses from which `target` may be reached; used to guard bulk UPDATEs."""
    return frozenset(s for s, nxt in MESSAGE_TRANSITIONS.items() if target in nxt)
