"""Another process holds SQLite's write lock for 8 s while `pigeon serve` is busy.

With `PIGEON_SQLITE_BUSY_SECONDS=2` a write waits at most about that long for the lock,
then answers 503 with Retry-After (nothing written), instead of hanging until the lock is
free; reads (`/v1/health`, listing messages) go on answering within a second throughout. A
create that got 503, sent again with its Idempotency-Key once the lock is free, is created
then: its first attempt committed nothing.
"""

from __future__ import annotations

import asyncio
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.fault.conftest import Launch, budget
from tests.fault.harness import PHONE, all_messages, counts, now

pytestmark = [
    pytest.mark.fault,
    pytest.mark.e2e,
    pytest.mark.xdist_group("fault"),
    budget(60),
]

BUSY_SECONDS = 2.0
HOLD_SECONDS = 8.0
CREATES = 60
CREATE_BOUND = 2 * BUSY_SECONDS + 1.5  # every create answers within this
READ_BOUND = 1.0  # every health check and list answers within this
READ_PAUSE = 0.2
CLIENT_TIMEOUT = HOLD_SECONDS + 12  # long enough to see a create that waits out the lock
RESEND_DEADLINE = 20.0

# Takes the write lock the way a second writer (another pigeon, a backup, sqlite3's shell)
# would, and holds it.
LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
print("released", flush=True)
"""


@dataclass(frozen=True)
class Timed:
    what: str
    status: int | None  # None: no answer (the error is in `detail`)
    took: float
    at: float  # since the lock was taken
    detail: str = ""
    retry_after: str | None = None
    message_id: str | None = None


def test_a_held_sqlite_lock_answers_503_in_time_and_reads_go_on(
    sqlite_file: Path, launch: Launch
) -> None:
    launcher = launch(f"sqlite:///{sqlite_file}", PIGEON_SQLITE_BUSY_SECONDS=str(BUSY_SECONDS))
    server = launcher.serve()
    key = server.admin_key
    assert key, "the first start prints the admin key"
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.url, headers=auth, timeout=10) as api:
        warm = api.post("/v1/messages", json={"recipient": PHONE, "body": "before the lock"})
        assert warm.status_code == 201, warm.text
        assert api.get("/v1/health").status_code == 200

    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(sqlite_file), str(HOLD_SECONDS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines, pump = _lines(locker)
    try:
        _expect(lines, "locked", 15.0, locker)
        locked_at = now()
        creates, reads = asyncio.run(_storm(server.url, auth, locked_at))
        _expect(lines, "released", HOLD_SECONDS + 15.0, locker)
        released_at = now()
    finally:
        if locker.poll() is None:
            locker.kill()
        locker.wait(timeout=10)
        pump.join(timeout=10)
        for pipe in (locker.stdout, locker.stderr):
            if pipe is not None:
                pipe.close()

    problems: list[str] = []
    bad = [
        c
        for c in creates
        if c.status not in (201, 503) or c.status is None or c.took > CREATE_BOUND
    ]
    if bad:
        problems.append(
            f"{len(bad)} of {CREATES} creates were not answered 201 or 503 within "
            f"{CREATE_BOUND} s (the write waited for the lock instead of giving up after "
            f"{BUSY_SECONDS} s?), e.g.: " + "; ".join(f"{c.what} {_show(c)}" for c in bad[:3])
        )
    bare = [c.what for c in creates if c.status == 503 and not c.retry_after]
    if bare:
        problems.append(f"{len(bare)} creates answered 503 without Retry-After: {bare[:5]}")
    slow_reads = [r for r in reads if r.status is None or r.took > READ_BOUND]
    if slow_reads:
        problems.append(
            f"{len(slow_reads)} of {len(reads)} reads took over {READ_BOUND} s while the lock was "
            "held: " + "; ".join(f"{r.what} {_show(r)}" for r in slow_reads[:6])
        )
    odd_reads = [
        r
        for r in reads
        if r.status is not None
        and (r.status not in (200, 503) or (r.status == 503 and "health" not in r.what))
    ]
    if odd_reads:
        problems.append(
            "reads answered other than 200 (or 503 from /v1/health): "
            + "; ".join(f"{r.what} {_show(r)}" for r in odd_reads[:6])
        )

    # Once the lock is free, each create that got 503 is sent again with its key.
    ids = {c.what: c.message_id for c in creates if c.status == 201}
    refused = [c.what for c in creates if c.status != 201]
    with httpx.Client(base_url=server.url, headers=auth, timeout=10) as api:
        for key_ in refused:
            answer = _resend(api, key_)
            if answer.status_code != 201:
                problems.append(f"{key_} sent again: {answer.status_code} {answer.text[:200]}")
            elif answer.headers.get("idempotent-replayed") == "true":
                problems.append(
                    f"{key_} sent again was REPLAYED: its first attempt, answered "
                    f"{next(_show(c) for c in creates if c.what == key_)}, had committed"
                )
            else:
                ids[key_] = answer.json()["id"]
    messages = all_messages(server.url, key)
    expected = CREATES + 1  # and the one before the lock
    if len(messages) != expected or len(set(ids.values())) != CREATES:
        problems.append(
            f"{len(messages)} messages exist for {expected} idempotency keys "
            f"({len(set(ids.values()))} distinct ids answered); counts {counts(server.url, key)}"
        )

    statuses = sorted({c.status or 0 for c in creates})
    health = sorted({r.status or 0 for r in reads if "health" in r.what})
    summary = (
        f"lock held {released_at - locked_at:.1f} s; creates answered "
        f"{ {s: sum(c.status == s for c in creates) for s in statuses} } in "
        f"{min(c.took for c in creates):.2f}..{max(c.took for c in creates):.2f} s; "
        f"{len(reads)} reads in at most {max((r.took for r in reads), default=0):.2f} s, "
        f"/v1/health answered {health}"
    )
    health_503 = next((r for r in reads if "health" in r.what and r.status == 503), None)
    if health_503 is not None:
        summary += f" (503: {health_503.detail})"
    print(summary)  # shown with -rP, or -s
    if problems:
        pytest.fail(summary + "\n\nPROBLEMS:\n" + "\n".join(problems[:30]), pytrace=False)


async def _storm(
    url: str, auth: dict[str, str], locked_at: float
) -> tuple[list[Timed], list[Timed]]:
    """Fire every create at once and, beside them, read until the lock is about to go."""
    limits = httpx.Limits(max_connections=CREATES + 10, max_keepalive_connections=CREATES + 10)
    async with httpx.AsyncClient(
        base_url=url, headers=auth, timeout=CLIENT_TIMEOUT, limits=limits
    ) as client:

        async def timed(what: str, method: str, path: str, **kwargs: object) -> Timed:
            started = now()
            try:
                response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
            except httpx.HTTPError as error:
                return Timed(what, None, now() - started, started - locked_at, repr(error))
            body = response.text[:200].replace("\n", " ")
            message_id = response.json().get("id") if response.status_code == 201 else None
            return Timed(
                what,
                response.status_code,
                now() - started,
                started - locked_at,
                body,
                response.headers.get("retry-after"),
                message_id,
            )

        async def create(n: int) -> Timed:
            key = f"lock-{n}"
            return await timed(
                key,
                "POST",
                "/v1/messages",
                json={"recipient": PHONE, "body": f"during the lock {n}"},
                headers={"Idempotency-Key": key},
            )

        async def read() -> list[Timed]:
            answers = []
            while now() < locked_at + HOLD_SECONDS - 0.5:
                answers.append(await timed("GET /v1/health", "GET", "/v1/health", timeout=5))
                answers.append(
                    await timed(
                        "GET /v1/messages", "GET", "/v1/messages", params={"limit": 5}, timeout=5
                    )
                )
                await asyncio.sleep(READ_PAUSE)
            return answers

        reading = asyncio.ensure_future(read())
        creates = await asyncio.gather(*(create(n) for n in range(CREATES)))
        return list(creates), await reading


def _resend(api: httpx.Client, key: str) -> httpx.Response:
    deadline = now() + RESEND_DEADLINE
    while True:
        answer = api.post(
            "/v1/messages",
            json={"recipient": PHONE, "body": f"during the lock {key.removeprefix('lock-')}"},
            headers={"Idempotency-Key": key},
        )
        if answer.status_code != 503 or now() > deadline:
            return answer
        time.sleep(0.2)


def _lines(process: subprocess.Popen[str]) -> tuple[queue.Queue[str | None], threading.Thread]:
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.strip())
        lines.put(None)

    thread = threading.Thread(target=pump, name="locker-stdout", daemon=True)
    thread.start()
    return lines, thread


def _expect(
    lines: queue.Queue[str | None], wanted: str, timeout: float, process: subprocess.Popen[str]
) -> None:
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        line = f"(nothing within {timeout} s)"
    if line != wanted:
        if process.poll() is None:
            process.kill()
        stderr = process.stderr.read() if process.stderr else ""
        pytest.fail(f"the lock holder said {line!r}, not {wanted!r}\n{stderr}", pytrace=False)


def _show(answer: Timed) -> str:
    status = "no answer" if answer.status is None else str(answer.status)
    detail = "" if answer.status == 201 else f": {answer.detail[:120]}"
    return f"{status} after {answer.took:.2f} s (sent at +{answer.at:.2f}s){detail}"
