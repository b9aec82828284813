"""`Client`: the blocking client."""

from __future__ import annotations

import time
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
    from collections.abc import Callable, Iterator, Mapping
    from types import TracebackType
    from typing import Self

    from pigeon.client._endpoint import Sync
    from pigeon.client._transport import Call
    from pigeon.client.types import Page

P = ParamSpec("P")
T = TypeVar("T")


class Client:
    """A blocking client of pigeon's /v1 API.

        with Client("https://pigeon.example.org", token) as client:
            message = client.messages.create("+14155550100", "Hello!")

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
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._timeout = httpx.Timeout(timeout)
        self._retry = RetryPolicy.of(retries)
        self._http = httpx.Client(
            base_url=base_url,
            headers=default_headers(token, headers),
            timeout=self._timeout,
            transport=transport,
        )
        send = self._send
        self.workspaces: Workspaces[Sync] = Workspaces(send)
        self.keys: Keys[Sync] = Keys(send)
        self.devices: Devices[Sync] = Devices(send)
        self.channels: Channels[Sync] = Channels(send)
        self.audit: Audit[Sync] = Audit(send)
        self.messages: Messages[Sync] = Messages(send)
        self.recurrences: Recurrences[Sync] = Recurrences(send)
        self.contacts: Contacts[Sync] = Contacts(send)
        self.batches: Batches[Sync] = Batches(send)
        self.throttle: Throttle[Sync] = Throttle(send)
        self.opt_out: OptOut[Sync] = OptOut(send)
        self.inbound: Inbound[Sync] = Inbound(send)
        self.jobs: Jobs[Sync] = Jobs(send)
        self.dead_letters: DeadLetters[Sync] = DeadLetters(send)
        self.stats: StatsGroup[Sync] = StatsGroup(send)
        self.gateway: Gateway[Sync] = Gateway(send)
        extraction: ExtractGroup[Sync] = ExtractGroup(send)
        self.extract = extraction.extract  # client.extract(text, reference=, zone=, locale=)

    def paginate(
        self, list_page: Callable[P, Page[T]], *args: P.args, **kwargs: P.kwargs
    ) -> Iterator[T]:
        """Every item of a paged list, page after page:
        `for m in client.paginate(client.messages.list, status="failed"): ...`"""
        while True:
            page = list_page(*args, **kwargs)
            yield from page["items"]
            if page["next_cursor"] is None:
                return
            kwargs["cursor"] = page["next_cursor"]

    def _send(self, call: Call[T]) -> T:
        request = self._http.build_request(**request_arguments(call, self._timeout))
        attempt = 0
        while True:
            try:
                response = self._http.send(request)
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
            time.sleep(delay)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Client {self._http.base_url}>"
