"""Steady-load benchmark: the cost of one message created by one request, end to end.

    python bench/steady.py                      # full run, SQLite and PostgreSQL
    python bench/steady.py --quick              # smoke run, under 2 minutes
    python bench/steady.py --backend postgres --rates 100,300 --duration 30

Prints progress lines, then ONE JSON object on the last line. See docs/benchmarks.md
("Steady load: bench/steady.py").

Phases, each on a fresh `pigeon serve` subprocess (API and workers in one process) and a
fresh database (a SQLite file, or a scratch PostgreSQL database):

1. rates: open-loop single `POST /v1/messages` (due now) at a fixed rate while simulated
   gateways long-poll `POST /v1/gateway/claim` and report every claim in one
   `POST /v1/gateway/report`. Create latency from each request's scheduled send time;
   create-to-gateway latency from that time to the claim response holding the message;
   the server's CPU and (PostgreSQL) commits per message over the measured window.
2. max-sustained: the offered rate stepped up until a run no longer keeps up.
3. idle-waiters: 1,000 long-poll claims held open with nothing due (the server's CPU), then
   single messages created one at a time (how long until a waiter gets each).
4. claim-backlog (PostgreSQL): a device claim of 10 with 100,000 released messages in the
   table, before and after ANALYZE.
5. help: the wall time of `pigeon --help`.

The load generator is this process: a minimal asyncio HTTP/1.1 keep-alive client (no httpx),
on uvloop when installed, sharing the machine's cores with pigeon and PostgreSQL; its own
CPU is reported beside every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    DEFAULT_PG_ADMIN_URL,
    PIGEON,
    Server,
    cpu_seconds,
    free_port,
    machine_busy_seconds,
    machine_facts,
    median,
    percentile,
    pg_log_path,
    pg_statement_profile,
    pigeon_source,
    postgres_facts,
    progress,
    scratch_postgres,
    server_env,
    sqlite_facts,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence

BENCHMARK = "bench/steady.py"
PHASES = ("rates", "max-sustained", "idle-waiters", "claim-backlog", "help")
# uvicorn closes a keep-alive connection idle for 5 s: a pooled one idle this long is not reused.
IDLE_REUSE_S = 4.0
# Every time stamp and schedule. Not loop.time(): uvloop's is libuv's cached millisecond clock.
clock = time.perf_counter


class BenchFailure(RuntimeError):
    """A correctness check failed (a message lost or handed out twice)."""


# A minimal HTTP/1.1 client -----------------------------------------------------------------
# httpx costs ~0.3 ms of CPU per request: at 1,000 requests/s that is a third of one of the
# machine's two cores, taken from the server under test. Hand-built request bytes and a
# status line + Content-Length parse cost a small fraction of that.


class HttpProtocolError(ValueError):
    """An answer this client cannot read as HTTP/1.1."""


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    keep_alive: bool

    def json(self) -> Any:
        return json.loads(self.body)


def _parse_head(head: bytes) -> tuple[int, int | None, bool, bool]:
    """(status, content length, chunked, keep-alive) from a response head."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise HttpProtocolError(f"bad status line {lines[0][:80]!r}")
    status = int(parts[1])
    length: int | None = None
    chunked = False
    keep_alive = parts[0] == b"HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            keep_alive = b"close" not in value.lower()
    return status, length, chunked, keep_alive


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailers
            return b"".join(parts)
        parts.append((await reader.readexactly(size + 2))[:-2])


class Connection:
    """One keep-alive TCP connection; one request at a time (no pipelining)."""

    __slots__ = ("exchanges", "idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.exchanges = 0
        self.idle_since = 0.0

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    def reusable(self, now: float) -> bool:
        return (
            not self.reader.at_eof()
            and not self.writer.is_closing()
            and now - self.idle_since < IDLE_REUSE_S
        )

    async def exchange(self, request: bytes) -> Response:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status, length, chunked, keep_alive = _parse_head(head)
        if chunked:
            body = await _read_chunked(self.reader)
        elif length is not None:
            body = await self.reader.readexactly(length)
        elif status == 204 or status == 304 or status < 200:
            body = b""
        else:  # delimited by the end of the connection
            body = await self.reader.read()
            keep_alive = False
        self.exchanges += 1
        return Response(status, body, keep_alive)

    def close(self) -> None:
        self.writer.close()


def _stale_reuse(exc: BaseException) -> bool:
    """A kept-alive connection the server closed before answering (nothing read back)."""
    if isinstance(exc, asyncio.IncompleteReadError):
        return not exc.partial
    return isinstance(exc, ConnectionError)


class Pool:
    """Keep-alive connections to one server, opened on demand up to `size`. Callers beyond
    that wait here, in order; their latency, counted from the scheduled send time, includes
    the wait, as a real client's would."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host = host
        self.port = port
        self.size = size
        self.opened = 0
        self.peak_open = 0
        self._open = 0
        self._idle: list[Connection] = []
        self._waiters: collections.deque[asyncio.Future[Connection | None]] = collections.deque()

    @property
    def open_connections(self) -> int:
        return self._open

    async def request(self, data: bytes, timeout: float) -> Response:
        """Send `data`, read the answer; TimeoutError after `timeout` seconds. A reused
        connection that turns out closed is retried once on a new one: creates carry an
        Idempotency-Key, so a replay cannot make a second message."""
        async with asyncio.timeout(max(0.0, timeout)):
            for attempt in (0, 1):
                conn = await self._acquire()
                reused = conn.exchanges > 0
                try:
                    response = await conn.exchange(data)
                except BaseException as exc:
                    self._discard(conn)
                    if attempt == 0 and reused and _stale_reuse(exc):
                        continue
                    raise
                if response.keep_alive:
                    self._release(conn)
                else:
                    self._discard(conn)
                return response
        raise AssertionError("unreachable")

    async def _acquire(self) -> Connection:
        loop = asyncio.get_running_loop()
        while True:
            while self._idle:
                conn = self._idle.pop()
                if conn.reusable(clock()):
                    return conn
                self._discard(conn)
            if self._open < self.size:
                return await self._connect()
            waiter: asyncio.Future[Connection | None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                handed = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._hand_back(waiter.result())
                raise
            if handed is not None:
                return handed
            # None: a connection was closed, so there is room to open one; loop.

    async def _connect(self) -> Connection:
        self._open += 1
        self.peak_open = max(self.peak_open, self._open)
        try:
            conn = await Connection.open(self.host, self.port)
        except BaseException:
            self._open -= 1
            self._hand_back(None)
            raise
        self.opened += 1
        return conn

    def _release(self, conn: Connection) -> None:
        conn.idle_since = clock()
        self._hand_back(conn)

    def _discard(self, conn: Connection) -> None:
        conn.close()
        self._open -= 1
        self._hand_back(None)

    def _hand_back(self, conn: Connection | None) -> None:
        """To the first caller still waiting (None tells it to open its own), else idle."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if conn is not None:
            self._idle.append(conn)

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._open -= len(self._idle)
        self._idle.clear()


class Endpoint:
    """Request bytes for one server and one bearer token."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self._head = f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"

    def post(self, path: str, payload: Any, headers: str = "") -> bytes:
        return self.post_json(path, json.dumps(payload, separators=(",", ":")), headers)

    def post_json(self, path: str, body: str, headers: str = "") -> bytes:
        """`body` already JSON (ASCII): the create loop spares itself json.dumps."""
        return (
            f"POST {path} HTTP/1.1\r\n{self._head}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{headers}\r\n{body}"
        ).encode()


# Failures a request can meet on the way (TimeoutError, an OSError, is told apart first).
TRANSPORT_ERRORS = (OSError, EOFError, asyncio.LimitOverrunError, HttpProtocolError)


async def call(pool: Pool, data: bytes, *codes: int, timeout: float = 60.0) -> Any:
    """A setup call: its answer must have one of `codes`."""
    response = await pool.request(data, timeout)
    if response.status not in codes:
        raise BenchFailure(
            f"{data.split(b' ', 2)[1].decode()} -> {response.status}: {response.body[:300]!r}"
        )
    return response.json() if response.body else None


# Servers and databases ---------------------------------------------------------------------


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextlib.contextmanager
def fresh_database(args: argparse.Namespace, backend: str, label: str) -> Iterator[str]:
    """A new empty database for one run: a scratch PostgreSQL database or a SQLite file."""
    if backend == "postgres":
        with scratch_postgres(args.pg_admin_url, label) as url:
            yield url
        return
    path = args.workdir / f"{label}.db"
    _remove_sqlite(path)
    try:
        yield f"sqlite:///{path}"
    finally:
        _remove_sqlite(path)


@dataclass
class Running:
    """A started `pigeon serve` and how to reach it."""

    server: Server
    host: str
    port: int
    pid: int

    def endpoint(self, token: str | None = None) -> Endpoint:
        return Endpoint(self.host, self.port, token or self.server.secrets["admin_key"])

    def pool(self, size: int) -> Pool:
        return Pool(self.host, self.port, size)


@contextlib.contextmanager
def running_server(
    database_url: str, log: Path, *extra: str, env: dict[str, str] | None = None
) -> Iterator[Running]:
    """`pigeon serve` (API + workers in one process unless `extra` says --no-workers), as
    bench/outbound.py starts it; stopped on exit."""
    args = ["serve", "--port", str(free_port()), *extra]
    server = Server(args, server_env(database_url, **(env or {})), log)
    try:
        server.start()
        assert server.url is not None and server.pid is not None
        host, _, port = server.url.removeprefix("http://").rpartition(":")
        yield Running(server, host, int(port), server.pid)
    finally:
        server.stop()


async def create_devices(srv: Running, n: int, prefix: str) -> list[dict[str, Any]]:
    """n devices on the workspace's default channel, via the API; each answer has `token`."""
    pool = srv.pool(4)
    admin = srv.endpoint()
    try:
        return [
            await call(pool, admin.post("/v1/devices", {"name": f"{prefix}-{i}"}), 201)
            for i in range(n)
        ]
    finally:
        pool.close()


# Gateways ----------------------------------------------------------------------------------


@dataclass
class Delivery:
    """What the simulated gateways were handed, by message id."""

    first_seen: dict[str, float] = field(default_factory=dict)  # arrival of the claim answer
    token_of: dict[str, str] = field(default_factory=dict)
    handed_twice: list[str] = field(default_factory=list)  # a second, different claim token
    claims: int = 0
    empty_claims: int = 0
    claimed_messages: int = 0
    reported_sent: int = 0
    report_refused: collections.Counter[str] = field(default_factory=collections.Counter)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)

    def note(self, messages: list[dict[str, Any]], now: float) -> None:
        self.claims += 1
        self.claimed_messages += len(messages)
        for m in messages:
            mid, token = m["id"], m["claim_token"]
            known = self.token_of.setdefault(mid, token)
            # The same token again is a device's own unreported lease, renewed: allowed.
            if known != token:
                self.handed_twice.append(mid)
            self.first_seen.setdefault(mid, now)

    def note_report(self, body: dict[str, Any]) -> None:
        for result in body.get("results", []):
            if result.get("status") == "sent":
                self.reported_sent += 1
            else:
                error = result.get("error") or {}
                self.report_refused[str(error.get("title") or error.get("status") or result)] += 1


def _error_kind(exc: BaseException) -> str:
    return "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__


async def gateway(
    pool: Pool, device: Endpoint, delivery: Delivery, *, limit: int, wait: float
) -> None:
    """Claim (long-poll), report the whole claim `sent` in one call, claim again; forever
    (the caller cancels it)."""
    claim = device.post("/v1/gateway/claim", {"limit": limit, "wait": wait})
    while True:
        try:
            response = await pool.request(claim, wait + 15)
        except (TimeoutError, *TRANSPORT_ERRORS) as exc:
            delivery.errors[f"claim {_error_kind(exc)}"] += 1
            await asyncio.sleep(0.2)
            continue
        now = clock()
        if response.status == 204:
            delivery.empty_claims += 1
            continue
        if response.status != 200:
            delivery.errors[f"claim http {response.status}"] += 1
            await asyncio.sleep(0.2)
            continue
        messages = response.json()["messages"]
        if not messages:
            delivery.empty_claims += 1
            continue
        delivery.note(messages, now)
        await _report(pool, device, delivery, messages)


async def _report(
    pool: Pool, device: Endpoint, delivery: Delivery, messages: list[dict[str, Any]]
) -> None:
    reports = [
        {"message_id": m["id"], "claim_token": m["claim_token"], "status": "sent"} for m in messages
    ]
    try:
        response = await pool.request(device.post("/v1/gateway/report", {"reports": reports}), 60)
    except (TimeoutError, *TRANSPORT_ERRORS) as exc:
        delivery.errors[f"report {_error_kind(exc)}"] += 1
        return
    if response.status != 200:
        delivery.errors[f"report http {response.status}"] += 1
        return
    delivery.note_report(response.json())


async def cancel_all(tasks: Sequence[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# Open-loop load ----------------------------------------------------------------------------


@dataclass
class Load:
    """Single creates offered at a fixed rate, and what came back. Times are clock() times."""

    rate: float
    t0: float  # the measured window: requests scheduled in [t0, t1)
    t1: float
    timeout: float
    tag: str
    created: dict[str, float] = field(default_factory=dict)  # message id -> scheduled time
    latencies: list[float] = field(default_factory=list)  # window: 201s, unanswered at timeout
    ok_arrivals: list[float] = field(default_factory=list)  # when each 201 arrived
    offered: int = 0
    finished: float = 0.0  # when the last request ended (answered or timed out)
    replays: int = 0
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    transport: collections.Counter[str] = field(default_factory=collections.Counter)

    def in_window(self, scheduled: float) -> bool:
        return self.t0 <= scheduled < self.t1

    def answered(self, scheduled: float, now: float, response: Response) -> None:
        if response.status not in (200, 201):
            self.statuses[str(response.status)] += 1
            return
        # 200: the Idempotency-Key replayed an earlier answer (after a retried connection).
        self.replays += response.status == 200
        self.created[response.json()["id"]] = scheduled
        self.ok_arrivals.append(now)
        if self.in_window(scheduled):
            self.latencies.append(now - scheduled)

    def failed(self, scheduled: float, kind: str) -> None:
        self.transport[kind] += 1
        if kind == "timeout" and self.in_window(scheduled):
            self.latencies.append(self.timeout)  # a lower bound: it never answered

    def request(self, endpoint: Endpoint, i: int) -> bytes:
        body = f'{{"recipient":"+1415555{i % 10_000:04d}","body":"steady {self.tag} #{i}"}}'
        return endpoint.post_json("/v1/messages", body, f"Idempotency-Key: {self.tag}-{i}\r\n")


async def _create(load: Load, pool: Pool, endpoint: Endpoint, i: int, scheduled: float) -> None:
    try:
        response = await pool.request(load.request(endpoint, i), scheduled + load.timeout - clock())
    except (TimeoutError, *TRANSPORT_ERRORS) as exc:
        load.failed(scheduled, _error_kind(exc))
        return
    load.answered(scheduled, clock(), response)


async def offer(load: Load, pool: Pool, endpoint: Endpoint, start: float) -> None:
    """Open loop: request i leaves at start + i/rate whatever became of the earlier ones (a
    late timer sends the overdue ones at once); returns when every request has ended."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()
    i = 0
    while (scheduled := start + i / load.rate) < load.t1:
        delay = scheduled - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        task = loop.create_task(_create(load, pool, endpoint, i, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        load.offered += 1
        i += 1
    await asyncio.gather(*tasks)
    load.finished = clock()


# Measurements over a window ------------------------------------------------------------------


def _stat_fields(pid: int | str) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def postgres_cpu_seconds() -> float:
    """CPU seconds of the whole PostgreSQL server so far: the postmaster's own and its
    reaped children's (cutime + cstime: backends that have exited), plus every live child's.
    Summing live `postgres` processes alone loses the CPU of backends that exit during the
    window (pools closing overflow connections, other users' sessions)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            fields = _stat_fields(entry.name)
            parent = Path(f"/proc/{fields[1]}/comm").read_text().strip()
        except OSError:
            continue  # exited meanwhile
        ticks += int(fields[11]) + int(fields[12])
        if parent != "postgres":  # the postmaster
            ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Snapshot:
    """CPU seconds used so far, at clock() time `t`."""

    t: float
    serve: float
    postgres: float
    bench: float
    machine_busy: float

    @classmethod
    def take(cls, pid: int) -> Snapshot:
        return cls(
            t=clock(),
            serve=cpu_seconds(pid),
            postgres=postgres_cpu_seconds(),
            bench=time.process_time(),
            machine_busy=machine_busy_seconds(),
        )


def cpu_between(a: Snapshot, b: Snapshot, postgres: bool) -> dict[str, float]:
    """Percent of one core over the window, by process group; `other` is the machine's busy
    time not accounted for by pigeon, PostgreSQL (if used) and the bench."""
    wall = b.t - a.t
    serve, bench = b.serve - a.serve, b.bench - a.bench
    pg = b.postgres - a.postgres if postgres else 0.0
    busy = b.machine_busy - a.machine_busy
    out = {"serve": serve, "bench": bench, "postgres_server": pg, "machine_busy": busy}
    out["other"] = max(0.0, busy - serve - bench - pg)
    return {f"{k}_percent_of_a_core": round(v / wall * 100, 1) for k, v in out.items()}


class CommitSampler:
    """pg_stat_database.xact_commit of one database, read every 0.25 s from the ADMIN
    database (never from the one under test, which would add its own commits).

    A PostgreSQL 15 backend publishes its counts after a transaction once a second has
    passed since it last did (an idle one holds them back until its next statement), so
    under load one reading lags by about a second per backend: a +-5% edge error on a plain
    difference over 20 s. The slope of a least-squares line through all the window's
    samples averages the lag out."""

    def __init__(self, admin_url: str, dbname: str) -> None:
        self.admin_url = admin_url
        self.dbname = dbname
        self.samples: list[tuple[float, int]] = []

    async def run(self, until: float) -> None:
        import psycopg

        query = "SELECT xact_commit FROM pg_stat_database WHERE datname = %s"
        async with await psycopg.AsyncConnection.connect(self.admin_url, autocommit=True) as conn:
            while (now := clock()) <= until:
                await conn.execute("SELECT pg_stat_clear_snapshot()")
                row = await (await conn.execute(query, (self.dbname,))).fetchone()
                self.samples.append((now, int(row[0]) if row else 0))
                await asyncio.sleep(0.25)

    def commits_per_s(self) -> float | None:
        if len(self.samples) < 4:
            return None
        n = len(self.samples)
        mean_t = sum(t for t, _ in self.samples) / n
        mean_c = sum(c for _, c in self.samples) / n
        cov = sum((t - mean_t) * (c - mean_c) for t, c in self.samples)
        var = sum((t - mean_t) ** 2 for t, _ in self.samples)
        return cov / var if var else None

    def plain_difference(self) -> int | None:
        return self.samples[-1][1] - self.samples[0][1] if len(self.samples) > 1 else None


async def at(when: float) -> None:
    await asyncio.sleep(max(0.0, when - clock()))


def _ms(seconds: float | None) -> float | None:
    if seconds is None or seconds != seconds:  # None or NaN
        return None
    return round(seconds * 1000, 2)


def _pcts(values: Sequence[float], prefix: str) -> dict[str, float | None]:
    if not values:
        return {f"{prefix}_p50_ms": None, f"{prefix}_p99_ms": None, f"{prefix}_max_ms": None}
    return {
        f"{prefix}_p50_ms": _ms(percentile(values, 50)),
        f"{prefix}_p99_ms": _ms(percentile(values, 99)),
        f"{prefix}_max_ms": _ms(max(values)),
    }


# Phase 1 and 2: one offered rate on a fresh server ------------------------------------------


@dataclass
class Window:
    """What was measured between the two snapshots."""

    start: Snapshot
    end: Snapshot
    commits: CommitSampler | None


async def _window(load: Load, pid: int, sampler: CommitSampler | None) -> Window:
    await at(load.t0)
    start = Snapshot.take(pid)
    sampling = asyncio.ensure_future(sampler.run(load.t1)) if sampler else None
    await at(load.t1)
    end = Snapshot.take(pid)
    if sampling is not None:
        await sampling
    return Window(start, end, sampler)


async def drain(load: Load, delivery: Delivery, seconds: float) -> float:
    """Wait until the gateways have received every created message, or `seconds` pass;
    returns the time it took."""
    started = clock()
    pending = set(load.created)
    while pending and clock() - started < seconds:
        await asyncio.sleep(0.1)
        pending = {mid for mid in pending if mid not in delivery.first_seen}
    return clock() - started


async def run_rate(args: argparse.Namespace, backend: str, rate: int) -> dict[str, Any]:
    label = f"steady_{rate}"
    with (
        fresh_database(args, backend, label) as url,
        running_server(url, args.workdir / f"{backend}-{rate}-per-s.log") as srv,
    ):
        devices = await create_devices(srv, args.gateways, "gateway")
        dbname = url.rsplit("/", 1)[1] if backend == "postgres" else None
        return await _measure_rate(args, backend, rate, srv, devices, dbname)


async def _measure_rate(
    args: argparse.Namespace,
    backend: str,
    rate: int,
    srv: Running,
    devices: list[dict[str, Any]],
    dbname: str | None,
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    delivery = Delivery()
    gateways = [
        loop.create_task(
            gateway(srv.pool(1), srv.endpoint(d["token"]), delivery, limit=50, wait=30)
        )
        for d in devices
    ]
    pool = srv.pool(args.max_connections)
    start = clock() + 0.5  # the gateways' first claims are parked by then
    load = Load(
        rate,
        start + args.warmup,
        start + args.warmup + args.duration,
        args.timeout,
        tag=f"{backend}-{rate}-{os.getpid()}",
    )
    admin_url = args.pg_admin_url.replace("postgresql+psycopg://", "postgresql://")
    sampler = CommitSampler(admin_url, dbname) if dbname else None
    try:
        watching = asyncio.ensure_future(_window(load, srv.pid, sampler))
        await offer(load, pool, srv.endpoint(), start)
        window = await watching
        drained = await drain(load, delivery, args.drain)
    finally:
        await cancel_all(gateways)
        pool.close()
    return summarize_rate(load, delivery, window, pool, drained, backend)


def summarize_rate(
    load: Load, delivery: Delivery, w: Window, pool: Pool, drained_s: float, backend: str
) -> dict[str, Any]:
    seconds = w.end.t - w.start.t
    ok = sum(1 for t in load.ok_arrivals if w.start.t <= t <= w.end.t)
    to_gateway = [
        delivery.first_seen[mid] - scheduled
        for mid, scheduled in load.created.items()
        if load.in_window(scheduled) and mid in delivery.first_seen
    ]
    undelivered = [mid for mid in load.created if mid not in delivery.first_seen]
    out: dict[str, Any] = {
        "offered_per_s": load.rate,
        "window_s": round(seconds, 2),
        "achieved_creates_per_s": round(ok / seconds, 1),
        "created_in_window": ok,
        **_pcts(load.latencies, "create"),
        **_pcts(to_gateway, "create_to_gateway"),
        "serve_cpu_ms_per_message": _ms((w.end.serve - w.start.serve) / ok) if ok else None,
        "bench_cpu_us_per_message": round((w.end.bench - w.start.bench) / ok * 1e6, 1)
        if ok
        else None,
        "cpu_during_window": cpu_between(w.start, w.end, postgres=backend == "postgres"),
        "offered": load.offered,
        "created": len(load.created),
        "non_2xx_by_status": dict(load.statuses),
        "transport_errors": dict(load.transport),
        "idempotent_replays": load.replays,
        "undelivered_after_drain": len(undelivered),
        "tail_s": round(load.finished - load.t1, 2),  # last answer after the window's end
        "drain_s": round(drained_s, 2),
        "handed_out_twice": len(delivery.handed_twice),
        # Creates that timed out here may still have been made by the server: the gateways
        # then get ids this side never saw.
        "claimed_without_a_201": len(delivery.first_seen.keys() - load.created.keys()),
        "gateway": _gateway_summary(delivery),
        "client_connections_peak": pool.peak_open,
    }
    if w.commits is not None:
        out.update(_commit_figures(w.commits, seconds, ok))
    out["problems"] = _problems(out, delivery, undelivered)
    out["kept_up_misses"] = _kept_up_misses(out)
    out["kept_up"] = not out["kept_up_misses"]
    return out


def _gateway_summary(d: Delivery) -> dict[str, Any]:
    return {
        "claims": d.claims,
        "empty_claims": d.empty_claims,
        "claim_size_mean": round(d.claimed_messages / d.claims, 1) if d.claims else None,
        "reported_sent": d.reported_sent,
        "report_refused": dict(d.report_refused),
        "errors": dict(d.errors),
    }


def _commit_figures(sampler: CommitSampler, seconds: float, created: int) -> dict[str, Any]:
    rate = sampler.commits_per_s()
    plain = sampler.plain_difference()
    return {
        "commits_per_message": round(rate * seconds / created, 2) if rate and created else None,
        "commits_per_message_plain_difference": round(plain / created, 2)
        if plain is not None and created
        else None,
        "commit_samples": len(sampler.samples),
    }


def _problems(s: dict[str, Any], d: Delivery, undelivered: list[str]) -> list[str]:
    """Correctness: every created message reached a gateway, once; every report was taken."""
    problems = []
    if undelivered:
        problems.append(
            f"{len(undelivered)} created messages never reached a gateway within the run "
            f"+ {s['drain_s']} s drain, e.g. {undelivered[:2]}"
        )
    if d.handed_twice:
        problems.append(
            f"{len(d.handed_twice)} messages handed out under two claim tokens, "
            f"e.g. {d.handed_twice[:2]}"
        )
    if d.report_refused:
        problems.append(f"reports refused: {dict(d.report_refused)}")
    return problems


def _kept_up_misses(s: dict[str, Any]) -> list[str]:
    """Kept up: achieved >= 97% of offered, no error answers, create-to-gateway p99 < 1 s."""
    misses = []
    if s["achieved_creates_per_s"] < 0.97 * s["offered_per_s"]:
        misses.append(f"achieved {s['achieved_creates_per_s']}/s < 97% of {s['offered_per_s']}/s")
    errors = sum(s["non_2xx_by_status"].values()) + sum(s["transport_errors"].values())
    if errors:
        misses.append(f"{errors} errors {s['non_2xx_by_status']} {s['transport_errors']}")
    p99 = s["create_to_gateway_p99_ms"]
    if p99 is None or p99 >= 1000:
        misses.append(f"create_to_gateway p99 {p99} ms >= 1000 ms")
    misses.extend(s["problems"])
    return misses


def _step_line(backend: str, s: dict[str, Any]) -> str:
    cpu = s["cpu_during_window"]
    commits = f", {s['commits_per_message']} commits/msg" if "commits_per_message" in s else ""
    return (
        f"{backend} @ {s['offered_per_s']}/s: achieved {s['achieved_creates_per_s']}/s, "
        f"create p50/p99 {s['create_p50_ms']}/{s['create_p99_ms']} ms, to gateway p50/p99 "
        f"{s['create_to_gateway_p50_ms']}/{s['create_to_gateway_p99_ms']} ms, serve "
        f"{s['serve_cpu_ms_per_message']} ms CPU/msg{commits}; CPU % of a core: serve "
        f"{cpu['serve_percent_of_a_core']}, postgres {cpu['postgres_server_percent_of_a_core']}, "
        f"bench {cpu['bench_percent_of_a_core']}, other "
        f"{cpu['other_percent_of_a_core']}; errors {s['non_2xx_by_status']} "
        f"{s['transport_errors']}; kept up: {s['kept_up']}"
    )


FLAT_RATE_KEYS = (
    "achieved_creates_per_s",
    "create_p50_ms",
    "create_p99_ms",
    "create_to_gateway_p50_ms",
    "create_to_gateway_p99_ms",
    "serve_cpu_ms_per_message",
    "commits_per_message",
    "bench_cpu_us_per_message",
)


def flat_rate_keys(backend: str, s: dict[str, Any]) -> dict[str, Any]:
    rate = s["offered_per_s"]
    out = {f"{k}_at_{rate}_per_s_{backend}": s[k] for k in FLAT_RATE_KEYS if k in s}
    errors = sum(s["non_2xx_by_status"].values()) + sum(s["transport_errors"].values())
    out[f"error_count_at_{rate}_per_s_{backend}"] = errors
    return out


async def run_rates(
    args: argparse.Namespace,
    backend: str,
    rates: Sequence[int],
    steps: dict[int, dict[str, Any]],
    failures: list[str],
) -> None:
    """Each rate on its own fresh server and database; results go into `steps`."""
    for rate in rates:
        progress(f"{backend}: {rate} creates/s for {args.duration} s (+{args.warmup} s warm-up)")
        steps[rate] = s = await run_rate(args, backend, rate)
        progress(_step_line(backend, s))
        failures.extend(f"{backend} @ {rate}/s: {p}" for p in s["problems"])


async def max_sustained(
    args: argparse.Namespace,
    backend: str,
    measured: dict[int, dict[str, Any]],
    failures: list[str],
) -> dict[str, Any]:
    """Step the offered rate up (a fresh server each step; a rate already measured in the
    rates phase is reused) and stop at the first step that does not keep up."""
    best: int | None = None
    ladder = []
    for rate in args.ladder:
        if rate not in measured:
            await run_rates(args, backend, [rate], measured, failures)
        s = measured[rate]
        ladder.append(
            {
                "offered_per_s": rate,
                "achieved_creates_per_s": s["achieved_creates_per_s"],
                "create_to_gateway_p99_ms": s["create_to_gateway_p99_ms"],
                "kept_up": s["kept_up"],
                "misses": s["kept_up_misses"],
            }
        )
        if not s["kept_up"]:
            break
        best = rate
    progress(f"{backend}: max sustained single creates/s: {best} (ladder {args.ladder})")
    return {
        f"max_sustained_single_creates_per_s_{backend}": best,
        f"max_sustained_ladder_{backend}": ladder,
    }


# Phase 3: 1,000 idle waiters ------------------------------------------------------------------


async def run_idle_waiters(
    args: argparse.Namespace, backend: str, failures: list[str]
) -> dict[str, Any]:
    n = args.waiter_devices * args.waiter_connections
    with (
        fresh_database(args, backend, "waiters") as url,
        running_server(url, args.workdir / f"{backend}-waiters.log") as srv,
    ):
        devices = await create_devices(srv, args.waiter_devices, "waiter")
        delivery = Delivery()
        pools = [srv.pool(1) for _ in range(n)]
        waiters = [
            asyncio.create_task(
                gateway(
                    pool,
                    srv.endpoint(devices[i % len(devices)]["token"]),
                    delivery,
                    limit=10,
                    wait=30,
                )
            )
            for i, pool in enumerate(pools)
        ]
        try:
            return await _measure_waiters(args, backend, srv, delivery, pools, failures)
        finally:
            await cancel_all(waiters)


async def _measure_waiters(
    args: argparse.Namespace,
    backend: str,
    srv: Running,
    delivery: Delivery,
    pools: list[Pool],
    failures: list[str],
) -> dict[str, Any]:
    n = len(pools)
    await asyncio.sleep(args.waiter_settle)
    connected = sum(p.open_connections for p in pools)
    claims_before = delivery.claims + delivery.empty_claims
    start = Snapshot.take(srv.pid)
    await asyncio.sleep(args.idle_window)
    end = Snapshot.take(srv.pid)
    answered = delivery.claims + delivery.empty_claims - claims_before
    cpu = cpu_between(start, end, postgres=backend == "postgres")
    idle_pct = cpu["serve_percent_of_a_core"]
    progress(
        f"{backend}: {connected}/{n} waiters connected; serve {idle_pct}% of a core over "
        f"{args.idle_window} s idle ({answered} claims answered meanwhile)"
    )
    lags, missing = await _work_to_waiters(srv, delivery, args.waiter_probes)
    if missing:
        failures.append(
            f"{backend} waiters: {missing} of {args.waiter_probes} messages never reached a waiter"
        )
    if delivery.handed_twice:
        failures.append(
            f"{backend} waiters: {len(delivery.handed_twice)} messages handed out under two "
            f"claim tokens, e.g. {delivery.handed_twice[:2]}"
        )
    progress(
        f"{backend}: work to a waiter: median {_ms(median(lags))} ms, max "
        f"{_ms(max(lags, default=None))} ms, {missing} never arrived"
    )
    return {
        f"idle_waiters_cpu_percent_{n}_{backend}": idle_pct,
        f"work_to_waiter_ms_with_{n}_waiting_{backend}": _ms(median(lags)),
        f"work_to_waiter_ms_max_with_{n}_waiting_{backend}": _ms(max(lags, default=None)),
        f"idle_waiters_detail_{backend}": {
            "waiters": n,
            "connected": connected,
            "devices": args.waiter_devices,
            "idle_window_s": args.idle_window,
            "claims_answered_in_idle_window": answered,
            "cpu_during_idle_window": cpu,
            "probes": args.waiter_probes,
            "probes_never_delivered": missing,
            "work_to_waiter_ms": [_ms(x) for x in lags],
            "waiter_errors": dict(delivery.errors),
            "handed_out_twice": len(delivery.handed_twice),
        },
    }


async def _work_to_waiters(
    srv: Running, delivery: Delivery, probes: int
) -> tuple[list[float], int]:
    """One message every second; each one's lag from its create request to the claim answer
    that holds it (whichever waiter gets it)."""
    pool = srv.pool(2)
    admin = srv.endpoint()
    sent: dict[str, float] = {}
    try:
        for i in range(probes):
            started = clock()
            item = {"recipient": f"+1415555{i:04d}", "body": f"waiter probe {i}"}
            body = await call(
                pool, admin.post("/v1/messages", item, f"Idempotency-Key: probe-{i}\r\n"), 201
            )
            sent[body["id"]] = started
            await at(started + 1.0)
    finally:
        pool.close()
    deadline = clock() + 45  # a held claim answers within its 30 s wait
    while clock() < deadline and any(mid not in delivery.first_seen for mid in sent):
        await asyncio.sleep(0.05)
    lags = [delivery.first_seen[mid] - t for mid, t in sent.items() if mid in delivery.first_seen]
    return lags, len(sent) - len(lags)


# Phase 4: a device claim with a backlog of released messages (PostgreSQL) --------------------

INSERT_RELEASED = """
INSERT INTO messages (id, workspace_id, channel_id, recipient, body, status, scheduled_for,
                      attempts, created_at, updated_at)
SELECT gen_random_uuid()::text, %(ws)s, %(ch)s, '+1415555' || lpad((g %% 10000)::text, 4, '0'),
       'backlog #' || g, 'released', now() - interval '1 hour' + g * interval '1 millisecond',
       0, now(), now()
FROM generate_series(1, %(n)s) AS g
"""


def _size_label(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def load_released(url: str, device_id: str, n: int) -> dict[str, Any]:
    """n released messages on the device's channel, in one INSERT ... SELECT, with the
    table's autovacuum off so nothing analyzes it before we say so."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT workspace_id, channel_id FROM devices WHERE id = %s", (device_id,)
        ).fetchone()
        assert row is not None
        conn.execute("ALTER TABLE messages SET (autovacuum_enabled = false)")
        started = time.perf_counter()
        conn.execute(INSERT_RELEASED, {"ws": row[0], "ch": row[1], "n": n})
        seconds = time.perf_counter() - started
        return {"insert_s": round(seconds, 2), **_analyze_state(conn)}


def _analyze_state(conn: Any) -> dict[str, Any]:
    row = conn.execute(
        "SELECT last_analyze, last_autoanalyze, "
        "(SELECT reltuples FROM pg_class WHERE relname = 'messages') "
        "FROM pg_stat_user_tables WHERE relname = 'messages'"
    ).fetchone()
    return {
        "last_analyze": str(row[0]) if row and row[0] else None,
        "last_autoanalyze": str(row[1]) if row and row[1] else None,
        "pg_class_reltuples_before_claims": row[2] if row else None,
    }


async def timed_claims(
    claimer: Running, reporter: Running, token: str, warmup: int, timed: int
) -> list[float]:
    """Round trips of POST /v1/gateway/claim {"limit": 10} to `claimer`, each claim then
    reported (not timed) through `reporter`: a device's next claim would otherwise hand back
    its own unreported ten instead of claiming new ones."""
    claim_pool, report_pool = claimer.pool(1), reporter.pool(1)
    device = claimer.endpoint(token)
    delivery = Delivery()
    claim = device.post("/v1/gateway/claim", {"limit": 10})
    times = []
    try:
        for i in range(warmup + timed):
            started = clock()
            response = await claim_pool.request(claim, 60)
            elapsed = clock() - started
            messages = response.json()["messages"] if response.status == 200 else []
            if len(messages) != 10:
                raise BenchFailure(f"claim of 10 -> {response.status}, {len(messages)} messages")
            if i >= warmup:
                times.append(elapsed)
            await _report(report_pool, reporter.endpoint(token), delivery, messages)
    finally:
        claim_pool.close()
        report_pool.close()
    if delivery.errors or delivery.report_refused:
        raise BenchFailure(f"reports failed: {dict(delivery.errors)} {delivery.report_refused}")
    return times


async def run_claim_backlog(args: argparse.Namespace) -> dict[str, Any]:
    """Server A gives the HTTP round trips. Server B (--no-workers) on the same database runs
    with PGOPTIONS="-c log_min_duration_statement=0", so its sessions, and only they, log
    every statement: it takes the claims whose server-side time is read from the PostgreSQL
    log, while their reports go through A, so B's log lines are the claims'."""
    label = _size_label(args.released)
    out: dict[str, Any] = {}
    with (
        fresh_database(args, "postgres", "claim") as url,
        running_server(url, args.workdir / "claim-backlog-a.log") as a,
    ):
        dbname = url.rsplit("/", 1)[1]
        [device] = await create_devices(a, 1, "backlog")
        facts = load_released(url, device["id"], args.released)
        progress(f"postgres: {args.released} released messages loaded in {facts['insert_s']} s")
        log_all = {"PGOPTIONS": "-c log_min_duration_statement=0"}
        b_log = args.workdir / "claim-backlog-b.log"
        with running_server(url, b_log, "--no-workers", env=log_all) as b:
            for analyzed in (False, True):
                if analyzed:
                    _analyze(url)
                suffix = "_analyzed" if analyzed else ""
                times = await timed_claims(a, a, device["token"], 5, args.claim_rounds)
                out[f"claim_ms_with_{label}_released{suffix}_postgres"] = _ms(median(times))
                out[f"claim_ms_p90_with_{label}_released{suffix}_postgres"] = _ms(
                    percentile(times, 90)
                )
                out.update(await _server_side(b, a, device["token"], dbname, label, suffix))
                progress(
                    f"postgres: claim of 10 with {label} released{suffix or ' (no ANALYZE)'}: "
                    f"median {_ms(median(times))} ms over HTTP"
                )
        out["claim_backlog_detail_postgres"] = {
            **facts,
            "released": args.released,
            "timed_claims": args.claim_rounds,
        }
    return out


def _analyze(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE messages")


async def _server_side(
    logged: Running, quiet: Running, token: str, dbname: str, label: str, suffix: str
) -> dict[str, Any]:
    """Statement time per claim on the server (parse + bind + execute of every statement the
    claim request ran, BEGIN and COMMIT included), from the log lines of `logged`'s sessions."""
    log = pg_log_path()
    if log is None or not os.access(log, os.R_OK):
        return {}
    await timed_claims(logged, quiet, token, 3, 0)  # B's sessions open, statements prepare
    offset = log.stat().st_size
    n = 20
    await timed_claims(logged, quiet, token, 0, n)
    await asyncio.sleep(0.3)
    profile = pg_statement_profile(log, dbname, offset, top=100)
    per_claim = sum(p["total_ms"] for p in profile) / n
    return {
        f"claim_server_statements_ms_per_claim_with_{label}_released{suffix}_postgres": round(
            per_claim, 3
        ),
        f"claim_server_statements_with_{label}_released{suffix}_postgres": [
            {**p, "ms_per_request": round(p["total_ms"] / n, 3)} for p in profile[:8]
        ],
    }


# Phase 5: pigeon --help -----------------------------------------------------------------------


def run_help(runs: int = 5) -> dict[str, Any]:
    """Median wall time of `pigeon --help` (the venv's script), after one unmeasured run
    that warms the page cache."""
    times = []
    for i in range(runs + 1):
        started = time.perf_counter()
        subprocess.run([PIGEON, "--help"], check=True, capture_output=True)
        if i:
            times.append(time.perf_counter() - started)
    progress(f"pigeon --help: median {median(times):.3f} s of {runs}")
    return {
        "pigeon_help_s": round(median(times), 3),
        "pigeon_help_s_runs": [round(t, 3) for t in times],
    }


# Targets and main -----------------------------------------------------------------------------


TARGETS: list[tuple[str, str, float]] = [
    ("max_sustained_single_creates_per_s_postgres", ">=", 500),
    ("create_p99_ms_at_200_per_s_postgres", "<=", 50),
    ("create_to_gateway_p99_ms_at_200_per_s_postgres", "<=", 50),
    ("commits_per_message_postgres", "<=", 5),
    ("claim_ms_with_100k_released_postgres", "<=", 2),
    ("pigeon_help_s", "<=", 0.2),
]
# Not the (its targets are PostgreSQL's): shown for comparison, left out of all_met.
INFORMATIONAL = [
    ("create_p99_ms_at_200_per_s_sqlite", "<=", 50),
    ("create_to_gateway_p99_ms_at_200_per_s_sqlite", "<=", 50),
]


def targets(r: dict[str, Any]) -> dict[str, Any]:
    """Each target measured in this run as {value, target, met}, and all_met."""
    out: dict[str, Any] = {}
    for key, op, bound in TARGETS + INFORMATIONAL:
        if key not in r:
            continue
        value = r[key]
        met = value is not None and (value >= bound if op == ">=" else value <= bound)
        out[key] = {"value": value, "target": f"{op} {bound}", "met": met}
        if (key, op, bound) in INFORMATIONAL:
            out[key]["informational"] = True
    commits = out.get("commits_per_message_postgres")
    if commits and not r["steps_postgres"]["200"]["kept_up"]:
        # Behind its load a server claims in big batches, which dilutes commits per message:
        # the figure only counts from a run that kept up.
        commits.update(met=False, note="the 200/s run did not keep up")
    out["all_met"] = all(t["met"] for t in out.values() if not t.get("informational"))
    return out


def _durability(backends: Sequence[str], args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for backend in backends:
        if backend == "postgres":
            out["postgres_settings"] = postgres_facts(args.pg_admin_url)
        else:
            probe = args.workdir / "facts.db"
            out["sqlite_settings"] = sqlite_facts(f"sqlite:///{probe}")
            _remove_sqlite(probe)
    return out


async def _guarded(
    name: str, failures: list[str], work: Callable[[], Awaitable[dict[str, Any] | None]]
) -> dict[str, Any]:
    """Run one phase; a crash (the server would not start, an unexpected answer) is reported
    in `failed` and the other phases still run."""
    try:
        return await work() or {}
    except Exception as exc:
        progress(f"{name}: FAILED: {type(exc).__name__}: {exc}")
        failures.append(f"{name}: {type(exc).__name__}: {exc}"[:1000])
        return {}


async def run_backend(
    args: argparse.Namespace, backend: str, failures: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    steps: dict[int, dict[str, Any]] = {}
    if "rates" in args.phases:
        await _guarded(
            f"{backend} rates",
            failures,
            lambda: run_rates(args, backend, args.rates, steps, failures),
        )
    if "max-sustained" in args.phases:
        out.update(
            await _guarded(
                f"{backend} max-sustained",
                failures,
                lambda: max_sustained(args, backend, steps, failures),
            )
        )
    for s in steps.values():
        out.update(flat_rate_keys(backend, s))
    if backend == "postgres" and 200 in steps:
        out["commits_per_message_postgres"] = steps[200].get("commits_per_message")
    out[f"steps_{backend}"] = {str(rate): s for rate, s in sorted(steps.items())}
    if "idle-waiters" in args.phases:
        out.update(
            await _guarded(
                f"{backend} idle-waiters",
                failures,
                lambda: run_idle_waiters(args, backend, failures),
            )
        )
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    failures: list[str] = []
    result: dict[str, Any] = {
        "benchmark": BENCHMARK,
        "quick": args.quick,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    progress(f"work directory {args.workdir} (SQLite files, server logs)")
    if "help" in args.phases:
        result.update(run_help())
    for backend in backends:
        result.update(await run_backend(args, backend, failures))
    if "claim-backlog" in args.phases and "postgres" in backends:
        result.update(await _guarded("claim-backlog", failures, lambda: run_claim_backlog(args)))
    result["durability"] = _durability(backends, args)
    result["machine"] = machine_facts()
    result["pigeon_source"] = pigeon_source()
    result["load_generator"] = _generator_facts()
    result["sizes"] = _sizes(args)
    result["targets"] = targets(result)
    if failures:
        result["failed"] = "; ".join(failures)
    return result


def _generator_facts() -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    return {
        "process": "this one (bench/steady.py), on the same cores as pigeon and PostgreSQL",
        "http_client": "raw asyncio streams, HTTP/1.1 keep-alive",
        "event_loop": f"{type(loop).__module__}.{type(loop).__name__}",
        "cpu_seconds_total": round(time.process_time(), 2),
    }


def _sizes(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "rates": args.rates,
        "ladder": args.ladder,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "drain_s": args.drain,
        "create_timeout_s": args.timeout,
        "gateways": args.gateways,
        "gateway_claim": {"limit": 50, "wait": 30},
        "max_client_connections": args.max_connections,
        "waiters": args.waiter_devices * args.waiter_connections,
        "waiter_devices": args.waiter_devices,
        "idle_window_s": args.idle_window,
        "released_backlog": args.released,
        "phases": sorted(args.phases),
        "server_per_step": "a fresh pigeon serve and database for every rate step",
    }


def _ints(raw: str) -> list[int]:
    return [int(x) for x in raw.split(",") if x.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="short smoke run (under 2 minutes)")
    p.add_argument(
        "--backend",
        choices=["sqlite", "postgres", "both"],
        help="default: both (--quick: postgres)",
    )
    p.add_argument(
        "--skip", action="append", default=[], choices=PHASES, help="leave a phase out (repeatable)"
    )
    p.add_argument("--rates", type=_ints, help="offered creates/s (full: 50,200,500)")
    p.add_argument(
        "--ladder",
        type=_ints,
        help="max-sustained steps (full: 100,200,300,400,500,600,800,1000; quick: the rates)",
    )
    p.add_argument("--duration", type=float, help="measured seconds per rate (full: 20)")
    p.add_argument("--warmup", type=float, help="unmeasured seconds first (full: 3)")
    p.add_argument(
        "--drain",
        type=float,
        default=60.0,
        help="longest wait for the gateways to get every message after the load",
    )
    p.add_argument("--timeout", type=float, default=30.0, help="a create's deadline (s)")
    p.add_argument("--gateways", type=int, default=2, help="gateway devices in the rate runs")
    p.add_argument("--max-connections", type=int, default=256, help="client pool for creates")
    p.add_argument("--waiter-devices", type=int, default=50)
    p.add_argument("--waiter-connections", type=int, default=20, help="per waiter device")
    p.add_argument(
        "--waiter-settle",
        type=float,
        default=5.0,
        help="seconds between opening the waiters and the idle window",
    )
    p.add_argument("--idle-window", type=float, help="idle seconds measured (full: 15)")
    p.add_argument("--waiter-probes", type=int, help="messages sent to the waiters (full: 10)")
    p.add_argument("--released", type=int, help="released backlog (full: 100000)")
    p.add_argument("--claim-rounds", type=int, default=50, help="timed claims per measurement")
    p.add_argument(
        "--pg-admin-url", default=os.environ.get("PIGEON_BENCH_PG_URL", DEFAULT_PG_ADMIN_URL)
    )
    p.add_argument("--workdir", type=Path, default=None, help="for SQLite files and logs")
    args = p.parse_args(argv)
    _defaults(args)
    return args


def _defaults(args: argparse.Namespace) -> None:
    quick = args.quick

    def pick(name: str, full: Any, short: Any) -> None:
        if getattr(args, name) is None:
            setattr(args, name, short if quick else full)

    pick("backend", "both", "postgres")
    pick("rates", [50, 200, 500], [50, 200])
    pick("duration", 20.0, 6.0)
    pick("warmup", 3.0, 1.0)
    pick("idle_window", 15.0, 5.0)
    pick("waiter_probes", 10, 4)
    pick("released", 100_000, 20_000)
    # Quick: one pass per backend, the ladder is the rates already measured.
    pick("ladder", [100, 200, 300, 400, 500, 600, 800, 1000], list(args.rates))
    args.phases = set(PHASES) - set(args.skip)
    args.workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pigeon-steady-"))
    args.workdir.mkdir(parents=True, exist_ok=True)


def _raise_fd_limit(wanted: int) -> None:
    """1,000 waiter connections need more descriptors than a default soft limit of 1,024;
    the serve subprocess inherits the raised limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _run(coro: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    result: dict[str, Any] = uvloop.run(coro)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _raise_fd_limit(4 * args.waiter_devices * args.waiter_connections + 1024)
    started = time.perf_counter()
    try:
        result = _run(main_async(args))
    except BenchFailure as failure:
        progress(f"FAILED: {failure}")
        print(json.dumps({"benchmark": BENCHMARK, "failed": str(failure)}))
        return 1
    result["run_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, default=str))
    return 1 if "failed" in result else 0


if __name__ == "__main__":
    sys.exit(main())
