"""The job queue unreachable under webhook traffic: ingress answers 503 with Retry-After,
the listener retries, and every pointer ever answered 2xx is in the queue afterwards.

The queue is a private Redis (appendonly, fsync on every write: the durability a queue on
Redis needs), killed with SIGKILL and started again on the same port mid-stream; a
listener thread sends pointers one at a time, as `pigeon imap-listen --webhook-url` does.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pigeon import bootstrap
from pigeon.bus.memory import MemoryBus
from pigeon.clock import SystemClock
from pigeon.config import Settings
from pigeon.services.context import Services
from tests.fault.conftest import budget
from tests.fault.harness import RedisServer
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    InProcessClient,
    new_tenant,
    serve_in_process,
)

pytestmark = [pytest.mark.fault, pytest.mark.redis, pytest.mark.xdist_group("fault"), budget(60)]

SECRET = "a-listener-shared-secret-0123456789"
POINTERS = 120


def test_an_unreachable_queue_answers_503_and_loses_nothing_accepted(tmp_path: Path) -> None:
    from pigeon.queue.redis_streams import RedisQueue

    server = RedisServer(tmp_path, appendonly=True)
    server.start()
    clock = SystemClock()
    queue = RedisQueue(server.url, clock, prefix="outage:")
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'pigeon.db'}",
        operator_token=OPERATOR_TOKEN,
        secret_key="k" * 40,
    )
    from pigeon.store import migrate

    migrate.upgrade(settings.database_url)
    svc: Services = bootstrap.build(settings, clock=clock, bus=MemoryBus(), queue=queue)
    try:
        with serve_in_process(svc) as api:
            _run(api, svc, server)
    finally:
        svc.close()
        server.stop()


def _run(api: InProcessClient, svc: Services, server: RedisServer) -> None:
    tenant = new_tenant(api)
    config = {"host": "127.0.0.1", "username": "u", "password": "p", "shared_secret": SECRET}
    created = api.post(
        "/v1/channels",
        json={"kind": "imap", "name": "box", "config": config},
        headers=tenant.auth,
    )
    assert created.status_code == 201, created.text
    channel = created.json()["id"]
    accepted: list[int] = []
    refusals: list[tuple[int, str | None]] = []
    done = threading.Event()

    def listener() -> None:
        for uid in range(1, POINTERS + 1):
            while True:
                answer = api.post(
                    f"/webhooks/imap/{channel}",
                    json={"pointers": [{"mailbox": "INBOX", "uid": uid, "uidValidity": 7}]},
                    headers={"Authorization": f"Bearer {SECRET}"},
                )
                if answer.status_code == 202:
                    accepted.append(uid)
                    break
                refusals.append((answer.status_code, answer.headers.get("retry-after")))
                time.sleep(0.05)
        done.set()

    thread = threading.Thread(target=listener)
    thread.start()
    while len(accepted) < POINTERS // 3:
        time.sleep(0.01)
    server.kill()  # SIGKILL: no shutdown save; only the append-only file survives
    time.sleep(1.0)
    server.start()
    assert done.wait(30), f"the listener got through {len(accepted)} of {POINTERS}"
    thread.join()

    assert refusals, "the outage came too late to be seen"
    assert {status for status, _ in refusals} == {503}
    assert all(retry_after for _, retry_after in refusals)
    assert accepted == list(range(1, POINTERS + 1))
    jobs = svc.queue.list_jobs(tenant.id, kind="inbound.imap", limit=POINTERS * 2)
    stored = sorted(job.payload["uid"] for job in jobs)
    assert set(stored) == set(accepted)  # nothing accepted lost
