"""/v1 messages: create, validate, idempotency, list with filters and cursors, history, cancel,
batches. In process, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from pigeon.clock import FrozenClock
from pigeon.config import Settings
from pigeon.services.context import Services
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    PHONE,
    PHONE_2,
    InProcessClient,
    Tenant,
    bearer,
    new_device,
    new_key,
    new_message,
    new_tenant,
    problem_fields,
    row_counts,
    serve_in_process,
)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url, lease_seconds=60, operator_token=OPERATOR_TOKEN, max_body_chars=500
    )


def _create(api: InProcessClient, tenant: Tenant, payload: dict[str, Any], **kw: Any) -> Any:
    return api.post("/v1/messages", json=payload, headers={**tenant.auth, **kw.pop("headers", {})})


# Create and validate ----------------------------------------------------------------------


def test_a_message_is_created_queued_for_now_on_the_default_channel(
    api: InProcessClient, tenant: Tenant
) -> None:
    response = _create(api, tenant, {"recipient": "+1 (415) 555-0100", "body": "hello"})
    assert response.status_code == 201, response.text
    message = response.json()
    gateway = next(
        c for c in api.get("/v1/channels", headers=tenant.auth).json()["items"] if c["is_default"]
    )
    assert message["recipient"] == PHONE  # normalised to E.164
    assert message["status"] == "queued"
    assert message["scheduled_for"] == "2030-01-07T09:00:00Z"
    assert message["channel_id"] == gateway["id"]
    assert message["attempts"] == 0
    assert "Idempotent-Replayed" not in response.headers


def test_phone_numbers_and_emails_are_accepted(api: InProcessClient, tenant: Tenant) -> None:
    for recipient, stored in [
        ("+447911123456", "+447911123456"),
        ("Ada@Example.COM", "Ada@example.com"),
        ("  ada@example.org ", "ada@example.org"),
    ]:
        response = _create(api, tenant, {"recipient": recipient, "body": "hi"})
        assert response.status_code == 201, response.text
        assert response.json()["recipient"] == stored


def test_a_bad_recipient_is_refused_naming_the_field(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    before = row_counts(container)
    for recipient in ["12345", "+1 555", "not a number", "ada@", "ada@example", "a b@c.com", ""]:
        response = _create(api, tenant, {"recipient": recipient, "body": "hi"})
        assert response.status_code == 422, recipient
        assert problem_fields(response) == ["recipient"], recipient
    assert row_counts(container) == before


def test_the_body_must_be_present_and_within_the_limit(
    api: InProcessClient, tenant: Tenant
) -> None:
    for body, problem in [("x" * 501, "at most 500 characters"), ("   ", "must not be empty")]:
        response = _create(api, tenant, {"recipient": PHONE, "body": body})
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["field"] == "body"
        assert problem in error["detail"]
    assert _create(api, tenant, {"recipient": PHONE, "body": "x" * 500}).status_code == 201


def test_a_naive_scheduled_for_is_refused(api: InProcessClient, tenant: Tenant) -> None:
    naive = _create(
        api, tenant, {"recipient": PHONE, "body": "hi", "scheduled_for": "2030-02-01T09:00:00"}
    )
    assert naive.status_code == 422
    assert problem_fields(naive) == ["scheduled_for"]
    assert "UTC offset" in naive.json()["detail"]

    aware = _create(
        api,
        tenant,
        {"recipient": PHONE, "body": "hi", "scheduled_for": "2030-02-01T09:00:00+01:00"},
    )
    assert aware.status_code == 201
    assert aware.json()["scheduled_for"] == "2030-02-01T08:00:00Z"


def test_several_problems_are_reported_together(api: InProcessClient, tenant: Tenant) -> None:
    response = _create(
        api, tenant, {"recipient": "nobody", "body": "", "scheduled_for": "2030-02-01T09:00:00"}
    )
    assert response.status_code == 422
    assert sorted(problem_fields(response)) == ["body", "recipient", "scheduled_for"]


# Idempotency ------------------------------------------------------------------------------


def test_the_same_idempotency_key_and_body_replay_the_first_response(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    payload = {"recipient": PHONE, "body": "once"}
    first = _create(api, tenant, payload, headers={"Idempotency-Key": "order-1"})
    assert first.status_code == 201
    clock.advance(5)
    counts = row_counts(container)

    again = _create(api, tenant, payload, headers={"Idempotency-Key": "order-1"})
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert row_counts(container) == counts
    listed = api.get("/v1/messages", headers=tenant.auth).json()["items"]
    assert [m["id"] for m in listed] == [first.json()["id"]]


def test_the_same_idempotency_key_with_another_body_conflicts(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    _create(api, tenant, {"recipient": PHONE, "body": "once"}, headers={"Idempotency-Key": "k"})
    counts = row_counts(container)
    clash = _create(
        api, tenant, {"recipient": PHONE, "body": "twice"}, headers={"Idempotency-Key": "k"}
    )
    assert clash.status_code == 409
    assert clash.headers["content-type"].startswith("application/problem+json")
    assert "Idempotency-Key" in clash.json()["detail"]
    assert row_counts(container) == counts


def test_an_idempotency_key_replays_the_same_request_written_another_way(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    # The recipient and the time as stored decide, not how the client spelled them.
    first = _create(
        api,
        tenant,
        {
            "recipient": "+1 (415) 555-0100",
            "body": "b",
            "scheduled_for": "2031-01-01T01:00:00+01:00",
        },
        headers={"Idempotency-Key": "spelled"},
    )
    assert first.status_code == 201, first.text
    counts = row_counts(container)
    again = _create(
        api,
        tenant,
        {"recipient": PHONE, "body": "b", "scheduled_for": "2031-01-01T00:00:00Z"},
        headers={"Idempotency-Key": "spelled"},
    )
    assert again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert row_counts(container) == counts


def test_idempotency_keys_belong_to_one_workspace(api: InProcessClient, tenant: Tenant) -> None:
    other = new_tenant(api, "other")
    payload = {"recipient": PHONE, "body": "same"}
    mine = _create(api, tenant, payload, headers={"Idempotency-Key": "shared"})
    theirs = _create(api, other, payload, headers={"Idempotency-Key": "shared"})
    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]


# Listing ----------------------------------------------------------------------------------


def newest_first(*messages: dict[str, Any]) -> list[str]:
    """Listings go newest first by id; ids are time-ordered (to the millisecond)."""
    return sorted((m["id"] for m in messages), reverse=True)


def test_the_list_filters_by_status_recipient_and_time(
    api: InProcessClient, tenant: Tenant
) -> None:
    early = new_message(api, tenant, scheduled_for="2030-01-07T10:00:00Z")
    late = new_message(api, tenant, recipient=PHONE_2, scheduled_for="2030-01-08T10:00:00Z")
    canceled = new_message(api, tenant, scheduled_for="2030-01-09T10:00:00Z")
    api.post(f"/v1/messages/{canceled['id']}/cancel", headers=tenant.auth)

    def ids(**params: Any) -> list[str]:
        response = api.get("/v1/messages", params=params, headers=tenant.auth)
        assert response.status_code == 200, response.text
        return [m["id"] for m in response.json()["items"]]

    assert ids() == newest_first(early, late, canceled)
    assert ids(status="queued") == newest_first(early, late)
    assert ids(status="canceled") == [canceled["id"]]
    assert ids(status="queued,canceled") == ids()
    assert ids(status=["queued", "canceled"]) == ids()
    assert ids(recipient=PHONE_2) == [late["id"]]
    assert ids(recipient="+1 415 555 0101") == [late["id"]]  # normalised like on create
    assert ids(scheduled_from="2030-01-08T00:00:00Z") == newest_first(late, canceled)
    assert ids(scheduled_until="2030-01-08T10:00:00Z") == [early["id"]]  # exclusive
    assert ids(
        scheduled_from="2030-01-07T11:00:00+01:00", scheduled_until="2030-01-09T00:00:00Z"
    ) == newest_first(early, late)
    assert ids(status="sent") == []


def test_cursor_pages_cover_every_message_once(api: InProcessClient, tenant: Tenant) -> None:
    created = [new_message(api, tenant, body=f"m{i}")["id"] for i in range(11)]
    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/messages", params=params, headers=tenant.auth).json()
        pages += 1
        seen.extend(m["id"] for m in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10, "the cursor never ran out"
    assert pages == 3
    assert seen == sorted(created, reverse=True)  # no duplicate, no gap, newest first


def test_cursor_pages_keep_the_filters(api: InProcessClient, tenant: Tenant) -> None:
    for i in range(6):
        new_message(api, tenant, recipient=PHONE if i % 2 else PHONE_2, body=f"m{i}")
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2, "recipient": PHONE}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/v1/messages", params=params, headers=tenant.auth).json()
        assert all(m["recipient"] == PHONE for m in page["items"])
        seen.extend(m["id"] for m in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3


def test_an_exactly_full_last_page_has_no_cursor(api: InProcessClient, tenant: Tenant) -> None:
    for _ in range(4):
        new_message(api, tenant)
    first = api.get("/v1/messages", params={"limit": 2}, headers=tenant.auth).json()
    second = api.get(
        "/v1/messages", params={"limit": 2, "cursor": first["next_cursor"]}, headers=tenant.auth
    ).json()
    assert len(second["items"]) == 2
    assert second["next_cursor"] is None


# One message: history and cancel ---------------------------------------------------------


def test_a_message_shows_its_history_in_order(
    api: InProcessClient, tenant: Tenant, clock: FrozenClock
) -> None:
    device = new_device(api, tenant)
    message = new_message(api, tenant)
    clock.advance(1)
    [claimed] = api.post("/v1/gateway/claim", json={}, headers=device.auth).json()["messages"]
    clock.advance(1)
    api.post(
        "/v1/gateway/report",
        json={"message_id": message["id"], "claim_token": claimed["claim_token"], "status": "sent"},
        headers=device.auth,
    )
    clock.advance(1)
    api.post(
        "/v1/gateway/report",
        json={
            "message_id": message["id"],
            "claim_token": claimed["claim_token"],
            "status": "delivered",
        },
        headers=device.auth,
    )

    found = api.get(f"/v1/messages/{message['id']}", headers=tenant.auth)
    assert found.status_code == 200
    body = found.json()
    assert body["status"] == "delivered"
    assert body["sent_at"] == "2030-01-07T09:00:02Z"
    steps = [(e["from"], e["to"], e["at"]) for e in body["events"]]
    assert steps == [
        (None, "queued", "2030-01-07T09:00:00Z"),
        ("queued", "released", "2030-01-07T09:00:01Z"),
        ("released", "claimed", "2030-01-07T09:00:01Z"),
        ("claimed", "sent", "2030-01-07T09:00:02Z"),
        ("sent", "delivered", "2030-01-07T09:00:03Z"),
    ]
    assert body["events"][0]["actor"].startswith("key:")
    assert body["events"][3]["actor"] == f"device:{device.id}"


def test_an_unknown_message_is_not_found(api: InProcessClient, tenant: Tenant) -> None:
    missing = "01900000-0000-7000-8000-000000000000"
    response = api.get(f"/v1/messages/{missing}", headers=tenant.auth)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert api.post(f"/v1/messages/{missing}/cancel", headers=tenant.auth).status_code == 404


def test_a_queued_message_can_be_canceled_once(api: InProcessClient, tenant: Tenant) -> None:
    message = new_message(api, tenant, scheduled_for="2030-02-01T09:00:00Z")
    canceled = api.post(f"/v1/messages/{message['id']}/cancel", headers=tenant.auth)
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    again = api.post(f"/v1/messages/{message['id']}/cancel", headers=tenant.auth)
    assert again.status_code == 409
    events = api.get(f"/v1/messages/{message['id']}", headers=tenant.auth).json()["events"]
    assert [e["to"] for e in events] == ["queued", "canceled"]


def test_a_sent_message_cannot_be_canceled(api: InProcessClient, tenant: Tenant) -> None:
    device = new_device(api, tenant)
    message = new_message(api, tenant)
    [claimed] = api.post("/v1/gateway/claim", json={}, headers=device.auth).json()["messages"]
    claimed_cancel = api.post(f"/v1/messages/{message['id']}/cancel", headers=tenant.auth)
    assert claimed_cancel.status_code == 409  # the device may be sending it right now
    api.post(
        "/v1/gateway/report",
        json={"message_id": message["id"], "claim_token": claimed["claim_token"], "status": "sent"},
        headers=device.auth,
    )
    refused = api.post(f"/v1/messages/{message['id']}/cancel", headers=tenant.auth)
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    got = api.get(f"/v1/messages/{message['id']}", headers=tenant.auth).json()
    assert got["status"] == "sent"


def test_a_read_key_cannot_cancel(api: InProcessClient, tenant: Tenant) -> None:
    message = new_message(api, tenant)
    read = bearer(new_key(api, tenant, "read"))
    assert api.post(f"/v1/messages/{message['id']}/cancel", headers=read).status_code == 403
    assert api.get(f"/v1/messages/{message['id']}", headers=read).json()["status"] == "queued"


def test_stats_count_messages_by_status(api: InProcessClient, tenant: Tenant) -> None:
    new_message(api, tenant)
    doomed = new_message(api, tenant)
    api.post(f"/v1/messages/{doomed['id']}/cancel", headers=tenant.auth)
    stats = api.get("/v1/stats/messages", headers=tenant.auth).json()["by_status"]
    assert stats["queued"] == 1
    assert stats["canceled"] == 1
    assert stats["sent"] == 0


# Batches ----------------------------------------------------------------------------------


def test_a_batch_with_one_bad_item_writes_nothing(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    before = row_counts(container)
    items = [
        {"recipient": PHONE, "body": "one"},
        {"recipient": PHONE_2, "body": "two"},
        {"recipient": "nobody", "body": "three"},
    ]
    response = api.post("/v1/messages/batch", json={"items": items}, headers=tenant.auth)
    assert response.status_code == 422
    assert problem_fields(response) == ["items[2].recipient"]
    assert row_counts(container) == before


def test_a_batch_names_every_bad_item(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    before = row_counts(container)
    items = [
        {"recipient": PHONE, "body": "one"},
        {"recipient": "nobody", "body": "two"},
        {"recipient": PHONE_2, "body": " "},
    ]
    response = api.post("/v1/messages/batch", json={"items": items}, headers=tenant.auth)
    assert response.status_code == 422
    assert problem_fields(response) == ["items[1].recipient", "items[2].body"]
    assert row_counts(container) == before


def test_a_body_larger_than_the_request_limit_is_413_before_it_is_read(
    container: Services, db_url: str
) -> None:
    from dataclasses import replace

    from pigeon import bootstrap

    small = bootstrap.build(replace(container.settings, max_request_bytes=4096))
    try:
        with serve_in_process(small) as client:
            tenant = new_tenant(client)
            before = row_counts(small)
            big = {"recipient": PHONE, "body": "x" * 10_000}
            response = client.post("/v1/messages", json=big, headers=tenant.auth)
            assert response.status_code == 413
            assert response.headers["content-type"].startswith("application/problem+json")
            assert row_counts(small) == before

            async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: counted
                yield b'{"recipient": "+14155550100", "body": "'
                for _ in range(10):
                    yield b"x" * 1000
                yield b'"}'

            chunked = client.post(
                "/v1/messages",
                content=streamed(),
                headers={**tenant.auth, "content-type": "application/json"},
            )
            assert chunked.status_code == 413, chunked.text
            assert "larger than 4096 bytes" in chunked.json()["detail"]
            assert row_counts(small) == before
            fits = client.post(
                "/v1/messages", json={"recipient": PHONE, "body": "x"}, headers=tenant.auth
            )
            assert fits.status_code == 201
    finally:
        small.close()


def test_a_batch_with_a_malformed_item_names_its_index(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    before = row_counts(container)
    items = [{"recipient": PHONE, "body": "one"}, {"recipient": PHONE, "body": 7}]
    response = api.post("/v1/messages/batch", json={"items": items}, headers=tenant.auth)
    assert response.status_code == 422
    assert problem_fields(response) == ["items[1].body"]
    assert row_counts(container) == before


def test_a_batch_is_created_together_and_replays_per_item(
    api: InProcessClient, tenant: Tenant
) -> None:
    items = [
        {"recipient": PHONE, "body": "one", "idempotency_key": "a"},
        {"recipient": PHONE_2, "body": "two", "idempotency_key": "b"},
        {"recipient": PHONE, "body": "three"},
    ]
    first = api.post("/v1/messages/batch", json={"items": items}, headers=tenant.auth)
    assert first.status_code == 201, first.text
    assert first.json()["created"] == 3
    assert first.json()["replayed"] == 0
    assert [m["body"] for m in first.json()["items"]] == ["one", "two", "three"]

    items.append({"recipient": PHONE_2, "body": "four", "idempotency_key": "c"})
    second = api.post("/v1/messages/batch", json={"items": items}, headers=tenant.auth)
    assert second.status_code == 201
    assert second.json()["created"] == 2  # "three" has no key, "four" is new
    assert second.json()["replayed"] == 2
    assert second.json()["items"][:2] == first.json()["items"][:2]
    assert second.json()["items"][2]["id"] != first.json()["items"][2]["id"]
    assert len(api.get("/v1/messages", headers=tenant.auth).json()["items"]) == 5


def test_a_batch_due_at_once_is_handed_out_in_its_order(
    api: InProcessClient, tenant: Tenant
) -> None:
    items = [{"recipient": PHONE, "body": f"part {i}"} for i in range(12)]
    created = api.post("/v1/messages/batch", json={"items": items}, headers=tenant.auth).json()
    device = new_device(api, tenant)
    claimed = api.post("/v1/gateway/claim", json={"limit": 12}, headers=device.auth).json()
    assert [m["body"] for m in claimed["messages"]] == [f"part {i}" for i in range(12)]
    listed = api.get("/v1/messages", headers=tenant.auth).json()["items"]
    assert [m["id"] for m in listed] == [m["id"] for m in reversed(created["items"])]


def test_a_batch_refuses_a_reused_key_with_another_body(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    api.post(
        "/v1/messages/batch",
        json={"items": [{"recipient": PHONE, "body": "one", "idempotency_key": "a"}]},
        headers=tenant.auth,
    )
    before = row_counts(container)
    clash = api.post(
        "/v1/messages/batch",
        json={
            "items": [
                {"recipient": PHONE, "body": "new", "idempotency_key": "b"},
                {"recipient": PHONE, "body": "changed", "idempotency_key": "a"},
            ]
        },
        headers=tenant.auth,
    )
    assert clash.status_code == 409
    assert "items[1].idempotency_key" in clash.json()["detail"]
    assert row_counts(container) == before


def test_a_batch_refuses_a_key_repeated_inside_it(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    before = row_counts(container)
    response = api.post(
        "/v1/messages/batch",
        json={
            "items": [
                {"recipient": PHONE, "body": "one", "idempotency_key": "a"},
                {"recipient": PHONE, "body": "two", "idempotency_key": "a"},
            ]
        },
        headers=tenant.auth,
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["items[1].idempotency_key"]
    assert row_counts(container) == before


def test_a_batch_refuses_one_idempotency_key_for_all(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    """Ignoring it would let a client believe a retried batch is safe; it is not."""
    before = row_counts(container)
    response = api.post(
        "/v1/messages/batch",
        json={"items": [{"recipient": PHONE, "body": "one"}]},
        headers={**tenant.auth, "Idempotency-Key": "batch-1"},
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["idempotency-key"]
    assert "each item" in response.json()["detail"]
    assert row_counts(container) == before


def test_an_empty_batch_is_refused(api: InProcessClient, tenant: Tenant) -> None:
    response = api.post("/v1/messages/batch", json={"items": []}, headers=tenant.auth)
    assert response.status_code == 422
    assert problem_fields(response) == ["items"]
