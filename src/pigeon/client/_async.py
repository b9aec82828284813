"""`AsyncClient`: the asyncio client, `Client`'s twin."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import httpx

from pigeon.client._accounts import Audit, Channels, Devices, Keys, Workspaces
from pigeon.client._engine import DeadLetters, Inbound, Jobs, StatsGroup
from pigeon.client._extract import ExtractGroup
from pigeon.client._gateway import Gateway
from pigeon.client._messages import Messages, Recurrences
from pigeon.client._outreach import Batches, Contacts, OptOut, Throttle
from pigeon.client._transport import (
    RetryPolicy,
    connection_failed,
    default_headers,
    error_from_response,
    request_arguments,
    utcnow,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
    from types import TracebackType
    from typing import Self

    from pigeon.client._endpoint import Async
    from pigeon.client._transport import Call
    from pigeon.client.types import Page

P = ParamSpec("P")
T = TypeVar("T")


class AsyncClient:
    """An asyncio client of pigeon's /v1 API.

        async with AsyncClient("https://pigeon.example.org", token) as client:
            message = await client.messages.create("+14155550100", "Hello!")

    `token` is a workspace API key, or a device token for the `gateway` routes. `retries`
    is how many times a request is tried again when that is safe (or a `RetryPolicy`).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float | httpx.Timeout = 30.0,
        retries: int | RetryPolicy = 3,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._timeout = httpx.Timeout(timeout)
        self._retry = RetryPolicy.of(retries)
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers=default_headers(token, headers),
            timeout=self._timeout,
            transport=transport,
        )
        send = self._send
        self.workspaces: Workspaces[Async] = Workspaces(send)
        self.keys: Keys[Async] = Keys(send)
        self.devices: Devices[Async] = Devices(send)
        self.channels: Channels[Async] = Channels(send)
        self.audit: Audit[Async] = Audit(send)
        self.messages: Messages[Async] = Messages(send)
        self.recurrences: Recurrences[Async] = Recurrences(send)
        self.contacts: Contacts[Async] = Contacts(send)
        self.batches: Batches[Async] = Batches(send)
        self.throttle: Throttle[Async] = Throttle(send)
        self.opt_out: OptOut[Async] = OptOut(send)
        self.inbound: Inbound[Async] = Inbound(send)
        self.jobs: Jobs[Async] = Jobs(send)
        self.dead_letters: DeadLetters[Async] = DeadLetters(send)
        self.stats: StatsGroup[Async] = StatsGroup(send)
        self.gateway: Gateway[Async] = Gateway(send)
        extraction: ExtractGroup[Async] = ExtractGroup(send)
        self.extract = extraction.extract  # client.extract(text, reference=, zone=, locale=)

    async def paginate(
        self, list_page: Callable[P, Awaitable[Page[T]]], *args: P.args, **kwargs: P.kwargs
    ) -> AsyncIterator[T]:
        """Every item of a paged list, page after page:
        `async for m in client.paginate(client.messages.list, status="failed"): ...`"""
        while True:
            page = await list_page(*args, **kwargs)
            for item in page["items"]:
                yield item
            if page["next_cursor"] is None:
                return
            kwargs["cursor"] = page["next_cursor"]

    async def _send(self, call: Call[T]) -> T:
        request = self._http.build_request(**request_arguments(call, self._timeout))
        attempt = 0
        while True:
            try:
                response = await self._http.send(request)
            except httpx.TransportError as error:
                delay = self._retry.after_error(call, error, attempt)
                if delay is None:
                    raise connection_failed(call, error, attempt + 1) from error
            else:
                if response.is_success:
                    return call.parse(response)
                delay = self._retry.after_response(call, response, attempt, utcnow())
                if delay is None:
                    raise error_from_response(response, utcnow())
            attempt += 1
            await asyncio.sleep(delay)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<AsyncClient {self._http.base_url}>"
