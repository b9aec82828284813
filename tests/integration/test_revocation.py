"""Revocation ends access at once: waiting claims, open event streams, cached credentials;
and the work a revoked device held or was pinned to is settled, visibly."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pigeon import bootstrap
from pigeon.bus.memory import MemoryBus
from pigeon.config import Settings
from pigeon.services import admin
from pigeon.services.context import Principal, Services
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    PHONE,
    InProcessClient,
    NewDevice,
    Stream,
    Tenant,
    new_device,
    new_key,
    new_message,
    read_stream,
    serve_live,
)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url, lease_seconds=60, operator_token=OPERATOR_TOKEN, sse_ping_seconds=30
    )


@pytest.fixture
def api(settings: Settings) -> Iterator[InProcessClient]:
    with serve_live(settings) as client:
        yield client


def _status(api: InProcessClient, tenant: Tenant, message_id: str) -> dict[str, Any]:
    found: dict[str, Any] = api.get(f"/v1/messages/{message_id}", headers=tenant.auth).json()
    return found


def _revoke(api: InProcessClient, tenant: Tenant, device: NewDevice) -> dict[str, Any]:
    response = api.post(f"/v1/devices/{device.id}/revoke", headers=tenant.auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_revoked_devices_waiting_claim_ends_and_leases_nothing(
    api: InProcessClient, tenant: Tenant
) -> None:
    device = new_device(api, tenant)
    outcome: dict[str, Any] = {}

    def wait() -> None:
        outcome["response"] = api.post("/v1/gateway/claim", json={"wait": 5}, headers=device.auth)
        outcome["at"] = time.monotonic()

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    time.sleep(0.3)  # the claim found nothing and waits
    revoked_at = time.monotonic()
    _revoke(api, tenant, device)
    message = new_message(api, tenant, body="for whoever is still allowed")
    thread.join(timeout=10)
    assert outcome["response"].status_code == 401, outcome["response"].text
    assert outcome["at"] - revoked_at < 1.0  # ended at the revocation, not at the wait's end
    assert _status(api, tenant, message["id"])["status"] in ("queued", "released")


def test_revoking_a_device_settles_its_claims_and_fails_what_was_pinned_to_it(
    api: InProcessClient, tenant: Tenant
) -> None:
    device, spare = new_device(api, tenant, "old mac"), new_device(api, tenant, "spare")
    held = new_message(api, tenant, body="claimed, never reported")
    # A claim that finds nothing waits: the scheduler may be releasing the message just then
    # (SKIP LOCKED passes over it), and its release wakes the waiting claim.
    claimed = api.post(
        "/v1/gateway/claim", json={"limit": 1, "wait": 5}, headers=device.auth
    ).json()
    assert [m["id"] for m in claimed["messages"]] == [held["id"]]
    pinned = [
        new_message(api, tenant, body="only via the old mac", device_id=device.id),
        new_message(
            api, tenant, body="later", device_id=device.id, scheduled_for="2040-01-01T00:00:00Z"
        ),
    ]
    free = new_message(api, tenant, body="any device")

    answer = _revoke(api, tenant, device)
    assert answer == {
        "id": device.id,
        "revoked": True,
        "claims_unknown": 1,
        "claims_requeued": 0,
        "claims_failed": 0,
        "pinned_failed": 2,
    }
    unknown = _status(api, tenant, held["id"])
    assert unknown["status"] == "unknown"  # it may have gone out: a person decides
    assert unknown["events"][-1]["detail"] == {"reason": "device_revoked", "device_id": device.id}
    for message in pinned:
        failed = _status(api, tenant, message["id"])
        assert failed["status"] == "failed"
        assert failed["last_error"] == "the device this message was pinned to was revoked"
    retried = api.post(f"/v1/messages/{pinned[0]['id']}/retry", headers=tenant.auth)
    assert retried.status_code == 409 and "revoked" in retried.json()["detail"]
    taken = api.post("/v1/gateway/claim", json={"wait": 5}, headers=spare.auth).json()["messages"]
    assert [m["id"] for m in taken] == [free["id"]]
    trail = api.get("/v1/audit", headers=tenant.auth).json()["items"]
    assert trail[0]["action"] == "device_revoked"
    assert trail[0]["detail"]["pinned_failed"] == 2


def test_a_retry_channel_gives_a_revoked_devices_claims_to_the_others(
    api: InProcessClient, tenant: Tenant
) -> None:
    [channel] = api.get("/v1/channels", headers=tenant.auth).json()["items"][:1]
    api.patch(
        f"/v1/channels/{channel['id']}", json={"on_lease_expiry": "retry"}, headers=tenant.auth
    )
    device = new_device(api, tenant, "old mac")
    message = new_message(api, tenant)
    assert api.post("/v1/gateway/claim", json={}, headers=device.auth).json()["messages"]
    assert _revoke(api, tenant, device)["claims_requeued"] == 1
    assert _status(api, tenant, message["id"])["status"] == "queued"


def test_a_revoked_keys_open_stream_ends(api: InProcessClient, tenant: Tenant) -> None:
    reader = new_key(api, tenant, "read")

    async def revoke_then_change() -> None:
        keys = (await api._client.get("/v1/keys", headers=tenant.auth)).json()["items"]
        [key] = [k for k in keys if k["scopes"] == ["read"]]
        await api.apost(f"/v1/keys/{key['id']}/revoke", headers=tenant.auth)
        await api.apost(
            "/v1/messages", json={"recipient": PHONE, "body": "after"}, headers=tenant.auth
        )

    async def scenario() -> Stream:
        return await read_stream(
            api.app,
            f"/api/stream/messages/?access_token={reader}",
            revoke_then_change,
            until=lambda event: event[0] in ("revoked", "message"),
        )

    stream = api.run(scenario)
    assert [name for name, _ in stream.events] == ["ping", "revoked"]


def test_a_key_revoked_elsewhere_is_refused_at_once_though_it_was_verified_lately(
    api: InProcessClient, tenant: Tenant, settings: Settings
) -> None:
    """Another process (the CLI) revokes a key this server has just verified and cached."""
    key = new_key(api, tenant, "send")
    headers = {"Authorization": f"Bearer {key}"}
    assert api.get("/v1/messages", headers=headers).status_code == 200
    elsewhere = bootstrap.build(settings, bus=MemoryBus(), pool_size=1)
    try:
        keys = admin.list_keys(elsewhere, Principal(tenant.id, "cli", frozenset({"admin"})))
        [sender] = [k for k in keys if k.scopes == frozenset({"send"})]
        admin.revoke_key(elsewhere, Principal(tenant.id, "cli", frozenset({"admin"})), sender.id)
    finally:
        elsewhere.close()
    for attempt in (
        api.get("/v1/messages", headers=headers),
        api.post("/v1/messages", json={"recipient": PHONE, "body": "x"}, headers=headers),
    ):
        assert attempt.status_code == 401, attempt.text
    assert api.get("/v1/stats/messages", headers=tenant.auth).json()["by_status"]["queued"] == 0


def test_revoked_services_share_nothing_across_workspaces(container: Services) -> None:
    """A device id from another workspace is not found: nothing is revoked."""
    one = admin.create_workspace(container, name="one", timezone="UTC", actor="t")
    two = admin.create_workspace(container, name="two", timezone="UTC", actor="t")
    device = admin.create_device(
        container, Principal(one.workspace.id, "t", frozenset({"admin"})), name="m"
    ).item
    with pytest.raises(Exception, match="no such active device"):
        admin.revoke_device(
            container, Principal(two.workspace.id, "t", frozenset({"admin"})), device.id
        )


def test_a_key_revoked_elsewhere_cannot_open_a_stream_here(
    api: InProcessClient, tenant: Tenant, settings: Settings
) -> None:
    """This server verified the key a moment ago and cached it; another process revoked it."""
    reader = new_key(api, tenant, "read")
    assert api.get("/v1/messages", headers={"Authorization": f"Bearer {reader}"}).status_code == 200
    elsewhere = bootstrap.build(settings, bus=MemoryBus(), pool_size=1)
    try:
        cli = Principal(tenant.id, "cli", frozenset({"admin"}))
        [key] = [k for k in admin.list_keys(elsewhere, cli) if k.scopes == frozenset({"read"})]
        admin.revoke_key(elsewhere, cli, key.id)
    finally:
        elsewhere.close()

    async def nothing() -> None:
        return None

    async def scenario() -> Stream:
        path = f"/api/stream/messages/?access_token={reader}"
        return await read_stream(api.app, path, nothing, until=lambda e: True)

    assert api.run(scenario).status == 401


@pytest.mark.postgres
def test_a_message_pinned_while_its_device_is_revoked_is_failed_not_stranded(
    postgres_url: str,
) -> None:
    """The create holds the device it checked until it commits; the revocation waits for it
    and then fails the new message with the others."""
    from pigeon.domain.ids import new_id
    from pigeon.store import accounts
    from pigeon.store import messages as message_store

    services = bootstrap.build(Settings(database_url=postgres_url), bus=MemoryBus(), pool_size=3)
    try:
        ws = admin.create_workspace(services, name="w", timezone="UTC", actor="t")
        who = Principal(ws.workspace.id, "t", frozenset({"admin"}))
        device = admin.create_device(services, who, name="old mac").item
        revoked: list[admin.Revoked] = []
        with services.db.transaction() as uow:
            assert accounts.get_device(uow, who.workspace_id, device.id, share_lock=True)
            revoking = threading.Thread(
                target=lambda: revoked.append(admin.revoke_device(services, who, device.id))
            )
            revoking.start()
            time.sleep(0.5)
            assert revoking.is_alive()  # it waits for this create
            row = {
                "id": new_id(),
                "workspace_id": who.workspace_id,
                "channel_id": device.channel_id,
                "device_id": device.id,
                "recipient": PHONE,
                "body": "pinned",
                "status": "queued",
                "scheduled_for": uow.now,
                "attempts": 0,
                "meta": None,
                "created_at": uow.now,
                "updated_at": uow.now,
            }
            message_store.insert_many(uow, [row], actor="t")
        revoking.join(timeout=10)
        assert revoked[0].pinned_failed == 1
    finally:
        services.close()
