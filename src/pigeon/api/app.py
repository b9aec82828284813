"""The ASGI application: /v1, the seed-compatible routes, OpenAPI at /docs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from anyio import CapacityLimiter, to_thread
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from pigeon import __version__
from pigeon.api import errors, openapi, webhooks
from pigeon.api.compat import seed000, seed002
from pigeon.api.limits import BodyLimit
from pigeon.api.turns import WriteTurns
from pigeon.api.v1 import (
    accounts,
    batches,
    contacts,
    extract,
    gateway,
    inbound,
    jobs,
    messages,
    optout,
    recurrences,
    throttle,
)
from pigeon.services import health
from pigeon.services.context import Services
from pigeon.services.recent import forget_revoked
from pigeon.services.waiters import Waiters
from pigeon.workers import supervisor


def create_app(services: Services, *, run_workers: bool = True) -> FastAPI:
    """`run_workers` runs the scheduler in this process: `pigeon serve` without
    `--no-workers`, for one person on SQLite.

    `app.state.closing` is set when the server starts shutting down: event streams and
    waiting claims end then, so their connections close and the shutdown can proceed (a
    server waits for open responses before it runs the lifespan's shutdown).
    """
    closing = asyncio.Event()
    waiters = Waiters(services.bus, services.clock)
    # Health checks run on threads of their own: answered while every request thread
    # waits for a busy database.
    health_threads = CapacityLimiter(2)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.bus.start()
        await waiters.start()
        forgetting = asyncio.create_task(
            forget_revoked(services.bus, services.credentials), name="forget-revoked"
        )
        stop = asyncio.Event()
        workers = (
            asyncio.create_task(supervisor.run_workers(services, stop)) if run_workers else None
        )
        try:
            yield
        finally:
            closing.set()
            stop.set()
            if workers is not None:
                await workers
            forgetting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forgetting
            await waiters.stop()
            await services.bus.stop()

    app = FastAPI(
        title="pigeon",
        version=__version__,
        description="Reliable outbound messaging, outreach and follow-ups.",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, max_bytes=services.settings.max_request_bytes)
    app.state.services = services
    app.state.waiters = waiters
    app.state.write_turns = (
        WriteTurns(services.settings.sqlite_busy_seconds)
        if services.db.dialect == "sqlite"
        else None
    )
    app.state.closing = closing
    errors.install(app)
    openapi.install(app)
    for router in (
        accounts.router,
        messages.router,
        gateway.router,
        jobs.router,
        inbound.router,
        contacts.router,
        batches.router,
        throttle.router,
        recurrences.router,
        optout.router,
        extract.router,
        *webhooks.routers(),
        seed002.router,
        seed000.router,
    ):
        app.include_router(router)

    @app.get("/v1/health", tags=["health"], responses=openapi.HEALTH_RESPONSES)
    async def v1_health() -> JSONResponse:
        report: dict[str, Any] = await to_thread.run_sync(
            health.check, services, limiter=health_threads
        )
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    app.state.health_threads = health_threads
    return app
