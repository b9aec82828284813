"""The ASGI application: /v1, the seed-compatible routes, OpenAPI at /docs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from pigeon import __version__
from pigeon.api import errors
from pigeon.api.compat import seed000, seed002
from pigeon.api.limits import BodyLimit
from pigeon.api.v1 import accounts, gateway, messages
from pigeon.bootstrap import Container
from pigeon.services import health
from pigeon.workers import supervisor


def create_app(container: Container, *, run_workers: bool = True) -> FastAPI:
    """`run_workers` runs the scheduler in this process: `pigeon serve` without
    `--no-workers`, for one person on SQLite.

    `app.state.closing` is set when the server starts shutting down: event streams and
    waiting claims end then, so their connections close and the shutdown can proceed (a
    server waits for open responses before it runs the lifespan's shutdown).
    """
    closing = asyncio.Event()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await container.bus.start()
        stop = asyncio.Event()
        workers = (
            asyncio.create_task(supervisor.run_workers(container, stop)) if run_workers else None
        )
        try:
            yield
        finally:
            closing.set()
            stop.set()
            if workers is not None:
                await workers
            await container.bus.stop()

    app = FastAPI(
        title="pigeon",
        version=__version__,
        description="Reliable outbound messaging, outreach and follow-ups.",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, max_bytes=container.settings.max_request_bytes)
    app.state.container = container
    app.state.closing = closing
    errors.install(app)
    for router in (
        accounts.router,
        messages.router,
        gateway.router,
        seed002.router,
        seed000.router,
    ):
        app.include_router(router)

    @app.get("/v1/health", tags=["health"])
    def v1_health() -> JSONResponse:
        report: dict[str, Any] = health.check(container.services)
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    return app
