"""What the agent needs of the pigeon server, as a small Protocol, and its implementation
on `pigeon.client`. The agent's tests put a real server behind it; nothing here knows about
retries beyond one call: the agent decides when to try again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from pigeon.gateway.chatdb import ChatMessage
    from pigeon.gateway.journal import Pending


class Unreachable(Exception):
    """No answer, or one that says to try later (5xx, 429): keep what was to be sent."""


class Refused(Exception):
    """The server refused the request itself (a 4xx): trying again will not help. A 401
    means the device token was revoked or mistyped."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Claimed:
    id: str
    recipient: str
    body: str
    claim_token: str
    attempt: int
    handed_back: bool


@dataclass(frozen=True)
class Claim:
    messages: list[Claimed]
    lease_expires_at: datetime | None


@dataclass(frozen=True)
class ItemResult:
    message_id: str
    status: str | None  # the message's status now; None when refused
    error_status: int | None = None  # the refusal's HTTP status (404, 409)
    detail: str | None = None


class Server(Protocol):
    async def claim(self, *, limit: int, wait: float) -> Claim: ...

    async def report(self, reports: Sequence[Pending]) -> list[ItemResult]: ...

    async def release(self, claims: Sequence[tuple[str, str]]) -> list[ItemResult]: ...

    async def heartbeat(self) -> None: ...

    async def push_inbound(self, messages: Sequence[ChatMessage]) -> tuple[int, int]: ...

    async def aclose(self) -> None: ...
