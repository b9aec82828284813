"""The agent's `Server`, on pigeon.client's AsyncClient: the client's answers and errors
turned into what the agent decides on (Unreachable: keep it and try again; Refused: the
server will not take it)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pigeon.client import (
    APIError,
    AsyncClient,
    ConnectionFailed,
    Received,
    Release,
    Report,
    RetryPolicy,
    Unavailable,
)
from pigeon.gateway.server import Claim, Claimed, ItemResult, Refused, Unreachable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Sequence

    from pigeon.gateway.chatdb import ChatMessage
    from pigeon.gateway.journal import Pending

log = logging.getLogger("pigeon.gateway")

SERVICES = ("iMessage", "SMS")  # what the server records; others (RCS) go without one


class ClientServer:
    def __init__(self, url: str, token: str, *, poll_seconds: float, retries: int = 1) -> None:
        # One quick retry inside a call; the agent's own backoff does the rest, so that a
        # stop is never stuck behind the client's retries.
        self.client = AsyncClient(
            url, token, timeout=30.0, retries=RetryPolicy(retries=retries, max_backoff=2.0)
        )
        self.poll_seconds = poll_seconds

    async def claim(self, *, limit: int, wait: float) -> Claim:
        answer = await _call(self.client.gateway.claim(limit=limit, wait=wait))
        expires = answer["lease_expires_at"]
        return Claim(
            [
                Claimed(
                    m["id"],
                    m["recipient"],
                    m["body"],
                    m["claim_token"],
                    m["attempt"],
                    m["handed_back"],
                )
                for m in answer["messages"]
            ],
            datetime.fromisoformat(expires) if expires else None,
        )

    async def report(self, reports: Sequence[Pending]) -> list[ItemResult]:
        items = [
            Report(r.message_id, r.claim_token, r.status, r.error)  # type: ignore[arg-type]
            for r in reports
        ]
        return _items(await _call(self.client.gateway.report(items)))

    async def release(self, claims: Sequence[tuple[str, str]]) -> list[ItemResult]:
        items = [Release(message_id, token) for message_id, token in claims]
        return _items(await _call(self.client.gateway.release(items)))

    async def heartbeat(self) -> None:
        await _call(self.client.gateway.heartbeat())

    async def push_inbound(self, messages: Sequence[ChatMessage]) -> tuple[int, int]:
        items = [
            Received(
                m.guid,
                m.sender,
                m.text,
                m.at,
                m.service if m.service in SERVICES else None,  # type: ignore[arg-type]
            )
            for m in messages
            if m.sender  # a message with no sender's handle cannot be answered or stored
        ]
        if not items:
            return 0, 0
        answer = await _call(self.client.gateway.inbound(items))
        return answer["accepted"], answer["duplicates"]

    async def aclose(self) -> None:
        await self.client.aclose()


async def _call(call: Awaitable[Any]) -> Any:
    try:
        return await call
    except (ConnectionFailed, Unavailable) as error:
        raise Unreachable(str(error)) from None
    except APIError as error:
        if error.status >= 500:
            raise Unreachable(str(error)) from None
        raise Refused(error.status, error.detail) from None


def _items(results: Sequence[Any]) -> list[ItemResult]:
    return [
        ItemResult(r.message_id, r.status)
        if r.error is None
        else ItemResult(r.message_id, None, r.error.status, r.error.detail)
        for r in results
    ]
