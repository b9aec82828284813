"""What a send attempt's outcome does to a message: pure rules, no I/O.

Used for device reports (pull channels) and for the sender worker (push channels) alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pigeon.domain.transitions import MessageStatus
from pigeon.errors import LeaseExpired, StaleClaim

if TYPE_CHECKING:
    import random

    from pigeon.domain.backoff import Backoff
    from pigeon.domain.messages import Message

M = MessageStatus
MAX_ERROR_CHARS = 2000


class Outcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"  # worth retrying, while attempts remain
    REJECTED = "rejected"  # the provider refused for good: no retry
    DELIVERED = "delivered"
    READ = "read"


# Where a failure report still moves a message: its live claim, or a send it bounces.
FAILURE_MOVES = frozenset({M.CLAIMED, M.SENT, M.DELIVERED, M.READ})
# What a holder whose lease ran out may still report: the message went out.
REPORTS_AFTER_LEASE = frozenset({Outcome.SENT, Outcome.DELIVERED})


def check_report(
    message: Message, *, holder: str, token: str, outcome: Outcome, now: datetime
) -> None:
    """Refuse a report unless it comes from the message's current claim, and, once that
    claim's lease ran out without a report, unless it says the message went out.

    The token of the latest claim stays on the message after its lease ends (through a
    requeue, a new release, `unknown`): a late `sent` from that holder is then recorded, as
    it prevents a second send, but a late failure cannot requeue or otherwise steer the
    message. A new claim replaces the token, and every report under the old one is refused.
    """
    if message.claim_token is None:
        raise StaleClaim("this message has not been claimed: only a claimed message is reported")
    if message.claimed_by != holder:
        raise StaleClaim("this message is claimed by someone else")
    if token != message.claim_token:
        raise StaleClaim(
            "this claim token is not the message's current claim: "
            "the message was claimed again, or the token is wrong"
        )
    if outcome not in REPORTS_AFTER_LEASE and lease_ran_out(message, now):
        raise LeaseExpired(
            "the lease of this claim ran out before this report: only a report that the "
            f"message went out (sent or delivered) is still recorded; it is {message.status} now"
        )


def lease_ran_out(message: Message, now: datetime) -> bool:
    """Whether the current claim ended by its lease running out rather than by a report
    (a report clears `lease_expires_at`; the lease sweep leaves it)."""
    if message.lease_expires_at is None:
        return False
    return message.status is not M.CLAIMED or now >= message.lease_expires_at


@dataclass(frozen=True)
class Decision:
    target: MessageStatus
    values: dict[str, Any] = field(default_factory=dict)

    def changes(self, message: Message) -> bool:
        return self.target != message.status


def decide(
    message: Message,
    outcome: Outcome,
    *,
    error: str | None,
    now: datetime,
    backoff: Backoff,
    rng: random.Random | None = None,
) -> Decision:
    """The status and column values `outcome` leads to; the same status means a repeat."""
    if outcome is Outcome.SENT:
        if message.status in (M.SENT, M.DELIVERED, M.READ):
            return Decision(message.status)
        return Decision(M.SENT, {"sent_at": now, "lease_expires_at": None})
    if outcome is Outcome.DELIVERED:
        values: dict[str, Any] = {"lease_expires_at": None}
        if message.sent_at is None:
            values["sent_at"] = now
        return Decision(M.DELIVERED, values)
    if outcome is Outcome.READ:
        return Decision(M.READ)
    if message.status not in FAILURE_MOVES:
        # Neither a live claim nor a send to bounce: this claim's failure was recorded
        # already (check_report refused it if the lease ran out instead), and the message
        # has moved on since (retried, released again, given up): a repeat changes nothing.
        return Decision(message.status)
    text = (error or "failed without an error message")[:MAX_ERROR_CHARS]
    # A failure after the send (a bounce) is final: what went out is not sent again. The
    # state machine decides whether it may still be recorded (sent: yes; delivered: no).
    went_out = message.status in (M.SENT, M.DELIVERED, M.READ)
    if outcome is Outcome.FAILED and not went_out and backoff.should_retry(message.attempts):
        delay = timedelta(seconds=backoff.delay(message.attempts, rng))
        return Decision(
            M.QUEUED, {"scheduled_for": now + delay, "last_error": text, "lease_expires_at": None}
        )
    return Decision(M.FAILED, {"last_error": text, "lease_expires_at": None})
