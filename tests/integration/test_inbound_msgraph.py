"""Inbound mail from Microsoft 365 through Graph change notifications, end to end: the API in
process, the job engine drained, and a fake Graph and login over real HTTPS
(tests/fakes/msgraph.py) that validates notification URLs the way Graph does.

Covered: the validation handshake; clientState checks (constant time, drop and count);
durable ingress (202 after the enqueue, 503 when the queue fails); consume-time fetch,
idempotency, a message gone at the source (skipped), retries, dead letters and re-drive;
subscription creation at channel setup, renewal before expiry, lifecycle notifications;
secrets never shown, and replaced by a config update.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from pigeon.clock import FrozenClock
from pigeon.config import QueueSettings, Settings
from pigeon.domain.jobs import CONTENT_KEYS
from pigeon.services.context import Services
from pigeon.workers.supervisor import drain
from tests.fakes.msgraph import Certificates, FakeGraph, make_certificates, serving_tls
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    InProcessClient,
    Tenant,
    problem_fields,
)

PUBLIC_URL = "https://pigeon.example.org"
TENANT_ID = "8f2ad1f0-6a63-4b4a-9d5c-0f2f6d2f1a11"
CLIENT_ID = "0c3b1e3e-5f51-4c2e-8f55-2a0b7f6b9a21"
CLIENT_SECRET = "client-secret-never-shown-0123456789"
CLIENT_STATE = "client-state-never-shown-0123456789"
MAILBOX = "desk@contoso.com"
MAX_ATTEMPTS = 3
POINTER_KEYS = {"provider", "channel_id", "mailbox", "message_id", "subscription_id", "change_type"}


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        lease_seconds=60,
        operator_token=OPERATOR_TOKEN,
        public_url=PUBLIC_URL,
        secret_key="a-secret-key-for-the-msgraph-tests-0123456789",
        queue=QueueSettings(
            max_attempts=MAX_ATTEMPTS,
            block_seconds=0.05,
            retry_base_seconds=5,
            retry_cap_seconds=60,
        ),
    )


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(Path(tmp_path_factory.mktemp("msgraph-tls")))


@pytest.fixture
def graph(
    api: InProcessClient,
    clock: FrozenClock,
    certificates: Certificates,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[FakeGraph]:
    def deliver(url: str, params: dict[str, str]) -> tuple[int, str, str]:
        """Graph's POST to a notification URL, reaching the app in process."""
        assert url.startswith(PUBLIC_URL), url
        response = api.post(
            url.removeprefix(PUBLIC_URL),
            params=params,
            content=b"",
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        return response.status_code, response.headers.get("content-type", ""), response.text

    fake = FakeGraph(
        tenant_id=TENANT_ID,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        clock=clock,
        deliver=deliver,
    )
    # pigeon's HTTP client trusts the fake's CA, as it would a corporate one.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))
    with serving_tls(fake.app, certificates) as base_url:
        fake.base_url = base_url
        yield fake


# Helpers ----------------------------------------------------------------------------------


def new_channel(
    api: InProcessClient, tenant: Tenant, graph: FakeGraph, **config: Any
) -> dict[str, Any]:
    base = graph.base_url
    body = {
        "kind": "msgraph",
        "name": "office",
        "config": {
            "tenant_id": TENANT_ID,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "client_state": CLIENT_STATE,
            "mailboxes": [MAILBOX],
            "api_base_url": f"{base}/v1.0",
            "login_base_url": base,
            **config,
        },
    }
    response = api.post("/v1/channels", json=body, headers=tenant.auth)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def run_jobs(api: InProcessClient, container: Services) -> None:
    api.run(lambda: drain(container))


def subscribed(api: InProcessClient, tenant: Tenant, graph: FakeGraph) -> dict[str, Any]:
    """A channel whose subscription exists at the fake."""
    channel = new_channel(api, tenant, graph)
    run_jobs(api, api.app.state.services)
    assert len(graph.subscriptions) == 1, graph.requests
    return channel


def state(api: InProcessClient, tenant: Tenant, channel_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/channels/{channel_id}", headers=tenant.auth)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["state"]
    return found


def jobs(api: InProcessClient, tenant: Tenant, **query: str) -> list[dict[str, Any]]:
    response = api.get("/v1/jobs", params=query, headers=tenant.auth)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return found


def inbound(api: InProcessClient, tenant: Tenant) -> list[dict[str, Any]]:
    response = api.get("/v1/inbound", params={"limit": 200}, headers=tenant.auth)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return found


def notify(
    api: InProcessClient, channel_id: str, *notifications: dict[str, Any], lifecycle: bool = False
) -> Any:
    path = f"/webhooks/msgraph/{channel_id}" + ("/lifecycle" if lifecycle else "")
    return api.post(path, json={"value": list(notifications)})


def subscription_id(graph: FakeGraph) -> str:
    [found] = graph.subscriptions
    return found


# The validation handshake -----------------------------------------------------------------


def test_the_handshake_echoes_the_decoded_token_as_plain_text(
    api: InProcessClient, tenant: Tenant, graph: FakeGraph
) -> None:
    channel = new_channel(api, tenant, graph)
    token = "Validation: Testing client application reachability <&> 100% ünïcode+plus"
    for suffix in ("", "/lifecycle"):
        response = api.post(
            f"/webhooks/msgraph/{channel['id']}{suffix}?validationToken={quote(token)}",
            content=b"",
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.text == token


def test_the_handshake_of_an_unknown_channel_is_404(
    api: InProcessClient, tenant: Tenant, graph: FakeGraph
) -> None:
    gateway = next(
        c
        for c in api.get("/v1/channels", headers=tenant.auth).json()["items"]
        if c["kind"] == "gateway"
    )
    for channel_id in ("6d1f1a5e-0000-4000-8000-000000000000", gateway["id"], "not-an-id"):
        response = api.post(f"/webhooks/msgraph/{channel_id}?validationToken=abc")
        assert response.status_code == 404, response.text
        assert "abc" not in response.text


# Notifications: authentication and durable ingress ----------------------------------------


def test_a_bad_client_state_is_dropped_and_counted_and_the_rest_accepted(
    api: InProcessClient,
    tenant: Tenant,
    graph: FakeGraph,
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel = new_channel(api, tenant, graph)
    good = graph.change_notification("sub-1", MAILBOX, "AAMkAGgood", CLIENT_STATE)
    bad = graph.change_notification("sub-1", MAILBOX, "AAMkAGbad", CLIENT_STATE[:-1] + "x")
    with caplog.at_level(logging.WARNING, logger="pigeon.providers.msgraph"):
        response = notify(api, channel["id"], good, bad)
    assert response.status_code == 202, response.text
    assert response.content == b""

    [job] = jobs(api, tenant, kind="inbound.msgraph")
    assert job["queue"] == "inbound"
    assert job["status"] == "ready"
    pointer = job["pointer"]
    assert set(pointer) == POINTER_KEYS
    assert pointer == {
        "provider": "msgraph",
        "channel_id": channel["id"],
        "mailbox": MAILBOX,
        "message_id": "AAMkAGgood",
        "subscription_id": "sub-1",
        "change_type": "created",
    }
    assert not {k.lower() for k in pointer} & CONTENT_KEYS

    assert state(api, tenant, channel["id"])["client_state_mismatches"] == 1
    [event] = [
        r for r in caplog.records if r.__dict__.get("action") == "msgraph_client_state_mismatch"
    ]
    assert event.__dict__["count"] == 1


def test_a_batch_that_fails_every_client_state_is_202_and_enqueues_nothing(
    api: InProcessClient, tenant: Tenant, graph: FakeGraph
) -> None:
    channel = new_channel(api, tenant, graph)
    forged = [
        graph.change_notification("sub-1", MAILBOX, "AAMkAG1", "a-guess-of-the-client-state"),
        {**graph.change_notification("sub-1", MAILBOX, "AAMkAG2", ""), "clientState": None},
        {"subscriptionId": "sub-1", "resource": "nonsense"},  # malformed, but unauthenticated
    ]
    response = notify(api, channel["id"], *forged)
    assert response.status_code == 202, response.text
    assert jobs(api, tenant, kind="inbound.msgraph") == []
    assert state(api, tenant, channel["id"])["client_state_mismatches"] == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "request_body"),
        (b"[]", "request_body"),
        (b"{}", "value"),
        (b'{"value": []}', "value"),
        (b'{"value": [1]}', "value[0]"),
    ],
)
def test_a_malformed_body_is_400_naming_the_field(
    api: InProcessClient, tenant: Tenant, graph: FakeGraph, body: bytes, field: str
) -> None:
    channel = new_channel(api, tenant, graph)
    response = api.post(
        f"/webhooks/msgraph/{channel['id']}",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert problem_fields(response) == [field]


def test_a_malformed_authentic_notification_is_400_and_nothing_is_enqueued(
    api: InProcessClient, tenant: Tenant, graph: FakeGraph
) -> None:
    channel = new_channel(api, tenant, graph)
    good = graph.change_notification("sub-1", MAILBOX, "AAMkAG1", CLIENT_STATE)
    cases = [
        ({k: v for k, v in good.items() if k != "subscriptionId"}, "value[1].subscriptionId"),
        ({**good, "resource": "me/events/1", "resourceData": None}, "value[1].resource"),
        ({**good, "resourceData": {"id": 7}}, "value[1].resourceData.id"),
    ]
    for malformed, field in cases:
        response = notify(api, channel["id"], good, malformed)
        assert response.status_code == 400, response.text
        assert problem_fields(response) == [field]
    assert jobs(api, tenant, kind="inbound.msgraph") == []


def test_when_the_queue_fails_the_answer_is_503_and_nothing_is_enqueued(
    api: InProcessClient,
    tenant: Tenant,
    graph: FakeGraph,
    container: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    channel = new_channel(api, tenant, graph)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("the queue is down")

    monkeypatch.setattr(container.queue, "enqueue", refuse)
    good = graph.change_notification("sub-1", MAILBOX, "AAMkAG1", CLIENT_STATE)
    response = notify(api, channel["id"], good)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    monkeypatch.undo()
    assert jobs(api, tenant, kind="inbound.msgraph") == []


# Consuming: fetch at consume time ---------------------------------------------------------


def test_draining_fetches_the_message_and_stores_it_once(
    api: InProcessClient, tenant: Tenant, graph: FakeGraph, container: Services
) -> None:
    channel = subscribed(api, tenant, graph)
    message_id = graph.add_message(
        MAILBOX,
        subject="Quarterly report",
        text="Please review by Friday.",
        sender="ann@example.org",
        to=(MAILBOX, "bob@contoso.com"),
    )
    notification = graph.change_notification(
        subscription_id(graph), MAILBOX, message_id, CLIENT_STATE
    )
    assert notify(api, channel["id"], notification).status_code == 202
    run_jobs(api, container)

    [stored] = inbound(api, tenant)
    assert stored["external_id"] == f"msgraph:{message_id}"
    assert stored["channel_id"] == channel["id"]
    assert stored["subject"] == "Quarterly report"
    assert stored["text"] == "Please review by Friday."
    assert stored["from"] == "ann@example.org"
    assert stored["to"] == [MAILBOX, "bob@contoso.com"]
    assert stored["mailbox"] == MAILBOX
    assert stored["internet_message_id"] == graph.messages[MAILBOX][message_id]["internetMessageId"]
    assert stored["received_at"] == "2030-01-07T09:00:00Z"

    [fetch] = graph.recorded("GET", "/messages/")
    assert fetch.path == f"/v1.0/users/{MAILBOX}/messages/{message_id}"
    assert fetch.query["$select"] == (
        "id,internetMessageId,subject,from,toRecipients,receivedDateTime,body,conversationId"
    )
    assert fetch.headers["prefer"] == 'outlook.body-content-type="text"'
    assert fetch.headers["authorization"].removeprefix("Bearer ") in graph.tokens

    # Graph delivers at least once: the same notification again stores nothing new.
    assert notify(api, channel["id"], notification).status_code == 202
    run_jobs(api, container)
    assert len(inbound(api, tenant)) == 1
    assert [j["status"] for j in jobs(api, tenant, kind="inbound.msgraph")] == ["done", "done"]


def test_a_message_deleted_at_the_source_is_skipped_and_never_retried(
    api: InProcessClient,
    tenant: Tenant,
    graph: FakeGraph,
    container: Services,
    clock: FrozenClock,
) -> None:
    channel = subscribed(api, tenant, graph)
    message_id = graph.add_message(MAILBOX)
    graph.delete_message(MAILBOX, message_id)
    notification = graph.change_notification(
        subscription_id(graph), MAILBOX, message_id, CLIENT_STATE
    )
    assert notify(api, channel["id"], notification).status_code == 202
    run_jobs(api, container)
    clock.advance(timedelta(hours=1))
    run_jobs(api, container)

    [job] = jobs(api, tenant, kind="inbound.msgraph")
    assert job["status"] == "skipped"
    assert job["last_error"] == "source_unavailable:msgraph_message_not_found"
    assert job["attempts"] == 1
    assert len(graph.recorded("GET", "/messages/")) == 1
    assert inbound(api, tenant) == []


def test_a_server_error_retries_then_dead_letters_and_a_redrive_runs_it_again(
    api: InProcessClient,
    tenant: Tenant,
    graph: FakeGraph,
    container: Services,
    clock: FrozenClock,
) -> None:
    channel = subscribed(api, tenant, graph)
    message_id = graph.add_message(MAILBOX)
    graph.fail("GET", "/messages/", 500, times=MAX_ATTEMPTS)
    notification = graph.change_notification(
        subscription_id(graph), MAILBOX, message_id, CLIENT_STATE
    )
    assert notify(api, channel["id"], notification).status_code == 202

    run_jobs(api, container)
    [job] = jobs(api, tenant, kind="inbound.msgraph")
    assert job["status"] == "ready"  # to be retried, later
    assert job["attempts"] == 1
    assert "500" in job["last_error"]
    for _ in range(MAX_ATTEMPTS - 1):
        clock.advance(timedelta(minutes=5))
        run_jobs(api, container)
    [job] = jobs(api, tenant, kind="inbound.msgraph")
    assert job["status"] == "dead"
    assert job["attempts"] == MAX_ATTEMPTS
    assert len(graph.recorded("GET", "/messages/")) == MAX_ATTEMPTS
    dead = api.get("/v1/dead-letters", headers=tenant.auth).json()["items"]
    assert [d["id"] for d in dead] == [job["id"]]
    assert inbound(api, tenant) == []

    response = api.post(
        "/v1/dead-letters/redrive", json={"job_ids": [job["id"]]}, headers=tenant.auth
    )
    assert response.status_code == 200, response.text
    run_jobs(api, container)
    [job] = jobs(api, tenant, kind="inbound.msgraph")
    assert job["status"] == "done"
    assert [m["external_id"] for m in inbound(api, tenant)] == [f"msgraph:{message_id}"]


def test_a_refused_token_is_dropped_and_a_new_one_fetched(
    api: InProcessClient,
    tenant: Tenant,
    graph: FakeGraph,
    container: Services,
    clock: FrozenClock,
) -> None:
    channel = subscribed(api, tenant, graph)
    tokens_before = len(graph.recorded("POST", "/oauth2/v2.0/token"))
    graph.revoke_tokens()
    message_id = graph.add_message(MAILBOX)
    notification = graph.change_notification(
        subscription_id(graph), MAILBOX, message_id, CLIENT_STATE
    )
    assert notify(api, channel["id"], notification).status_code == 202
    run_jobs(api, container)
    [job] = jobs(api, tenant, kind="inbound.msgraph")
    assert job["status"] == "ready"
    assert "401" in job["last_error"]

    clock.advance(timedelta(minutes=5))
    run_jobs(api, container)
    assert len(graph.recorded("POST", "/oauth2/v2.0/token")) == tokens_before + 1
    assert len(inbound(api, tenant)) == 1


# Subscriptions ----------------------------------------------------------------------------


def test_creating_the_channel_subscribes_each_mailbox(
    api: InProcessClient, tenant: Tenant, graph: FakeGraph, container: Services
) -> None:
    channel = new_channel(api, tenant, graph)
    [job] = jobs(api, tenant, kind="msgraph.subscribe")
    assert job["queue"] == "providers"
    assert job["status"] == "ready"
    assert graph.requests == []  # the request itself never calls Graph

    run_jobs(api, container)
    [subscription] = graph.subscriptions.values()
    webhook = f"{PUBLIC_URL}/webhooks/msgraph/{channel['id']}"
    assert subscription["notificationUrl"] == webhook
    assert subscription["lifecycleNotificationUrl"] == f"{webhook}/lifecycle"
    assert subscription["clientState"] == CLIENT_STATE
    assert subscription["resource"] == f"users/{MAILBOX}/mailFolders('Inbox')/messages"
    assert subscription["changeType"] == "created"
    assert subscription["expirationDateTime"].startswith("2030-01-10T09:00:00")  # 3 days
    # Graph validated both URLs against pigeon before creating it.
    assert [(url, status) for url, status, _ in graph.validations] == [
        (webhook, 200),
        (f"{webhook}/lifecycle", 200),
    ]
    [token_request] = graph.recorded("POST", "/oauth2/v2.0/token")
    assert token_request.path == f"/{TENANT_ID}/oauth2/v2.0/token"
    assert token_request.body["client_secret"] == CLIENT_SECRET

    found = state(api, tenant, channel["id"])
    entry = found["subscriptions"][MAILBOX]
    assert entry["id"] == subscription["id"]
    assert entry["expires_at"] == "2030-01-10T09:00:00Z"
    assert entry["last_error"] is None
    assert found["last_ok_at"] == "2030-01-07T09:00:00Z"
    assert [j["status"] for j in jobs(api, tenant, kind="msgraph.subscribe")] == ["done"]
    audit = api.get("/v1/audit", headers=tenant.auth).json()["items"]
    assert "msgraph_subscription_created" in [event["action"] for event in audit]


def test_without_a_public_url_the_subscription_fails_once_and_says_why(
    api: InProcessClient, tenant: Tenant, graph: FakeGraph, container: Services
) -> None:
    channel = new_channel(api, tenant, graph)
    unreachable = dataclasses.replace(
        container, settings=dataclasses.replace(container.settings, public_url=None)
    )
    run_jobs(api, unreachable)
    [job] = jobs(api, tenant, kind="msgraph.subscribe")
    assert job["status"] == "dead"
    assert job["attempts"] == 1
    entry = state(api, tenant, channel["id"])["subscriptions"][MAILBOX]
    assert entry.get("id") is None
    assert "PIGEON_PUBLIC_URL" in entry["last_error"]
    assert entry["stalled"] is True
    assert graph.subscriptions == {}

    # The upkeep timer does not try again every minute: the channel's update does.
    run_jobs(api, unreachable)
    assert len(jobs(api, tenant, kind="msgraph.subscribe")) == 1
    response = api.patch(f"/v1/channels/{channel['id']}", json={"config": {}}, headers=tenant.auth)
    assert response.status_code == 200, response.text
    run_jobs(api, container)
    assert len(graph.subscriptions) == 1
    assert state(api, tenant, channel["id"])["subscriptions"][MAILBOX]["stalled"] is False


def test_a_subscription_refused_for_now_is_retried_and_its_error_shown(
    api: InProcessClient,
    tenant: Tenant,
    graph: FakeGraph,
    container: Services,
    clock: FrozenClock,
) -> None:
    channel = new_channel(api, tenant, graph)
    graph.fail("POST", r"^/v1\.0/subscriptions$", 503, headers={"Retry-After": "30"})
    run_jobs(api, container)
    [job] = jobs(api, tenant, kind="msgraph.subscribe")
    assert job["status"] == "ready"
    assert job["attempts"] == 1
    found = state(api, tenant, channel["id"])
    assert "503" in found["subscriptions"][MAILBOX]["last_error"]
    assert "Retry-After: 30" in found["last_error"]

    clock.advance(timedelta(minutes=5))
    run_jobs(api, container)
    assert len(graph.subscriptions) == 1
    found = state(api, tenant, channel["id"])
    assert found["subscriptions"][MAILBOX]["last_error"] is None
    assert found["last_error"] is None


def test_a_subscription_refused_for_good_is_dead_at_once_and_tried_again_later(
    api: InProcessClient,
    tenant: Tenant,
    graph: FakeGraph,
    container: Services,
    clock: FrozenClock,
) -> None:
    channel = new_channel(api, tenant, graph)
    graph.fail("POST", r"^/v1\.0/subscriptions$", 403)  # consent not granted yet
    run_jobs(api, container)
    [job] = jobs(api, tenant, kind="msgraph.subscribe")
    assert job["status"] == "dead"
    assert job["attempts"] == 1
    entry = state(api, tenant, channel["id"])["subscriptions"][MAILBOX]
    assert "Authorization_RequestDenied" in entry["last_error"]
    assert entry["stalled"] is False

    clock.advance(timedelta(minutes=30))  # the upkeep waits before it tries again
    run_jobs(api, container)
    assert len(jobs(api, tenant, kind="msgraph.subscribe")) == 1
    clock.advance(timedelta(minutes=31))
    run_jobs(api, container)
    assert len(jobs(api, tenant, kind="msgraph.subscribe")) == 2
    assert len(graph.subscriptions) == 1


def test_a_wrong_client_secret_stalls_until_the_channel_is_updated(
    api: InProcessClient,
    tenant: Tenant,
    graph: FakeGraph,
    container: Services,
    clock: FrozenClock,
) -> None:
    channel = new_channel(api, tenant, graph, client_secret="a-wrong-client-secret-0123456789")
    run_jobs(api, container)
    [job] = jobs(api, tenant, kind="msgraph.subscribe")
    assert job["status"] == "dead"
    entry = state(api, tenant, channel["id"])["subscriptions"][MAILBOX]
    assert entry["last_error"].startswith("msgraph: login: invalid_client: AADSTS7000215")
    assert entry["stalled"] is True
    assert "a-wrong-client-secret" not in entry["last_error"]

    clock.advance(timedelta(days=1))
    run_jobs(api, container)
    assert len(jobs(api, tenant, kind="msgraph.subscribe")) == 1
    response = api.patch(
        f"/v1/channels/{channel['id']}",
        json={"config": {"client_secret": CLIENT_SECRET}},
        headers=tenant.auth,
    )
    assert response.status_code == 200, response.text
    run_jobs(api, container)
    assert len(graph.subscriptions) == 1


def test_a_subscription_is_renewed_before_it_expires(
    api: InProcessClient,
    tenant: Tenant,
    graph: FakeGraph,
    container: Services,
    clock: FrozenClock,
) -> None:
    channel = subscribed(api, tenant, graph)
    sub = subscription_id(graph)
    clock.advance(timedelta(days=2))  # 24 hours left: not yet
    run_jobs(api, container)
    assert graph.recorded("PATCH", "/subscriptions/") == []

    clock.advance(timedelta(hours=13))  # 11 hours left
    run_jobs(api, container)
    [renewal] = graph.recorded("PATCH", "/subscriptions/")
    assert renewal.path == f"/v1.0/subscriptions/{sub}"
    assert renewal.body == {"expirationDateTime": "2030-01-12T22:00:00Z"}
    entry = state(api, tenant, channel["id"])["subscriptions"][MAILBOX]
    assert entry["id"] == sub
    assert entry["expires_at"] == "2030-01-12T22:00:00Z"
    run_jobs(api, container)
    assert len(graph.recorded("PATCH", "/subscriptions/")) == 1  # renewed once


def test_a_renewal_of_a_subscription_graph_no_longer_has_subscribes_anew(
    api: InProcessClient,
    tenant: Tenant,
    graph: FakeGraph,
    container: Services,
    clock: FrozenClock,
) -> None:
    channel = subscribed(api, tenant, graph)
    old = subscription_id(graph)
    graph.remove_subscription(old)
    clock.advance(timedelta(days=2, hours=13))
    run_jobs(api, container)
    [new] = graph.subscriptions
    assert new != old
    assert state(api, tenant, channel["id"])["subscriptions"][MAILBOX]["id"] == new


def test_lifecycle_reauthorization_required_renews(
    api: InProcessClient, tenant: Tenant, graph: FakeGraph, container: Services
) -> None:
    channel = subscribed(api, tenant, graph)
    sub = subscription_id(graph)
    event = graph.lifecycle_notification(sub, "reauthorizationRequired", CLIENT_STATE)
    assert notify(api, channel["id"], event, lifecycle=True).status_code == 202
    [job] = jobs(api, tenant, kind="msgraph.renew")
    assert job["pointer"]["subscription_id"] == sub
    run_jobs(api, container)
    [renewal] = graph.recorded("PATCH", "/subscriptions/")
    assert renewal.path == f"/v1.0/subscriptions/{sub}"


def test_lifecycle_subscription_removed_subscribes_anew_and_resyncs(
    api: InProcessClient, tenant: Tenant, graph: FakeGraph, container: Services
) -> None:
    channel = subscribed(api, tenant, graph)
    old = subscription_id(graph)
    missed = graph.add_message(MAILBOX, subject="sent while unsubscribed")
    graph.remove_subscription(old)
    event = graph.lifecycle_notification(old, "subscriptionRemoved", CLIENT_STATE)
    assert notify(api, channel["id"], event, lifecycle=True).status_code == 202
    run_jobs(api, container)

    [new] = graph.subscriptions
    assert new != old
    assert state(api, tenant, channel["id"])["subscriptions"][MAILBOX]["id"] == new
    assert [m["external_id"] for m in inbound(api, tenant)] == [f"msgraph:{missed}"]


def test_lifecycle_missed_resyncs_the_recent_messages_once(
    api: InProcessClient,
    tenant: Tenant,
    graph: FakeGraph,
    container: Services,
    clock: FrozenClock,
) -> None:
    channel = subscribed(api, tenant, graph)
    sub = subscription_id(graph)
    old = graph.add_message(MAILBOX, received_at=clock.now() - timedelta(days=3))
    recent = [graph.add_message(MAILBOX, subject=f"m{n}") for n in range(60)]  # two pages
    event = graph.lifecycle_notification(sub, "missed", CLIENT_STATE)
    assert notify(api, channel["id"], event, lifecycle=True).status_code == 202
    run_jobs(api, container)

    listed = graph.recorded("GET", "/mailFolders/inbox/messages")
    assert len(listed) == 2
    assert listed[0].query == {
        "$filter": "receivedDateTime ge 2030-01-06T09:00:00Z",
        "$select": "id",
        "$top": "50",
    }
    stored = {m["external_id"] for m in inbound(api, tenant)}
    assert stored == {f"msgraph:{m}" for m in recent}
    assert f"msgraph:{old}" not in stored
    for pointer in (j["pointer"] for j in jobs(api, tenant, kind="inbound.msgraph", limit="200")):
        assert set(pointer) == POINTER_KEYS

    # Another `missed` lists them again; identities keep them stored once.
    assert notify(api, channel["id"], event, lifecycle=True).status_code == 202
    run_jobs(api, container)
    assert len(inbound(api, tenant)) == 60


# Secrets ----------------------------------------------------------------------------------


def test_secrets_are_never_shown_and_a_config_update_replaces_them(
    api: InProcessClient, tenant: Tenant, graph: FakeGraph, container: Services
) -> None:
    created = api.post(
        "/v1/channels",
        json={
            "kind": "msgraph",
            "name": "office",
            "config": {
                "tenant_id": TENANT_ID,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "client_state": CLIENT_STATE,
                "mailboxes": [MAILBOX],
                "api_base_url": f"{graph.base_url}/v1.0",
                "login_base_url": graph.base_url,
            },
        },
        headers=tenant.auth,
    )
    assert created.status_code == 201, created.text
    channel_id = created.json()["id"]
    run_jobs(api, container)
    old = subscription_id(graph)
    new_secret, new_state = "another-client-secret-0123456789", "another-client-state-0123456789"
    graph.client_secret = new_secret
    updated = api.patch(
        f"/v1/channels/{channel_id}",
        json={"config": {"client_secret": new_secret, "client_state": new_state}},
        headers=tenant.auth,
    )
    assert updated.status_code == 200, updated.text
    run_jobs(api, container)

    shown = [
        created,
        updated,
        api.get("/v1/channels", headers=tenant.auth),
        api.get(f"/v1/channels/{channel_id}", headers=tenant.auth),
        api.get("/v1/audit", headers=tenant.auth),
    ]
    for response in shown:
        for secret in (CLIENT_SECRET, CLIENT_STATE, new_secret, new_state):
            assert secret not in response.text
    assert sorted(updated.json()["secrets"]) == ["client_secret", "client_state"]

    # The new subscription carries the new clientState; the old one is deleted.
    [new] = graph.subscriptions
    assert new != old
    assert graph.subscriptions[new]["clientState"] == new_state
    assert graph.recorded("DELETE", f"/subscriptions/{old}")
    assert graph.recorded("POST", "/oauth2/v2.0/token")[-1].body["client_secret"] == new_secret
    assert state(api, tenant, channel_id)["subscriptions"][MAILBOX]["id"] == new

    stale = graph.change_notification(new, MAILBOX, "AAMkAGold", CLIENT_STATE)
    fresh = graph.change_notification(new, MAILBOX, "AAMkAGnew", new_state)
    assert notify(api, channel_id, stale, fresh).status_code == 202
    [job] = jobs(api, tenant, kind="inbound.msgraph")
    assert job["pointer"]["message_id"] == "AAMkAGnew"


def test_a_mailbox_no_longer_configured_is_unsubscribed(
    api: InProcessClient, tenant: Tenant, graph: FakeGraph, container: Services
) -> None:
    channel = subscribed(api, tenant, graph)
    old = subscription_id(graph)
    other = "sales@contoso.com"
    response = api.patch(
        f"/v1/channels/{channel['id']}",
        json={"config": {"mailboxes": [other]}},
        headers=tenant.auth,
    )
    assert response.status_code == 200, response.text
    run_jobs(api, container)
    [new] = graph.subscriptions.values()
    assert new["resource"] == f"users/{other}/mailFolders('Inbox')/messages"
    assert graph.recorded("DELETE", f"/subscriptions/{old}")
    assert set(state(api, tenant, channel["id"])["subscriptions"]) == {other}
