"""pigeon on PostgreSQL in subprocesses: `pigeon serve` alone, and the team layout of an API
process (`serve --no-workers`) beside a `pigeon worker`, with Redis carrying notifications
between them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import REDIS_URL, service_missing
from tests.e2e.conftest import Pigeon, Server, base_environment, poll

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PHONE = "+14155550100"


@pytest.fixture
def pigeon_pg(postgres_url: str, tmp_path: Path) -> Iterator[Pigeon]:
    launcher = Pigeon(base_environment(postgres_url), tmp_path)
    try:
        yield launcher
    finally:
        launcher.stop_all()


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        service_missing("Redis", error)
    return REDIS_URL


def _device(server: Server) -> dict[str, Any]:
    with server.client(server.admin_key) as admin:
        created = admin.post("/v1/devices", json={"name": "mac"})
    assert created.status_code == 201, created.text
    device: dict[str, Any] = created.json()
    return device


def test_serve_on_postgres(pigeon_pg: Pigeon) -> None:
    server = pigeon_pg.serve()
    assert server.admin_key and server.operator_token
    device = _device(server)
    with server.client(server.admin_key) as admin, server.client(device["token"]) as mac:
        due = datetime.now(UTC) + timedelta(seconds=1)
        created = admin.post(
            "/api/messages/",
            json={"to_handle": PHONE, "body": "pg", "scheduled_for": due.isoformat()},
        )
        assert created.status_code == 201
        claimed = mac.post("/v1/gateway/claim", json={"wait": 10})
        arrived = datetime.now(UTC)
        [item] = claimed.json()["messages"]
        assert item["id"] == created.json()["id"]
        assert arrived <= due + timedelta(seconds=1)
        assert mac.post("/api/gateway/claim/", json={}).status_code == 204
        report = {"message_id": item["id"], "claim_token": item["claim_token"], "status": "sent"}
        assert mac.post("/v1/gateway/report", json=report).json()["status"] == "sent"
        assert admin.get(f"/api/messages/{item['id']}/").json()["status"] == "SENT"


@pytest.mark.redis
def test_an_api_process_and_a_worker_process_share_work_through_redis(
    pigeon_pg: Pigeon, redis_url: str
) -> None:
    team = {"PIGEON_REDIS_URL": redis_url}
    server = pigeon_pg.serve("--no-workers", env=team)
    worker = pigeon_pg.worker(env={**team, "PIGEON_LOG_LEVEL": "INFO"})
    worker.wait_for_log('"action": "scheduler_started"')
    device = _device(server)
    with server.client(server.admin_key) as admin, server.client(device["token"]) as mac:
        # The API process runs no scheduler: only the worker can release this message.
        first = admin.post("/v1/messages", json={"recipient": PHONE, "body": "one"}).json()
        poll(
            lambda: admin.get(f"/v1/messages/{first['id']}").json()["status"] == "released",
            what="the worker to release the message",
        )
        [taken] = mac.post("/v1/gateway/claim", json={}).json()["messages"]
        assert taken["id"] == first["id"]
        sent = {"message_id": taken["id"], "claim_token": taken["claim_token"], "status": "sent"}
        assert mac.post("/v1/gateway/report", json=sent).status_code == 200

        # A device waits on the API process; the worker releases the next message when it
        # falls due, and its notification crosses Redis to wake the waiting claim at once
        # (the claim's own re-check runs only once a second).
        started = time.monotonic()
        due = datetime.now(UTC) + timedelta(seconds=1.5)
        second = admin.post(
            "/v1/messages",
            json={"recipient": PHONE, "body": "two", "scheduled_for": due.isoformat()},
        ).json()
        claimed = mac.post("/v1/gateway/claim", json={"wait": 10})
        arrived = datetime.now(UTC)
        assert [m["id"] for m in claimed.json()["messages"]] == [second["id"]]
        assert due - timedelta(milliseconds=50) <= arrived < due + timedelta(seconds=0.45), (
            f"claimed {(arrived - due).total_seconds():.3f} s after due, "
            f"{time.monotonic() - started:.3f} s after the claim began"
        )
        events = admin.get(f"/v1/messages/{second['id']}").json()["events"]
        assert [(e["to"], e["actor"]) for e in events][:2] == [
            ("queued", events[0]["actor"]),
            ("released", "scheduler"),
        ]
    assert worker.stop() == 0  # SIGTERM: the worker finishes its pass and exits cleanly
