"""Server-sent events: live message changes for one workspace, with periodic pings."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from pigeon.bus.protocols import EventBus

Shape = Callable[[dict[str, Any]], dict[str, Any]]


def frame(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


async def message_stream(
    bus: EventBus, workspace_id: str, *, ping_seconds: float, shape: Shape
) -> AsyncIterator[str]:
    """Yield `event: message` frames for `workspace_id` and an `event: ping` when idle."""
    subscription = bus.subscribe("messages")
    try:
        yield frame("ping", {})  # lets the client know the stream is open
        while True:
            note = await subscription.get(ping_seconds)
            if note is None:
                yield frame("ping", {})
                continue
            _topic, payload = note
            if payload.get("workspace_id") == workspace_id:
                yield frame("message", shape(payload))
    finally:
        bus.unsubscribe(subscription)
