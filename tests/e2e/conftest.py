"""pigeon in subprocesses: `pigeon serve`, `pigeon worker` and the CLI, on 127.0.0.1 only.

Every process started here is stopped by the fixture that started it (SIGTERM, then SIGKILL
after a deadline), and every wait has a deadline: a broken start fails the test with the
process's output instead of hanging the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
CLI_TIMEOUT = 60.0
LISTENING = re.compile(r"pigeon listening on (http://127\.0\.0\.1:\d+)")
ADMIN_KEY = re.compile(r"Admin API key \(shown once\): (\S+)")
OPERATOR_TOKEN = re.compile(r"Operator token \(shown once\): (\S+)")


def base_environment(database_url: str, **extra: str) -> dict[str, str]:
    """The parent's environment without any PIGEON_* setting, plus what the test names."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIGEON_")}
    env.update(
        PYTHONUNBUFFERED="1",
        PIGEON_DATABASE_URL=database_url,
        PIGEON_HOST="127.0.0.1",
        PIGEON_LOG_LEVEL="WARNING",
        PIGEON_SSE_PING_SECONDS="0.2",
    )
    env.update(extra)
    return env


@dataclass
class Process:
    """A pigeon subprocess whose stdout is read line by line on a thread."""

    name: str
    popen: subprocess.Popen[str]
    log_path: Path
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)
    _pump_thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self._pump_thread = threading.Thread(
            target=self._pump, name=f"{self.name}-stdout", daemon=True
        )
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: re.Pattern[str], timeout: float = START_TIMEOUT) -> re.Match[str]:
        """Read stdout until a line matches `pattern`; fail with the output if it never does."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.fail(f"no line matching {pattern.pattern!r} within {timeout} s")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.popen.wait(timeout=STOP_TIMEOUT)
                self.fail(f"exited with {self.popen.returncode} before {pattern.pattern!r}")
            self.lines.append(line)
            match = pattern.search(line)
            if match:
                return match

    def wait_for_log(self, text: str, timeout: float = START_TIMEOUT) -> None:
        """Wait until the process's log (stderr) contains `text`."""
        deadline = time.monotonic() + timeout
        while text not in (
            self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        ):
            if self.popen.poll() is not None:
                self.fail(f"exited with {self.popen.returncode} before logging {text!r}")
            if time.monotonic() > deadline:
                self.fail(f"did not log {text!r} within {timeout} s")
            time.sleep(0.05)

    def _log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def output(self) -> str:
        logs = self._log()
        return "\n".join(self.lines) + "\n--- stderr ---\n" + logs[-4000:]

    def fail(self, why: str) -> None:
        pytest.fail(f"{self.name}: {why}\n{self.output()}", pytrace=False)

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=STOP_TIMEOUT)
        if self._pump_thread is not None:
            self._pump_thread.join(timeout=STOP_TIMEOUT)  # reads to EOF, then lets go
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        return self.popen.returncode


@dataclass
class Server:
    process: Process
    url: str
    admin_key: str | None
    operator_token: str | None

    def client(self, token: str | None = None, timeout: float = 15.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)


class Pigeon:
    """Starts pigeon commands against one database and stops them all at the end."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self._processes: list[Process] = []

    def _spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> Process:
        log_path = self.workdir / f"{name}-{len(self._processes)}.log"
        with log_path.open("w") as log:
            popen = subprocess.Popen(
                [sys.executable, "-m", "pigeon", *args],
                stdout=subprocess.PIPE,
                stderr=self._stderr(log),
                stdin=subprocess.DEVNULL,
                text=True,
                env={**self.env, **(env or {})},
                cwd=self.workdir,
            )
        process = Process(name, popen, log_path)
        self._processes.append(process)
        self._started(process)
        return process

    def _stderr(self, log: IO[str]) -> IO[str] | int:
        """Where a process's stderr goes: straight into its log file."""
        return log

    def _started(self, process: Process) -> None:
        """Called once a process has started; a subclass may watch it."""

    def serve(self, *args: str, env: dict[str, str] | None = None, port: int = 0) -> Server:
        """`pigeon serve` on `port` (0: one the OS picks); returns once it is listening."""
        process = self._spawn(
            "serve", "serve", "--host", "127.0.0.1", "--port", str(port), *args, env=env
        )
        url = process.wait_for(LISTENING).group(1)
        printed = "\n".join(process.lines)
        admin = ADMIN_KEY.search(printed)
        operator = OPERATOR_TOKEN.search(printed)
        return Server(
            process,
            url,
            admin.group(1) if admin else None,
            operator.group(1) if operator else None,
        )

    def worker(self, *args: str, env: dict[str, str] | None = None) -> Process:
        return self._spawn("worker", "worker", *args, env=env)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "pigeon", *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.workdir,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        if check and done.returncode != 0:
            pytest.fail(
                f"pigeon {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}",
                pytrace=False,
            )
        return done

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)

    def stop_all(self) -> None:
        for process in reversed(self._processes):
            with contextlib.suppress(Exception):
                process.stop()


@pytest.fixture
def sqlite_file_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'pigeon.db'}"


@pytest.fixture
def pigeon(sqlite_file_url: str, tmp_path: Path) -> Iterator[Pigeon]:
    launcher = Pigeon(base_environment(sqlite_file_url), tmp_path)
    try:
        yield launcher
    finally:
        launcher.stop_all()


def poll(check: Any, *, timeout: float = 10.0, interval: float = 0.05, what: str = "") -> Any:
    """Call `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or check}", pytrace=False)
        time.sleep(interval)
