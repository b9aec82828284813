"""/v1 workspaces, API keys, scopes, devices and channels, in process, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from pigeon.clock import FrozenClock
from pigeon.config import Settings
from pigeon.services.context import Services
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    PHONE,
    InProcessClient,
    Tenant,
    bearer,
    new_device,
    new_key,
    problem_fields,
    serve_in_process,
)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, lease_seconds=60, operator_token=OPERATOR_TOKEN)


# Workspaces -------------------------------------------------------------------------------


def test_creating_a_workspace_takes_the_operator_token(api: InProcessClient) -> None:
    missing = api.post("/v1/workspaces", json={"name": "acme"})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"

    wrong = api.post("/v1/workspaces", json={"name": "acme"}, headers=bearer("not-the-operator"))
    assert wrong.status_code == 401

    created = api.post(
        "/v1/workspaces",
        json={"name": "acme", "timezone": "Europe/Paris"},
        headers=bearer(OPERATOR_TOKEN),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "acme"
    assert body["timezone"] == "Europe/Paris"
    assert body["api_key"].startswith("pgn_admin_")

    mine = api.get("/v1/workspace", headers=bearer(body["api_key"]))
    assert mine.status_code == 200
    assert mine.json()["id"] == body["id"]


def test_an_admin_key_is_not_an_operator_token(api: InProcessClient, tenant: Tenant) -> None:
    response = api.post("/v1/workspaces", json={"name": "other"}, headers=tenant.auth)
    assert response.status_code == 401


def test_a_new_workspace_has_a_default_gateway_and_a_console_channel(
    api: InProcessClient, tenant: Tenant
) -> None:
    channels = api.get("/v1/channels", headers=tenant.auth).json()["items"]
    by_kind = {c["kind"]: c for c in channels}
    assert set(by_kind) == {"gateway", "console"}
    assert by_kind["gateway"]["is_default"] is True
    assert by_kind["console"]["is_default"] is False
    assert not any(c["disabled"] for c in channels)


# API keys ---------------------------------------------------------------------------------


def test_keys_are_listed_by_prefix_and_never_by_secret(
    api: InProcessClient, tenant: Tenant
) -> None:
    created = api.post("/v1/keys", json={"name": "ci", "scopes": ["send"]}, headers=tenant.auth)
    assert created.status_code == 201, created.text
    secret = created.json()["key"]
    assert secret.startswith(created.json()["prefix"])

    listing = api.get("/v1/keys", headers=tenant.auth)
    assert listing.status_code == 200
    items = {k["name"]: k for k in listing.json()["items"]}
    assert set(items) == {"admin", "ci"}
    assert items["ci"]["scopes"] == ["send"]
    assert items["ci"]["prefix"] == created.json()["prefix"]
    assert all("key" not in k and "key_hash" not in k for k in items.values())
    assert secret not in listing.text
    assert tenant.admin_key not in listing.text
    assert len(items["ci"]["prefix"]) < len(secret) / 2


def test_a_revoked_key_is_refused(api: InProcessClient, tenant: Tenant) -> None:
    created = api.post("/v1/keys", json={"name": "ci", "scopes": ["read"]}, headers=tenant.auth)
    key_id, secret = created.json()["id"], created.json()["key"]
    assert api.get("/v1/messages", headers=bearer(secret)).status_code == 200

    revoked = api.post(f"/v1/keys/{key_id}/revoke", headers=tenant.auth)
    assert revoked.status_code == 200
    assert revoked.json() == {"id": key_id, "revoked": True}

    assert api.get("/v1/messages", headers=bearer(secret)).status_code == 401
    listed = {k["id"]: k for k in api.get("/v1/keys", headers=tenant.auth).json()["items"]}
    assert listed[key_id]["revoked_at"] is not None
    # Revoking twice finds no active key.
    assert api.post(f"/v1/keys/{key_id}/revoke", headers=tenant.auth).status_code == 404


def test_scopes_limit_what_a_key_may_do(api: InProcessClient, tenant: Tenant) -> None:
    read = bearer(new_key(api, tenant, "read"))
    send = bearer(new_key(api, tenant, "send"))
    message = {"recipient": PHONE, "body": "hi"}

    assert api.get("/v1/messages", headers=read).status_code == 200
    refused = api.post("/v1/messages", json=message, headers=read)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert api.get("/v1/keys", headers=read).status_code == 403

    assert api.post("/v1/messages", json=message, headers=send).status_code == 201
    assert api.get("/v1/messages", headers=send).status_code == 200
    assert api.get("/v1/keys", headers=send).status_code == 403
    assert api.post("/v1/devices", json={"name": "mac"}, headers=send).status_code == 403
    assert (
        api.post("/v1/keys", json={"name": "x", "scopes": ["admin"]}, headers=send).status_code
        == 403
    )


def test_a_key_needs_known_scopes(api: InProcessClient, tenant: Tenant) -> None:
    response = api.post("/v1/keys", json={"name": "x", "scopes": ["root"]}, headers=tenant.auth)
    assert response.status_code == 422
    assert problem_fields(response) == ["scopes"]


# Devices ----------------------------------------------------------------------------------


def test_devices_are_added_seen_listed_and_revoked(
    api: InProcessClient, tenant: Tenant, clock: FrozenClock
) -> None:
    device = new_device(api, tenant, "office mac")
    listed = api.get("/v1/devices", headers=tenant.auth).json()["items"]
    assert [(d["id"], d["name"], d["last_seen_at"]) for d in listed] == [
        (device.id, "office mac", None)
    ]
    assert device.token not in api.get("/v1/devices", headers=tenant.auth).text

    clock.advance(30)
    beat = api.post("/v1/gateway/heartbeat", headers=device.auth)
    assert beat.status_code == 200
    assert beat.json() == {"device_id": device.id, "last_seen_at": "2030-01-07T09:00:30Z"}
    [seen] = api.get("/v1/devices", headers=tenant.auth).json()["items"]
    assert seen["last_seen_at"] == "2030-01-07T09:00:30Z"

    assert api.post(f"/v1/devices/{device.id}/revoke", headers=tenant.auth).status_code == 200
    assert api.post("/v1/gateway/heartbeat", headers=device.auth).status_code == 401
    assert api.post("/v1/gateway/claim", json={}, headers=device.auth).status_code == 401
    [gone] = api.get("/v1/devices", headers=tenant.auth).json()["items"]
    assert gone["revoked_at"] is not None


def test_a_device_serves_a_gateway_channel_only(api: InProcessClient, tenant: Tenant) -> None:
    channels = api.get("/v1/channels", headers=tenant.auth).json()["items"]
    console = next(c for c in channels if c["kind"] == "console")
    response = api.post(
        "/v1/devices", json={"name": "mac", "channel_id": console["id"]}, headers=tenant.auth
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["channel_id"]


# Channels ---------------------------------------------------------------------------------


def test_channels_are_created_read_patched_and_disabled(
    api: InProcessClient, tenant: Tenant
) -> None:
    created = api.post(
        "/v1/channels",
        json={"kind": "console", "name": "dev", "config": {"echo": True}},
        headers=tenant.auth,
    )
    assert created.status_code == 201, created.text
    channel = created.json()
    assert channel["kind"] == "console"
    assert channel["config"] == {"echo": True}
    assert channel["on_lease_expiry"] == "unknown"

    assert len(api.get("/v1/channels", headers=tenant.auth).json()["items"]) == 3
    fetched = api.get(f"/v1/channels/{channel['id']}", headers=tenant.auth)
    assert fetched.status_code == 200
    assert fetched.json() == channel

    patched = api.patch(
        f"/v1/channels/{channel['id']}",
        json={"name": "development", "on_lease_expiry": "retry"},
        headers=tenant.auth,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "development"
    assert patched.json()["on_lease_expiry"] == "retry"
    assert patched.json()["config"] == {"echo": True}

    disabled = api.post(f"/v1/channels/{channel['id']}/disable", headers=tenant.auth)
    assert disabled.status_code == 200
    assert disabled.json()["disabled"] is True
    # A message cannot go through a disabled channel.
    refused = api.post(
        "/v1/messages",
        json={"recipient": PHONE, "body": "hi", "channel_id": channel["id"]},
        headers=tenant.auth,
    )
    assert refused.status_code == 422
    assert problem_fields(refused) == ["channel_id"]
    enabled = api.patch(
        f"/v1/channels/{channel['id']}", json={"disabled": False}, headers=tenant.auth
    )
    assert enabled.json()["disabled"] is False


def test_the_default_channel_moves_and_cannot_be_disabled(
    api: InProcessClient, tenant: Tenant
) -> None:
    channels = {c["kind"]: c for c in api.get("/v1/channels", headers=tenant.auth).json()["items"]}
    gateway, console = channels["gateway"], channels["console"]

    refused = api.post(f"/v1/channels/{gateway['id']}/disable", headers=tenant.auth)
    assert refused.status_code == 422
    assert problem_fields(refused) == ["disabled"]

    moved = api.patch(
        f"/v1/channels/{console['id']}", json={"is_default": True}, headers=tenant.auth
    )
    assert moved.json()["is_default"] is True
    after = {c["kind"]: c for c in api.get("/v1/channels", headers=tenant.auth).json()["items"]}
    assert after["gateway"]["is_default"] is False
    message = api.post("/v1/messages", json={"recipient": PHONE, "body": "hi"}, headers=tenant.auth)
    assert message.json()["channel_id"] == console["id"]


def test_channel_names_are_unique_in_a_workspace(api: InProcessClient, tenant: Tenant) -> None:
    response = api.post(
        "/v1/channels", json={"kind": "console", "name": "console"}, headers=tenant.auth
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["name"]


def test_an_unknown_channel_is_not_found(api: InProcessClient, tenant: Tenant) -> None:
    missing = "01900000-0000-7000-8000-000000000000"
    assert api.get(f"/v1/channels/{missing}", headers=tenant.auth).status_code == 404
    assert api.patch(f"/v1/channels/{missing}", json={}, headers=tenant.auth).status_code == 404
    assert api.post(f"/v1/channels/{missing}/disable", headers=tenant.auth).status_code == 404


def test_the_audit_trail_records_account_changes(api: InProcessClient, tenant: Tenant) -> None:
    device = new_device(api, tenant)
    api.post(f"/v1/devices/{device.id}/revoke", headers=tenant.auth)
    trail = api.get("/v1/audit", headers=tenant.auth).json()["items"]
    actions = [item["action"] for item in trail]
    assert actions[:2] == ["device_revoked", "device_created"]
    assert "workspace_created" in actions


def test_a_disabled_channel_cannot_become_the_default(api: InProcessClient, tenant: Tenant) -> None:
    """Made the default, it refused every create that names no channel."""
    made = api.post("/v1/channels", json={"kind": "gateway", "name": "spare"}, headers=tenant.auth)
    spare = made.json()["id"]
    assert api.post(f"/v1/channels/{spare}/disable", headers=tenant.auth).status_code == 200
    refused = api.patch(f"/v1/channels/{spare}", json={"is_default": True}, headers=tenant.auth)
    assert refused.status_code == 422 and problem_fields(refused) == ["is_default"]
    both = api.patch(
        f"/v1/channels/{spare}", json={"is_default": True, "disabled": False}, headers=tenant.auth
    )
    assert both.status_code == 200 and both.json()["is_default"] is True
    created = api.post("/v1/messages", json={"recipient": PHONE, "body": "x"}, headers=tenant.auth)
    assert created.status_code == 201 and created.json()["channel_id"] == spare


def test_the_audit_limit_is_checked(api: InProcessClient, tenant: Tenant) -> None:
    for limit in ("0", "-1", "1001", "99999999999999999999999"):
        answer = api.get("/v1/audit", params={"limit": limit}, headers=tenant.auth)
        assert answer.status_code == 422 and problem_fields(answer) == ["limit"], limit
    assert len(api.get("/v1/audit", params={"limit": 2}, headers=tenant.auth).json()["items"]) == 2


def test_an_id_in_another_spelling_names_the_same_message(
    api: InProcessClient, tenant: Tenant
) -> None:
    created = api.post("/v1/messages", json={"recipient": PHONE, "body": "x"}, headers=tenant.auth)
    message_id = created.json()["id"]
    for spelling in (message_id.upper(), message_id.replace("-", ""), f"urn:uuid:{message_id}"):
        found = api.get(f"/v1/messages/{spelling}", headers=tenant.auth)
        assert found.status_code == 200 and found.json()["id"] == message_id, spelling


def test_a_configured_operator_token_retires_the_generated_one(
    container: Services, db_url: str
) -> None:
    """First start generated a token; the operator then configures one of their own."""
    from dataclasses import replace

    from pigeon.services import admin

    generated = admin.first_run(replace(container, settings=Settings(database_url=db_url)))
    assert generated.operator_token is not None
    with serve_in_process(container) as configured:  # settings name OPERATOR_TOKEN
        body = {"name": "x"}
        old = configured.post("/v1/workspaces", json=body, headers=bearer(generated.operator_token))
        assert old.status_code == 401
        new = configured.post("/v1/workspaces", json=body, headers=bearer(OPERATOR_TOKEN))
        assert new.status_code == 201
