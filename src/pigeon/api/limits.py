"""The request body limit: a larger body is refused (413) before it is read and parsed.

A declared Content-Length over the limit is answered at once; a body sent without one is
counted as it streams in and refused as soon as it passes the limit. The answer is in the
surface's own envelope (see errors.py), like every other error. (Starlette's own limit
answers in plain text, and replaces any answer to a request whose Content-Length is over it.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException

from pigeon.api.errors import render_error

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"the request body is larger than {self.max_bytes} bytes"
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = render_error(scope["path"], 413, detail)
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the route's body read; errors.py renders it.
                    raise HTTPException(413, detail)
            return message

        await self.app(scope, counted, send)
