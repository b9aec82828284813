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


def json_problem(value: Any) -> str | None:
    """Why `value` (parsed JSON) cannot be stored and sent back as JSON, or None."""
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except ValueError:
        return "must not hold NaN or Infinity"
    except TypeError:
        return "must hold only JSON values"
    if not _encodes(text):
        return "must be valid Unicode text (it holds an unpaired surrogate)"
    return None


def cleaned(value: str, *, limit: int) -> str:
    """`value` cut to `limit` characters and made storable; for text that is recorded
    rather than refused, such as the error a device reports with a failed send."""
    value = value[:limit].replace("\x00", "")
    if _encodes(value):
        return value
    return value.encode("utf-8", "replace").decode("utf-8")


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
