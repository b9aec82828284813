"""The command driver runs a real program: its exit status decides the outcome."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pigeon.gateway.drivers import build_driver
from pigeon.gateway.drivers.command import CommandDriver
from pigeon.gateway.drivers.console import ConsoleDriver
from pigeon.gateway.drivers.messages import MessagesDriver
from pigeon.gateway.drivers.protocols import Outgoing, SendOutcome, SendResult

# Records what it was given, then exits as told by its first argument.
RECORDER = """\
import json, os, sys
record = {
    "env": {k: v for k, v in os.environ.items() if k.startswith(("PIGEON_", "KEEP"))},
    "stdin": sys.stdin.buffer.read().decode("utf-8"),
}
with open(sys.argv[2], "w", encoding="utf-8") as out:
    json.dump(record, out)
sys.stderr.write(sys.argv[3] if len(sys.argv) > 3 else "")
sys.exit(int(sys.argv[1]))
"""

MESSAGE = Outgoing("msg_42", "+15550100", 'héllo "there"\nsecond line 🕊️', attempt=3)


@pytest.fixture
def recorder(tmp_path: Path) -> Path:
    path = tmp_path / "recorder.py"
    path.write_text(RECORDER, encoding="utf-8")
    return path


def run(
    recorder: Path, tmp_path: Path, status: int, stderr: str = ""
) -> tuple[SendResult, dict[str, Any]]:
    out = tmp_path / "record.json"
    driver = CommandDriver(
        [sys.executable, str(recorder), str(status), str(out), stderr],
        environ={"KEEP_ME": "yes", "PIGEON_DEVICE_TOKEN": "pgn_dev_secret", "PATH": "/bin"},
    )
    result = driver.send(MESSAGE)
    return result, json.loads(out.read_text(encoding="utf-8"))


def test_the_message_is_in_the_environment_and_on_stdin(recorder: Path, tmp_path: Path) -> None:
    result, record = run(recorder, tmp_path, 0)
    assert result.outcome == SendOutcome.SENT
    assert record["stdin"] == MESSAGE.body
    assert record["env"] == {
        "PIGEON_MESSAGE_ID": "msg_42",
        "PIGEON_RECIPIENT": "+15550100",
        "PIGEON_BODY": MESSAGE.body,
        "PIGEON_ATTEMPT": "3",
        "KEEP_ME": "yes",  # the agent's environment is inherited...
    }  # ...less the device token


def test_it_inherits_the_agents_environment_by_default(
    recorder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEP_FROM_AGENT", "1")
    out = tmp_path / "record.json"
    driver = CommandDriver([sys.executable, str(recorder), "0", str(out)])
    assert driver.send(MESSAGE).outcome == SendOutcome.SENT
    assert json.loads(out.read_text())["env"]["KEEP_FROM_AGENT"] == "1"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (0, SendOutcome.SENT),
        (65, SendOutcome.REJECTED),
        (67, SendOutcome.REJECTED),
        (1, SendOutcome.FAILED),
        (64, SendOutcome.FAILED),
        (66, SendOutcome.FAILED),
        (75, SendOutcome.FAILED),
        (255, SendOutcome.FAILED),
    ],
)
def test_the_exit_status_decides(
    recorder: Path, tmp_path: Path, status: int, outcome: SendOutcome
) -> None:
    result, _ = run(recorder, tmp_path, status)
    assert result.outcome == outcome
    assert result.error == (None if status == 0 else f"exit status {status}")


def test_the_error_is_the_end_of_stderr(recorder: Path, tmp_path: Path) -> None:
    result, _ = run(recorder, tmp_path, 1, "noise " * 300 + "the real reason\n")
    assert result.outcome == SendOutcome.FAILED
    assert result.error is not None
    assert len(result.error) <= 500
    assert result.error.endswith("the real reason")


def test_a_program_killed_by_a_signal_may_have_sent() -> None:
    driver = CommandDriver([sys.executable, "-c", "import os; os.kill(os.getpid(), 9)"])
    result = driver.send(MESSAGE)
    assert result.outcome == SendOutcome.UNKNOWN
    assert result.error is not None and "SIGKILL" in result.error


def _gone(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        if status.exists():
            return "\nState:\tZ" in status.read_text()
        os.kill(pid, 0)
    except (ProcessLookupError, FileNotFoundError):
        return True
    return False


def test_a_timeout_kills_everything_it_started(tmp_path: Path) -> None:
    # A shell whose child holds the pipes: killing the shell alone would leave us waiting.
    pids = tmp_path / "pids"
    script = f"sleep 30 & echo $! > {pids}; wait"
    driver = CommandDriver(["/bin/sh", "-c", script], timeout=0.5)
    started = time.monotonic()
    result = driver.send(MESSAGE)
    assert time.monotonic() - started < 5
    assert result.outcome == SendOutcome.UNKNOWN
    assert result.error is not None and "may have sent" in result.error
    grandchild = int(pids.read_text())
    deadline = time.monotonic() + 5
    while not _gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(grandchild)


def test_a_missing_program_fails_clearly(tmp_path: Path) -> None:
    result = CommandDriver([str(tmp_path / "nothing-here")]).send(MESSAGE)
    assert result.outcome == SendOutcome.FAILED
    assert result.error == f"program not found: {tmp_path / 'nothing-here'}"


def test_a_program_that_is_not_executable_fails_clearly(tmp_path: Path) -> None:
    program = tmp_path / "send.sh"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o644)
    result = CommandDriver([str(program)]).send(MESSAGE)
    assert result.outcome == SendOutcome.FAILED
    assert result.error is not None and "not executable" in result.error


def test_a_program_that_ignores_stdin_still_counts(tmp_path: Path) -> None:
    # More than a pipe holds, so writing it fails once the program is gone.
    big = Outgoing("msg_1", "+15550100", "x" * 100_000)
    assert CommandDriver(["/bin/true"]).send(big).outcome == SendOutcome.SENT


def test_a_body_too_long_for_the_environment_is_rejected() -> None:
    huge = Outgoing("msg_1", "+15550100", "x" * 1_000_000)
    result = CommandDriver(["/bin/true"]).send(huge)
    assert result.outcome == SendOutcome.REJECTED
    assert result.error is not None and "too long" in result.error


def test_a_body_no_environment_can_carry_is_rejected(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    driver = CommandDriver(["/bin/sh", "-c", f"touch {marker}"])
    result = driver.send(Outgoing("msg_1", "+15550100", "nul \x00 inside"))
    assert result.outcome == SendOutcome.REJECTED
    assert not marker.exists()


def test_a_command_needs_a_program() -> None:
    with pytest.raises(ValueError, match="program"):
        CommandDriver([])
    with pytest.raises(ValueError, match="program"):
        CommandDriver([""])


def test_build_driver_makes_each_driver() -> None:
    common = {"osascript": "/usr/bin/osascript", "sms_fallback": True, "timeout": 7.0}
    messages = build_driver("messages", command=None, **common)
    assert isinstance(messages, MessagesDriver)
    assert messages.services == ("iMessage", "SMS")
    assert messages.timeout == 7.0
    assert isinstance(build_driver("console", command=None, **common), ConsoleDriver)
    command = build_driver("command", command=["/bin/echo", "hi"], **common)
    assert isinstance(command, CommandDriver)
    assert (command.argv, command.timeout) == (("/bin/echo", "hi"), 7.0)


@pytest.mark.parametrize(
    ("name", "command", "words"),
    [
        ("carrier-pigeon", None, "unknown driver 'carrier-pigeon'"),
        ("command", None, "needs a program"),
        ("command", [], "needs a program"),
    ],
)
def test_build_driver_refuses_clearly(name: str, command: list[str] | None, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        build_driver(name, osascript="osascript", sms_fallback=False, command=command, timeout=1)
