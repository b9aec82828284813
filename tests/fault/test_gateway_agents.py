"""Three real gateway agents (`pigeon gateway`, console driver) against a real server: one
agent is SIGKILLed mid-batch and later started again on its journal, and the server is
killed and started again on the same port while the agents work. Every message must end
sent exactly once, or `unknown` (sent at most once); none lost, none sent twice.

The console driver prints one JSON line per send to the agent's stdout, kept in a file per
agent run: the lines are the sends that happened.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import STOP_TIMEOUT
from tests.fault.conftest import Launch, budget
from tests.fault.harness import admin_client, all_messages, free_port, new_device, sigkill

pytestmark = [pytest.mark.fault, pytest.mark.e2e]

FIRST_WAVE = 240
SECOND_WAVE = 60
KILL_AFTER_LINES = 20  # the killed agent has sent this many when it dies
SEND_INTERVAL = "0.01"  # per agent: the batch takes long enough to be killed in the middle
SETTLE_TIMEOUT = 60.0
FINAL = {"sent", "unknown"}


class Agent:
    """One `pigeon gateway` process; its sends (stdout) and log (stderr) in files."""

    def __init__(self, workdir: Path, name: str, env: dict[str, str], run: int = 0) -> None:
        self.name = name
        self.sends = workdir / f"{name}-{run}.sends"
        self.log = workdir / f"{name}-{run}.log"
        with self.sends.open("w") as out, self.log.open("w") as err:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "pigeon", "gateway", "--log-level", "INFO"],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=workdir,
            )

    def sent_ids(self) -> list[str]:
        lines = self.sends.read_text().splitlines() if self.sends.exists() else []
        return [json.loads(line)["id"] for line in lines if line.strip()]

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=STOP_TIMEOUT)
        return self.popen.returncode

    def tail(self) -> str:
        return f"--- {self.log.name} ---\n" + self.log.read_text(errors="replace")[-3000:]


def create(url: str, key: str, count: int, tag: str) -> list[str]:
    items = [{"recipient": "+14155550100", "body": f"{tag} {i}"} for i in range(count)]
    with admin_client(url, key) as api:
        answer = api.post("/v1/messages/batch", json={"items": items})
    assert answer.status_code == 201, answer.text
    return [m["id"] for m in answer.json()["items"]]


def wait_until(check: Any, timeout: float, what: str, agents: list[Agent]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            logs = "\n".join(agent.tail() for agent in agents)
            pytest.fail(f"timed out waiting for {what}\n{logs}", pytrace=False)
        time.sleep(0.05)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
@budget(150)
def test_agents_send_each_message_at_most_once_through_an_agent_kill_and_a_server_restart(
    backend: str, launch: Launch, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    database_url = (
        f"sqlite:///{tmp_path / 'pigeon.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("scratch_postgres_url")
    )
    launcher = launch(database_url)
    if backend == "postgres":
        launcher.cli("migrate")
    port = free_port()
    server = launcher.serve(port=port)
    url, key = server.url, server.admin_key
    assert key
    tokens = [new_device(url, key, f"mac-{i}")["token"] for i in range(3)]

    def agent_env(index: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIGEON_")}
        return {
            **env,
            # Seed 002's names for two of them: they must work like pigeon's own.
            "API_BASE_URL": url,
            "GATEWAY_ID": f"mac-{index}",
            "POLL_SECONDS": "2",
            "PIGEON_DEVICE_TOKEN": tokens[index],
            "PIGEON_GATEWAY_DRIVER": "console",
            "PIGEON_GATEWAY_JOURNAL": str(tmp_path / f"journal-{index}.db"),
            "PIGEON_SEND_INTERVAL": SEND_INTERVAL,
            "PIGEON_HEARTBEAT_SECONDS": "1",
        }

    ids = create(url, key, FIRST_WAVE, "first")
    agents = [Agent(tmp_path, f"mac-{i}", agent_env(i)) for i in range(3)]
    runs = list(agents)
    try:
        victim = agents[0]
        wait_until(
            lambda: len(victim.sent_ids()) >= KILL_AFTER_LINES,
            30,
            "the first agent's sends",
            runs,
        )
        sigkill_agent(victim)
        killed_after = len(victim.sent_ids())

        # The server goes away while the other two work, and comes back on the same port.
        sigkill(server.process)
        time.sleep(1.0)
        server = launcher.serve(port=port)
        ids += create(url, key, SECOND_WAVE, "second")

        # The killed agent starts again on its journal.
        again = Agent(tmp_path, "mac-0", agent_env(0), run=1)
        runs.append(again)

        def settled() -> bool:
            try:
                found = all_messages(url, key)
            except (AssertionError, httpx.HTTPError):
                return False
            return len(found) == len(ids) and all(m["status"] in FINAL for m in found.values())

        wait_until(settled, SETTLE_TIMEOUT, "every message sent or unknown", runs)
        # The restarted agent reports what its journal kept: every send the killed agent
        # made ends `sent`, but for at most one that was under way when it died (in doubt).
        printed = set(victim.sent_ids())

        def victims_reported() -> bool:
            found = all_messages(url, key)
            return sum(found[i]["status"] != "sent" for i in printed) <= 1

        wait_until(victims_reported, 15, "the restarted agent's reports", runs)
    finally:
        codes = {run.log.name: run.stop() for run in runs if run.popen.poll() is None}

    assert all(code == 0 for code in codes.values()), codes
    final = all_messages(url, key)
    sends = Counter(message_id for run in runs for message_id in run.sent_ids())
    problems = []
    for message_id in ids:
        status = final[message_id]["status"]
        times = sends[message_id]
        if status == "sent" and times != 1:
            problems.append(f"{message_id} is sent but went out {times} times")
        elif status == "unknown" and times > 1:
            problems.append(f"{message_id} is unknown and went out {times} times")
        elif status not in FINAL:
            problems.append(f"{message_id} ended {status}")
    assert not (set(sends) - set(ids)), "sends of messages nobody created"
    by_status = Counter(m["status"] for m in final.values())
    summary = (
        f"{len(ids)} messages: {dict(by_status)}; the killed agent had sent {killed_after}; "
        f"sends per agent run: { {r.sends.name: len(r.sent_ids()) for r in runs} }"
    )
    print(summary)
    assert not problems, summary + "\n" + "\n".join(problems[:20])
    # Every agent took part, the restarted one included (it settled its journal at least).
    assert all(r.sent_ids() for r in agents), summary
    assert "started" in again.log.read_text()


def sigkill_agent(agent: Agent) -> None:
    agent.popen.kill()
    agent.popen.wait(timeout=STOP_TIMEOUT)
