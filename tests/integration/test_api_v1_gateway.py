"""/v1 gateway protocol: claims with leases and tokens, long-poll, reports, retries, heartbeat.
In process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
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
    Tenant,
    new_device,
    new_message,
    new_tenant,
    problem_fields,
    serve_live,
)

STALE_TOKEN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        lease_seconds=60,
        operator_token=OPERATOR_TOKEN,
        retry=RetryPolicy(base_seconds=10, cap_seconds=60, max_attempts=3, jitter=0),
    )


@pytest.fixture
def device(api: InProcessClient, tenant: Tenant) -> NewDevice:
    return new_device(api, tenant)


def claim(api: InProcessClient, device: NewDevice, **body: Any) -> dict[str, Any]:
    response = api.post("/v1/gateway/claim", json=body, headers=device.auth)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def report(api: InProcessClient, device: NewDevice, **body: Any) -> httpx.Response:
    return api.post("/v1/gateway/report", json=body, headers=device.auth)


def status_of(api: InProcessClient, tenant: Tenant, message_id: str) -> dict[str, Any]:
    result: dict[str, Any] = api.get(f"/v1/messages/{message_id}", headers=tenant.auth).json()
    return result


# Claims -----------------------------------------------------------------------------------


def report_sent(api: InProcessClient, device: NewDevice, sent: list[tuple[str, str]]) -> None:
    reports = [{"message_id": m, "claim_token": t, "status": "sent"} for m, t in sent]
    answer = api.post("/v1/gateway/report", json={"reports": reports}, headers=device.auth)
    assert answer.status_code == 200, answer.text
    assert all(r.get("status") == "sent" for r in answer.json()["results"]), answer.text


def test_a_claim_takes_due_messages_up_to_the_limit_under_a_lease(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    created = [
        new_message(api, tenant, body=f"m{i}", scheduled_for=f"2030-01-07T08:5{i}:00Z")["id"]
        for i in range(3)
    ]  # due in the order created: the oldest due goes first
    later = new_message(api, tenant, scheduled_for="2030-01-07T10:00:00Z")

    first = claim(api, device, limit=2)
    assert first["lease_expires_at"] == "2030-01-07T09:01:00Z"  # now + lease_seconds
    assert [m["id"] for m in first["messages"]] == created[:2]
    tokens = {m["claim_token"] for m in first["messages"]}
    assert all(tokens)
    assert first["messages"][0]["attempt"] == 1
    assert first["messages"][0]["body"] == "m0"

    assert not any(m["handed_back"] for m in first["messages"])
    report_sent(api, device, [(m["id"], m["claim_token"]) for m in first["messages"]])

    second = claim(api, device, limit=2)
    assert [m["id"] for m in second["messages"]] == created[2:]
    assert {m["claim_token"] for m in second["messages"]}.isdisjoint(tokens)

    # Not reported: handed back, under its token, marked so the device can tell.
    again = claim(api, device)
    assert [(m["id"], m["handed_back"]) for m in again["messages"]] == [(created[2], True)]
    assert again["messages"][0]["claim_token"] == second["messages"][0]["claim_token"]
    report_sent(api, device, [(created[2], again["messages"][0]["claim_token"])])
    empty = claim(api, device)
    assert empty == {"lease_expires_at": None, "messages": []}
    assert status_of(api, tenant, later["id"])["status"] == "queued"  # not due yet
    assert status_of(api, tenant, created[0])["status"] == "sent"


def test_a_claim_without_a_body_uses_the_defaults(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    new_message(api, tenant)
    response = api.post("/v1/gateway/claim", headers=device.auth)
    assert response.status_code == 200
    assert len(response.json()["messages"]) == 1


def test_concurrent_claims_never_hand_out_a_message_twice(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    items = [{"recipient": PHONE, "body": f"m{i}"} for i in range(40)]
    created = api.post("/v1/messages/batch", json={"items": items}, headers=tenant.auth).json()
    devices = [device, new_device(api, tenant, "second mac"), new_device(api, tenant, "third")]
    taken: dict[str, list[str]] = {d.id: [] for d in devices}
    errors: list[str] = []

    def drain(who: NewDevice) -> None:
        for _ in range(40):
            response = api.post("/v1/gateway/claim", json={"limit": 3}, headers=who.auth)
            if response.status_code != 200:
                errors.append(response.text)
                return
            batch = response.json()["messages"]
            if not batch:
                return
            taken[who.id].extend(m["id"] for m in batch)
            reports = [
                {"message_id": m["id"], "claim_token": m["claim_token"], "status": "sent"}
                for m in batch
            ]
            sent = api.post("/v1/gateway/report", json={"reports": reports}, headers=who.auth)
            if sent.status_code != 200:
                errors.append(sent.text)

    threads = [threading.Thread(target=drain, args=(d,)) for d in devices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    everything = [m for ids in taken.values() for m in ids]
    assert len(everything) == len(set(everything)) == 40
    assert set(everything) == {m["id"] for m in created["items"]}


def test_a_message_for_one_device_is_not_claimed_by_another(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    other = new_device(api, tenant, "other mac")
    mine = new_message(api, tenant, device_id=device.id)
    assert claim(api, other)["messages"] == []
    assert [m["id"] for m in claim(api, device)["messages"]] == [mine["id"]]


def test_a_disabled_channel_hands_out_nothing(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    console = api.post(
        "/v1/channels", json={"kind": "console", "name": "spare"}, headers=tenant.auth
    ).json()
    api.patch(f"/v1/channels/{console['id']}", json={"is_default": True}, headers=tenant.auth)
    gateway_id = api.get("/v1/devices", headers=tenant.auth).json()["items"][0]["channel_id"]
    new_message(api, tenant, channel_id=gateway_id)
    api.post(f"/v1/channels/{gateway_id}/disable", headers=tenant.auth)
    assert claim(api, device)["messages"] == []


# Reports ----------------------------------------------------------------------------------


def test_a_single_report_settles_the_message(
    api: InProcessClient, tenant: Tenant, device: NewDevice, clock: FrozenClock
) -> None:
    message = new_message(api, tenant)
    [claimed] = claim(api, device)["messages"]
    clock.advance(2)
    sent = report(
        api, device, message_id=message["id"], claim_token=claimed["claim_token"], status="sent"
    )
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"message_id": message["id"], "status": "sent"}
    got = status_of(api, tenant, message["id"])
    assert got["status"] == "sent"
    assert got["sent_at"] == "2030-01-07T09:00:02Z"

    # The device repeats itself (a lost response): nothing changes, nothing fails.
    again = report(
        api, device, message_id=message["id"], claim_token=claimed["claim_token"], status="sent"
    )
    assert again.status_code == 200
    assert len(status_of(api, tenant, message["id"])["events"]) == 4


def test_a_report_with_a_stale_token_is_refused(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    message = new_message(api, tenant)
    claim(api, device)
    refused = report(api, device, message_id=message["id"], claim_token=STALE_TOKEN, status="sent")
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert status_of(api, tenant, message["id"])["status"] == "claimed"


def test_refused_reports_say_why(api: InProcessClient, tenant: Tenant, device: NewDevice) -> None:
    claimed_id = new_message(api, tenant)["id"]
    [claimed] = claim(api, device)["messages"]
    token = claimed["claim_token"]
    pinned = new_message(api, tenant, scheduled_for="2030-02-01T00:00:00Z", device_id=device.id)

    def refusal(by: NewDevice, message_id: str, claim_token: str, status: str = "sent") -> str:
        response = report(api, by, message_id=message_id, claim_token=claim_token, status=status)
        assert response.status_code == 409, response.text
        detail: str = response.json()["detail"]
        return detail

    assert "has not been claimed" in refusal(device, pinned["id"], token)
    assert "claimed again, or the token is wrong" in refusal(device, claimed_id, STALE_TOKEN)
    assert report(api, device, message_id=claimed_id, claim_token=token, status="delivered")
    late = refusal(device, claimed_id, token, status="failed")
    assert late == "a delivered message cannot become failed"
    assert status_of(api, tenant, claimed_id)["status"] == "delivered"


def test_a_failure_after_sent_is_a_final_bounce(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    message_id = new_message(api, tenant)["id"]
    token = claim(api, device)["messages"][0]["claim_token"]
    report(api, device, message_id=message_id, claim_token=token, status="sent")
    bounce = report(
        api, device, message_id=message_id, claim_token=token, status="failed", error="bounced"
    )
    assert bounce.status_code == 200, bounce.text
    assert bounce.json()["status"] == "failed"  # not queued again: it went out once
    assert status_of(api, tenant, message_id)["last_error"] == "bounced"


def test_a_long_or_unstorable_error_is_recorded_cut_and_clean(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    message_id = new_message(api, tenant)["id"]
    token = claim(api, device)["messages"][0]["claim_token"]
    error = "no\ud800 signal\x00 " + "e" * 5000
    raw = json.dumps(
        {"message_id": message_id, "claim_token": token, "status": "failed", "error": error}
    )
    response = api.post(
        "/v1/gateway/report",
        content=raw.encode(),
        headers={**device.auth, "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    last_error = status_of(api, tenant, message_id)["last_error"]
    assert last_error.startswith("no? signal e")
    assert len(last_error) <= 2000


def test_an_illegal_change_in_a_list_is_refused_alone(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    ids = [new_message(api, tenant, body=f"m{i}")["id"] for i in range(2)]
    token = claim(api, device)["messages"][0]["claim_token"]
    response = report(
        api,
        device,
        reports=[
            {"message_id": ids[0], "claim_token": token, "status": "read"},  # claimed -> read
            {"message_id": ids[1], "claim_token": token, "status": "sent"},
        ],
    )
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert first["error"]["status"] == 409
    assert "cannot become read" in first["error"]["detail"]
    assert second == {"message_id": ids[1], "status": "sent"}
    assert status_of(api, tenant, ids[0])["status"] == "claimed"


def test_a_report_from_another_device_is_refused(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    other = new_device(api, tenant, "other mac")
    message = new_message(api, tenant)
    [claimed] = claim(api, device)["messages"]
    refused = report(
        api, other, message_id=message["id"], claim_token=claimed["claim_token"], status="sent"
    )
    assert refused.status_code == 404
    assert status_of(api, tenant, message["id"])["status"] == "claimed"


def test_a_lost_lease_cannot_overwrite_the_new_claim(
    api: InProcessClient,
    tenant: Tenant,
    device: NewDevice,
    container: Services,
    clock: FrozenClock,
) -> None:
    """A device that went quiet past its lease reports late: the retry's claim wins."""
    gateway_id = api.get("/v1/devices", headers=tenant.auth).json()["items"][0]["channel_id"]
    api.patch(f"/v1/channels/{gateway_id}", json={"on_lease_expiry": "retry"}, headers=tenant.auth)
    message = new_message(api, tenant)
    [old] = claim(api, device)["messages"]
    clock.advance(61)
    assert scheduling.expire_leases(container).requeued == 1
    clock.advance(10)  # the backoff of a first attempt
    [new] = claim(api, device)["messages"]
    assert new["attempt"] == 2

    late = report(
        api,
        device,
        message_id=message["id"],
        claim_token=old["claim_token"],
        status="failed",
        error="timeout",
    )
    assert late.status_code == 409
    assert status_of(api, tenant, message["id"])["status"] == "claimed"
    current = report(
        api, device, message_id=message["id"], claim_token=new["claim_token"], status="sent"
    )
    assert current.json()["status"] == "sent"


def test_a_report_list_applies_each_item_on_its_own(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    ids = [new_message(api, tenant, body=f"m{i}")["id"] for i in range(3)]
    claimed = claim(api, device)["messages"]
    token = claimed[0]["claim_token"]
    missing = "01900000-0000-7000-8000-000000000000"

    response = report(
        api,
        device,
        reports=[
            {"message_id": ids[0], "claim_token": token, "status": "sent"},
            {"message_id": ids[1], "claim_token": STALE_TOKEN, "status": "sent"},
            {"message_id": ids[2], "claim_token": token, "status": "failed", "error": "no network"},
            {"message_id": missing, "claim_token": token, "status": "sent"},
        ],
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["message_id"] for r in results] == [ids[0], ids[1], ids[2], missing]
    assert results[0] == {"message_id": ids[0], "status": "sent"}
    assert results[1]["error"]["status"] == 409
    assert "status" not in results[1]
    assert results[2] == {"message_id": ids[2], "status": "queued"}
    assert results[3]["error"]["status"] == 404

    assert status_of(api, tenant, ids[0])["status"] == "sent"
    assert status_of(api, tenant, ids[1])["status"] == "claimed"
    assert status_of(api, tenant, ids[2])["last_error"] == "no network"


def test_a_failure_retries_with_backoff_until_the_attempts_run_out(
    api: InProcessClient, tenant: Tenant, device: NewDevice, clock: FrozenClock
) -> None:
    message = new_message(api, tenant)
    delays = []
    for attempt in (1, 2):
        [claimed] = claim(api, device)["messages"]
        assert claimed["attempt"] == attempt
        failed = report(
            api,
            device,
            message_id=message["id"],
            claim_token=claimed["claim_token"],
            status="failed",
            error=f"attempt {attempt} failed",
        )
        assert failed.json()["status"] == "queued"
        got = status_of(api, tenant, message["id"])
        assert got["status"] == "queued"
        assert got["attempts"] == attempt
        assert got["last_error"] == f"attempt {attempt} failed"
        due = got["scheduled_for"]
        delays.append(due)
        assert claim(api, device)["messages"] == []  # not before its backoff ends
        clock.advance(5 if attempt == 1 else 15)
        assert claim(api, device)["messages"] == []
        clock.advance(5)
    # base 10 s, doubled after each attempt, no jitter
    assert delays == ["2030-01-07T09:00:10Z", "2030-01-07T09:00:30Z"]

    [last] = claim(api, device)["messages"]
    assert last["attempt"] == 3
    final = report(
        api,
        device,
        message_id=message["id"],
        claim_token=last["claim_token"],
        status="failed",
        error="gave up",
    )
    assert final.json()["status"] == "failed"
    got = status_of(api, tenant, message["id"])
    assert (got["status"], got["attempts"], got["last_error"]) == ("failed", 3, "gave up")
    clock.advance(3600)
    assert claim(api, device)["messages"] == []
    assert [e["to"] for e in got["events"]][-3:] == ["released", "claimed", "failed"]


def test_a_failed_message_can_be_retried_by_hand(
    api: InProcessClient, tenant: Tenant, device: NewDevice, clock: FrozenClock
) -> None:
    message = new_message(api, tenant)
    for _ in range(3):
        clock.advance(60)  # past any backoff
        [claimed] = claim(api, device)["messages"]
        report(
            api,
            device,
            message_id=message["id"],
            claim_token=claimed["claim_token"],
            status="failed",
        )
    assert status_of(api, tenant, message["id"])["status"] == "failed"

    retried = api.post(f"/v1/messages/{message['id']}/retry", headers=tenant.auth)
    assert retried.status_code == 200
    assert retried.json()["status"] == "queued"
    assert retried.json()["scheduled_for"] == "2030-01-07T09:03:00Z"  # now
    [again] = claim(api, device)["messages"]
    assert again["attempt"] == 4


def test_a_queued_or_sent_message_cannot_be_retried(api: InProcessClient, tenant: Tenant) -> None:
    message = new_message(api, tenant)
    assert api.post(f"/v1/messages/{message['id']}/retry", headers=tenant.auth).status_code == 409


def test_a_claimed_message_cannot_be_retried(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    message = new_message(api, tenant)
    [claimed] = claim(api, device)["messages"]
    retried = api.post(f"/v1/messages/{message['id']}/retry", headers=tenant.auth)
    assert retried.status_code == 409
    sent = report(
        api, device, message_id=message["id"], claim_token=claimed["claim_token"], status="sent"
    )
    assert sent.status_code == 200


def test_the_heartbeat_marks_the_device_seen(
    api: InProcessClient, tenant: Tenant, device: NewDevice, clock: FrozenClock
) -> None:
    clock.advance(42)
    beat = api.post("/v1/gateway/heartbeat", headers=device.auth)
    assert beat.status_code == 200
    assert beat.json()["last_seen_at"] == "2030-01-07T09:00:42Z"
    clock.advance(1)
    claim(api, device)  # a claim counts as a sign of life too
    [listed] = api.get("/v1/devices", headers=tenant.auth).json()["items"]
    assert listed["last_seen_at"] == "2030-01-07T09:00:43Z"


def test_gateway_routes_take_a_device_token_not_an_api_key(
    api: InProcessClient, tenant: Tenant
) -> None:
    for path in ("/v1/gateway/claim", "/v1/gateway/report", "/v1/gateway/heartbeat"):
        response = api.post(path, json={}, headers=tenant.auth)
        assert response.status_code == 401, path


def test_a_malformed_report_names_the_field(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    response = report(
        api, device, reports=[{"message_id": "m", "claim_token": "t", "status": "lost"}]
    )
    assert response.status_code == 422
    assert sorted(problem_fields(response)) == ["reports[0].message_id", "reports[0].status"]


# Long-poll, with the scheduler running and real time --------------------------------------


@pytest.fixture
def live_api(settings: Settings) -> Iterator[InProcessClient]:
    with serve_live(settings) as client:
        yield client


def _claim_in_thread(
    api: InProcessClient, device: NewDevice, **body: Any
) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        outcome["response"] = api.post("/v1/gateway/claim", json=body, headers=device.auth)
        outcome["at"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_a_waiting_claim_answers_soon_after_a_message_is_created(live_api: InProcessClient) -> None:
    tenant = new_tenant(live_api)
    device = new_device(live_api, tenant)
    started = time.monotonic()
    thread, outcome = _claim_in_thread(live_api, device, wait=5)
    time.sleep(0.3)  # let the claim find nothing and start waiting
    created_at = time.monotonic()
    message = new_message(live_api, tenant)
    thread.join(timeout=10)
    assert not thread.is_alive()
    response = outcome["response"]
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["messages"]] == [message["id"]]
    assert outcome["at"] - created_at < 1.0
    assert outcome["at"] - started < 2.0  # well before the 5 s wait ran out


def test_a_waiting_claim_answers_when_a_scheduled_message_falls_due(
    live_api: InProcessClient,
) -> None:
    from datetime import UTC, datetime, timedelta

    tenant = new_tenant(live_api)
    device = new_device(live_api, tenant)
    due = datetime.now(UTC) + timedelta(seconds=1.2)
    message = new_message(live_api, tenant, scheduled_for=due.isoformat())
    thread, outcome = _claim_in_thread(live_api, device, wait=5)
    thread.join(timeout=10)
    arrived = datetime.now(UTC)
    assert [m["id"] for m in outcome["response"].json()["messages"]] == [message["id"]]
    assert due <= arrived < due + timedelta(seconds=1)


def test_a_waiting_claim_gives_up_after_its_wait(live_api: InProcessClient) -> None:
    tenant = new_tenant(live_api)
    device = new_device(live_api, tenant)
    other = new_tenant(live_api, "other")
    started = time.monotonic()
    thread, outcome = _claim_in_thread(live_api, device, wait=0.6)
    new_message(live_api, other)  # news for another workspace does not end the wait
    thread.join(timeout=10)
    assert outcome["response"].json() == {"lease_expires_at": None, "messages": []}
    assert outcome["at"] - started >= 0.6


def test_another_devices_message_is_not_found_whatever_its_state(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    """A device learns nothing of others' work: a report on a message that is neither
    claimed by it nor pinned to it reads exactly like one on a message that does not exist."""
    other = new_device(api, tenant, "other mac")
    waiting = new_message(api, tenant, scheduled_for="2030-02-01T00:00:00Z")["id"]
    held = new_message(api, tenant)["id"]
    done = new_message(api, tenant)["id"]
    tokens = {m["id"]: m["claim_token"] for m in claim(api, device)["messages"]}
    assert report(api, device, message_id=done, claim_token=tokens[done], status="sent")
    missing = "01a230f0-d4c4-7fcd-aa1c-d1f8dd492a3c"
    cases = {"waiting": waiting, "held": held, "sent": done, "missing": missing}
    for name, message_id in cases.items():
        for status in ("sent", "failed", "unknown"):
            token = tokens.get(message_id, STALE_TOKEN)
            response = report(api, other, message_id=message_id, claim_token=token, status=status)
            assert response.status_code == 404, (name, response.text)
            assert response.json()["detail"] == f"no message {message_id} in this workspace"
    assert status_of(api, tenant, held)["status"] == "claimed"
    assert status_of(api, tenant, done)["status"] == "sent"


# Release and unknown ------------------------------------------------------------------------


def release(api: InProcessClient, device: NewDevice, *items: dict[str, Any]) -> list[Any]:
    response = api.post("/v1/gateway/release", json={"releases": list(items)}, headers=device.auth)
    assert response.status_code == 200, response.text
    results: list[Any] = response.json()["results"]
    return results


def test_released_claims_go_to_another_device_at_once_without_an_attempt(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    other = new_device(api, tenant, "other mac")
    ids = [new_message(api, tenant, body=f"m{i}")["id"] for i in range(3)]
    claimed = {m["id"]: m for m in claim(api, device)["messages"]}
    kept, *handed = ids
    results = release(
        api, device, *({"message_id": i, "claim_token": claimed[i]["claim_token"]} for i in handed)
    )
    assert results == [{"message_id": i, "status": "released"} for i in handed]
    # A repeat (the answer was lost) changes nothing.
    again = release(
        api, device, {"message_id": handed[0], "claim_token": claimed[handed[0]]["claim_token"]}
    )
    assert again == [{"message_id": handed[0], "status": "released"}]

    taken = claim(api, other)["messages"]
    assert sorted(m["id"] for m in taken) == sorted(handed)
    assert all(m["attempt"] == 1 for m in taken)  # the handed-back claim was no attempt
    history = [e["to"] for e in status_of(api, tenant, handed[0])["events"]]
    assert history[-3:] == ["claimed", "released", "claimed"]
    assert status_of(api, tenant, kept)["status"] == "claimed"
    assert [m["id"] for m in claim(api, device)["messages"]] == [kept]  # still its own


def test_release_answers_each_item_and_refuses_what_is_not_the_devices(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    other = new_device(api, tenant, "other mac")
    mine = new_message(api, tenant)["id"]
    [claimed] = claim(api, device)["messages"]
    token = claimed["claim_token"]

    [foreign] = release(api, other, {"message_id": mine, "claim_token": token})
    assert foreign["error"]["status"] == 404
    stale, good = release(
        api,
        device,
        {"message_id": mine, "claim_token": STALE_TOKEN},
        {"message_id": mine, "claim_token": token},
    )
    assert stale["error"]["status"] == 409
    assert good == {"message_id": mine, "status": "released"}


def test_a_release_after_the_lease_ran_out_is_the_lease_policys(
    api: InProcessClient, tenant: Tenant, device: NewDevice, container: Services, clock: FrozenClock
) -> None:
    message = new_message(api, tenant)["id"]
    [claimed] = claim(api, device)["messages"]
    clock.advance(61)
    [late] = release(api, device, {"message_id": message, "claim_token": claimed["claim_token"]})
    assert late["error"]["status"] == 409
    assert status_of(api, tenant, message)["status"] == "claimed"  # until the sweep decides
    scheduling.expire_leases(container)
    assert status_of(api, tenant, message)["status"] == "unknown"


def test_an_unknown_report_stops_every_further_send(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    """A device that crashed mid-send cannot tell whether the message went out: `unknown`
    ends its claim, and no device is handed it again until a person decides."""
    other = new_device(api, tenant, "other mac")
    message = new_message(api, tenant)["id"]
    [claimed] = claim(api, device)["messages"]
    answer = report(
        api, device, message_id=message, claim_token=claimed["claim_token"], status="unknown"
    )
    assert answer.json() == {"message_id": message, "status": "unknown"}
    shown = status_of(api, tenant, message)
    assert shown["status"] == "unknown"
    assert "does not know whether it went out" in shown["last_error"]
    assert claim(api, other)["messages"] == []
    assert claim(api, device)["messages"] == []  # not handed back either


def test_a_late_unknown_stops_the_retry_the_lease_policy_queued(
    api: InProcessClient, tenant: Tenant, device: NewDevice, container: Services, clock: FrozenClock
) -> None:
    channel_id = api.get("/v1/devices", headers=tenant.auth).json()["items"][0]["channel_id"]
    api.patch(f"/v1/channels/{channel_id}", json={"on_lease_expiry": "retry"}, headers=tenant.auth)
    message = new_message(api, tenant)["id"]
    [claimed] = claim(api, device)["messages"]
    clock.advance(61)
    assert scheduling.expire_leases(container).requeued == 1
    late = report(
        api, device, message_id=message, claim_token=claimed["claim_token"], status="unknown"
    )
    assert late.json()["status"] == "unknown"
    clock.advance(3600)
    assert claim(api, device)["messages"] == []


@pytest.mark.parametrize("first", ["rejected", "failed"])
def test_a_reported_failure_is_final_for_its_claim(
    api: InProcessClient, tenant: Tenant, device: NewDevice, first: str
) -> None:
    """`rejected` (or a failure with no attempt left, or a bounce) cannot be turned into a
    delivery by a later report under the same claim."""
    message_id = new_message(api, tenant)["id"]
    token = claim(api, device)["messages"][0]["claim_token"]
    if first == "failed":  # a bounce: failed after sent
        report(api, device, message_id=message_id, claim_token=token, status="sent")
    refused_first = report(
        api, device, message_id=message_id, claim_token=token, status=first, error="no"
    )
    assert refused_first.json()["status"] == "failed"
    for later in ("delivered", "sent"):
        answer = report(api, device, message_id=message_id, claim_token=token, status=later)
        assert answer.status_code == 409, answer.text
        assert "that report is final" in answer.json()["detail"]
    assert status_of(api, tenant, message_id)["status"] == "failed"
