"""Seed 000's manual smoke test, steps 8 to 11, through /v1 and the seed's device routes.

8. create an outreach batch; 9. a batch item for a client with a primary handle; 10. the
dispatcher processes it: pending -> queued -> sent, the device polling
`/client/imessage/send-queue/pending` and posting its result; 11. several items in quick
succession respect max_per_minute and min_gap_seconds, and what waits says which limit it
reached. In pigeon the dispatcher is the release step (no 30-second tick) and the item
follows its message in the same transaction (no sync poller).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from pigeon.clock import FrozenClock
from pigeon.config import Settings
from pigeon.services import scheduling
from pigeon.services.context import Services
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    InProcessClient,
    NewDevice,
    Tenant,
    new_device,
)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, lease_seconds=60, operator_token=OPERATOR_TOKEN)


def poll(api: InProcessClient, mac: NewDevice) -> list[dict[str, Any]]:
    response = api.get("/client/imessage/send-queue/pending", headers=mac.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    found: list[dict[str, Any]] = body["data"]["items"]
    return found


def result(api: InProcessClient, mac: NewDevice, item_id: str) -> None:
    response = api.post(
        f"/client/imessage/send-queue/{item_id}/result", json={"status": "sent"}, headers=mac.auth
    )
    assert response.status_code == 200, response.text


def batch_items(api: InProcessClient, tenant: Tenant, batch_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.get(
        f"/v1/batches/{batch_id}/items", headers=tenant.auth
    ).json()["items"]
    return found


def new_batch(api: InProcessClient, tenant: Tenant, tag: str) -> str:
    response = api.post(
        "/v1/batches",
        json={"name": tag, "template": "Test message", "audience": {"tags": [tag]}},
        headers=tenant.auth,
    )
    assert response.status_code == 201, response.text
    batch_id: str = response.json()["id"]
    return batch_id


def test_seed000_smoke_steps_8_to_11(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    mac = new_device(api, tenant, "test-device")
    assert poll(api, mac) == []

    # 8 and 9: a batch, and a client with a primary handle (its only item).
    client = {"name": "Client", "handles": [{"kind": "phone", "value": "+14155552671"}]}
    response = api.post("/v1/contacts", json={**client, "tags": ["smoke"]}, headers=tenant.auth)
    assert response.status_code == 201, response.text
    batch_id = new_batch(api, tenant, "smoke")
    assert api.post(f"/v1/batches/{batch_id}/start", headers=tenant.auth).status_code == 200

    # 10: pending -> queued -> sent.
    [item] = batch_items(api, tenant, batch_id)
    assert (item["status"], item["body"]) == ("queued", "Test message")
    [queued] = poll(api, mac)
    assert (queued["id"], queued["toHandle"]) == (item["message_id"], "+14155552671")
    result(api, mac, queued["id"])
    [item] = batch_items(api, tenant, batch_id)
    assert item["status"] == "sent"
    batch = api.get(f"/v1/batches/{batch_id}", headers=tenant.auth).json()
    assert batch["status"] == "completed"

    # 11: items in rapid succession under max_per_minute and min_gap_seconds.
    policy = {"max_per_minute": 3, "min_gap_seconds": 5}
    assert api.request("PUT", "/v1/throttle", json=policy, headers=tenant.auth).is_success
    people = [
        {"name": f"C{i}", "handles": [{"kind": "phone", "value": f"+1415555{2700 + i}"}],
         "tags": ["burst"]}
        for i in range(5)
    ]  # fmt: skip
    assert api.post("/v1/contacts/bulk", json={"contacts": people}, headers=tenant.auth).is_success
    burst = new_batch(api, tenant, "burst")
    api.post(f"/v1/batches/{burst}/start", headers=tenant.auth).raise_for_status()

    sent_at: list[float] = []
    reasons: set[str] = set()
    t0 = clock.now()
    for _ in range(120):  # two simulated minutes, a second at a time
        for queued in poll(api, mac):
            result(api, mac, queued["id"])
            sent_at.append((clock.now() - t0).total_seconds())
        for waiting in batch_items(api, tenant, burst):
            if waiting["status"] == "queued":
                message = api.get(f"/v1/messages/{waiting['message_id']}", headers=tenant.auth)
                held = message.json()["held"]
                if held is not None:
                    reasons.add(held["reason"])
        clock.advance(1)
        scheduling.release_due(container)
    assert len(sent_at) == 5, "every item still goes"
    assert all(b - a >= 5 for a, b in pairwise(sent_at)), sent_at
    assert all(b - a >= 60 for a, b in zip(sent_at, sent_at[3:], strict=False)), sent_at
    assert reasons == {"min_gap", "max_per_minute"}  # what waits says which limit it met
    assert {i["status"] for i in batch_items(api, tenant, burst)} == {"sent"}
