"""Server-sent events: live message changes for one workspace, with periodic pings."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from pigeon.bus.protocols import EventBus

Shape = Callable[[dict[str, Any]], dict[str, Any]]


def frame(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


async def message_stream(
    bus: EventBus,
    workspace_id: str,
    *,
    ping_seconds: float,
    shape: Shape,
    closing: asyncio.Event | None = None,
) -> AsyncIterator[str]:
    """Yield `event: message` frames for `workspace_id` and an `event: ping` when idle, until
    `closing` is set (the server is shutting down; an EventSource reconnects by itself)."""
    closing = closing or asyncio.Event()
    subscription = bus.subscribe("messages")
    closed = asyncio.ensure_future(closing.wait())
    try:
        yield frame("ping", {})  # lets the client know the stream is open
        while not closing.is_set():
            getting = asyncio.ensure_future(subscription.get(ping_seconds))
            await asyncio.wait({getting, closed}, return_when=asyncio.FIRST_COMPLETED)
            if not getting.done():
                getting.cancel()
                return
            note = getting.result()
            if note is None:
                yield frame("ping", {})
                continue
            _topic, payload = note
            if payload.get("workspace_id") == workspace_id:
                yield frame("message", shape(payload))
    finally:
        closed.cancel()
        bus.unsubscribe(subscription)
