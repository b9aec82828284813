"""Helpers shared by the `test_api_*` modules; this module holds no tests.

It is named like a test module only because the API test files are the paths these tests own;
pytest collects it and finds nothing to run.

`InProcessClient` drives the ASGI app over `httpx.ASGITransport` with the app's lifespan
running, as `fastapi.testclient.TestClient` would (which Starlette now deprecates for httpx):
an event loop runs in a thread (an anyio blocking portal), the lifespan and the client live on
it, and each call blocks until its response is complete. Calls from several threads run
concurrently on that loop, which is what the long-poll tests need.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import sqlalchemy as sa
from anyio.from_thread import BlockingPortal, start_blocking_portal

from pigeon import bootstrap
from pigeon.api.app import create_app
from pigeon.bus.memory import MemoryBus
from pigeon.clock import SystemClock
from pigeon.config import Settings
from pigeon.services.context import Services
from pigeon.store.tables import metadata

if TYPE_CHECKING:
    from fastapi import FastAPI


OPERATOR_TOKEN = "operator-token-for-tests-0123456789"
PHONE = "+14155550100"
PHONE_2 = "+14155550101"

T = TypeVar("T")


class InProcessClient:
    """A synchronous HTTP client for an app whose lifespan runs on a loop in a thread."""

    def __init__(self, app: FastAPI, portal: BlockingPortal, client: httpx.AsyncClient) -> None:
        self.app = app
        self.portal = portal
        self._client = client

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.portal.call(lambda: self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def run(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run a coroutine function on the app's event loop."""
        return self.portal.call(fn)

    async def apost(self, url: str, **kwargs: Any) -> httpx.Response:
        """POST from a coroutine already running on the app's loop (see `run`)."""
        return await self._client.request("POST", url, **kwargs)


@contextlib.contextmanager
def serve_in_process(
    container: Services, *, run_workers: bool = False
) -> Iterator[InProcessClient]:
    app = create_app(container, run_workers=run_workers)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    with start_blocking_portal() as portal:
        client = httpx.AsyncClient(transport=transport, base_url="http://pigeon.test")
        with (
            portal.wrap_async_context_manager(app.router.lifespan_context(app)),
            portal.wrap_async_context_manager(client),
        ):
            yield InProcessClient(app, portal, client)


@contextlib.contextmanager
def serve_live(settings: Settings) -> Iterator[InProcessClient]:
    """The app as `pigeon serve` runs it: the system clock, and its workers running."""
    container = bootstrap.build(settings, clock=SystemClock(), bus=MemoryBus(), pool_size=4)
    try:
        with serve_in_process(container, run_workers=True) as client:
            yield client
    finally:
        container.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Tenant:
    """A workspace as its API clients see it."""

    id: str
    admin_key: str

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.admin_key)


def new_tenant(api: InProcessClient, name: str = "acme") -> Tenant:
    response = api.post("/v1/workspaces", json={"name": name}, headers=bearer(OPERATOR_TOKEN))
    assert response.status_code == 201, response.text
    body = response.json()
    return Tenant(body["id"], body["api_key"])


def new_key(api: InProcessClient, tenant: Tenant, *scopes: str) -> str:
    response = api.post(
        "/v1/keys", json={"name": "-".join(scopes), "scopes": list(scopes)}, headers=tenant.auth
    )
    assert response.status_code == 201, response.text
    secret: str = response.json()["key"]
    return secret


@dataclass(frozen=True)
class NewDevice:
    id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.token)


def new_device(api: InProcessClient, tenant: Tenant, name: str = "mac") -> NewDevice:
    response = api.post("/v1/devices", json={"name": name}, headers=tenant.auth)
    assert response.status_code == 201, response.text
    body = response.json()
    return NewDevice(body["id"], body["token"])


def new_message(api: InProcessClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    payload = {"recipient": PHONE, "body": "hello", **fields}
    response = api.post("/v1/messages", json=payload, headers=tenant.auth)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def row_counts(container: Services) -> dict[str, int]:
    """Rows per table: equal before and after a refused request means nothing was written."""
    with container.db.transaction(readonly=True) as uow:
        return {
            table.name: uow.conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }


def problem_fields(response: httpx.Response) -> list[str]:
    """The field names of a /v1 problem+json body."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return [item["field"] for item in response.json().get("errors", [])]


# Server-sent events ---------------------------------------------------------------------


@dataclass
class Stream:
    status: int
    headers: dict[str, str]
    events: list[tuple[str, Any]]  # (event name, decoded data)


async def read_stream(
    app: FastAPI,
    path: str,
    act: Callable[[], Awaitable[object]],
    *,
    until: Callable[[tuple[str, Any]], bool],
    timeout: float = 5.0,
) -> Stream:
    """Open an event stream on the ASGI app itself (httpx's ASGI transport waits for the whole
    body, which a stream never finishes), wait for its first frame, run `act`, then collect
    frames until `until(frame)` holds; then disconnect like a browser closing the tab.

    Call it on the app's loop, through `InProcessClient.run`.
    """
    raw_path, _, query = path.partition("?")
    messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    closed = asyncio.Event()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await closed.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        await messages.put(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"pigeon.test"), (b"accept", b"text/event-stream")],
        "client": ("127.0.0.1", 50000),
        "server": ("pigeon.test", 80),
        "state": {},
    }
    task = asyncio.create_task(app(scope, receive, send))  # type: ignore[arg-type]
    stream = Stream(0, {}, [])
    buffer = ""
    acted = False
    try:
        async with asyncio.timeout(timeout):
            start = await messages.get()
            stream.status = start["status"]
            stream.headers = {k.decode(): v.decode() for k, v in start["headers"]}
            while True:
                message = await messages.get()
                buffer += message.get("body", b"").decode()
                while "\n\n" in buffer:
                    frame, buffer = buffer.split("\n\n", 1)
                    fields = dict(line.split(": ", 1) for line in frame.splitlines())
                    event = (fields.get("event", "message"), json.loads(fields.get("data", "null")))
                    stream.events.append(event)
                    if until(event):
                        return stream
                if not message.get("more_body", False):
                    return stream
                if not acted:
                    acted = True
                    await act()
    finally:
        closed.set()
        try:
            async with asyncio.timeout(timeout):
                await task
        except TimeoutError:
            task.cancel()
