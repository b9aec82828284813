"""Every state machine of pigeon, as data, and the functions that apply them.

Messages, jobs, outreach batches and their items, follow-up tasks: each machine is a mapping
from a status to the statuses it may move to. The store consults `check` (messages) or
`Machine.check` (the others) before it writes a status, and a claim or settle statement takes
its `from` statuses from `sources_of`, so an illegal move cannot reach the database whatever
path asked for it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Generic, TypeVar

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
    # claimed -> queued is a retry after a failed attempt or an expired lease (channel policy);
    # claimed -> released, a claim its holder hands back unsent.
    M.CLAIMED: frozenset({M.SENT, M.DELIVERED, M.FAILED, M.QUEUED, M.UNKNOWN, M.RELEASED}),
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
# because the send happened and a second one would duplicate it; or that it may have gone
# out (unknown), which stops a second send while it waits. No other path takes these.
WENT_OUT_LATE = frozenset({M.SENT, M.DELIVERED})
LATE_REPORT_TRANSITIONS: Mapping[MessageStatus, frozenset[MessageStatus]] = {
    M.QUEUED: WENT_OUT_LATE | {M.UNKNOWN},
    M.RELEASED: WENT_OUT_LATE | {M.UNKNOWN},
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


S = TypeVar("S", bound=StrEnum)


class Machine(Generic[S]):
    """A state machine over the statuses `S`: which moves are legal, and from where."""

    def __init__(self, name: str, moves: Mapping[S, frozenset[S]]) -> None:
        self.name = name
        self.moves = moves
        self.terminal = frozenset(s for s, nxt in moves.items() if not nxt)

    def can_move(self, current: S, target: S) -> bool:
        return target in self.moves[current]

    def check(self, current: S, target: S) -> None:
        if not self.can_move(current, target):
            raise IllegalTransition(f"a {current} {self.name} cannot become {target}")

    def sources_of(self, target: S) -> frozenset[S]:
        return frozenset(s for s, nxt in self.moves.items() if target in nxt)


class JobStatus(StrEnum):
    READY = "ready"
    CLAIMED = "claimed"
    DONE = "done"
    SKIPPED = "skipped"  # its source is gone: acked, never retried
    DEAD = "dead"


J = JobStatus

JOBS: Machine[JobStatus] = Machine(
    "job",
    {
        # ready -> ready: a re-enqueue moves its run-at; never a status write on its own.
        J.READY: frozenset({J.CLAIMED}),
        # claimed -> ready: a retry, a lease run out or a release at shutdown.
        J.CLAIMED: frozenset({J.DONE, J.SKIPPED, J.READY, J.DEAD}),
        J.DONE: frozenset(),
        J.SKIPPED: frozenset(),
        # dead -> ready: a re-drive.
        J.DEAD: frozenset({J.READY}),
    },
)


class BatchStatus(StrEnum):
    DRAFT = "draft"
    SENDING = "sending"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELED = "canceled"


B = BatchStatus

BATCHES: Machine[BatchStatus] = Machine(
    "batch",
    {
        B.DRAFT: frozenset({B.SENDING, B.CANCELED}),
        B.SENDING: frozenset({B.PAUSED, B.COMPLETED, B.CANCELED}),
        # paused -> completed: its last claimed messages reported after the pause.
        B.PAUSED: frozenset({B.SENDING, B.COMPLETED, B.CANCELED}),
        B.COMPLETED: frozenset(),
        B.CANCELED: frozenset(),
    },
)


class ItemStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # with a reason: no primary handle, opted out


I = ItemStatus  # noqa: E741

ITEMS: Machine[ItemStatus] = Machine(
    "batch item",
    {
        I.PENDING: frozenset({I.QUEUED, I.SKIPPED}),
        I.QUEUED: frozenset({I.SENT, I.FAILED, I.SKIPPED}),
        I.SENT: frozenset(),
        I.FAILED: frozenset(),
        I.SKIPPED: frozenset(),
    },
)


class TaskStatus(StrEnum):
    AWAITING_CLARIFICATION = "awaiting_clarification"
    PENDING = "pending"
    DUE = "due"
    EXECUTING = "executing"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"
    CANCELED = "canceled"


T = TaskStatus

TASKS: Machine[TaskStatus] = Machine(
    "task",
    {
        T.AWAITING_CLARIFICATION: frozenset({T.PENDING, T.CANCELED}),
        T.PENDING: frozenset({T.DUE, T.CANCELED, T.AWAITING_CLARIFICATION}),
        T.DUE: frozenset({T.EXECUTING, T.CANCELED}),
        T.EXECUTING: frozenset({T.SENDING, T.DONE, T.FAILED, T.DUE}),
        T.SENDING: frozenset({T.DONE, T.FAILED}),
        T.DONE: frozenset(),
        T.FAILED: frozenset({T.DUE}),
        T.CANCELED: frozenset(),
    },
)
