"""Provider webhooks: `/webhooks/<provider>/<channel id>`. Each authenticates its request
before anything else, turns it into pointer jobs and answers 2xx only once they are durable
(503 with Retry-After otherwise)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from pigeon.api.webhooks import gmail, imap, msgraph

    return [msgraph.router, gmail.router, imap.router]
