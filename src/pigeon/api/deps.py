"""Request dependencies: the services, and who is calling.

Routes say which credential they need with one of the annotations below. `PigeonRoute`
checks it BEFORE the request body is read (services/auth.py explains the two checks), then
reads the body within the limits of time, size and batch items; the dependency itself only
hands over what was found.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from anyio import to_thread
from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute

from pigeon.api.intake import ItemCounter, read_body
from pigeon.api.turns import WriteTurns
from pigeon.domain.accounts import Device, Scope
from pigeon.services import auth
from pigeon.services.context import Principal, Services
from pigeon.services.waiters import Waiters

CREDENTIAL = "pigeon.credential"  # where the route puts what it verified, in the ASGI scope


def services(request: Request) -> Services:
    built: Services = request.app.state.services
    return built


async def _services(request: Request) -> Services:
    return services(request)  # async: FastAPI runs a plain def dependency in a thread


def waiters(request: Request) -> Waiters:
    found: Waiters = request.app.state.waiters
    return found


def closing(request: Request) -> asyncio.Event:
    """Set once the server is shutting down; long-lived responses end when it is."""
    event: asyncio.Event = request.app.state.closing
    return event


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


class Credential:
    """A credential a route requires, as a FastAPI dependency.

    `check` runs before the body is read: from the cache of verified secrets on the event
    loop, or, on a miss, with one read in a worker thread.
    """

    def __init__(self, kind: str, scope: Scope | None = None, *, query_token: bool = False):
        self.kind = kind
        self.scope = scope
        self.query_token = query_token  # EventSource cannot send headers

    async def __call__(self, request: Request) -> Any:
        if CREDENTIAL not in request.scope:
            await self.check(request)  # a route built without PigeonRoute
        return request.scope[CREDENTIAL]

    async def check(self, request: Request) -> None:
        svc = services(request)
        token = bearer(request)
        if token is None and self.query_token:
            token = request.query_params.get("access_token")
        found = self._cached(svc, token)
        if found is None:
            found = await to_thread.run_sync(self._verify, svc, token)
        request.scope[CREDENTIAL] = found

    def _cached(self, svc: Services, token: str | None) -> Any:
        if self.kind == "key" and self.scope is not None:
            return auth.cached_api_key(svc, token, self.scope)
        if self.kind == "device":
            return auth.cached_device(svc, token)
        return None

    def _verify(self, svc: Services, token: str | None) -> Any:
        if self.kind == "key" and self.scope is not None:
            return auth.api_key(svc, token, self.scope)
        if self.kind == "device":
            return auth.device(svc, token)
        return auth.operator(svc, token)


# The item limits of batch bodies, counted while they stream in: (route path, key, limit).
BATCH_LIMITS: dict[str, tuple[str, int]] = {}
# Routes that wait for work before they write (long-polls): they take a write turn for each
# write themselves (api/turns.py), not for the whole wait.
WAITING_ROUTES: set[str] = set()
# GET routes that write (seed 000's pending claims): they take a write turn like a POST.
WRITING_GETS: set[str] = set()
# POST routes that only read (an extraction): they take no write turn.
READING_POSTS: set[str] = set()


def write_turns(request: Request) -> WriteTurns | None:
    turns: WriteTurns | None = request.app.state.write_turns
    return turns


class PigeonRoute(APIRoute):
    """Authenticates before the body is read, then reads it within bounds."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        credentials = [
            d.call for d in self.dependant.dependencies if isinstance(d.call, Credential)
        ]
        batch = BATCH_LIMITS.get(self.path_format)
        waits = self.path_format in WAITING_ROUTES
        writes_on_get = self.path_format in WRITING_GETS
        only_reads = self.path_format in READING_POSTS

        async def bounded(request: Request) -> Response:
            for credential in credentials:
                await credential.check(request)
            reads = request.method in ("GET", "HEAD")
            if reads and not writes_on_get:
                return await handler(request)
            if not reads:
                settings = services(request).settings
                counter = ItemCounter(*batch) if batch else None
                request._body = await read_body(
                    request.receive,
                    max_bytes=settings.max_request_bytes,
                    timeout=settings.body_timeout_seconds,
                    counter=counter,
                )
            turns = write_turns(request)
            if turns is None or waits or only_reads:
                return await handler(request)
            async with turns.turn():
                return await handler(request)

        return bounded


Svc = Annotated[Services, Depends(_services)]
Admin = Annotated[Principal, Depends(Credential("key", Scope.ADMIN))]
Sender = Annotated[Principal, Depends(Credential("key", Scope.SEND))]
Reader = Annotated[Principal, Depends(Credential("key", Scope.READ))]
DeviceAuth = Annotated[Device, Depends(Credential("device"))]
Operator = Annotated[str, Depends(Credential("operator"))]
StreamReader = Annotated[Principal, Depends(Credential("key", Scope.READ, query_token=True))]
