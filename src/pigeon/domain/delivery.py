"""What a send attempt's outcome does to a message: pure rules, no I/O.

Used for device reports (pull channels) and for the sender worker (push channels) alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pigeon.domain.transitions import MessageStatus
from pigeon.errors import IllegalTransition, LeaseExpired, NotFound, StaleClaim

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
    # The holder does not know whether it went out (it crashed mid-send): never sent again.
    UNKNOWN = "unknown"
    # The holder hands the claim back unsent (it is stopping): another device takes it now.
    RELEASED = "released"


# Where a failure report still moves a message: its live claim, or a send it bounces.
FAILURE_MOVES = frozenset({M.CLAIMED, M.SENT, M.DELIVERED, M.READ})
# What a holder whose lease ran out may still report: the message went out, or may have.
REPORTS_AFTER_LEASE = frozenset({Outcome.SENT, Outcome.DELIVERED, Outcome.UNKNOWN})
WENT_OUT = frozenset({Outcome.SENT, Outcome.DELIVERED})
# A message may have gone out: whatever waits to be sent again stops (unknown).
MAY_HAVE_GONE_OUT_FROM = frozenset({M.CLAIMED, M.QUEUED, M.RELEASED})


def check_report(
    message: Message, *, holder: str, token: str, outcome: Outcome, now: datetime
) -> None:
    """Refuse a report unless it comes from the message's current claim, and, once that
    claim's lease ran out without a report, unless it says the message went out.

    A message that neither was claimed by `holder` nor is pinned to it is none of its
    business: not found, whatever its state, so a device learns nothing of others' work.

    The token of the latest claim stays on the message after its lease ends (through a
    requeue, a new release, `unknown`): a late `sent` from that holder is then recorded, as
    it prevents a second send, but a late failure cannot requeue or otherwise steer the
    message. A new claim replaces the token, and every report under the old one is refused.
    """
    if holder not in (message.claimed_by, message.device_id):
        raise NotFound(f"no message {message.id} in this workspace")
    if message.claim_token is None:
        raise StaleClaim("this message has not been claimed: only a claimed message is reported")
    if message.claimed_by != holder:
        raise StaleClaim("this message is claimed by another device")
    if token != message.claim_token:
        raise StaleClaim(
            "this claim token is not the message's current claim: "
            "the message was claimed again, or the token is wrong"
        )
    if message.status is M.FAILED and message.lease_expires_at is None and outcome in WENT_OUT:
        # Failed by a report under this claim (a lease that ran out leaves its expiry):
        # the holder said it did not, or will not, go out, and that is final.
        raise IllegalTransition(
            f"a failed message cannot become {outcome}: its failure was reported under "
            "this claim, and that report is final"
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
    if outcome is Outcome.UNKNOWN:
        if message.status not in MAY_HAVE_GONE_OUT_FROM:
            return Decision(message.status)  # settled, or unknown already
        text = (error or "the device does not know whether it went out")[:MAX_ERROR_CHARS]
        return Decision(M.UNKNOWN, {"last_error": text, "lease_expires_at": None})
    if outcome is Outcome.RELEASED:
        if message.status is not M.CLAIMED:
            return Decision(message.status)  # released already, or settled since
        values = {"lease_expires_at": None, "attempts": max(message.attempts - 1, 0)}
        if message.device_assigned:  # the gate's choice, not a pin: any device may take it
            values.update(device_id=None, device_assigned=False)
        return Decision(M.RELEASED, values)
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
