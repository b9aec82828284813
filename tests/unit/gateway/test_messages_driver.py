"""The messages driver against a stand-in osascript that records how it was called.

The stand-in answers per service (`STANDIN_ANSWERS`: {"iMessage": [status, stderr], ...}),
or sleeps (`STANDIN_SLEEP`), so every mapping of osascript's answers is exercised off a Mac.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from pigeon.gateway.drivers.messages import (
    AUTOMATION_PROBE,
    SEND_SCRIPT,
    MessagesDriver,
    error_number,
    probe_automation,
)
from pigeon.gateway.drivers.protocols import Outgoing, SendOutcome

STANDIN = """\
import json, os, sys, time
argv = sys.argv[1:]
with open(os.environ["STANDIN_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps({"argv": argv, "pid": os.getpid()}) + "\\n")
time.sleep(float(os.environ.get("STANDIN_SLEEP", "0")))
answers = json.loads(os.environ.get("STANDIN_ANSWERS", "{}"))
key = argv[-3] if "--" in argv else "probe"
status, stderr = answers.get(key, [0, ""])
sys.stderr.write(stderr)
sys.exit(status)
"""

NO_PARTICIPANT = (
    '0:312: execution error: Messages got an error: Can\u2019t get participant "+15550100" of '
    'account id "E1B2C3". (-1728)'
)
NO_ACCOUNT = (
    "0:190: execution error: Messages got an error: Can\u2019t get account 1 whose service type "
    "= iMessage. Invalid index. (-1719)"
)
NOT_AUTHORIZED = "0:35: execution error: Not authorized to send Apple events to Messages. (-1743)"

TRICKY_TEXTS = [
    'she said "hi"',
    "back\\slash \\n not a newline",
    "line one\nline two\r\nline three",
    "emoji 🕊️👍🏽 and ünïcødé",
    '" & (do shell script "touch /tmp/pwned") & "',
    'end tell\nend run\ndo shell script "id"',
    "tab\there",
    "-e",
    "--",
    "-- -e 'display dialog 1'",
    "",
]


def standin_osascript(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """An executable stand-in for osascript, and the file it logs its calls to."""
    program = tmp_path / "osascript"
    program.write_text(f"#!{sys.executable} -S\n{STANDIN}", encoding="utf-8")
    program.chmod(0o755)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("STANDIN_LOG", str(log))
    return str(program), log


def calls(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [json.loads(line)["argv"] for line in log.read_text(encoding="utf-8").splitlines()]


def answer(monkeypatch: pytest.MonkeyPatch, **by_service: tuple[int, str]) -> None:
    monkeypatch.setenv("STANDIN_ANSWERS", json.dumps(by_service))


def script_of(argv: list[str]) -> list[str]:
    """The -e lines of one call."""
    end = argv.index("--")
    assert argv[:end:2] == ["-e"] * (end // 2)
    return argv[1:end:2]


@pytest.fixture
def osascript(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    return standin_osascript(tmp_path, monkeypatch)


def message(body: str = "hello", recipient: str = "+15550100") -> Outgoing:
    return Outgoing("msg_1", recipient, body, attempt=1)


def test_every_text_reaches_osascript_as_an_argument_never_as_source(
    osascript: tuple[str, Path],
) -> None:
    program, log = osascript
    driver = MessagesDriver(program, timeout=10)
    for text in TRICKY_TEXTS:
        assert driver.send(message(text)).outcome == SendOutcome.SENT

    made = calls(log)
    assert len(made) == len(TRICKY_TEXTS)
    for argv, text in zip(made, TRICKY_TEXTS, strict=True):
        assert script_of(argv) == list(SEND_SCRIPT)  # the same source, whatever the text
        assert argv[len(SEND_SCRIPT) * 2 :] == ["--", "iMessage", "+15550100", text]
    assert all(text not in line for line in SEND_SCRIPT for text in TRICKY_TEXTS if text)


def test_the_script_reads_its_arguments_from_the_end() -> None:
    # Whether or not osascript drops the `--`, the last three arguments are the ones meant.
    assert "set serviceName to item -3 of argv" in SEND_SCRIPT
    assert "set targetHandle to item -2 of argv" in SEND_SCRIPT
    assert "set theText to item -1 of argv" in SEND_SCRIPT
    assert "set targetBuddy to participant targetHandle of targetService" in SEND_SCRIPT
    assert "send theText to targetBuddy" in SEND_SCRIPT


def test_a_recipient_with_quotes_arrives_untouched(osascript: tuple[str, Path]) -> None:
    program, log = osascript
    odd = 'x"@example.com'
    assert MessagesDriver(program).send(message(recipient=odd)).outcome == SendOutcome.SENT
    assert calls(log)[0][-2:] == [odd, "hello"]


def test_a_send_names_the_service_it_went_out_on(osascript: tuple[str, Path]) -> None:
    program, _ = osascript
    result = MessagesDriver(program).send(message())
    assert result.outcome == SendOutcome.SENT
    assert result.service == "iMessage"
    assert result.error is None


@pytest.mark.parametrize(
    "stderr",
    [
        NO_PARTICIPANT,
        'execution error: Messages got an error: Can\'t get buddy "x@example.com".',
        "execution error: Messages got an error: Invalid index. (-1719)",
    ],
    ids=["curly-participant", "straight-buddy-no-number", "invalid-index"],
)
def test_an_unknown_handle_is_rejected_without_fallback(
    osascript: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, stderr: str
) -> None:
    program, log = osascript
    answer(monkeypatch, iMessage=(1, stderr))
    result = MessagesDriver(program).send(message())
    assert result.outcome == SendOutcome.REJECTED
    assert result.error is not None and "iMessage" in result.error
    assert len(calls(log)) == 1


def test_an_unknown_handle_goes_by_sms_with_fallback(
    osascript: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    program, log = osascript
    answer(monkeypatch, iMessage=(1, NO_PARTICIPANT), SMS=(0, ""))
    result = MessagesDriver(program, sms_fallback=True).send(message("hi there"))
    assert result.outcome == SendOutcome.SENT
    assert result.service == "SMS"
    first, second = calls(log)
    assert first[-3:] == ["iMessage", "+15550100", "hi there"]
    assert second[-3:] == ["SMS", "+15550100", "hi there"]
    assert script_of(first) == script_of(second) == list(SEND_SCRIPT)


def test_a_handle_unknown_on_both_services_is_rejected_with_both_reasons(
    osascript: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    program, log = osascript
    answer(monkeypatch, iMessage=(1, NO_PARTICIPANT), SMS=(1, NO_PARTICIPANT))
    result = MessagesDriver(program, sms_fallback=True).send(message())
    assert result.outcome == SendOutcome.REJECTED
    assert result.error is not None
    assert "iMessage:" in result.error and "SMS:" in result.error
    assert len(calls(log)) == 2


def test_no_account_signed_in_is_a_failure_to_retry_not_a_rejection(
    osascript: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # -1719 about the account, not the handle: signing in on this Mac fixes it.
    program, _ = osascript
    answer(monkeypatch, iMessage=(1, NO_ACCOUNT))
    result = MessagesDriver(program).send(message())
    assert result.outcome == SendOutcome.FAILED
    assert result.error is not None and "account" in result.error


def test_no_imessage_account_falls_back_to_sms(
    osascript: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    program, log = osascript
    answer(monkeypatch, iMessage=(1, NO_ACCOUNT), SMS=(0, ""))
    result = MessagesDriver(program, sms_fallback=True).send(message())
    assert (result.outcome, result.service) == (SendOutcome.SENT, "SMS")
    assert len(calls(log)) == 2


def test_an_sms_failure_after_fallback_is_what_is_reported(
    osascript: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    program, _ = osascript
    answer(monkeypatch, iMessage=(1, NO_PARTICIPANT), SMS=(1, NOT_AUTHORIZED))
    result = MessagesDriver(program, sms_fallback=True).send(message())
    assert result.outcome == SendOutcome.FAILED
    assert result.error is not None and "Automation" in result.error


def test_no_automation_permission_fails_and_says_what_to_grant(
    osascript: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    program, log = osascript
    answer(monkeypatch, iMessage=(1, NOT_AUTHORIZED))
    result = MessagesDriver(program, sms_fallback=True).send(message())
    assert result.outcome == SendOutcome.FAILED
    assert result.error is not None
    assert "Automation" in result.error and "pigeon gateway doctor" in result.error
    assert len(calls(log)) == 1  # SMS would be refused the same way: not tried


@pytest.mark.parametrize(
    "stderr",
    [
        "execution error: Messages got an error: Application isn\u2019t running. (-600)",
        "execution error: Messages got an error: Connection is invalid. (-609)",
    ],
)
def test_messages_not_running_fails(
    osascript: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, stderr: str
) -> None:
    program, log = osascript
    answer(monkeypatch, iMessage=(1, stderr))
    result = MessagesDriver(program, sms_fallback=True).send(message())
    assert result.outcome == SendOutcome.FAILED
    assert result.error is not None and "not running" in result.error
    assert len(calls(log)) == 1


def test_an_apple_event_timeout_may_have_sent(
    osascript: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    program, _ = osascript
    answer(monkeypatch, iMessage=(1, "execution error: AppleEvent timed out. (-1712)"))
    assert MessagesDriver(program).send(message()).outcome == SendOutcome.UNKNOWN


def test_other_errors_fail_with_osascripts_words_trimmed(
    osascript: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    program, _ = osascript
    stderr = "x" * 2000 + " the reason (-2741)"
    answer(monkeypatch, iMessage=(1, stderr))
    result = MessagesDriver(program).send(message())
    assert result.outcome == SendOutcome.FAILED
    assert result.error is not None
    assert len(result.error) <= 500
    assert result.error.endswith("the reason (-2741)")


def test_a_silent_failure_names_the_exit_status(
    osascript: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    program, _ = osascript
    answer(monkeypatch, iMessage=(3, ""))
    result = MessagesDriver(program).send(message())
    assert (result.outcome, result.error) == (SendOutcome.FAILED, "osascript exit status 3")


def test_a_hanging_osascript_is_killed_and_may_have_sent(
    osascript: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    program, log = osascript
    monkeypatch.setenv("STANDIN_SLEEP", "30")
    started = time.monotonic()
    result = MessagesDriver(program, sms_fallback=True, timeout=0.5).send(message())
    assert time.monotonic() - started < 5
    assert result.outcome == SendOutcome.UNKNOWN
    made = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(made) == 1  # it may have sent: no SMS copy
    with pytest.raises(ProcessLookupError):
        os.kill(made[0]["pid"], 0)  # killed and reaped


def test_a_missing_osascript_fails_clearly(tmp_path: Path) -> None:
    result = MessagesDriver(str(tmp_path / "no-osascript")).send(message())
    assert result.outcome == SendOutcome.FAILED
    assert result.error is not None and "osascript not found" in result.error


def test_a_text_no_argument_can_carry_is_rejected_without_running(
    osascript: tuple[str, Path],
) -> None:
    program, log = osascript
    result = MessagesDriver(program).send(message("nul \x00 inside"))
    assert result.outcome == SendOutcome.REJECTED
    assert calls(log) == []


def test_a_text_too_long_for_an_argument_is_rejected(osascript: tuple[str, Path]) -> None:
    program, log = osascript
    result = MessagesDriver(program).send(message("x" * 3_000_000))
    assert result.outcome == SendOutcome.REJECTED
    assert result.error is not None and "too long" in result.error
    assert calls(log) == []


def test_the_error_number_is_read_from_the_end() -> None:
    assert error_number(NO_PARTICIPANT) == -1728
    assert error_number(NOT_AUTHORIZED + "\n") == -1743
    # A number inside the handle is not the error's.
    assert error_number('Can\u2019t get participant "(-1743)x". (-1728)') == -1728
    assert error_number("no number here") is None


def test_the_probe_runs_the_constant_probe_alone(osascript: tuple[str, Path]) -> None:
    program, log = osascript
    assert probe_automation(program, 5) == (
        True,
        "Messages answered: an iMessage account is signed in",
    )
    assert calls(log) == [["-e", AUTOMATION_PROBE]]


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        (NOT_AUTHORIZED, "(-1743)"),
        (NO_ACCOUNT, "no iMessage account"),
    ],
)
def test_the_probe_says_what_is_wrong(
    osascript: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, stderr: str, expected: str
) -> None:
    program, _ = osascript
    answer(monkeypatch, probe=(1, stderr))
    ok, detail = probe_automation(program, 5)
    assert not ok
    assert expected in detail


def test_the_probe_without_osascript(tmp_path: Path) -> None:
    ok, detail = probe_automation(str(tmp_path / "none"), 1)
    assert not ok
    assert "osascript not found" in detail


def test_a_probe_left_waiting_gives_up(
    osascript: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    program, _ = osascript
    monkeypatch.setenv("STANDIN_SLEEP", "30")
    ok, detail = probe_automation(program, 0.5)
    assert not ok
    assert "did not answer" in detail
