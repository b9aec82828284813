"""Slow and idle clients cannot hold connections: headers and bodies have deadlines. And the
CLI starts without importing the server."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from urllib.parse import urlparse

import pytest

from tests.e2e.conftest import Pigeon, Server

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(pigeon: Pigeon) -> Server:
    return pigeon.serve(
        env={"PIGEON_HEADER_TIMEOUT_SECONDS": "0.5", "PIGEON_BODY_TIMEOUT_SECONDS": "0.5"}
    )


def _connect(server: Server) -> socket.socket:
    url = urlparse(server.url)
    conn = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=5)
    return conn


def _answer_and_close(conn: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed."""
    received = b""
    while True:
        chunk = conn.recv(4096)
        if not chunk:
            return received, time.monotonic()
        received += chunk


def test_headers_that_never_finish_are_answered_408_and_cut_off(server: Server) -> None:
    with _connect(server) as conn:
        started = time.monotonic()
        conn.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: pigeon\r\nX-Slow: ")
        answer, closed = _answer_and_close(conn)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert closed - started < 3.0


def test_a_body_that_never_finishes_is_answered_408(server: Server) -> None:
    head = (
        "POST /v1/messages HTTP/1.1\r\nHost: pigeon\r\n"
        f"Authorization: Bearer {server.admin_key}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    with _connect(server) as conn:
        started = time.monotonic()
        conn.sendall(head.encode() + b'{"recipient": ')
        conn.settimeout(5)
        answer = b""
        while b"did not arrive" not in answer and len(answer) < 4096:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"did not arrive within 0.5 s" in answer
    assert elapsed < 3.0
    with server.client(server.admin_key) as api:
        assert api.get("/v1/stats/messages").json()["by_status"]["queued"] == 0


def test_a_client_between_requests_keeps_its_connection(server: Server) -> None:
    """The header deadline starts at each request, not at the connection."""
    with server.client(server.admin_key) as api:
        assert api.get("/v1/workspace").status_code == 200
        time.sleep(1.0)  # longer than the header deadline, shorter than keep-alive
        assert api.get("/v1/workspace").status_code == 200


def test_the_cli_starts_without_the_server() -> None:
    """`pigeon --help` imports neither the server nor the extractor (it took 0.5 s)."""
    code = (
        "import sys, pigeon.cli\n"
        "try:\n"
        "    pigeon.cli.main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = {'sqlalchemy', 'fastapi', 'uvicorn', 'pydantic', 'phonenumbers', 'asyncio',"
        " 'pigeon.extract.rules'}\n"
        "print(sorted(heavy & set(sys.modules)), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stderr.strip() == "[]"
    assert re.search(r"\n  extract +Find the follow-up time", done.stdout)


def test_the_lazy_commands_help_is_their_own() -> None:
    from pigeon.cli import _Commands
    from pigeon.extract.command import extract

    assert _Commands.LAZY_HELP["extract"] == extract.get_short_help_str(1000)
