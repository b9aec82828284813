"""Seed 000 Part 1 (mac-sync send queue) routes, exactly as that seed's Mac client and admin
surface call them: `{"success": ..., "data": ...}` envelopes, camelCase keys, 400 with
`success: false` on bad input. In process, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pigeon.clock import FrozenClock
from pigeon.config import Settings
from pigeon.services.context import Services
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    PHONE,
    InProcessClient,
    NewDevice,
    Tenant,
    bearer,
    new_device,
    new_key,
    row_counts,
)

PENDING = "/client/imessage/send-queue/pending"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, lease_seconds=60, operator_token=OPERATOR_TOKEN)


@pytest.fixture
def service(api: InProcessClient, tenant: Tenant) -> dict[str, str]:
    """The seed's service token: a workspace key with the send scope."""
    return bearer(new_key(api, tenant, "send"))


@pytest.fixture
def mac(api: InProcessClient, tenant: Tenant) -> NewDevice:
    return new_device(api, tenant, "mac")


def enqueue_raw(api: InProcessClient, service: dict[str, str], **fields: Any) -> httpx.Response:
    return api.post("/admin/send-queue/enqueue", json=fields, headers=service)


def enqueue(
    api: InProcessClient, service: dict[str, str], device: NewDevice, item: str, **fields: Any
) -> str:
    payload = {"batchItemId": item, "deviceId": device.id, "toHandle": PHONE, "body": item}
    response = enqueue_raw(api, service, **{**payload, **fields})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert set(body["data"]) == {"sendQueueId"}
    queue_id: str = body["data"]["sendQueueId"]
    return queue_id


def pending(api: InProcessClient, device: NewDevice) -> list[dict[str, Any]]:
    response = api.get(PENDING, headers=device.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    items: list[dict[str, Any]] = body["data"]["items"]
    return items


def result(api: InProcessClient, device: NewDevice, item_id: str, **body: Any) -> httpx.Response:
    return api.post(f"/client/imessage/send-queue/{item_id}/result", json=body, headers=device.auth)


# Enqueue ----------------------------------------------------------------------------------


def test_enqueue_queues_a_message_for_the_device(
    api: InProcessClient, tenant: Tenant, service: dict[str, str], mac: NewDevice
) -> None:
    queue_id = enqueue(api, service, mac, "item-1", toHandle="ada@example.com", body="Hi Ada")
    message = api.get(f"/v1/messages/{queue_id}", headers=tenant.auth).json()
    assert message["device_id"] == mac.id
    assert message["recipient"] == "ada@example.com"
    assert message["body"] == "Hi Ada"
    assert message["meta"] == {"batchItemId": "item-1"}
    assert message["status"] == "queued"


def test_enqueue_twice_for_one_batch_item_queues_once(
    api: InProcessClient, service: dict[str, str], mac: NewDevice, container: Services
) -> None:
    first = enqueue(api, service, mac, "item-1")
    counts = row_counts(container)
    assert enqueue(api, service, mac, "item-1") == first
    assert row_counts(container) == counts
    clash = enqueue_raw(
        api, service, batchItemId="item-1", deviceId=mac.id, toHandle=PHONE, body="other text"
    )
    assert clash.status_code == 409
    assert clash.json()["success"] is False
    assert clash.json()["error"].startswith("batchItemId:")


def test_batch_item_ids_and_v1_idempotency_keys_do_not_meet(
    api: InProcessClient, tenant: Tenant, service: dict[str, str], mac: NewDevice
) -> None:
    # Each surface answers in its own shape. (Seed 000 keys were once stored as /v1 keys
    # named "send-queue:<batchItemId>", so this pair used to meet.)
    same = {"recipient": PHONE, "body": "shared", "device_id": mac.id}
    key = {"Idempotency-Key": "send-queue:k-1"}
    v1 = api.post("/v1/messages", json=same, headers={**service, **key})
    assert v1.status_code == 201, v1.text
    queue_id = enqueue(api, service, mac, "k-1", body="shared")
    assert queue_id != v1.json()["id"]
    again = api.post("/v1/messages", json=same, headers={**service, **key})
    assert again.json() == v1.json()


def test_enqueue_refuses_bad_input_naming_the_field(
    api: InProcessClient, service: dict[str, str], mac: NewDevice, container: Services
) -> None:
    """One case here; test_api_bad_input walks the rest."""
    before = row_counts(container)
    payload = {"batchItemId": "item-1", "deviceId": mac.id, "toHandle": "not a handle"}
    response = enqueue_raw(api, service, **payload, body="hi")
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert list(body["details"]) == ["toHandle"]
    assert "toHandle" in body["error"]
    assert row_counts(container) == before


def test_enqueue_names_every_missing_field(api: InProcessClient, service: dict[str, str]) -> None:
    response = enqueue_raw(api, service)
    assert response.status_code == 400
    assert set(response.json()["details"]) == {"batchItemId", "deviceId", "toHandle", "body"}


def test_enqueue_takes_a_service_token(
    api: InProcessClient, tenant: Tenant, mac: NewDevice
) -> None:
    payload = {"batchItemId": "i", "deviceId": mac.id, "toHandle": PHONE, "body": "hi"}
    missing = api.post("/admin/send-queue/enqueue", json=payload)
    assert missing.status_code == 401
    assert missing.json()["success"] is False
    read_only = bearer(new_key(api, tenant, "read"))
    refused = api.post("/admin/send-queue/enqueue", json=payload, headers=read_only)
    assert refused.status_code == 403
    assert refused.json()["success"] is False
    as_device = api.post("/admin/send-queue/enqueue", json=payload, headers=mac.auth)
    assert as_device.status_code == 401


# Pending ----------------------------------------------------------------------------------


def test_pending_lists_this_devices_items_oldest_first_in_camel_case(
    api: InProcessClient,
    tenant: Tenant,
    service: dict[str, str],
    mac: NewDevice,
    clock: FrozenClock,
) -> None:
    other = new_device(api, tenant, "other mac")
    ids = []
    for item in ("a", "b", "c"):
        ids.append(enqueue(api, service, mac, item))
        enqueue(api, service, other, f"other-{item}")
        clock.advance(1)

    items = pending(api, mac)
    assert [i["id"] for i in items] == ids
    assert items[0] == {
        "id": ids[0],
        "toHandle": PHONE,
        "body": "a",
        "createdAt": "2030-01-07T09:00:00Z",
    }
    assert [i["createdAt"] for i in items] == sorted(i["createdAt"] for i in items)

    # As in the seed, an item stays pending for its device until its result is posted (an
    # answer lost on the way is not lost), and is never another device's.
    assert [i["id"] for i in pending(api, mac)] == ids
    assert [i["body"] for i in pending(api, other)] == ["other-a", "other-b", "other-c"]
    for item_id in ids:
        assert result(api, mac, item_id, status="sent").status_code == 200
    assert pending(api, mac) == []


def test_pending_returns_at_most_fifty(
    api: InProcessClient, tenant: Tenant, mac: NewDevice
) -> None:
    items = [{"recipient": PHONE, "body": f"m{i}", "device_id": mac.id} for i in range(53)]
    created = api.post("/v1/messages/batch", json={"items": items}, headers=tenant.auth)
    assert created.status_code == 201
    first = pending(api, mac)
    assert len(first) == 50
    for item in first:
        assert result(api, mac, item["id"], status="sent").status_code == 200
    rest = pending(api, mac)
    assert len(rest) == 3
    assert not {i["id"] for i in first} & {i["id"] for i in rest}


def test_pending_takes_a_device_token(api: InProcessClient, tenant: Tenant) -> None:
    missing = api.get(PENDING)
    assert missing.status_code == 401
    assert missing.json()["success"] is False
    assert api.get(PENDING, headers=tenant.auth).status_code == 401


# Result -----------------------------------------------------------------------------------


def test_result_sent_marks_the_item_sent(
    api: InProcessClient,
    tenant: Tenant,
    service: dict[str, str],
    mac: NewDevice,
    clock: FrozenClock,
) -> None:
    queue_id = enqueue(api, service, mac, "item-1")
    pending(api, mac)
    clock.advance(3)
    response = result(api, mac, queue_id, status="sent")
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"id": queue_id, "status": "sent"}}
    message = api.get(f"/v1/messages/{queue_id}", headers=tenant.auth).json()
    assert message["status"] == "sent"
    assert message["sent_at"] == "2030-01-07T09:00:03Z"


def test_result_failed_records_the_reason(
    api: InProcessClient, tenant: Tenant, service: dict[str, str], mac: NewDevice
) -> None:
    queue_id = enqueue(api, service, mac, "item-1")
    pending(api, mac)
    response = result(api, mac, queue_id, status="failed", error="not an iMessage user")
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"id": queue_id, "status": "failed"}}
    message = api.get(f"/v1/messages/{queue_id}", headers=tenant.auth).json()
    assert message["last_error"] == "not an iMessage user"
    # As the seed says, a failed result is final (seed 002 and /v1 retry with backoff).
    assert message["status"] == "failed"
    assert message["attempts"] == 1
    assert pending(api, mac) == []


def test_result_from_another_device_is_refused(
    api: InProcessClient, tenant: Tenant, service: dict[str, str], mac: NewDevice
) -> None:
    other = new_device(api, tenant, "other mac")
    queue_id = enqueue(api, service, mac, "item-1")
    pending(api, mac)
    response = result(api, other, queue_id, status="sent")
    assert response.status_code == 404  # another device's item is none of its business
    assert response.json()["success"] is False
    assert api.get(f"/v1/messages/{queue_id}", headers=tenant.auth).json()["status"] == "claimed"


def test_result_before_the_item_was_handed_out_is_refused(
    api: InProcessClient, tenant: Tenant, service: dict[str, str], mac: NewDevice
) -> None:
    queue_id = enqueue(api, service, mac, "item-1")
    response = result(api, mac, queue_id, status="sent")
    assert response.status_code == 409
    assert response.json()["success"] is False
    assert "has not been claimed" in response.json()["error"]


def test_result_refuses_bad_input_naming_the_field(
    api: InProcessClient, service: dict[str, str], mac: NewDevice, container: Services
) -> None:
    queue_id = enqueue(api, service, mac, "item-1")
    pending(api, mac)
    before = row_counts(container)
    response = result(api, mac, queue_id, status="delivered")
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert list(response.json()["details"]) == ["status"]
    assert row_counts(container) == before
