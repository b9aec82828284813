"""Reading a request body within bounds: time, bytes, and items of a batch.

A batch over its item limit is refused as its bytes arrive, not after the whole body has
been parsed: parsing 16 MB of tiny items took hundreds of megabytes before the limit was
even looked at.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException

from pigeon.errors import ValidationError

if TYPE_CHECKING:
    from starlette.types import Receive

_STRUCTURE = re.compile(rb'["\[\]{},:]')
_IN_STRING = re.compile(rb'["\\]')
MAX_NESTING = 64


class ItemCounter:
    """Counts the elements of the array under one top-level key while JSON streams in, and
    refuses the body once they pass `limit`. It tracks only strings and nesting, so it never
    builds a value; malformed JSON is left for the parser to name."""

    def __init__(self, key: str, limit: int) -> None:
        self._key = key
        self._limit = limit
        self._depth = 0
        self._in_string = False
        self._escaped = False
        self._string = bytearray()  # the current string at depth 1: a key, maybe ours
        self._last_key: str | None = None
        self._in_items = False
        self._items = 0
        self._empty = True

    @property
    def items(self) -> int:
        return self._items + (0 if self._empty else 1)

    def feed(self, chunk: bytes) -> None:
        position = 0
        while position < len(chunk):
            if self._in_string:
                position = self._scan_string(chunk, position)
                continue
            match = _STRUCTURE.search(chunk, position)
            if match is None:
                self._note_value(chunk[position:])
                return
            self._note_value(chunk[position : match.start()])
            self._structural(match.group(), chunk, match.start())
            position = match.end()

    def _scan_string(self, chunk: bytes, position: int) -> int:
        while position < len(chunk):
            if self._escaped:  # the byte after a backslash, kept for _decoded
                self._escaped = False
                if self._depth == 1:
                    self._string += chunk[position : position + 1]
                position += 1
                continue
            match = _IN_STRING.search(chunk, position)
            end = len(chunk) if match is None else match.start()
            if self._depth == 1:
                self._string += chunk[position:end]
            if match is None:
                return len(chunk)
            if match.group() == b"\\":
                self._escaped = True
                if self._depth == 1:
                    self._string += b"\\"
                position = match.end()
                continue
            self._in_string = False
            if self._depth == 1:
                self._last_key = _decoded(bytes(self._string))
            return match.end()
        return position

    def _note_value(self, text: bytes) -> None:
        if self._in_items and self._depth == 2 and text.strip():
            self._empty = False

    def _structural(self, char: bytes, chunk: bytes, at: int) -> None:
        if char == b'"':
            self._in_string = True
            self._string = bytearray()
            if self._in_items and self._depth == 2:
                self._empty = False
        elif char in b"[{":
            if self._in_items and self._depth == 2:
                self._empty = False
            if char == b"[" and self._depth == 1 and self._last_key == self._key:
                self._in_items = True
            self._depth += 1
            if self._depth > MAX_NESTING:
                raise ValidationError.field(
                    "request_body", f"must not nest deeper than {MAX_NESTING} levels"
                )
        elif char in b"]}":
            self._depth -= 1
            if self._depth == 1 and self._in_items:
                self._in_items = False
        elif char == b"," and self._in_items and self._depth == 2:
            self._items += 1
            if self._items >= self._limit:  # this comma opens item number limit + 1
                raise ValidationError.field(
                    self._key,
                    f"at most {self._limit} items in one request",
                )


def _decoded(raw: bytes) -> str | None:
    """A JSON string's text, escapes resolved: `"it\\u0065ms"` names `items` too."""
    try:
        text = json.loads(b'"' + raw + b'"')
    except ValueError:
        return None
    return text if isinstance(text, str) else None


async def read_body(
    receive: Receive, *, max_bytes: int, timeout: float, counter: ItemCounter | None
) -> bytes:
    """The whole body, read chunk by chunk within `timeout` seconds in all."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):  # one timer for the whole body, not per chunk
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > max_bytes:
                    raise HTTPException(413, f"the request body is larger than {max_bytes} bytes")
                if counter is not None and chunk:
                    counter.feed(chunk)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise HTTPException(408, f"the request body did not arrive within {timeout:g} s") from None
    return b"".join(chunks)
