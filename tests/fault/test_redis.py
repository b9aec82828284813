"""Redis down under a running team deployment (PostgreSQL, `serve --no-workers` beside a
`pigeon worker`, Redis carrying notifications), and Redis absent at start.

Redis only carries notifications: losing it may slow live updates, never a write. A write
that committed answers 2xx (before the fix it answered 500 when publishing its notification
failed after the commit: a create was retried, a claim's messages were leased to nobody),
messages keep reaching devices, and live updates come back with Redis.

Each test starts its own `redis-server` on a free port; the shared one is never touched.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import base_environment
from tests.fault.conftest import Launch, budget
from tests.fault.harness import (
    Creator,
    Crew,
    Endpoint,
    EventReader,
    Gateway,
    RedisServer,
    describe_errors,
    drain,
    end_state_problems,
    free_port,
    new_device,
    now,
)

pytestmark = [pytest.mark.fault, pytest.mark.e2e, pytest.mark.xdist_group("fault")]

WARM_UP_TIMEOUT = 20.0  # the flow works with Redis up: messages sent, events streamed
OUTAGE_SECONDS = 4.0
DELIVERY_DEADLINE = 10.0  # created during the outage -> handed to a gateway
RESUME_DEADLINE = 10.0  # Redis back -> events for new messages on the stream
DRAIN_TIMEOUT = 30.0
EXIT_DEADLINE = 12.0  # `pigeon serve` without its Redis gives up (~10 s)


@pytest.mark.postgres
@budget(90)
def test_a_redis_outage_slows_live_updates_and_fails_no_write(
    scratch_postgres_url: str, launch: Launch, tmp_path: Path
) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        _run_outage(scratch_postgres_url, launch, redis)
    finally:
        redis.stop()


def _run_outage(database_url: str, launch: Launch, redis: RedisServer) -> None:
    launcher = launch(database_url, PIGEON_REDIS_URL=redis.url)
    launcher.cli("migrate")
    server = launcher.serve("--no-workers")
    worker = launcher.worker()
    worker.wait_for_log('"action": "scheduler_started"')
    key = server.admin_key
    assert key, "the first start prints the admin key"
    endpoint = Endpoint(server.url)
    problems: list[str] = []

    with Crew() as crew:
        creator = Creator(endpoint, key)
        gateways = [
            Gateway(endpoint, f"gateway-{n}", new_device(server.url, key, f"mac-{n}"))
            for n in (1, 2)
        ]
        reader = EventReader(endpoint, key)
        origin = now()
        for actor in (reader, creator, *gateways):
            crew.start(actor)

        # Up: messages go round and the stream carries their changes.
        deadline = now() + WARM_UP_TIMEOUT
        while not (sum(len(g.sent) for g in gateways) >= 5 and reader.frames):
            if now() > deadline:
                pytest.fail(
                    f"with Redis up, within {WARM_UP_TIMEOUT} s: {len(creator.accepted)} "
                    f"created, {sum(len(g.sent) for g in gateways)} sent, "
                    f"{len(reader.frames)} events streamed\n{server.process.output()}",
                    pytrace=False,
                )
            time.sleep(0.1)

        redis.kill()
        down = now()
        time.sleep(OUTAGE_SECONDS)
        redis.start()
        up = now()

        # Back: events for messages created from now on reach the stream again.
        resumed_after = None
        while now() < up + RESUME_DEADLINE:
            fresh = {
                creator.accepted[k]
                for k, started in list(creator.started_at.items())
                if started >= up and k in creator.accepted
            }
            if fresh & reader.ids_seen_after(up):
                resumed_after = now() - up
                break
            time.sleep(0.1)
        if resumed_after is None:
            problems.append(
                f"no `message` event for a message created after Redis came back, within "
                f"{RESUME_DEADLINE} s ({reader.connections} stream connections, "
                f"{len(reader.frames)} events in all, last at "
                f"+{(reader.frames[-1][0] - origin) if reader.frames else -1:.1f}s)"
            )
        time.sleep(1.0)

        problems += crew.stop([creator])
        drained, last = drain(server.url, key, gateways, [creator], DRAIN_TIMEOUT)
        problems += crew.stop([*gateways, reader])
        problems += end_state_problems(
            server.url, key, [creator], gateways, drained=drained, last_counts=last
        )

    def phase(at: float) -> str:
        return "before" if at < down else ("DURING" if at < up else "after")

    server_errors = [a for actor in (creator, *gateways, reader) for a in actor.server_errors]
    if server_errors:
        by_phase: dict[str, int] = {}
        for answer in server_errors:
            by_phase[phase(answer.at)] = by_phase.get(phase(answer.at), 0) + 1
        problems.insert(
            0,
            f"{len(server_errors)} answers were 5xx (by phase of the outage: {by_phase}); "
            "a write that committed must not answer 5xx, and Redis is not needed to "
            "commit one:\n" + describe_errors(server_errors, origin),
        )

    # Created while Redis was down: still handed to a gateway, within the deadline.
    during = [k for k, at in creator.accepted_at.items() if down <= at < up]
    if len(during) < 3:
        problems.append(
            f"only {len(during)} creates were answered 201 during the {OUTAGE_SECONDS} s "
            "outage: creating stalled without Redis"
        )
    late = []
    for k in during:
        message_id = creator.accepted[k]
        seen = [g.first_seen[message_id] for g in gateways if message_id in g.first_seen]
        took = min(seen) - creator.accepted_at[k] if seen else None
        if took is None or took > DELIVERY_DEADLINE:
            late.append(f"{message_id}: " + ("never" if took is None else f"after {took:.1f} s"))
    if late:
        problems.append(
            f"{len(late)} of {len(during)} messages created during the outage did not reach a "
            f"gateway within {DELIVERY_DEADLINE} s: {late[:5]}"
        )

    summary = (
        f"Redis down at +{down - origin:.1f}s for {up - down:.1f} s; "
        f"{len(creator.accepted)} messages accepted ({len(during)} during the outage), "
        f"{sum(len(g.received) for g in gateways)} handed to gateways; "
        f"{len(reader.frames)} stream events over {reader.connections} connections, "
        + (
            f"resumed {resumed_after:.1f} s after Redis came back"
            if resumed_after is not None
            else "not resumed"
        )
    )
    print(summary)  # shown with -rP, or -s
    if problems:
        pytest.fail(summary + "\n\nPROBLEMS:\n" + "\n".join(problems), pytrace=False)


@budget(40)
def test_serve_without_its_redis_exits_with_one_line_naming_the_setting(
    tmp_path: Path,
) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    env = base_environment(f"sqlite:///{tmp_path / 'pigeon.db'}", PIGEON_REDIS_URL=nowhere)
    started = now()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pigeon", "serve", "--host", "127.0.0.1", "--port", "0"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            timeout=EXIT_DEADLINE + 8,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        output = _text(expired.stdout) + _text(expired.stderr)
        pytest.fail(
            f"`pigeon serve` with PIGEON_REDIS_URL={nowhere} was still running after "
            f"{EXIT_DEADLINE + 8} s (killed):\n{output[-4000:]}",
            pytrace=False,
        )
    took = now() - started
    output = done.stdout + done.stderr
    naming = [line for line in output.splitlines() if "PIGEON_REDIS_URL" in line]
    problems = []
    if done.returncode == 0:
        problems.append("it exited 0")
    if took > EXIT_DEADLINE:
        problems.append(f"it took {took:.1f} s to give up (more than {EXIT_DEADLINE} s)")
    if len(naming) != 1:
        problems.append(f"{len(naming)} lines name PIGEON_REDIS_URL (expected exactly one)")
    if "Traceback" in output:
        problems.append("it printed a Python traceback")
    if problems:
        pytest.fail(
            f"`pigeon serve` with PIGEON_REDIS_URL={nowhere} (nothing listening) exited "
            f"{done.returncode} after {took:.1f} s: " + "; ".join(problems) + "\n"
            f"--- its output ---\n{output[-4000:]}",
            pytrace=False,
        )


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value
