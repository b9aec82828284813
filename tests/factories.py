"""Small builders for tests: devices, messages and claims through the real services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pigeon.domain.accounts import Device
from pigeon.domain.messages import Message
from pigeon.services import admin, messages
from pigeon.services.context import Principal, Services


def add_device(container: Services, who: Principal, name: str = "mac") -> Device:
    return admin.create_device(container, who, name=name).item


def schedule(
    container: Services,
    who: Principal,
    *,
    count: int = 1,
    at: datetime | None = None,
    recipient: str = "+14155552671",
    **extra: Any,
) -> list[Message]:
    requests = [
        messages.NewMessage(recipient=recipient, body=f"hello {i}", scheduled_for=at, **extra)
        for i in range(count)
    ]
    created = messages.create_batch(container, who, requests)
    result: list[Message] = created.messages
    return result
