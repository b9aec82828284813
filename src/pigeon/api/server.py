"""Serving the app over HTTP: uvicorn on uvloop, with timeouts for slow clients and a
shutdown that ends long-lived responses first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pigeon.api.app import create_app

if TYPE_CHECKING:
    from pigeon.services.context import Services

SHUTDOWN_GRACE_SECONDS = 10


def _timeout_response() -> bytes:
    text = b"the request headers did not arrive in time"
    head = (
        b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"connection: close\r\ncontent-length: " + str(len(text)).encode() + b"\r\n\r\n"
    )
    return head + text


def header_timeout_protocol(seconds: float) -> type[HttpToolsProtocol]:
    """uvicorn's protocol, with a deadline for each request's headers: a client that opens a
    connection and sends its headers a byte at a time (or never) is answered 408 and cut off
    instead of holding a connection for ever. (Bodies have their own deadline: api/intake.)"""

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(seconds, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.write(_timeout_response())
                self.transport.close()

    return HeaderTimeoutProtocol


class _Server(uvicorn.Server):
    """Tells the app that shutdown began, before waiting for open responses: event streams
    and waiting claims end then, instead of holding SIGTERM up indefinitely."""

    def __init__(self, config: uvicorn.Config, *, closing: asyncio.Event) -> None:
        super().__init__(config)
        self._closing = closing

    async def shutdown(self, sockets: list[Any] | None = None) -> None:
        self._closing.set()
        await super().shutdown(sockets=sockets)


def serve(
    services: Services,
    *,
    host: str,
    port: int,
    run_workers: bool,
    announce: Callable[[str], None],
) -> None:
    """Serve until SIGINT or SIGTERM; `announce` gets the URL once the socket listens."""
    app = create_app(services, run_workers=run_workers)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        http=header_timeout_protocol(services.settings.header_timeout_seconds),
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,  # a backstop; see _Server
    )
    server = _Server(config, closing=app.state.closing)

    async def announce_then_serve() -> None:
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        if server.started:
            bound = server.servers[0].sockets[0].getsockname()
            announce(f"http://{bound[0]}:{bound[1]}")
        await serving

    run(announce_then_serve())


def run(main: Any) -> None:
    """Run a coroutine on uvloop when it is installed (uvicorn[standard] brings it)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)
