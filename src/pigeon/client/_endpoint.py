"""Each endpoint is written once, for both clients.

An endpoint is a function that describes its request: it takes the method's arguments and
returns a `Call[T]`. A resource group lists its endpoints as class attributes:

    class Messages(Group[M]):
        get = endpoint(get_message)   # def get_message(message_id: str) -> Call[Message]

Read on a group of the sync client (`Messages[Sync]`), `get` is a method `(message_id: str)
-> Message`; on the async client's (`Messages[Async]`), `(message_id: str) ->
Awaitable[Message]`. The group's `send` runs the call (with retries), blocking or not.

Why not two classes of hand-written methods: both would repeat every signature, and the
copies would drift. Why not generate the sync code from the async (httpcore's unasync): a
build step and two files to review for each change. The descriptor keeps exact signatures
for type checkers and editors (ParamSpec), and `help()` shows the endpoint's docstring.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from pigeon.client._transport import Call

P = ParamSpec("P")
T = TypeVar("T")


class Sync:
    """The mode of `Client`'s groups: methods return their results."""


class Async:
    """The mode of `AsyncClient`'s groups: methods return awaitables."""


M = TypeVar("M", Sync, Async)


class Group(Generic[M]):
    """A resource's endpoints, bound to one client's way of sending."""

    def __init__(self, send: Callable[[Call[Any]], Any]) -> None:
        self._send = send

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class endpoint(Generic[P, T]):  # lower case: used like `property`
    def __init__(self, build: Callable[P, Call[T]]) -> None:
        self._build = build

    @overload
    def __get__(self, group: None, owner: type[Any]) -> endpoint[P, T]: ...

    @overload
    def __get__(self, group: Group[Sync], owner: type[Any]) -> Callable[P, T]: ...

    @overload
    def __get__(self, group: Group[Async], owner: type[Any]) -> Callable[P, Awaitable[T]]: ...

    def __get__(self, group: Group[Any] | None, owner: type[Any]) -> Any:
        if group is None:
            return self
        build, send = self._build, group._send

        @functools.wraps(build)
        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            # Built here, once per call: its Idempotency-Key then holds across retries.
            return send(build(*args, **kwargs))

        return method
