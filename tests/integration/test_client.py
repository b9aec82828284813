"""pigeon.client against a real pigeon: the app served by uvicorn on a loopback port (its
lifespan running, as `pigeon serve` runs it), on SQLite and PostgreSQL. Every route family is
called through the client, so a wrong path, parameter or body shows here.

The clock is frozen at T0: a message created without `scheduled_for` is due at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn

from pigeon.api.app import create_app
from pigeon.client import (
    AsyncClient,
    Client,
    Conflict,
    ConnectionFailed,
    Forbidden,
    NewMessage,
    NotFound,
    Received,
    Release,
    Report,
    RetryPolicy,
    Unauthorized,
    ValidationFailed,
)
from pigeon.client.types import Message, NewDevice, Page
from pigeon.config import Settings
from pigeon.services.context import Services
from tests.conftest import T0
from tests.integration.test_api_support import OPERATOR_TOKEN, PHONE, PHONE_2

FAST = RetryPolicy(retries=2, backoff=0.01, max_backoff=0.05, max_retry_after=0.05)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, lease_seconds=60, operator_token=OPERATOR_TOKEN)


@contextlib.contextmanager
def serving(container: Services) -> Iterator[str]:
    """The app over HTTP on a free loopback port, until the block ends."""
    app = create_app(container, run_workers=False)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "pigeon did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


@pytest.fixture
def base_url(container: Services) -> Iterator[str]:
    with serving(container) as url:
        yield url


@pytest.fixture
def admin_key(base_url: str) -> str:
    with Client(base_url, OPERATOR_TOKEN) as operator:
        return operator.workspaces.create("acme", timezone="Europe/Paris")["api_key"]


@pytest.fixture
def client(base_url: str, admin_key: str) -> Iterator[Client]:
    with Client(base_url, admin_key, retries=FAST) as client:
        yield client


@pytest.fixture
def device(client: Client) -> NewDevice:
    return client.devices.create("mac")


@pytest.fixture
def mac(base_url: str, device: NewDevice) -> Iterator[Client]:
    """The client as the device uses it: the same class, with the device's token."""
    with Client(base_url, device["token"], retries=FAST) as mac:
        yield mac


class LoseAnswers(httpx.BaseTransport):
    """Sends every request; the first `lose` answers to `path` are read, then lost, as when a
    connection drops after pigeon committed."""

    def __init__(self, path: str, lose: int = 1) -> None:
        self._inner = httpx.HTTPTransport()
        self._path = path
        self._lose = lose
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if request.url.path != self._path:
            return response
        self.sent.append(request)
        if len(self.sent) > self._lose:
            return response
        response.read()
        response.close()
        raise httpx.ReadError("the connection dropped before the answer", request=request)

    def close(self) -> None:
        self._inner.close()


# The gateway flow -------------------------------------------------------------------------


def test_a_message_goes_from_created_to_sent_through_the_device(
    client: Client, mac: Client, device: NewDevice
) -> None:
    created = client.messages.create(PHONE, "hello")
    assert created["status"] == "queued"

    claim = mac.gateway.claim(limit=5)
    assert [m["id"] for m in claim["messages"]] == [created["id"]]
    claimed = claim["messages"][0]
    assert (claimed["body"], claimed["attempt"], claimed["handed_back"]) == ("hello", 1, False)
    assert claim["lease_expires_at"] == "2030-01-07T09:01:00Z"  # T0 + lease_seconds

    assert mac.gateway.heartbeat()["device_id"] == device["id"]
    [result] = mac.gateway.report([Report(created["id"], claimed["claim_token"], "sent")])
    assert (result.message_id, result.status, result.ok) == (created["id"], "sent", True)

    read = client.messages.get(created["id"])
    assert read["status"] == "sent"
    assert [e["to"] for e in read["events"]][-2:] == ["claimed", "sent"]
    assert mac.gateway.claim() == {"lease_expires_at": None, "messages": []}


def test_reports_are_answered_item_by_item_without_raising(client: Client, mac: Client) -> None:
    first = client.messages.create(PHONE, "one")
    second = client.messages.create(PHONE_2, "two")
    tokens = {m["id"]: m["claim_token"] for m in mac.gateway.claim()["messages"]}
    stranger = str(uuid.uuid4())

    results = mac.gateway.report(
        [
            Report(first["id"], tokens[first["id"]], "failed", error="no signal"),
            Report(second["id"], str(uuid.uuid4()), "sent"),  # not the current claim
            Report(stranger, str(uuid.uuid4()), "sent"),
        ]
    )
    assert [r.message_id for r in results] == [first["id"], second["id"], stranger]
    assert results[0].ok and results[0].error is None
    assert isinstance(results[1].error, Conflict) and results[1].status is None
    assert isinstance(results[2].error, NotFound) and results[2].error.status == 404
    assert client.messages.get(first["id"])["last_error"] == "no signal"


def test_rejected_and_unknown_reports_end_the_message(client: Client, mac: Client) -> None:
    rejected = client.messages.create(PHONE, "one")
    unknown = client.messages.create(PHONE_2, "two")
    tokens = {m["id"]: m["claim_token"] for m in mac.gateway.claim()["messages"]}

    results = mac.gateway.report(
        [
            Report(rejected["id"], tokens[rejected["id"]], "rejected", error="blocked number"),
            Report(unknown["id"], tokens[unknown["id"]], "unknown"),
        ]
    )
    assert [(r.status, r.ok) for r in results] == [("failed", True), ("unknown", True)]
    assert client.messages.get(rejected["id"])["status"] == "failed"
    assert mac.gateway.claim()["messages"] == []  # neither is given out again


def test_a_released_claim_is_claimed_again_at_once(client: Client, mac: Client) -> None:
    created = client.messages.create(PHONE, "hello")
    [claimed] = mac.gateway.claim()["messages"]

    [released] = mac.gateway.release([Release(created["id"], claimed["claim_token"])])
    assert (released.status, released.ok) == ("released", True)
    [stale] = mac.gateway.release([Release(created["id"], str(uuid.uuid4()))])
    assert isinstance(stale.error, Conflict)

    [again] = mac.gateway.claim()["messages"]
    assert again["id"] == created["id"]
    assert again["claim_token"] != claimed["claim_token"]
    assert again["attempt"] == 1  # a release counts no attempt
    assert again["handed_back"] is False


def test_a_device_hands_over_what_it_received(client: Client, mac: Client) -> None:
    received = Received(
        guid="guid-1",
        sender=PHONE,
        text="see you at 5",
        received_at=datetime(2030, 1, 7, 10, 0, tzinfo=UTC),
        service="iMessage",
    )
    assert mac.gateway.inbound([received]) == {"accepted": 1, "duplicates": 0}
    assert mac.gateway.inbound([received]) == {"accepted": 0, "duplicates": 1}

    page = client.inbound.list()
    [stored] = page["items"]
    assert (stored["from"], stored["text"]) == (PHONE, "see you at 5")
    assert stored["received_at"] == "2030-01-07T10:00:00Z"
    assert client.inbound.get(stored["id"]) == stored


def test_a_waiting_claim_outlasts_the_client_timeout(base_url: str, device: NewDevice) -> None:
    """Without the longer read timeout for its request, a claim waiting 1.5 s would fail
    with a client whose timeout is 0.5 s."""
    with Client(base_url, device["token"], timeout=0.5, retries=0) as mac:
        started = time.monotonic()
        assert mac.gateway.claim(wait=1.5)["messages"] == []
        assert time.monotonic() - started >= 1.4


def test_the_async_client_runs_the_gateway_flow(base_url: str, admin_key: str) -> None:
    async def flow() -> None:
        async with AsyncClient(base_url, admin_key, retries=FAST) as client:
            device = await client.devices.create("mac")
            created = await client.messages.create(PHONE, "hello")
            async with AsyncClient(base_url, device["token"], retries=FAST) as mac:
                claim = await mac.gateway.claim(wait=1)
                [claimed] = claim["messages"]
                assert claimed["id"] == created["id"]
                report = Report(created["id"], claimed["claim_token"], "delivered")
                [result] = await mac.gateway.report([report])
                assert result.status == "delivered"
            read = await client.messages.get(created["id"])
            assert read["status"] == "delivered"
            seen = [m["id"] async for m in client.paginate(client.messages.list, limit=1)]
            assert seen == [created["id"]]
            with pytest.raises(NotFound):
                await client.messages.get(str(uuid.uuid4()))

    asyncio.run(flow())


def test_times_in_words_and_extractions(client: Client, base_url: str, admin_key: str) -> None:
    """The workspace is in Europe/Paris; the clock says 10:00 there (T0)."""
    created = client.messages.create(PHONE, "hello", scheduled_for_text="tomorrow at 3pm")
    assert created["scheduled_for"] == "2030-01-08T14:00:00Z"
    text = "remind me to call Ann tomorrow at 3pm"
    found = client.extract(text, zone="Asia/Tokyo", locale="en-GB")
    assert (found["reference"], found["zone"], found["locale"]) == (
        "2030-01-07T09:00:00Z",
        "Asia/Tokyo",
        "en_GB",
    )
    assert found["extraction"]["due"] == "2030-01-08T06:00:00Z"
    assert [m["text"] for m in found["mentions"] if "3pm" in m["text"]]
    vague = client.extract("remind me sometime next month", reference=T0 + timedelta(hours=1))
    assert vague["reference"] == "2030-01-07T10:00:00Z"
    assert (vague["extraction"]["ambiguous"], vague["extraction"]["due"]) == (True, None)
    with pytest.raises(ValidationFailed) as refused:
        client.extract("tomorrow", zone="Mars/Olympus")
    assert refused.value.fields == ["zone"]

    async def in_async() -> Any:
        async with AsyncClient(base_url, admin_key, retries=FAST) as pigeon:
            return await pigeon.extract("remind me tomorrow at 3pm")

    assert asyncio.run(in_async())["extraction"]["due"] == "2030-01-08T14:00:00Z"


# Idempotency ------------------------------------------------------------------------------


def test_two_creates_with_one_key_make_one_message(client: Client) -> None:
    first = client.messages.create(PHONE, "hello", idempotency_key="order-17")
    second = client.messages.create(PHONE, "hello", idempotency_key="order-17")
    assert second["id"] == first["id"]
    assert [m["id"] for m in client.messages.list()["items"]] == [first["id"]]

    with pytest.raises(Conflict) as refused:
        client.messages.create(PHONE, "another body", idempotency_key="order-17")
    assert refused.value.status == 409


def test_a_create_whose_answer_was_lost_is_retried_into_one_message(
    base_url: str, admin_key: str
) -> None:
    transport = LoseAnswers("/v1/messages")
    with Client(base_url, admin_key, retries=FAST, transport=transport) as client:
        created = client.messages.create(PHONE, "hello")  # no key given: the client made one
        assert [m["id"] for m in client.messages.list()["items"]] == [created["id"]]
    posts = [r for r in transport.sent if r.method == "POST"]
    assert len(posts) == 2
    assert posts[0].headers["Idempotency-Key"] == posts[1].headers["Idempotency-Key"]


def test_a_batch_whose_answer_was_lost_is_retried_into_one_set(
    base_url: str, admin_key: str
) -> None:
    transport = LoseAnswers("/v1/messages/batch")
    with Client(base_url, admin_key, retries=FAST, transport=transport) as client:
        items = [NewMessage(PHONE, "one"), NewMessage(PHONE_2, "two")]
        answer = client.messages.create_many(items)
        assert (answer["created"], answer["replayed"]) == (0, 2)  # the first try made them
        assert len(client.messages.list()["items"]) == 2
    assert len(transport.sent) == 2


def test_a_create_pigeon_cannot_deduplicate_is_not_sent_twice(
    client: Client, base_url: str, admin_key: str
) -> None:
    """A batch draft takes no Idempotency-Key: after a lost answer the client says so rather
    than risk a second draft."""
    contact = client.contacts.create(handles=[{"kind": "phone", "value": PHONE}])
    transport = LoseAnswers("/v1/batches")
    with (
        Client(base_url, admin_key, retries=FAST, transport=transport) as lossy,
        pytest.raises(ConnectionFailed, match="may have been carried out"),
    ):
        lossy.batches.create("spring", "Hi", {"contact_ids": [contact["id"]]})
    assert len(transport.sent) == 1
    assert len(client.batches.list()["items"]) == 1


# Errors -----------------------------------------------------------------------------------


def test_an_invalid_request_names_the_field(client: Client) -> None:
    with pytest.raises(ValidationFailed) as refused:
        client.messages.create("not a number", "hello")
    error = refused.value
    assert error.status == 422
    assert error.fields == ["recipient"]
    assert "recipient" in str(error)


def test_a_time_in_words_pigeon_must_ask_about_raises_with_the_question(client: Client) -> None:
    with pytest.raises(ValidationFailed) as refused:
        client.messages.create(PHONE, "hello", scheduled_for_text="later")
    error = refused.value
    assert (error.status, error.fields) == (422, ["scheduled_for_text"])
    assert error.reason in {"vague_time", "vague_period"}
    assert error.question and error.question in str(error)
    assert client.messages.list()["items"] == []  # nothing was written


def test_a_missing_resource_is_not_found(client: Client) -> None:
    with pytest.raises(NotFound) as missing:
        client.messages.get(str(uuid.uuid4()))
    assert missing.value.status == 404 and missing.value.title == "Not found"


def test_keys_and_scopes_are_enforced(client: Client, base_url: str) -> None:
    reader = client.keys.create("dashboard", ["read"])
    assert reader["scopes"] == ["read"]
    with Client(base_url, reader["key"]) as read_only:
        assert read_only.workspaces.current() == client.workspaces.current()
        with pytest.raises(Forbidden):
            read_only.messages.create(PHONE, "hello")
    assert [k["id"] for k in client.keys.list() if k["name"] == "dashboard"] == [reader["id"]]

    assert client.keys.revoke(reader["id"]) == {"id": reader["id"], "revoked": True}
    with Client(base_url, reader["key"]) as revoked, pytest.raises(Unauthorized):
        revoked.workspaces.current()


# Lists ------------------------------------------------------------------------------------


def test_lists_page_with_cursors(client: Client) -> None:
    made = [client.messages.create(PHONE, f"m{i}")["id"] for i in range(5)]
    newest_first = made[::-1]

    first = client.messages.list(limit=2)
    assert [m["id"] for m in first["items"]] == newest_first[:2]
    assert first["next_cursor"] is not None
    second = client.messages.list(limit=2, cursor=first["next_cursor"])
    assert [m["id"] for m in second["items"]] == newest_first[2:4]

    every = list(client.paginate(client.messages.list, limit=2))
    assert [m["id"] for m in every] == newest_first


def test_messages_are_filtered_by_status_recipient_and_time(client: Client) -> None:
    early = client.messages.create(PHONE, "early", scheduled_for=T0 - timedelta(hours=1))
    later = client.messages.create(PHONE_2, "later", scheduled_for="2030-01-08T09:00:00+01:00")
    canceled = client.messages.cancel(early["id"])
    assert canceled["status"] == "canceled"

    def ids(page: Page[Message]) -> list[str]:
        return [m["id"] for m in page["items"]]

    assert ids(client.messages.list(status="canceled")) == [early["id"]]
    both = client.messages.list(status=["canceled", "queued"])
    assert set(ids(both)) == {early["id"], later["id"]}
    assert ids(client.messages.list(recipient=PHONE_2)) == [later["id"]]
    assert ids(client.messages.list(scheduled_from=T0)) == [later["id"]]
    assert client.messages.stats()["by_status"]["canceled"] == 1


# Every route family -----------------------------------------------------------------------


def test_messages_cancel_retry_and_recur(client: Client, mac: Client) -> None:
    created = client.messages.create(PHONE, "hello")
    [claimed] = mac.gateway.claim()["messages"]
    mac.gateway.report([Report(created["id"], claimed["claim_token"], "unknown")])
    assert client.messages.retry(created["id"])["status"] in {"queued", "released"}
    with pytest.raises(Conflict):
        client.messages.retry(created["id"])  # only failed or unknown messages

    weekly = client.messages.create(
        PHONE, "standup", scheduled_for=T0, repeat={"rrule": "FREQ=WEEKLY;BYDAY=MO"}
    )
    recurrence_id = weekly["recurrence_id"]
    assert client.recurrences.get(recurrence_id)["status"] == "active"
    assert [r["id"] for r in client.recurrences.list()["items"]] == [recurrence_id]
    assert client.recurrences.stop(recurrence_id)["status"] == "stopped"


def test_accounts_devices_channels_and_audit(client: Client, base_url: str) -> None:
    workspace = client.workspaces.current()
    assert (workspace["name"], workspace["timezone"]) == ("acme", "Europe/Paris")

    channel = client.channels.create("console", "log", config={})
    assert channel["kind"] == "console" and channel["disabled"] is False
    assert channel["id"] in [c["id"] for c in client.channels.list()]
    renamed = client.channels.update(channel["id"], name="console log")
    assert client.channels.get(channel["id"])["name"] == renamed["name"] == "console log"
    assert client.channels.disable(channel["id"])["disabled"] is True
    assert client.channels.update(channel["id"], disabled=False)["disabled"] is False

    device = client.devices.create("spare")
    assert [d["id"] for d in client.devices.list()] == [device["id"]]
    revoked = client.devices.revoke(device["id"])
    assert (revoked["id"], revoked["revoked"], revoked["claims_unknown"]) == (
        device["id"],
        True,
        0,
    )
    with Client(base_url, device["token"]) as gone, pytest.raises(Unauthorized):
        gone.gateway.heartbeat()

    actions = [event["action"] for event in client.audit.list(limit=2)]
    assert actions == ["device_revoked", "device_created"]


def test_contacts(client: Client) -> None:
    ann = client.contacts.create(
        name="Ann",
        handles=[{"kind": "phone", "value": "020 7946 0958"}],
        tags=["vip"],
        default_region="GB",
        idempotency_key="contact-ann",
    )
    assert ann["handles"][0]["value"] == "+442079460958"
    again = client.contacts.create(
        name="Ann",
        handles=[{"kind": "phone", "value": "020 7946 0958"}],
        tags=["vip"],
        default_region="GB",
        idempotency_key="contact-ann",
    )
    assert again["id"] == ann["id"]

    upserted = client.contacts.upsert_many(
        [
            {"external_id": "crm-2", "name": "Bob", "handles": [{"kind": "phone", "value": PHONE}]},
            {"name": "Ann B.", "handles": [{"kind": "phone", "value": "+442079460958"}]},
        ]
    )
    assert (upserted["created"], upserted["updated"]) == (1, 1)
    assert upserted["ids"][1] == ann["id"]

    assert [c["id"] for c in client.contacts.list(tag="vip")["items"]] == [ann["id"]]
    assert [c["name"] for c in client.contacts.list(q="Bob")["items"]] == ["Bob"]
    cleared = client.contacts.update(ann["id"], name=None)
    assert cleared["name"] is None and cleared["tags"] == ["vip"]  # only what was given
    assert client.contacts.get(ann["id"])["name"] is None

    assert client.contacts.delete(ann["id"]) is None
    with pytest.raises(NotFound):
        client.contacts.get(ann["id"])
    with pytest.raises(ValidationFailed) as refused:
        client.contacts.upsert_many([{"handles": [{"kind": "phone", "value": "nope"}]}])
    assert refused.value.fields == ["contacts[0].handles[0].value"]


def test_batches(client: Client) -> None:
    ids = client.contacts.upsert_many(
        [
            {"name": "Ann", "handles": [{"kind": "phone", "value": PHONE}], "tags": ["vip"]},
            {"name": "Bob", "handles": [{"kind": "phone", "value": PHONE_2}], "tags": ["vip"]},
        ]
    )["ids"]
    batch = client.batches.create(
        "spring", "Hi {{ contact.name }}", {"tags": ["vip"]}, auto_pause=None, send_at=T0
    )
    assert (batch["status"], batch["auto_pause"]) == ("draft", None)

    preview = client.batches.preview(batch["id"], samples=1)
    assert (preview["audience"], preview["will_send"]) == (2, 2)
    assert len(preview["samples"]) == 1 and preview["samples"][0]["body"].startswith("Hi ")

    assert client.batches.start(batch["id"])["status"] == "sending"
    assert client.batches.pause(batch["id"])["status"] == "paused"
    assert client.batches.resume(batch["id"])["status"] == "sending"
    progress = client.batches.get(batch["id"])["progress"]
    assert progress["total"] == 2
    items = client.batches.items(batch["id"], limit=1)
    assert len(items["items"]) == 1 and items["next_cursor"] is not None
    every = list(client.paginate(client.batches.items, batch["id"], limit=1))
    assert {i["contact_id"] for i in every} == set(ids)
    assert client.batches.cancel(batch["id"])["status"] == "canceled"
    with pytest.raises(Conflict):
        client.batches.start(batch["id"])
    assert [b["id"] for b in client.batches.list(status="canceled")["items"]] == [batch["id"]]


def test_throttle_and_opt_out(client: Client, device: NewDevice) -> None:
    assert client.throttle.get()["configured"] is False
    policy = client.throttle.put(max_per_minute=10, quiet_hours={"start": "22:00", "end": "08:00"})
    assert policy["rules"]["max_per_minute"] == 10
    assert policy["rules"]["quiet_hours"] == {"start": "22:00", "end": "08:00"}
    on_device = client.throttle.put(device_id=device["id"], paused=True)
    assert (on_device["scope"], on_device["scope_id"]) == ("device", device["id"])
    assert {p["scope"] for p in client.throttle.policies()} == {"workspace", "device"}
    assert client.throttle.delete(device_id=device["id"]) is None
    assert client.throttle.get(device_id=device["id"])["configured"] is False

    assert "en" in client.opt_out.get()["languages"]
    config = client.opt_out.put({"es": {"stop": ["BASTA"], "help_text": "Ayuda"}})
    assert list(config["languages"]) == ["es"]
    assert config["languages"]["es"]["stop"] == ["BASTA"]


def test_jobs_dead_letters_and_stats(client: Client) -> None:
    client.messages.create(PHONE, "hello")
    stats = client.stats.get()
    assert stats["messages"]["by_status"]["queued"] == 1
    assert isinstance(stats["queue_backend"], str)

    jobs = client.jobs.list(limit=1)
    assert set(jobs) == {"items", "next_cursor"}
    with pytest.raises(NotFound):
        client.jobs.get(str(uuid.uuid4()))
    assert client.dead_letters.list()["items"] == []
    assert client.dead_letters.redrive(all=True) == {"redriven": 0, "job_ids": []}
    assert client.dead_letters.purge(job_ids=[str(uuid.uuid4())]) == {"purged": 0, "job_ids": []}
    with pytest.raises(ValidationFailed) as refused:
        client.dead_letters.purge()  # neither ids, nor a filter, nor all
    assert refused.value.fields == ["all"]
