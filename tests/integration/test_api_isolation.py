"""Workspace isolation: another workspace's keys and devices never see, change, claim or report
this workspace's messages, on any surface. In process, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from pigeon.config import Settings
from pigeon.services.context import Services
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    PHONE,
    InProcessClient,
    NewDevice,
    Stream,
    Tenant,
    new_device,
    new_message,
    new_tenant,
    read_stream,
)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, lease_seconds=60, operator_token=OPERATOR_TOKEN)


@dataclass(frozen=True)
class Side:
    tenant: Tenant
    device: NewDevice


@pytest.fixture
def ours(api: InProcessClient) -> Side:
    tenant = new_tenant(api, "ours")
    return Side(tenant, new_device(api, tenant))


@pytest.fixture
def theirs(api: InProcessClient) -> Side:
    tenant = new_tenant(api, "theirs")
    return Side(tenant, new_device(api, tenant))


def _snapshot(api: InProcessClient, side: Side, message_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/messages/{message_id}", headers=side.tenant.auth)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _assert_no_data(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text


def test_another_workspace_cannot_read_or_cancel_a_message(
    api: InProcessClient, ours: Side, theirs: Side
) -> None:
    message = new_message(api, ours.tenant, body="our secret plans")
    before = _snapshot(api, ours, message["id"])
    key = theirs.tenant.auth

    responses = [
        api.get(f"/v1/messages/{message['id']}", headers=key),
        api.post(f"/v1/messages/{message['id']}/cancel", headers=key),
        api.post(f"/v1/messages/{message['id']}/retry", headers=key),
        api.get(f"/api/messages/{message['id']}/", headers=key),
        api.post(f"/api/messages/{message['id']}/cancel/", headers=key),
    ]
    assert [r.status_code for r in responses] == [404] * 5
    for response in responses:
        _assert_no_data(response.text, "our secret plans", PHONE)

    lists = [
        api.get("/v1/messages", headers=key),
        api.get("/v1/messages", params={"recipient": PHONE}, headers=key),
        api.get("/api/messages/", headers=key),
    ]
    assert lists[0].json()["items"] == []
    assert lists[1].json()["items"] == []
    assert lists[2].json() == []
    assert api.get("/v1/stats/messages", headers=key).json()["by_status"]["queued"] == 0
    assert api.get("/api/stats/messages-by-status/", headers=key).json() == []
    assert _snapshot(api, ours, message["id"]) == before


def test_another_workspace_cannot_see_or_revoke_keys_devices_or_channels(
    api: InProcessClient, ours: Side, theirs: Side
) -> None:
    key = theirs.tenant.auth
    our_channels = api.get("/v1/channels", headers=ours.tenant.auth).json()["items"]
    our_keys = api.get("/v1/keys", headers=ours.tenant.auth).json()["items"]

    their_view = [
        api.get("/v1/keys", headers=key),
        api.get("/v1/devices", headers=key),
        api.get("/v1/channels", headers=key),
        api.get("/v1/audit", headers=key),
    ]
    for response in their_view:
        for item in response.json()["items"]:
            assert item.get("workspace_id") in (None, theirs.tenant.id)
            assert item.get("id") not in {ours.device.id, *(c["id"] for c in our_channels)}
            assert item.get("subject_id") not in {ours.device.id, our_keys[0]["id"]}

    refused = [
        api.post(f"/v1/keys/{our_keys[0]['id']}/revoke", headers=key),
        api.post(f"/v1/devices/{ours.device.id}/revoke", headers=key),
        api.get(f"/v1/channels/{our_channels[0]['id']}", headers=key),
        api.patch(f"/v1/channels/{our_channels[0]['id']}", json={"name": "x"}, headers=key),
        api.post(f"/v1/channels/{our_channels[1]['id']}/disable", headers=key),
    ]
    assert [r.status_code for r in refused] == [404] * 5
    # Still ours and still working.
    assert api.get("/v1/workspace", headers=ours.tenant.auth).status_code == 200
    assert api.post("/v1/gateway/heartbeat", headers=ours.device.auth).status_code == 200
    assert api.get("/v1/channels", headers=ours.tenant.auth).json()["items"] == our_channels


def test_another_workspace_cannot_use_our_channel_or_device_for_its_messages(
    api: InProcessClient, ours: Side, theirs: Side
) -> None:
    our_channel = api.get("/v1/devices", headers=ours.tenant.auth).json()["items"][0]["channel_id"]
    for field, value in (("channel_id", our_channel), ("device_id", ours.device.id)):
        response = api.post(
            "/v1/messages",
            json={"recipient": PHONE, "body": "hi", field: value},
            headers=theirs.tenant.auth,
        )
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == [field]


def test_another_workspace_device_cannot_claim_or_report(
    api: InProcessClient, ours: Side, theirs: Side
) -> None:
    message = new_message(api, ours.tenant)
    device = theirs.device.auth

    assert api.post("/v1/gateway/claim", json={}, headers=device).json()["messages"] == []
    assert api.post("/api/gateway/claim/", json={}, headers=device).status_code == 204
    pending = api.get("/client/imessage/send-queue/pending", headers=device)
    assert pending.json() == {"success": True, "data": {"items": []}}
    assert _snapshot(api, ours, message["id"])["status"] == "released"

    [claimed] = api.post("/v1/gateway/claim", json={}, headers=ours.device.auth).json()["messages"]
    before = _snapshot(api, ours, message["id"])
    token = claimed["claim_token"]  # even holding the real token
    attempts = [
        api.post(
            "/v1/gateway/report",
            json={"message_id": message["id"], "claim_token": token, "status": "sent"},
            headers=device,
        ),
        api.post(
            "/api/gateway/report/",
            json={"message_id": message["id"], "status": "SENT", "claim_token": token},
            headers=device,
        ),
        api.post(
            f"/client/imessage/send-queue/{message['id']}/result",
            json={"status": "sent"},
            headers=device,
        ),
    ]
    assert [r.status_code for r in attempts] == [404, 404, 404]
    batch = api.post(
        "/v1/gateway/report",
        json={"reports": [{"message_id": message["id"], "claim_token": token, "status": "failed"}]},
        headers=device,
    )
    assert batch.status_code == 200
    [result] = batch.json()["results"]
    assert result["error"]["status"] == 404
    for response in (*attempts, batch):
        _assert_no_data(response.text, PHONE, "hello")
    assert _snapshot(api, ours, message["id"]) == before


def test_another_workspace_cannot_enqueue_for_our_device(
    api: InProcessClient, ours: Side, theirs: Side, container: Services
) -> None:
    response = api.post(
        "/admin/send-queue/enqueue",
        json={"batchItemId": "b1", "deviceId": ours.device.id, "toHandle": PHONE, "body": "hi"},
        headers=theirs.tenant.auth,
    )
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert "deviceId" in response.json()["details"]
    assert api.get("/v1/messages", headers=theirs.tenant.auth).json()["items"] == []
    assert api.get("/v1/messages", headers=ours.tenant.auth).json()["items"] == []


def test_the_stream_carries_only_this_workspace(
    api: InProcessClient, ours: Side, theirs: Side
) -> None:
    async def change() -> None:
        for side, body in ((theirs, "theirs"), (ours, "ours")):
            await api.apost(
                "/v1/messages", json={"recipient": PHONE, "body": body}, headers=side.tenant.auth
            )

    async def scenario() -> Stream:
        return await read_stream(
            api.app,
            f"/api/stream/messages/?access_token={ours.tenant.admin_key}",
            change,
            until=lambda event: event[0] == "message",
        )

    stream = api.run(scenario)
    [(_, data)] = [e for e in stream.events if e[0] == "message"]
    [listed] = api.get("/v1/messages", headers=ours.tenant.auth).json()["items"]
    assert data == {"ids": [listed["id"]], "status": "QUEUED"}
