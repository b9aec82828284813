"""Seed 002 (iMessage scheduler) routes, exactly as that seed's frontend and gateway call them:
trailing slashes, upper-case statuses, 204 when there is nothing to claim, DRF-style errors.
In process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from pigeon.clock import FrozenClock
from pigeon.config import RetryPolicy, Settings
from pigeon.services import scheduling
from pigeon.services.context import Services
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    PHONE,
    InProcessClient,
    NewDevice,
    Stream,
    Tenant,
    new_device,
    read_stream,
    row_counts,
)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        lease_seconds=60,
        operator_token=OPERATOR_TOKEN,
        sse_ping_seconds=0.2,
        retry=RetryPolicy(base_seconds=30, cap_seconds=3600, max_attempts=2, jitter=0),
    )


@pytest.fixture
def gateway(api: InProcessClient, tenant: Tenant) -> NewDevice:
    return new_device(api, tenant, "mac-1")


def create(api: InProcessClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    payload = {"to_handle": PHONE, "body": "hello from the seed", **fields}
    response = api.post("/api/messages/", json=payload, headers=tenant.auth)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def claim(api: InProcessClient, gateway: NewDevice) -> httpx.Response:
    return api.post("/api/gateway/claim/", json={"gateway_id": "mac-1"}, headers=gateway.auth)


def report(api: InProcessClient, gateway: NewDevice, **body: Any) -> httpx.Response:
    return api.post("/api/gateway/report/", json=body, headers=gateway.auth)


def detail(api: InProcessClient, tenant: Tenant, message_id: str) -> dict[str, Any]:
    response = api.get(f"/api/messages/{message_id}/", headers=tenant.auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# Messages ---------------------------------------------------------------------------------


def test_a_message_is_created_queued(api: InProcessClient, tenant: Tenant) -> None:
    message = create(api, tenant, scheduled_for="2030-01-08T09:00:00Z")
    assert message["to_handle"] == PHONE
    assert message["body"] == "hello from the seed"
    assert message["scheduled_for"] == "2030-01-08T09:00:00Z"
    assert message["status"] == "QUEUED"
    assert message["attempt_count"] == 0
    assert message["last_error"] is None


def test_scheduled_for_defaults_to_now(api: InProcessClient, tenant: Tenant) -> None:
    assert create(api, tenant)["scheduled_for"] == "2030-01-07T09:00:00Z"


def test_bad_input_answers_400_with_field_lists(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    before = row_counts(container)
    response = api.post(
        "/api/messages/",
        json={"to_handle": "nobody", "body": "", "scheduled_for": "2030-01-08T09:00:00"},
        headers=tenant.auth,
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"to_handle", "body", "scheduled_for"}
    assert all(isinstance(v, list) and v and isinstance(v[0], str) for v in body.values())

    missing = api.post("/api/messages/", json={}, headers=tenant.auth)
    assert missing.status_code == 400
    assert set(missing.json()) == {"to_handle", "body"}
    assert row_counts(container) == before


def test_unknown_fields_are_ignored_as_in_django_rest_framework(
    api: InProcessClient, tenant: Tenant
) -> None:
    message = create(api, tenant, priority="high")
    assert "priority" not in message


def test_messages_are_listed_and_filtered_by_upper_case_status(
    api: InProcessClient, tenant: Tenant
) -> None:
    first = create(api, tenant)
    second = create(api, tenant, scheduled_for="2030-02-01T00:00:00Z")
    api.post(f"/api/messages/{second['id']}/cancel/", headers=tenant.auth)

    everything = api.get("/api/messages/", headers=tenant.auth)
    assert everything.status_code == 200
    assert [m["id"] for m in everything.json()] == sorted(
        [first["id"], second["id"]], reverse=True
    )  # newest first
    queued = api.get("/api/messages/", params={"status": "QUEUED"}, headers=tenant.auth).json()
    assert [m["id"] for m in queued] == [first["id"]]
    canceled = api.get("/api/messages/", params={"status": "CANCELED"}, headers=tenant.auth)
    assert [m["status"] for m in canceled.json()] == ["CANCELED"]
    bad = api.get("/api/messages/", params={"status": "LOST"}, headers=tenant.auth)
    assert bad.status_code == 400
    assert list(bad.json()) == ["status"]


def test_a_message_detail_lists_its_status_events(
    api: InProcessClient, tenant: Tenant, gateway: NewDevice, clock: FrozenClock
) -> None:
    message = create(api, tenant)
    clock.advance(1)
    claim(api, gateway)
    clock.advance(1)
    report(api, gateway, message_id=message["id"], status="SENT")
    got = detail(api, tenant, message["id"])
    assert got["status"] == "SENT"
    assert got["sent_at"] == "2030-01-07T09:00:02Z"
    assert [(e["status"], e["created_at"]) for e in got["events"]] == [
        ("QUEUED", "2030-01-07T09:00:00Z"),
        # Prepared by the scheduler; the claim that follows is no change of seed status.
        ("ACCEPTED", "2030-01-07T09:00:01Z"),
        ("SENT", "2030-01-07T09:00:02Z"),
    ]


def test_cancel_before_send_and_not_after(
    api: InProcessClient, tenant: Tenant, gateway: NewDevice
) -> None:
    later = create(api, tenant, scheduled_for="2030-01-08T09:00:00Z")
    canceled = api.post(f"/api/messages/{later['id']}/cancel/", headers=tenant.auth)
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "CANCELED"

    now = create(api, tenant)
    claim(api, gateway)
    report(api, gateway, message_id=now["id"], status="SENT")
    refused = api.post(f"/api/messages/{now['id']}/cancel/", headers=tenant.auth)
    assert refused.status_code == 409
    assert set(refused.json()) == {"detail"}

    missing = api.post(
        "/api/messages/01900000-0000-7000-8000-000000000000/cancel/", headers=tenant.auth
    )
    assert missing.status_code == 404
    assert set(missing.json()) == {"detail"}


def test_message_routes_require_a_key(api: InProcessClient) -> None:
    """The seed names no authentication; pigeon requires a workspace key (documented)."""
    assert api.get("/api/messages/").status_code == 401
    assert api.post("/api/messages/", json={"to_handle": PHONE, "body": "x"}).status_code == 401
    assert api.get("/api/stats/messages-by-status/").status_code == 401


# Gateway ----------------------------------------------------------------------------------


def test_claim_returns_the_next_message_then_204(
    api: InProcessClient, tenant: Tenant, gateway: NewDevice
) -> None:
    first = create(api, tenant, body="first", scheduled_for="2030-01-07T08:00:00Z")
    second = create(api, tenant, body="second", scheduled_for="2030-01-07T08:30:00Z")
    create(api, tenant, body="not yet", scheduled_for="2030-01-08T09:00:00Z")

    one = claim(api, gateway)
    assert one.status_code == 200
    payload = one.json()
    assert (payload["id"], payload["message_id"]) == (first["id"], first["id"])
    assert payload["to_handle"] == PHONE
    assert payload["body"] == "first"
    assert payload["status"] == "ACCEPTED"
    assert payload["claimed_by"] == "mac-1"  # the seed's gateway id: the device's name
    assert payload["attempt_count"] == 1

    assert claim(api, gateway).json()["message_id"] == second["id"]
    none = claim(api, gateway)
    assert none.status_code == 204
    assert none.content == b""


def test_claim_takes_an_empty_body(
    api: InProcessClient, tenant: Tenant, gateway: NewDevice
) -> None:
    create(api, tenant)
    assert api.post("/api/gateway/claim/", headers=gateway.auth).status_code == 200


def test_report_sent_then_delivered_then_received(
    api: InProcessClient, tenant: Tenant, gateway: NewDevice
) -> None:
    message = create(api, tenant)
    claim(api, gateway)
    for reported in ("SENT", "DELIVERED", "RECEIVED"):
        response = report(api, gateway, message_id=message["id"], status=reported)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == reported
        assert response.json()["id"] == message["id"]
    assert detail(api, tenant, message["id"])["status"] == "RECEIVED"


def test_a_failure_under_the_retry_limit_requeues_with_backoff(
    api: InProcessClient, tenant: Tenant, gateway: NewDevice, clock: FrozenClock
) -> None:
    message = create(api, tenant)
    claim(api, gateway)
    failed = report(
        api, gateway, message_id=message["id"], status="FAILED", error="Messages.app not signed in"
    )
    assert failed.status_code == 200
    body = failed.json()
    assert body["status"] == "QUEUED"
    assert body["attempt_count"] == 1
    assert body["last_error"] == "Messages.app not signed in"
    # delay = base * 2**(attempt_count - 1) = 30 s
    assert body["scheduled_for"] == "2030-01-07T09:00:30Z"
    assert claim(api, gateway).status_code == 204

    clock.advance(30)
    assert claim(api, gateway).json()["attempt_count"] == 2
    final = report(api, gateway, message_id=message["id"], status="FAILED", error="still not")
    assert final.json()["status"] == "FAILED"
    assert final.json()["last_error"] == "still not"
    statuses = [e["status"] for e in detail(api, tenant, message["id"])["events"]]
    assert statuses == [
        "QUEUED",
        "ACCEPTED",
        "QUEUED",
        "ACCEPTED",
        "FAILED",
    ]


def test_error_metadata_may_be_an_object(
    api: InProcessClient, tenant: Tenant, gateway: NewDevice
) -> None:
    message = create(api, tenant)
    claim(api, gateway)
    response = report(
        api, gateway, message_id=message["id"], status="FAILED", error={"code": -1708, "why": "x"}
    )
    assert response.status_code == 200
    assert response.json()["last_error"] == '{"code": -1708, "why": "x"}'


def test_report_refuses_unknown_statuses_and_foreign_claims(
    api: InProcessClient, tenant: Tenant, gateway: NewDevice, container: Services
) -> None:
    message = create(api, tenant)
    claim(api, gateway)
    other = new_device(api, tenant, "mac-2")
    before = row_counts(container)

    unknown = report(api, gateway, message_id=message["id"], status="EXPLODED")
    assert unknown.status_code == 400
    assert list(unknown.json()) == ["status"]

    foreign = report(api, other, message_id=message["id"], status="SENT")
    assert foreign.status_code == 404  # another device's message is none of its business
    assert row_counts(container) == before
    assert detail(api, tenant, message["id"])["status"] == "ACCEPTED"


def test_gateway_routes_require_a_device_token(api: InProcessClient, tenant: Tenant) -> None:
    assert api.post("/api/gateway/claim/", json={}).status_code == 401
    assert api.post("/api/gateway/claim/", json={}, headers=tenant.auth).status_code == 401


# Stats and health -------------------------------------------------------------------------


def test_stats_count_messages_by_upper_case_status(
    api: InProcessClient, tenant: Tenant, gateway: NewDevice
) -> None:
    assert api.get("/api/stats/messages-by-status/", headers=tenant.auth).json() == []
    sent = create(api, tenant)
    claim(api, gateway)
    report(api, gateway, message_id=sent["id"], status="SENT")
    create(api, tenant, scheduled_for="2030-02-01T00:00:00Z")
    create(api, tenant, scheduled_for="2030-02-01T00:00:00Z")
    released = create(api, tenant)
    claim(api, gateway)  # released -> ACCEPTED
    assert released

    stats = api.get("/api/stats/messages-by-status/", headers=tenant.auth)
    assert stats.status_code == 200
    assert stats.json() == [
        {"status": "ACCEPTED", "count": 1},
        {"status": "QUEUED", "count": 2},
        {"status": "SENT", "count": 1},
    ]


def test_health_answers_without_credentials(api: InProcessClient) -> None:
    response = api.get("/api/health/")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


# The event stream -------------------------------------------------------------------------


def test_the_stream_sends_pings_and_a_message_event_per_change(
    api: InProcessClient, tenant: Tenant, gateway: NewDevice
) -> None:
    created: list[str] = []

    async def change() -> None:
        response = await api.apost(
            "/api/messages/", json={"to_handle": PHONE, "body": "live"}, headers=tenant.auth
        )
        created.append(response.json()["id"])
        await api.apost("/api/gateway/claim/", json={}, headers=gateway.auth)

    def enough(events: list[tuple[str, Any]]) -> bool:
        names = [name for name, _ in events]
        return names.count("message") >= 3 and names.count("ping") >= 3

    events: list[tuple[str, Any]] = []

    async def scenario() -> Stream:
        def until(event: tuple[str, Any]) -> bool:
            events.append(event)
            return enough(events)

        return await read_stream(
            api.app, f"/api/stream/messages/?access_token={tenant.admin_key}", change, until=until
        )

    stream = api.run(scenario)
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.headers["cache-control"] == "no-cache"
    assert stream.events[0] == ("ping", {})
    messages = [data for name, data in stream.events if name == "message"]
    assert messages[:3] == [
        {"ids": created, "status": "QUEUED"},
        {"ids": created, "status": "ACCEPTED"},  # released by the claim
        {"ids": created, "status": "ACCEPTED"},  # claimed
    ]


def test_the_stream_takes_a_bearer_header_or_access_token(
    api: InProcessClient, tenant: Tenant
) -> None:
    async def nothing() -> None:
        return None

    async def scenario(path: str) -> Stream:
        return await read_stream(api.app, path, nothing, until=lambda e: e[0] == "ping")

    refused = api.run(lambda: scenario("/api/stream/messages/"))
    assert refused.status == 401
    wrong = api.run(lambda: scenario("/api/stream/messages/?access_token=nope"))
    assert wrong.status == 401
    accepted = api.run(lambda: scenario(f"/api/stream/messages/?access_token={tenant.admin_key}"))
    assert accepted.status == 200


def test_claimed_by_reads_as_in_the_seed(
    api: InProcessClient, tenant: Tenant, gateway: NewDevice, container: Services
) -> None:
    message = create(api, tenant)
    assert detail(api, tenant, message["id"])["claimed_by"] is None  # queued
    assert len(scheduling.release_due(container).released) == 1
    prepared = detail(api, tenant, message["id"])
    assert (prepared["status"], prepared["claimed_by"]) == ("ACCEPTED", "gateway_pending")
    assert claim(api, gateway).json()["claimed_by"] == "mac-1"
    listed = api.get("/api/messages/", headers=tenant.auth).json()
    assert [m["claimed_by"] for m in listed] == ["mac-1"]


def test_a_reported_error_is_kept_cut_and_clean(
    api: InProcessClient, tenant: Tenant, gateway: NewDevice
) -> None:
    message = create(api, tenant)
    claim(api, gateway)
    # A device's error text is recorded, never refused: the report must land.
    error = "bad\ud800 news\x00 " + "x" * 1_000_000
    raw = json.dumps({"message_id": message["id"], "status": "FAILED", "error": error})
    response = api.post(
        "/api/gateway/report/",
        content=raw.encode(),
        headers={**gateway.auth, "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    got = detail(api, tenant, message["id"])
    assert got["last_error"].startswith("bad? news ")
    assert len(got["last_error"]) <= 2000
    [event_error] = [e["detail"]["error"] for e in got["events"] if e["detail"]]
    assert event_error == got["last_error"]
