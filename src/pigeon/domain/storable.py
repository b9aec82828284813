"""What both databases can store: the checks behind "bad input is a 4xx, never a 500".

Python strings may hold unpaired surrogates (JSON's "\\ud800" decodes to one), which no UTF-8
database accepts, and NUL characters, which PostgreSQL text cannot hold; Python's JSON
reader accepts NaN and Infinity, which are not JSON and which a response cannot carry.
"""

from __future__ import annotations

import json
from typing import Any


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if not _encodes(value):
        return "must be valid Unicode text (it holds an unpaired surrogate)"
    return None


MAX_JSON_DEPTH = 8


def json_problem(value: Any, *, max_bytes: int, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why `value` (parsed JSON) cannot be stored and sent back as JSON, or None.

    Free-form JSON is bounded in depth and size: a value nested hundreds deep is a few bytes
    to send but breaks every reader that walks it recursively (renderers, drivers).
    """
    if _deeper_than(value, max_depth):
        return f"must not nest deeper than {max_depth} levels"
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except ValueError:
        return "must not hold NaN or Infinity"
    except TypeError:
        return "must hold only JSON values"
    if not _encodes(text):
        return "must be valid Unicode text (it holds an unpaired surrogate)"
    if len(text.encode()) > max_bytes:
        return f"must be at most {max_bytes} bytes of JSON"
    return None


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest more than `limit` levels, found without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def cleaned(value: str, *, limit: int) -> str:
    """`value` cut to `limit` characters and made storable; for text that is recorded
    rather than refused, such as the error a device reports with a failed send."""
    value = value.replace("\x00", "")[:limit]
    if _encodes(value):
        return value
    return value.encode("utf-8", "replace").decode("utf-8")


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
