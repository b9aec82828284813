"""A typed Python client for pigeon's /v1 API, blocking (`Client`) and asyncio
(`AsyncClient`), on httpx.

    from pigeon.client import Client

    with Client("https://pigeon.example.org", "pgn_...") as client:
        message = client.messages.create("+14155550100", "Hello!")

It imports nothing of the server (only the standard library and httpx): `pip install pigeon`
brings it without the server's dependencies. See docs/client.md.
"""

from __future__ import annotations

from pigeon.client._async import AsyncClient
from pigeon.client._errors import (
    APIError,
    Conflict,
    ConnectionFailed,
    FieldError,
    Forbidden,
    NotFound,
    PigeonError,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from pigeon.client._sync import Client
from pigeon.client._transport import RetryPolicy
from pigeon.client.types import ItemResult, NewMessage, Page, Received, Release, Report

__all__ = [
    "APIError",
    "AsyncClient",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "FieldError",
    "Forbidden",
    "ItemResult",
    "NewMessage",
    "NotFound",
    "Page",
    "PigeonError",
    "Received",
    "Release",
    "Report",
    "RetryPolicy",
    "Unauthorized",
    "Unavailable",
    "ValidationFailed",
]
