"""The fault tests' clients and process control, written once.

Clients are threads that talk to whatever server the shared `Endpoint` names at the moment:
a test that kills a server and starts another one swaps the endpoint, and every client
follows on its next request. Each client keeps a record of what it was told (accepted
creates, claims, reports, every 5xx and every connection error), which the test compares
with the server's final state. Every wait has a deadline; every thread and process started
here is stopped by the code that started it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx
import pytest

from tests.conftest import service_missing
from tests.e2e.conftest import STOP_TIMEOUT, Pigeon, Process

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

PHONE = "+14155550100"
RETRY_PAUSE = 0.05  # between attempts after a connection error or a 5xx
REQUEST_TIMEOUT = 10.0  # any single request; a kill makes a pending one fail at once
KEY_DEADLINE = 45.0  # one create, retried until answered
REPORT_DEADLINE = 45.0  # one report, retried until answered
ACTOR_STOP_TIMEOUT = 20.0  # a client thread finishing its current step after stop()
CLAIM_LOGGED = '"action": "messages_claimed"'  # logged after a device claim's commit


def now() -> float:
    return time.monotonic()


def fault_rng() -> tuple[int, random.Random]:
    """A seeded generator; the seed is printed in failures (PIGEON_TEST_FAULT_SEED replays)."""
    raw = os.environ.get("PIGEON_TEST_FAULT_SEED")
    seed = int(raw) if raw else random.SystemRandom().randrange(1 << 30)
    return seed, random.Random(seed)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# Where the server is ----------------------------------------------------------------------


class Endpoint:
    """The current server URL, shared by every client; None while no server is up."""

    def __init__(self, url: str | None) -> None:
        self._url = url
        self._lock = threading.Lock()

    @property
    def url(self) -> str | None:
        with self._lock:
            return self._url

    def set(self, url: str | None) -> None:
        with self._lock:
            self._url = url


# Processes ------------------------------------------------------------------------------


class FaultPigeon(Pigeon):
    """tests/e2e's launcher, reading each process's log (stderr) line by line as it is
    written, so that a test can act the moment a line appears (a kill right after a claim
    committed). The log is still copied to the file `Process.output()` reads."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        super().__init__(env, workdir)
        self.watchers: list[Callable[[Process, str], None]] = []
        self._log_threads: list[threading.Thread] = []

    def _stderr(self, log: IO[str]) -> IO[str] | int:
        return subprocess.PIPE  # read by _pump_log, which shows each line to the watchers

    def _started(self, process: Process) -> None:
        thread = threading.Thread(
            target=self._pump_log, args=(process,), name=f"{process.name}-stderr", daemon=True
        )
        thread.start()
        self._log_threads.append(thread)

    def _pump_log(self, process: Process) -> None:
        assert process.popen.stderr is not None
        with process.log_path.open("a") as log:
            for line in process.popen.stderr:
                for watcher in list(self.watchers):
                    watcher(process, line)
                log.write(line)
                log.flush()
        process.popen.stderr.close()

    def stop_all(self) -> None:
        super().stop_all()
        for thread in self._log_threads:
            thread.join(timeout=STOP_TIMEOUT)


def sigkill(process: Process) -> None:
    """SIGKILL and reap; harmless on a process that is gone already."""
    process.popen.kill()
    try:
        process.popen.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{process.name} survived SIGKILL for {STOP_TIMEOUT} s", pytrace=False)


class KillOnLog:
    """A watcher that SIGKILLs one process as soon as its log shows `needle` (once armed).

    Killing on the log line of a device claim (written after the claim's commit, before its
    answer is rendered) makes it likely that the claim is committed and its answer lost."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._target: Process | None = None
        self._needle = ""
        self.fired = threading.Event()

    def arm(self, process: Process, needle: str) -> None:
        with self._lock:
            self.fired.clear()
            self._target, self._needle = process, needle

    def disarm(self) -> None:
        with self._lock:
            self._target = None

    def __call__(self, process: Process, line: str) -> None:
        with self._lock:
            if process is not self._target or self._needle not in line:
                return
            self._target = None
        process.popen.kill()
        self.fired.set()


class RedisServer:
    """A private `redis-server` on its own port (never the shared one), killed and started
    again on the same port by the test."""

    def __init__(self, workdir: Path, *, appendonly: bool = False) -> None:
        self.appendonly = appendonly  # every write fsynced: what a queue on Redis needs
        binary = shutil.which("redis-server")
        if binary is None:
            service_missing("redis-server", FileNotFoundError("redis-server is not on PATH"))
        self.binary = str(binary)
        self.workdir = workdir
        self.port = free_port()
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        self.starts += 1
        log_path = self.workdir / f"redis-{self.starts}.log"
        with log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "yes" if self.appendonly else "no",
                    "--appendfsync",
                    "always",
                    "--daemonize",
                    "no",
                    "--dir",
                    str(self.workdir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = now() + timeout
        while not self.ping():
            if self.popen.poll() is not None or now() > deadline:
                output = log_path.read_text(errors="replace")[-2000:]
                self.stop()
                pytest.fail(f"redis-server on port {self.port} did not start:\n{output}")
            time.sleep(0.05)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()


# Clients --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """Something a client was told (or a connection error, status 0)."""

    at: float
    who: str
    request: str
    status: int
    detail: str

    def describe(self, origin: float) -> str:
        what = f"HTTP {self.status}" if self.status else "connection error"
        return f"+{self.at - origin:.2f}s {self.who}: {self.request} -> {what}: {self.detail}"


class Actor(threading.Thread):
    """A client thread: runs `loop()` until stopped, recording its answers; a crash is kept
    (and reported by the test) rather than lost with the thread."""

    def __init__(self, name: str, endpoint: Endpoint, token: str) -> None:
        super().__init__(name=name, daemon=True)
        self.endpoint = endpoint
        self.token = token
        self.stopping = threading.Event()
        self.crash: str | None = None
        self.server_errors: list[Answer] = []  # every 5xx
        self.connection_errors: list[Answer] = []
        self.client: httpx.Client  # this thread's own, opened when it runs

    def run(self) -> None:
        try:
            with httpx.Client(headers={"Authorization": f"Bearer {self.token}"}) as client:
                self.client = client
                self.loop()
        except BaseException:
            self.crash = traceback.format_exc()

    def loop(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.stopping.set()

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> httpx.Response | None:
        """One attempt. None: no usable answer (no server, a connection error, or a 5xx,
        recorded); the caller decides whether to try again."""
        url = self.endpoint.url
        if url is None:
            time.sleep(RETRY_PAUSE)
            return None
        request = f"{method} {path}"
        try:
            response = self.client.request(
                method, url + path, json=body, headers=headers, timeout=timeout
            )
        except httpx.TransportError as error:
            self.connection_errors.append(Answer(now(), self.name, request, 0, repr(error)))
            time.sleep(RETRY_PAUSE)
            return None
        if response.status_code >= 500:
            detail = response.text[:300].replace("\n", " ")
            retry_after = response.headers.get("retry-after")
            if retry_after is not None:
                detail = f"(Retry-After: {retry_after}) {detail}"
            self.server_errors.append(
                Answer(now(), self.name, request, response.status_code, detail)
            )
            time.sleep(RETRY_PAUSE)
            return None
        return response


class Creator(Actor):
    """Sends single `POST /v1/messages`, each with its own Idempotency-Key, and retries the
    SAME key after a connection error or a 5xx until it is answered 201 or 4xx."""

    def __init__(
        self, endpoint: Endpoint, api_key: str, *, prefix: str = "key", pause: float = 0.02
    ) -> None:
        super().__init__(f"creator-{prefix}", endpoint, api_key)
        self.prefix = prefix
        self.pause = pause
        self.accepted: dict[str, str] = {}  # key -> message id of its 201
        self.accepted_at: dict[str, float] = {}  # key -> when its 201 came
        self.started_at: dict[str, float] = {}  # key -> when it was first sent
        self.attempts: dict[str, int] = {}
        self.refused: dict[str, str] = {}  # key -> its 4xx
        self.unanswered: list[str] = []
        self.keys = 0

    def loop(self) -> None:
        while not self.stopping.is_set():
            self.keys += 1
            if not self.create(f"{self.prefix}-{self.keys}"):
                return  # a key nobody answers: the server is stuck, stop adding to it
            time.sleep(self.pause)

    def create(self, key: str) -> bool:
        body = {"recipient": PHONE, "body": f"fault test {key}"}
        self.started_at[key] = now()
        deadline = now() + KEY_DEADLINE
        while now() < deadline:
            self.attempts[key] = self.attempts.get(key, 0) + 1
            response = self.call(
                "POST", "/v1/messages", body=body, headers={"Idempotency-Key": key}
            )
            if response is None:
                continue
            if response.status_code == 201:
                message_id = response.json()["id"]
                previous = self.accepted.setdefault(key, message_id)
                if previous != message_id:
                    self.refused[key] = f"201 with {message_id}, earlier 201 with {previous}"
                self.accepted_at[key] = now()
            else:
                self.refused[key] = f"{response.status_code} {response.text[:300]}"
            return True
        self.unanswered.append(key)
        return False


class Gateway(Actor):
    """A device: claims (long-poll), "sends" each message it was handed, reports `sent` with
    the claim token, and retries the same report until it is answered.

    A message handed out twice under the SAME token is the same claim: sent once, reported
    again. Under a different token it is sent again, which the test counts as a duplicate.
    Every `slow_every`-th batch takes `slow_seconds` to send (longer than the lease: the
    report then arrives after the lease ran out)."""

    def __init__(
        self,
        endpoint: Endpoint,
        name: str,
        device: dict[str, Any],
        *,
        limit: int = 20,
        wait: float = 2.0,
        slow_every: int = 0,
        slow_seconds: float = 0.0,
    ) -> None:
        super().__init__(name, endpoint, device["token"])
        self.device_id: str = device["id"]
        self.limit = limit
        self.wait = wait
        self.slow_every = slow_every
        self.slow_seconds = slow_seconds
        self.received: dict[str, set[str]] = {}  # message id -> claim tokens handed out
        self.sent: dict[str, set[str]] = {}  # message id -> tokens it was sent under
        self.first_seen: dict[str, float] = {}
        self.refusals: list[Answer] = []  # claims or reports answered with a 4xx
        self.unreported: list[str] = []
        self.handed_again = 0  # items handed out again under a token already received
        self._holding = 0  # batches claimed and not yet reported
        self._lock = threading.Lock()

    @property
    def holding(self) -> bool:
        with self._lock:
            return self._holding > 0

    def loop(self) -> None:
        batches = 0
        while not self.stopping.is_set():
            response = self.call(
                "POST",
                "/v1/gateway/claim",
                body={"limit": self.limit, "wait": self.wait},
                timeout=self.wait + REQUEST_TIMEOUT,
            )
            if response is None or response.status_code == 204:
                continue
            if response.status_code != 200:
                self.refusals.append(
                    Answer(now(), self.name, "claim", response.status_code, response.text[:300])
                )
                time.sleep(RETRY_PAUSE)
                continue
            items = response.json()["messages"]
            if not items:
                continue
            with self._lock:
                self._holding += 1
            try:
                batches += 1
                self.handle(items, slow=bool(self.slow_every) and batches % self.slow_every == 0)
            finally:
                with self._lock:
                    self._holding -= 1

    def handle(self, items: list[dict[str, Any]], *, slow: bool) -> None:
        reports = []
        for item in items:
            message_id, token = item["id"], item["claim_token"]
            tokens = self.received.setdefault(message_id, set())
            self.handed_again += token in tokens
            tokens.add(token)
            self.first_seen.setdefault(message_id, now())
            self.sent.setdefault(message_id, set()).add(token)  # sent once per token
            reports.append({"message_id": message_id, "claim_token": token, "status": "sent"})
        if slow:
            time.sleep(self.slow_seconds)
        self.report(reports)

    def report(self, reports: list[dict[str, Any]]) -> None:
        deadline = now() + REPORT_DEADLINE
        while now() < deadline:
            response = self.call("POST", "/v1/gateway/report", body={"reports": reports})
            if response is None:
                continue
            if response.status_code != 200:
                self.refusals.append(
                    Answer(now(), self.name, "report", response.status_code, response.text[:300])
                )
                return
            for result in response.json()["results"]:
                if "error" in result:
                    problem = result["error"]
                    self.refusals.append(
                        Answer(
                            now(),
                            self.name,
                            f"report of {result['message_id']}",
                            problem.get("status", 0),
                            str(problem.get("detail")),
                        )
                    )
            return
        self.unreported.extend(r["message_id"] for r in reports)


class EventReader(Actor):
    """Reads `GET /api/stream/messages/` (SSE), reconnecting when the stream ends; keeps
    every `message` frame with the time it arrived."""

    def __init__(self, endpoint: Endpoint, api_key: str) -> None:
        super().__init__("sse", endpoint, api_key)
        self.api_key = api_key
        self.frames: list[tuple[float, dict[str, Any]]] = []
        self.connections = 0
        self.refusals: list[Answer] = []

    def loop(self) -> None:
        while not self.stopping.is_set():
            url = self.endpoint.url
            if url is None:
                time.sleep(RETRY_PAUSE)
                continue
            try:
                with self.client.stream(
                    "GET",
                    url + "/api/stream/messages/",
                    params={"access_token": self.api_key},
                    timeout=5.0,  # pings come every 0.2 s (base_environment)
                ) as stream:
                    if stream.status_code != 200:
                        answer = Answer(now(), self.name, "stream", stream.status_code, "")
                        (self.server_errors if stream.status_code >= 500 else self.refusals).append(
                            answer
                        )
                        time.sleep(0.2)
                        continue
                    self.connections += 1
                    event = "message"
                    for line in stream.iter_lines():
                        if self.stopping.is_set():
                            return
                        if line.startswith("event: "):
                            event = line.removeprefix("event: ")
                        elif line.startswith("data: ") and event == "message":
                            self.frames.append((now(), json.loads(line.removeprefix("data: "))))
            except httpx.TransportError as error:
                self.connection_errors.append(Answer(now(), self.name, "stream", 0, repr(error)))
                time.sleep(0.2)

    def ids_seen_after(self, moment: float) -> set[str]:
        return {i for at, data in list(self.frames) if at >= moment for i in data.get("ids", [])}


class Crew:
    """Starts client threads and stops every one of them, whatever happens to the test."""

    def __init__(self) -> None:
        self.actors: list[Actor] = []

    def start(self, actor: Actor) -> Actor:
        self.actors.append(actor)
        actor.start()
        return actor

    def stop(self, actors: Iterable[Actor] | None = None) -> list[str]:
        """Stop `actors` (default: all) and wait for them; returns problems (crashes,
        threads that did not stop)."""
        chosen = list(self.actors if actors is None else actors)
        for actor in chosen:
            actor.stop()
        problems = []
        deadline = now() + ACTOR_STOP_TIMEOUT
        for actor in chosen:
            actor.join(timeout=max(0.1, deadline - now()))
            if actor.is_alive():
                problems.append(f"{actor.name} did not stop within {ACTOR_STOP_TIMEOUT} s")
            if actor.crash:
                problems.append(f"{actor.name} crashed:\n{actor.crash}")
        return problems

    def __enter__(self) -> Crew:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


# Reading the server's state ----------------------------------------------------------------


def admin_client(url: str, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=REQUEST_TIMEOUT
    )


def all_messages(url: str, key: str, *, status: str | None = None) -> dict[str, dict[str, Any]]:
    """Every message (of `status`), by id, paging `GET /v1/messages` with its cursor."""
    found: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    with admin_client(url, key) as api:
        for _page in range(1000):
            params: dict[str, Any] = {"limit": 200}
            if status:
                params["status"] = status
            if cursor:
                params["cursor"] = cursor
            page = api.get("/v1/messages", params=params)
            assert page.status_code == 200, f"GET /v1/messages: {page.status_code} {page.text}"
            body = page.json()
            for item in body["items"]:
                assert item["id"] not in found, f"message {item['id']} listed twice"
                found[item["id"]] = item
            cursor = body["next_cursor"]
            if cursor is None:
                return found
    pytest.fail("GET /v1/messages kept handing out cursors", pytrace=False)


def counts(url: str, key: str) -> dict[str, int]:
    with admin_client(url, key) as api:
        response = api.get("/v1/stats/messages")
    assert response.status_code == 200, f"GET /v1/stats/messages: {response.text}"
    by_status: dict[str, int] = response.json()["by_status"]
    return by_status


def history(url: str, key: str, message_id: str) -> str:
    with admin_client(url, key) as api:
        found = api.get(f"/v1/messages/{message_id}")
    if found.status_code != 200:
        return f"(GET answered {found.status_code})"
    return ", ".join(
        f"{e['from']}->{e['to']} by {e['actor']}"
        + (f" {json.dumps(e['detail'])}" if e.get("detail") else "")
        for e in found.json()["events"]
    )


UNSETTLED = ("queued", "released", "claimed")


def drain(
    url: str, key: str, gateways: list[Gateway], creators: list[Creator], timeout: float
) -> tuple[bool, dict[str, int]]:
    """Wait until every accepted message is settled: nothing queued, released or claimed,
    and no gateway holding a batch it has not reported. (An `unknown` message with nobody
    holding it stays so: nothing will report it.) Returns (drained, last counts)."""
    expected = sum(len(c.accepted) for c in creators)
    deadline = now() + timeout
    last: dict[str, int] = {}
    while now() < deadline:
        try:
            last = counts(url, key)
        except (httpx.TransportError, AssertionError):
            time.sleep(0.2)
            continue
        settled = not any(last.get(s, 0) for s in UNSETTLED) and not any(
            g.holding for g in gateways
        )
        if settled and sum(last.values()) >= expected:
            return True, last
        time.sleep(0.1)
    return False, last


def end_state_problems(
    url: str,
    key: str,
    creators: list[Creator],
    gateways: list[Gateway],
    *,
    drained: bool,
    last_counts: dict[str, int],
) -> list[str]:
    """What differs from: every 201 exists and is `sent`, one message per key, nothing
    sent twice, nothing left claimed or unknown, nothing refused, nothing unanswered."""
    problems: list[str] = []
    if not drained:
        problems.append(f"the system did not drain before its deadline; counts: {last_counts}")
    accepted = {k: v for c in creators for k, v in c.accepted.items()}
    for creator in creators:
        if creator.unanswered:
            problems.append(
                f"{creator.name}: keys never answered within {KEY_DEADLINE} s: {creator.unanswered}"
            )
        if creator.refused:
            sample = dict(list(creator.refused.items())[:5])
            problems.append(f"{creator.name}: {len(creator.refused)} creates refused: {sample}")
    for gateway in gateways:
        if gateway.refusals:
            sample = [f"{a.request}: {a.status} {a.detail}" for a in gateway.refusals[:5]]
            problems.append(
                f"{gateway.name}: {len(gateway.refusals)} claims/reports refused, e.g. {sample}"
            )
        if gateway.unreported:
            problems.append(
                f"{gateway.name}: reports never answered within {REPORT_DEADLINE} s for "
                f"{gateway.unreported[:5]}"
            )

    messages = all_messages(url, key)
    sent = all_messages(url, key, status="sent")
    stats = counts(url, key)
    if len(set(accepted.values())) != len(accepted):
        problems.append("two idempotency keys answered 201 with the same message id")
    missing = sorted(set(accepted.values()) - set(messages))
    if missing:
        problems.append(f"{len(missing)} messages answered 201 do not exist: {missing[:5]}")
    if len(messages) != len(accepted):
        extra = sorted(set(messages) - set(accepted.values()))
        problems.append(
            f"{len(messages)} messages exist for {len(accepted)} idempotency keys answered "
            f"201 (a retried key created a second message?); not answered to anyone: {extra[:5]}"
        )
    if sum(stats.values()) != len(messages):
        problems.append(f"/v1/stats/messages counts {stats}, the list has {len(messages)}")

    tokens: dict[str, dict[str, str]] = {}  # message id -> token -> gateway
    for gateway in gateways:
        for message_id, sent_tokens in gateway.sent.items():
            for token in sent_tokens:
                tokens.setdefault(message_id, {})[token] = gateway.name
    twice = {m: t for m, t in tokens.items() if len(t) > 1}
    if twice:
        sample = {m: sorted(t.values()) for m, t in list(twice.items())[:5]}
        problems.append(
            f"{len(twice)} messages were SENT TWICE (handed out under different claim "
            f"tokens): {sample}"
        )

    not_sent = {
        i: messages[i]["status"]
        for i in accepted.values()
        if i in messages and (messages[i]["status"] != "sent" or i not in sent)
    }
    if not_sent:
        by_status: dict[str, int] = {}
        for status in not_sent.values():
            by_status[status] = by_status.get(status, 0) + 1
        devices = {g.device_id: g for g in gateways}
        lines = []
        for message_id in list(not_sent)[:4]:
            seen_by = [g.name for g in gateways if message_id in g.received]
            lines.append(
                f"  {message_id} {not_sent[message_id]}, handed to "
                f"{seen_by or 'NO gateway'}; history: {history(url, key, message_id)}"
            )
        never_seen = [i for i in not_sent if not any(i in g.received for g in gateways)]
        hint = ""
        if never_seen:
            hint = (
                f"\n  {len(never_seen)} of them were never in any claim answer a gateway "
                "received: claimed (committed) but the answer was lost, and not handed to "
                "the same device again on its next claim"
            )
        problems.append(
            f"{len(not_sent)} accepted messages did not end `sent` ({by_status}); devices: "
            f"{ {d: g.name for d, g in devices.items()} }\n" + "\n".join(lines) + hint
        )
    return problems


def describe_errors(answers: Iterable[Answer], origin: float, limit: int = 8) -> str:
    chosen = sorted(answers, key=lambda a: a.at)
    text = "\n".join("  " + a.describe(origin) for a in chosen[:limit])
    if len(chosen) > limit:
        text += f"\n  ... and {len(chosen) - limit} more"
    return text


def new_device(url: str, key: str, name: str) -> dict[str, Any]:
    with admin_client(url, key) as api:
        created = api.post("/v1/devices", json={"name": name})
    assert created.status_code == 201, created.text
    device: dict[str, Any] = created.json()
    return device
