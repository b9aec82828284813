"""Helpers shared by the benchmarks: servers in subprocesses, scratch databases, machine facts.

Nothing here imports pigeon's server code, so a benchmark drives pigeon from outside, as a
client would (the release-cost step of `outbound.py` is the one in-process exception).
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

REPO = Path(__file__).resolve().parent.parent
PIGEON = str(Path(sys.executable).with_name("pigeon"))
DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def progress(message: str) -> None:
    """Progress goes to stdout, before the one JSON line that closes the run."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, q in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


# PostgreSQL scratch databases -------------------------------------------------------------


def _psycopg_url(url: str) -> str:
    return re.sub(r"^postgresql\+psycopg://", "postgresql://", url)


def pg_url_for(admin_url: str, dbname: str) -> str:
    base, _, _ = _psycopg_url(admin_url).rpartition("/")
    return f"{base}/{dbname}"


@contextlib.contextmanager
def scratch_postgres(admin_url: str, label: str) -> Iterator[str]:
    """CREATE DATABASE pigeon_bench_<label>_<random>, yield its URL, DROP it afterwards."""
    import psycopg

    name = f"pigeon_bench_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_psycopg_url(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url_for(admin_url, name)
    finally:
        with psycopg.connect(_psycopg_url(admin_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_facts(admin_url: str) -> dict[str, Any]:
    """Durability settings and version, read from the server rather than assumed."""
    import psycopg

    with psycopg.connect(_psycopg_url(admin_url), autocommit=True) as conn:

        def show(name: str) -> str:
            row = conn.execute(f"SHOW {name}").fetchone()
            return str(row[0]) if row else "?"

        return {
            "version": show("server_version"),
            "fsync": show("fsync"),
            "synchronous_commit": show("synchronous_commit"),
            "wal_sync_method": show("wal_sync_method"),
            "full_page_writes": show("full_page_writes"),
            "shared_buffers": show("shared_buffers"),
            "autovacuum": show("autovacuum"),
        }


def sqlite_facts(url: str) -> dict[str, Any]:
    """journal_mode and synchronous as pigeon's own engine sets them (read back, not assumed)."""
    from sqlalchemy import text

    from pigeon.store.database import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            journal = conn.execute(text("PRAGMA journal_mode")).scalar()
            sync = conn.execute(text("PRAGMA synchronous")).scalar()
    finally:
        engine.dispose()
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    return {
        "version": sqlite3.sqlite_version,
        "journal_mode": str(journal).upper(),
        "synchronous": names.get(int(sync or 0), str(sync)),
    }


# Machine facts ----------------------------------------------------------------------------


def machine_facts() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        memory_gib = round(int(first.split()[1]) / 1024 / 1024, 1)
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def pigeon_source() -> dict[str, Any]:
    """Which pigeon code runs: its path, and the git commit (with a dirty flag) if any."""
    import pigeon

    root = Path(pigeon.__file__).resolve().parent.parent.parent
    info: dict[str, Any] = {"path": str(root)}
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "src"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
        info.update({"git_commit": commit, "src_dirty": bool(dirty)})
    except (OSError, subprocess.SubprocessError):
        info["git_commit"] = None
    return info


# pigeon in a subprocess -------------------------------------------------------------------


@dataclass
class Server:
    """One `pigeon serve` or `pigeon worker` process."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[str] | None = None
    url: str | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    _log: IO[str] | None = None

    def start(self, timeout: float = 60.0) -> Server:
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [PIGEON, *self.args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=str(REPO),
        )
        if self.args[0] != "serve":
            return self
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(
                    f"pigeon {' '.join(self.args)} exited early; see {self.log_path}:\n"
                    + self.log_path.read_text()[-3000:]
                )
            line = line.strip()
            if line.startswith("Admin API key"):
                self.secrets["admin_key"] = line.rsplit(" ", 1)[1]
            elif line.startswith("Operator token"):
                self.secrets["operator_token"] = line.rsplit(" ", 1)[1]
            elif line.startswith("pigeon listening on "):
                self.url = line.removeprefix("pigeon listening on ").strip()
                return self
        raise RuntimeError(f"pigeon did not start within {timeout} s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        if self._log is not None:
            self._log.close()
        self.process = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


def server_env(database_url: str, redis_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("PIGEON_") or k in ("PIGEON_LOG",)
    }
    env["PIGEON_DATABASE_URL"] = database_url
    if redis_url:
        env["PIGEON_REDIS_URL"] = redis_url
    env.update(extra)
    return env


def cpu_seconds(pid: int) -> float:
    """User+system CPU seconds a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def cpu_seconds_by_name(name: str) -> float:
    """CPU seconds used so far by every live process whose command name is `name`
    (e.g. all `postgres` processes: backends, WAL writer, checkpointer)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm == name:
            value = cpu_seconds(int(entry.name))
            if value == value:
                total += value
    return total


# PostgreSQL statement timing from the server log -------------------------------------------

PG_LOG_GLOB = "/var/log/postgresql/postgresql-*-main.log"


def pg_log_path() -> Path | None:
    candidates = sorted(Path("/").glob(PG_LOG_GLOB.lstrip("/")))
    return candidates[-1] if candidates else None


def pg_log_statements(admin_url: str, dbname: str, on: bool) -> None:
    """Log every statement's duration for `dbname` only (ALTER DATABASE ... SET), for new
    sessions; costs the server some time, so only for diagnosis."""
    import psycopg

    value = "0" if on else "DEFAULT"
    with psycopg.connect(_psycopg_url(admin_url), autocommit=True) as conn:
        if on:
            conn.execute(f'ALTER DATABASE "{dbname}" SET log_min_duration_statement = {value}')
        else:
            conn.execute(f'ALTER DATABASE "{dbname}" RESET log_min_duration_statement')


_DURATION = re.compile(
    r"@(?P<db>\S+) LOG:\s+duration: (?P<ms>[\d.]+) ms\s+(?P<phase>statement|parse|bind|execute)"
    r"[^:]*: (?P<sql>.*)"
)


def pg_statement_profile(
    log_path: Path, dbname: str, start_offset: int, top: int = 12
) -> list[dict[str, Any]]:
    """Sum of server-side milliseconds per statement shape (first 70 characters), from the
    server log lines written since `start_offset` for `dbname`."""
    totals: dict[str, list[float]] = {}
    with log_path.open("rb") as log:
        log.seek(start_offset)
        for raw in log:
            line = raw.decode("utf-8", "replace")
            match = _DURATION.search(line)
            if not match or match.group("db") != dbname:
                continue
            sql = re.sub(r"\s+", " ", match.group("sql")).strip()
            sql = re.sub(r"\$\d+", "?", sql)
            key = sql[:70]
            entry = totals.setdefault(key, [0.0, 0])
            entry[0] += float(match.group("ms"))
            entry[1] += 1 if match.group("phase") in ("statement", "execute") else 0
    ranked = sorted(totals.items(), key=lambda kv: -kv[1][0])[:top]
    return [{"statement": k, "total_ms": round(v[0], 1), "calls": v[1]} for k, v in ranked]


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat: all but idle, iowait)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    busy_ticks = sum(values[:8]) - idle  # guest time is already counted in user
    return busy_ticks / os.sysconf("SC_CLK_TCK")
