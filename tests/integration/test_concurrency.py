"""Requests that race each other: the loser answers 4xx or a replay, never 500, and the data
stays consistent."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from pigeon.config import Settings
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    PHONE,
    InProcessClient,
    Tenant,
)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, operator_token=OPERATOR_TOKEN)


def _at_once(count: int, call: Any) -> list[httpx.Response]:
    start = threading.Barrier(count)
    answers: list[httpx.Response] = []

    def run(index: int) -> None:
        start.wait()
        answers.append(call(index))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_channels_made_default_at_once_leave_one_default(
    api: InProcessClient, tenant: Tenant
) -> None:
    def make_default(index: int) -> httpx.Response:
        body = {"kind": "gateway", "name": f"g{index}", "is_default": True}
        return api.post("/v1/channels", json=body, headers=tenant.auth)

    answers = _at_once(4, make_default)
    assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
    channels = api.get("/v1/channels", headers=tenant.auth).json()["items"]
    assert sum(1 for c in channels if c["is_default"]) == 1
    created = api.post("/v1/messages", json={"recipient": PHONE, "body": "hi"}, headers=tenant.auth)
    assert created.status_code == 201, created.text


def test_the_same_keyed_batch_sent_at_once_is_created_once(
    api: InProcessClient, tenant: Tenant
) -> None:
    """Enough items to go by COPY on PostgreSQL, whose duplicate key must replay too."""
    items = [{"recipient": PHONE, "body": f"m{i}", "idempotency_key": f"k{i}"} for i in range(8)]

    def send(_index: int) -> httpx.Response:
        return api.post("/v1/messages/batch", json={"items": items}, headers=tenant.auth)

    for _round in range(3):
        answers = _at_once(4, send)
        assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
        ids = {tuple(item["id"] for item in a.json()["items"]) for a in answers}
        assert len(ids) == 1  # every answer names the same messages
    stats = api.get("/v1/stats/messages", headers=tenant.auth).json()["by_status"]
    assert stats["queued"] + stats["released"] == 8
