"""The `pigeon` CLI in subprocesses, on the same SQLite file as a running `pigeon serve`: what
the CLI writes, the server serves, and the other way round.

Each CLI run pays for a Python start, so independent commands run side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from tests.e2e.conftest import Pigeon

pytestmark = pytest.mark.e2e

PHONE = "+14155550100"
T = TypeVar("T")


def together(*calls: Callable[[], T]) -> list[T]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [future.result() for future in [pool.submit(call) for call in calls]]


def test_the_cli_and_the_server_share_one_database(pigeon: Pigeon) -> None:
    migrated = pigeon.cli("migrate")
    assert migrated.stdout.strip().startswith("database at revision ")
    no_workspace = pigeon.cli("status", check=False)
    assert no_workspace.returncode == 1
    assert "no workspace yet" in no_workspace.stderr
    assert "pigeon serve" in no_workspace.stderr

    server = pigeon.serve()
    assert server.admin_key

    device, key, sent, later, refused, bad_time = together(
        lambda: pigeon.cli_json("devices", "add", "office mac"),
        lambda: pigeon.cli_json("keys", "create", "ci", "--scope", "read"),
        lambda: pigeon.cli_json("send", "--to", "+1 415 555 0100", "--body", "from the shell"),
        lambda: pigeon.cli("send", "--to", PHONE, "--body", "later", "--at", "2031-01-01T09:00"),
        lambda: pigeon.cli("send", "--to", "nobody", "--body", "x", check=False),
        lambda: pigeon.cli("send", "--to", PHONE, "--body", "x", "--at", "soon", check=False),
    )
    assert device["name"] == "office mac"
    assert device["token"].startswith(device["prefix"])
    assert key["scopes"] == ["read"]
    assert (sent["recipient"], sent["status"]) == (PHONE, "queued")
    # Human output: one line, naive --at read in the workspace's zone (UTC here).
    assert later.stdout.split()[1:] == ["queued", "to", PHONE, "at", "2031-01-01T09:00:00Z"]
    # Errors are one line and an exit status, never a traceback.
    assert refused.returncode == 1
    assert refused.stderr.startswith("Error: recipient: ")
    assert bad_time.returncode == 2  # a usage error
    assert "--at" in bad_time.stderr
    assert "Traceback" not in refused.stderr + bad_time.stderr

    # The server sees what the CLI made: the device claims the message, the key reads.
    with server.client(device["token"]) as mac, server.client(key["key"]) as reader:
        [claimed] = mac.post("/v1/gateway/claim", json={}).json()["messages"]
        assert claimed["id"] == sent["id"]
        assert reader.get(f"/v1/messages/{sent['id']}").json()["status"] == "claimed"
        assert (
            reader.post("/v1/messages", json={"recipient": PHONE, "body": "x"}).status_code == 403
        )

    # ...and the CLI sees what the server did.
    status, status_text, devices_text, keys = together(
        lambda: pigeon.cli_json("status", sent["id"]),
        lambda: pigeon.cli("status", sent["id"]),
        lambda: pigeon.cli("devices", "list"),
        lambda: pigeon.cli_json("keys", "list"),
    )
    assert status["status"] == "claimed"
    assert [e["to"] for e in status["events"]] == ["queued", "released", "claimed"]
    assert status["events"][0]["actor"] == "cli"
    first_line, *rest = status_text.stdout.splitlines()
    assert first_line.split() == [sent["id"], "claimed", "to", PHONE]
    assert any("released -> claimed" in " ".join(line.split()) for line in rest)
    [device_line] = devices_text.stdout.splitlines()
    assert device_line.startswith(device["id"])
    assert "office mac" in device_line
    assert "last seen 20" in device_line  # the claim was a sign of life
    assert device["token"] not in devices_text.stdout
    listed = {k["name"]: k for k in keys}
    assert set(listed) == {"admin", "ci"}
    assert all("key" not in k for k in keys)

    revoked_key, revoked_device, missing, unknown_key, migrated_again = together(
        lambda: pigeon.cli_json("keys", "revoke", key["id"]),
        lambda: pigeon.cli("devices", "revoke", device["id"]),
        lambda: pigeon.cli("status", "01900000-0000-7000-8000-000000000000", check=False),
        lambda: pigeon.cli("keys", "revoke", "nope", check=False),
        lambda: pigeon.cli_json("migrate"),  # again, on a live database: nothing to do
    )
    assert (missing.returncode, missing.stderr) == (1, "Error: no such message\n")
    assert (unknown_key.returncode, unknown_key.stderr) == (
        1,
        "Error: no such active API key: 'nope'\n",
    )
    assert revoked_key == {"id": key["id"], "revoked": True}
    assert migrated_again == {"revision": migrated.stdout.split()[-1]}
    assert revoked_device.stdout.strip() == (
        f"revoked device {device['id']}: 1 claims unknown, 0 requeued, 0 failed; "
        "0 pinned messages failed"
    )
    with server.client(device["token"]) as mac, server.client(key["key"]) as reader:
        assert mac.post("/v1/gateway/heartbeat").status_code == 401
        assert reader.get("/v1/messages").status_code == 401

    # The revoked device never reported its claim: it may have sent it, so a person decides.
    summary = pigeon.cli("status")
    assert summary.stdout.splitlines()[0] == "messages: queued: 1, unknown: 1"


def test_cli_errors_are_one_line_that_says_what_to_do(pigeon: Pigeon) -> None:
    unmigrated = pigeon.cli("devices", "list", check=False)
    assert unmigrated.returncode == 1
    assert "run pigeon migrate" in unmigrated.stderr and "Traceback" not in unmigrated.stderr
    pigeon.env["PIGEON_DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    unreachable = pigeon.cli("migrate", check=False)
    assert unreachable.returncode == 1
    assert "database unavailable" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr


def test_a_device_is_revoked_by_its_name(pigeon: Pigeon) -> None:
    pigeon.serve()
    device = pigeon.cli_json("devices", "add", "kitchen mac")
    revoked = pigeon.cli_json("devices", "revoke", "kitchen mac")
    assert revoked["id"] == device["id"] and revoked["revoked"] is True
    again = pigeon.cli("devices", "revoke", "kitchen mac", check=False)
    assert again.returncode == 1 and "no such active device" in again.stderr


def test_an_unknown_workspace_is_an_error_and_a_key_is_revoked_by_its_name(
    pigeon: Pigeon,
) -> None:
    pigeon.serve()
    for command in (("status",), ("devices", "list"), ("keys", "list")):
        unknown = pigeon.cli(*command, "--workspace", "nope", check=False)
        assert (unknown.returncode, unknown.stderr) == (1, "Error: no such workspace\n"), command
    key = pigeon.cli_json("keys", "create", "deploy bot")
    assert pigeon.cli_json("keys", "revoke", "deploy bot")["id"] == key["id"]
