"""What the agent asks of a driver: send one message, say what happened."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class SendOutcome(StrEnum):
    SENT = "sent"  # handed to the network (Messages.app accepted it)
    FAILED = "failed"  # did not go out and may succeed later: the server retries it
    REJECTED = "rejected"  # did not go out and never will (an unknown buddy): no retry
    UNKNOWN = "unknown"  # it may have gone out (a timeout mid-send): never sent again


@dataclass(frozen=True)
class Outgoing:
    """One claimed message, as the driver needs it."""

    id: str
    recipient: str  # E.164 phone number or email address
    body: str
    attempt: int = 1


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    error: str | None = None
    service: str | None = None  # the service it went out on ("iMessage", "SMS"), if known


class Driver(Protocol):
    """Sends one message. Called from one thread at a time; may block (up to its own
    timeout). Must not raise for a failed send: it answers with the outcome instead."""

    name: str

    def send(self, message: Outgoing) -> SendResult: ...
