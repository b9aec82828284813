"""`pigeon serve` on a SQLite file, driven over real HTTP: first start, a person's first
message through a gateway device, and the seed 002 and seed 000 gateway loops."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Pigeon, Server, base_environment, poll

pytestmark = pytest.mark.e2e

PHONE = "+14155550100"


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pigeon]:
    workdir = tmp_path_factory.mktemp("serve")
    pigeon = Pigeon(base_environment(f"sqlite:///{workdir / 'pigeon.db'}"), workdir)
    try:
        yield pigeon
    finally:
        pigeon.stop_all()


@pytest.fixture(scope="module")
def server(launcher: Pigeon) -> Server:
    return launcher.serve()


def new_workspace(server: Server, name: str) -> str:
    assert server.operator_token
    with server.client(server.operator_token) as operator:
        created = operator.post("/v1/workspaces", json={"name": name, "timezone": "Europe/Paris"})
    assert created.status_code == 201, created.text
    key: str = created.json()["api_key"]
    return key


def new_device(server: Server, key: str, name: str = "office mac") -> dict[str, Any]:
    with server.client(key) as admin:
        created = admin.post("/v1/devices", json={"name": name})
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def test_the_first_start_prints_an_operator_token_and_an_admin_key(server: Server) -> None:
    assert server.operator_token and server.operator_token.startswith("pgn_op_")
    assert server.admin_key and server.admin_key.startswith("pgn_admin_")
    assert any("Created workspace 'default'" in line for line in server.process.lines)
    with server.client(server.admin_key) as admin:
        assert admin.get("/v1/workspace").json()["name"] == "default"
        assert admin.get("/api/health/").json()["status"] == "ok"
        assert admin.get("/v1/health").status_code == 200


def test_a_second_start_on_the_same_database_prints_no_new_secrets(
    launcher: Pigeon, server: Server
) -> None:
    again = launcher.serve(env={"PIGEON_LOG_LEVEL": "INFO"})
    assert again.url != server.url
    assert again.admin_key is None
    assert again.operator_token is None
    assert not any("shown once" in line for line in again.process.lines)
    # The secrets of the first start still work, against either process.
    assert server.admin_key and server.operator_token
    with again.client(server.admin_key) as admin:
        assert admin.get("/v1/workspace").status_code == 200
    with again.client(server.operator_token) as operator:
        assert operator.post("/v1/workspaces", json={"name": "via second"}).status_code == 201
    with server.client(server.admin_key) as admin:
        device = admin.post("/v1/devices", json={"name": "mac"}).json()

    # SIGTERM while an event stream and a waiting claim are open: both end at once, then
    # uvicorn shuts down gracefully (the lifespan stops the workers) and exits by re-raising
    # the signal, as a process manager expects.
    outcomes: dict[str, Any] = {}

    def listen() -> None:
        with (
            again.client(timeout=10) as client,
            client.stream(
                "GET", "/api/stream/messages/", params={"access_token": server.admin_key}
            ) as stream,
        ):
            outcomes["stream_lines"] = sum(1 for _ in stream.iter_lines())

    def wait_for_work() -> None:
        with again.client(device["token"], timeout=20) as mac:
            outcomes["claim"] = mac.post("/v1/gateway/claim", json={"wait": 15})

    threads = [threading.Thread(target=listen), threading.Thread(target=wait_for_work)]
    for thread in threads:
        thread.start()
    poll(lambda: _connections_open(again) >= 2, what="the stream and the claim to be open")
    time.sleep(0.2)  # both requests sent on their connections: now handled, not just accepted
    stopping = time.monotonic()
    assert again.process.stop() in (0, -15)
    assert time.monotonic() - stopping < 5
    for thread in threads:
        thread.join(timeout=10)
    assert outcomes["stream_lines"] >= 2  # at least the opening ping
    assert outcomes["claim"].json() == {"lease_expires_at": None, "messages": []}
    assert '"action": "scheduler_stopped"' in again.process.output()
    with server.client(server.admin_key) as admin:
        assert admin.get("/v1/workspace").status_code == 200


def _connections_open(server: Server) -> int:
    """Established TCP connections to the server's port, as the kernel counts them."""
    port = int(server.url.rsplit(":", 1)[1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                    count += 1
    return count


def test_a_new_user_schedules_an_imessage_and_a_device_sends_it(server: Server) -> None:
    key = new_workspace(server, "new user")
    device = new_device(server, key)
    with server.client(key) as admin, server.client(device["token"]) as mac:
        due = datetime.now(UTC) + timedelta(seconds=1.5)
        created = admin.post(
            "/v1/messages",
            json={"recipient": PHONE, "body": "See you at 6", "scheduled_for": due.isoformat()},
        )
        assert created.status_code == 201, created.text
        message = created.json()
        assert message["status"] == "queued"

        claimed = mac.post("/v1/gateway/claim", json={"wait": 10})
        arrived = datetime.now(UTC)
        assert claimed.status_code == 200, claimed.text
        [item] = claimed.json()["messages"]
        assert (item["id"], item["recipient"], item["body"]) == (
            message["id"],
            PHONE,
            "See you at 6",
        )
        # Released on time and handed to the waiting device within a second of its due time.
        assert due - timedelta(milliseconds=50) <= arrived <= due + timedelta(seconds=1)

        reported = mac.post(
            "/v1/gateway/report",
            json={"message_id": item["id"], "claim_token": item["claim_token"], "status": "sent"},
        )
        assert reported.json() == {"message_id": item["id"], "status": "sent"}

        history = admin.get(f"/v1/messages/{item['id']}").json()
        assert history["status"] == "sent"
        assert [e["to"] for e in history["events"]] == ["queued", "released", "claimed", "sent"]
        seen = admin.get("/v1/devices").json()["items"][0]["last_seen_at"]
        assert seen is not None


def test_a_waiting_claim_whose_client_left_claims_nothing(server: Server) -> None:
    """A device whose HTTP timeout is shorter than its `wait` must not be leased messages it
    will never see (they would sit claimed, then end `unknown`)."""
    key = new_workspace(server, "impatient")
    device = new_device(server, key)
    with server.client(key) as admin, server.client(device["token"]) as mac:
        with pytest.raises(httpx.ReadTimeout):
            mac.post("/v1/gateway/claim", json={"wait": 10}, timeout=0.5)
        message = admin.post("/v1/messages", json={"recipient": PHONE, "body": "x"}).json()
        # Give a still-waiting claim every chance to wake and take it (it would within ms).
        poll(
            lambda: admin.get(f"/v1/messages/{message['id']}").json()["status"] != "queued",
            what="the message to be released",
        )
        time.sleep(0.5)
        assert admin.get(f"/v1/messages/{message['id']}").json()["status"] == "released"
        # A device that stays gets it.
        [item] = mac.post("/v1/gateway/claim", json={"wait": 5}).json()["messages"]
        assert item["id"] == message["id"]


def test_the_seed_002_gateway_loop(server: Server) -> None:
    key = new_workspace(server, "seed 002")
    device = new_device(server, key, "mac-1")
    with server.client(key) as api, server.client(device["token"]) as gateway:
        created = api.post("/api/messages/", json={"to_handle": PHONE, "body": "from the UI"})
        assert created.status_code == 201
        assert created.json()["status"] == "QUEUED"

        claim = gateway.post("/api/gateway/claim/", json={"gateway_id": "mac-1"})
        assert claim.status_code == 200
        assert claim.json()["to_handle"] == PHONE
        assert claim.json()["body"] == "from the UI"
        message_id = claim.json()["message_id"]
        assert message_id == created.json()["id"]
        nothing = gateway.post("/api/gateway/claim/", json={"gateway_id": "mac-1"})
        assert nothing.status_code == 204

        sent = gateway.post(
            "/api/gateway/report/", json={"message_id": message_id, "status": "SENT"}
        )
        assert sent.status_code == 200
        assert sent.json()["status"] == "SENT"
        detail = api.get(f"/api/messages/{message_id}/").json()
        assert [e["status"] for e in detail["events"]] == ["QUEUED", "ACCEPTED", "SENT"]
        stats = api.get("/api/stats/messages-by-status/").json()
        assert stats == [{"status": "SENT", "count": 1}]


def test_the_seed_000_send_queue(server: Server) -> None:
    key = new_workspace(server, "seed 000")
    device = new_device(server, key, "mac-sync")
    with server.client(key) as service, server.client(device["token"]) as mac:
        enqueued = service.post(
            "/admin/send-queue/enqueue",
            json={"batchItemId": "b-1", "deviceId": device["id"], "toHandle": PHONE, "body": "Hi"},
        )
        assert enqueued.status_code == 200, enqueued.text
        assert enqueued.json()["success"] is True
        queue_id = enqueued.json()["data"]["sendQueueId"]

        pending = mac.get("/client/imessage/send-queue/pending").json()
        assert pending["success"] is True
        [item] = pending["data"]["items"]
        assert item["id"] == queue_id
        assert (item["toHandle"], item["body"]) == (PHONE, "Hi")
        assert item["createdAt"].endswith("Z")
        # Pending until its result is posted, as in the seed (a lost answer is not lost).
        again = mac.get("/client/imessage/send-queue/pending").json()["data"]["items"]
        assert [i["id"] for i in again] == [queue_id]

        result = mac.post(f"/client/imessage/send-queue/{queue_id}/result", json={"status": "sent"})
        assert result.json() == {"success": True, "data": {"id": queue_id, "status": "sent"}}
        assert service.get(f"/v1/messages/{queue_id}").json()["status"] == "sent"
        assert mac.get("/client/imessage/send-queue/pending").json()["data"]["items"] == []


def test_the_event_stream_reports_a_change(server: Server) -> None:
    key = new_workspace(server, "stream")
    events: list[tuple[str, Any]] = []
    with (
        server.client(key, timeout=10) as api,
        api.stream("GET", "/api/stream/messages/", params={"access_token": key}) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        name = None
        created_id = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name or "message", json.loads(line.removeprefix("data: "))))
                if created_id is None:  # the stream is open: make a change
                    with server.client(key) as other:
                        created = other.post("/v1/messages", json={"recipient": PHONE, "body": "x"})
                    created_id = created.json()["id"]
                elif events[-1][0] == "message":
                    break
    assert events[0] == ("ping", {})
    assert events[-1] == ("message", {"ids": [created_id], "status": "QUEUED"})


def test_bad_input_over_http_answers_4xx(server: Server) -> None:
    assert server.admin_key
    with server.client(server.admin_key) as admin:
        response = admin.post(
            "/v1/messages", content=b'{"recipient": ', headers={"content-type": "application/json"}
        )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["request_body"]
    with httpx.Client(base_url=server.url, timeout=5) as anonymous:
        assert anonymous.get("/v1/messages").status_code == 401
