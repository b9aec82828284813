"""Server-sent events: live message changes for one workspace, with periodic pings.

A stream belongs to the key that opened it: it ends when that key is revoked (the bus says
so at once; each ping re-checks the key in the database, in case the bus missed it).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from anyio import to_thread

from pigeon.errors import AuthError, PigeonError
from pigeon.services import auth
from pigeon.services.admin import CREDENTIALS
from pigeon.services.context import Principal, Services

Shape = Callable[[dict[str, Any]], dict[str, Any]]
MESSAGES = "messages"


def frame(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


async def message_stream(
    svc: Services,
    who: Principal,
    *,
    shape: Shape,
    closing: asyncio.Event | None = None,
) -> AsyncIterator[str]:
    """Yield `event: message` frames for the workspace of `who` and an `event: ping` when
    idle, until `closing` is set (the server is shutting down; an EventSource reconnects by
    itself) or the key is revoked (then an `event: revoked` frame, and the stream ends)."""
    closing = closing or asyncio.Event()
    subscription = svc.bus.subscribe(MESSAGES, CREDENTIALS)
    closed = asyncio.ensure_future(closing.wait())
    try:
        yield frame("ping", {})  # lets the client know the stream is open
        while not closing.is_set():
            getting = asyncio.ensure_future(subscription.get(svc.settings.sse_ping_seconds))
            await asyncio.wait({getting, closed}, return_when=asyncio.FIRST_COMPLETED)
            if not getting.done():
                getting.cancel()
                return
            note = getting.result()
            if note is None:
                if not await _still_valid(svc, who):
                    yield frame("revoked", {})
                    return
                yield frame("ping", {})
                continue
            topic, payload = note
            if topic == CREDENTIALS:
                if who.key_id is not None and payload.get("revoked_key") == who.key_id:
                    yield frame("revoked", {})
                    return
            elif payload.get("workspace_id") == who.workspace_id:
                yield frame("message", shape(payload))
    finally:
        closed.cancel()
        svc.bus.unsubscribe(subscription)


async def _still_valid(svc: Services, who: Principal) -> bool:
    try:
        await to_thread.run_sync(auth.check_still_valid, svc, who)
    except AuthError:
        return False
    except PigeonError:
        return True  # the database cannot tell now; the next ping asks again
    return True
