"""Gateway agent benchmark: how many sends per second one `pigeon gateway` keeps up with.

    python bench/gateway_agent.py                 # 2,000 messages
    python bench/gateway_agent.py --messages 500 # quicker

`pigeon serve` (SQLite) and one `pigeon gateway` (console driver, its output to a file)
run as subprocesses on this machine. The messages are created due now, in batches, before
the agent starts; the figure is messages / (agent start .. the last `sent` status seen
through the API), so it counts the agent's claims, its journal (two fsynced writes per
send: synchronous=FULL), the driver and its reports. The target is 20 sends/s.

Prints progress lines, then ONE JSON object on the last line. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.append(str(Path(__file__).resolve().parent))  # last: bench/queue.py shadows queue

from _common import Server, machine_facts, progress, server_env

PIGEON = str(Path(sys.executable).with_name("pigeon"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=50, help="the agent's claim size")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pigeon-bench-gw-") as scratch:
        work = Path(scratch)
        database_url = f"sqlite:///{work / 'pigeon.db'}"
        server = Server(["serve", "--port", "0"], server_env(database_url), work / "serve.log")
        server.start()
        try:
            result = run(server, work, args.messages, args.batch)
        finally:
            server.stop()
    print(json.dumps(result))


def run(server: Server, work: Path, count: int, batch: int) -> dict[str, object]:
    assert server.url is not None
    key = server.secrets["admin_key"]
    admin = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60
    )
    token = admin.post("/v1/devices", json={"name": "bench-mac"}).json()["token"]
    for start in range(0, count, 1000):
        items = [
            {"recipient": "+14155550100", "body": f"bench {i}"}
            for i in range(start, min(count, start + 1000))
        ]
        created = admin.post("/v1/messages/batch", json={"items": items})
        assert created.status_code == 201, created.text
    progress(f"{count} messages due; starting the agent")

    env = {k: v for k, v in os.environ.items() if not k.startswith("PIGEON_")}
    env.update(
        PIGEON_URL=server.url,
        PIGEON_DEVICE_TOKEN=token,
        PIGEON_GATEWAY_DRIVER="console",
        PIGEON_GATEWAY_BATCH=str(batch),
        PIGEON_GATEWAY_JOURNAL=str(work / "journal.db"),
    )
    sends = (work / "sends.jsonl").open("w")
    started = time.monotonic()
    agent = subprocess.Popen(
        [PIGEON, "gateway"],
        env=env,
        stdout=sends,
        stderr=(work / "agent.log").open("w"),
    )
    try:
        while True:
            stats = admin.get("/v1/stats/messages").json()
            sent = stats.get("by_status", stats).get("sent", 0)
            if sent >= count:
                break
            if agent.poll() is not None:
                raise RuntimeError((work / "agent.log").read_text()[-3000:])
            time.sleep(0.1)
        took = time.monotonic() - started
    finally:
        agent.terminate()
        agent.wait(30)
        sends.close()
    lines = (work / "sends.jsonl").read_text().splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    assert len(ids) == len(set(ids)) == count, "every message sent exactly once"
    rate = count / took
    progress(f"{count} sends in {took:.2f} s: {rate:.0f} sends/s")
    return {
        "messages": count,
        "claim_batch": batch,
        "seconds": round(took, 2),
        "sends_per_second": round(rate, 1),
        "target_sends_per_second": 20,
        "durability": "journal: SQLite WAL, synchronous=FULL (two fsynced writes per send); "
        "server: SQLite defaults of pigeon serve",
        "machine": machine_facts(),
    }


if __name__ == "__main__":
    main()
