"""The `command` driver: hands each message to a program of your own.

The program (an argument list, run without a shell) gets the message in its environment,
on top of the agent's own (less the device token, which it has no use for):

    PIGEON_MESSAGE_ID   the message's id
    PIGEON_RECIPIENT    E.164 phone number or email address
    PIGEON_BODY         the text
    PIGEON_ATTEMPT      1 on the first try, 2 on the next...

and the body again on stdin, UTF-8. Its exit status says what happened:

    what happened                      outcome    what the server does
    exit status 0                      SENT       done
    exit status 65 (EX_DATAERR)        REJECTED   never retries: it cannot be sent
    exit status 67 (EX_NOUSER)         REJECTED   never retries: no such recipient
    any other exit status              FAILED     retries with backoff
    killed by a signal                 UNKNOWN    never retries: it may have sent first
    no exit within the timeout         UNKNOWN    never retries: killed, it may have sent
    program missing / not executable   FAILED     retries: fixing the setup recovers
    a body no environment can carry    REJECTED   never retries: a NUL character, or too
                                                  long (one variable holds 128 KiB on
                                                  Linux; macOS allows 1 MiB in all)

The error reported is the program's stderr (its last ~500 characters) or "exit status N".
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pigeon.gateway.drivers.protocols import SendOutcome, SendResult

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pigeon.gateway.drivers.protocols import Outgoing

EX_DATAERR = 65
EX_NOUSER = 67
PERMANENT = frozenset({EX_DATAERR, EX_NOUSER})
ERROR_CHARS = 500
# Not handed to the program: a secret it does not need should not outlive the agent in it.
WITHHELD = frozenset({"PIGEON_DEVICE_TOKEN"})
TOO_LONG = "too long for the system to pass to a program (E2BIG)"
# After a kill, how long to wait for the pipes to close before giving up on them.
_REAP_SECONDS = 2.0


@dataclass(frozen=True)
class Finished:
    returncode: int  # negative: killed by that signal
    stdout: str
    stderr: str


def run_bounded(
    argv: Sequence[str],
    *,
    timeout: float,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> Finished:
    """Run `argv` (no shell) for at most `timeout` seconds.

    The program gets a session of its own, so a timeout kills everything it started: a shell
    script's children would otherwise hold the pipes open and keep us waiting. Raises
    `subprocess.TimeoutExpired` (after the kill), `OSError` when it cannot start, and
    `ValueError` when an argument or variable cannot be passed (a NUL character)."""
    process = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
        list(argv),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env) if env is not None else None,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(stdin, timeout=timeout)
    except BaseException:  # the timeout, or the agent interrupted: leave nothing running
        _kill(process)
        raise
    return Finished(process.returncode, _text(out), _text(err))


def trim(text: str, limit: int = ERROR_CHARS) -> str:
    """The end of `text`, where programs put the reason they failed."""
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-(limit - 1) :].lstrip()


class CommandDriver:
    name = "command"

    def __init__(
        self,
        argv: Sequence[str],
        *,
        timeout: float = 30.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """`environ` is what the program inherits (default: the agent's environment now)."""
        if not argv or not argv[0]:
            raise ValueError("the command driver needs a program to run")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.argv = tuple(argv)
        self.timeout = timeout
        inherited = os.environ if environ is None else environ
        self._environ = {k: v for k, v in inherited.items() if k not in WITHHELD}

    def send(self, message: Outgoing) -> SendResult:
        env = {
            **self._environ,
            "PIGEON_MESSAGE_ID": message.id,
            "PIGEON_RECIPIENT": message.recipient,
            "PIGEON_BODY": message.body,
            "PIGEON_ATTEMPT": str(message.attempt),
        }
        program = self.argv[0]
        try:
            finished = run_bounded(
                self.argv, timeout=self.timeout, stdin=message.body.encode(), env=env
            )
        except subprocess.TimeoutExpired:
            return SendResult(
                SendOutcome.UNKNOWN,
                f"{program} did not finish within {self.timeout:g}s and was killed; "
                "it may have sent, so it is not retried",
            )
        except FileNotFoundError:
            return SendResult(SendOutcome.FAILED, f"program not found: {program}")
        except PermissionError:
            return SendResult(SendOutcome.FAILED, f"program is not executable: {program}")
        except OSError as error:
            if error.errno == errno.E2BIG:  # this body will never fit: no retry
                return SendResult(SendOutcome.REJECTED, f"the message is {TOO_LONG}")
            return SendResult(SendOutcome.FAILED, f"cannot start {program}: {error}")
        except ValueError as error:  # NUL in the text, or a lone surrogate: never passable
            return SendResult(SendOutcome.REJECTED, f"the message cannot be passed on: {error}")
        return self._outcome(finished)

    def _outcome(self, finished: Finished) -> SendResult:
        status = finished.returncode
        if status == 0:
            return SendResult(SendOutcome.SENT)
        if status < 0:
            return SendResult(
                SendOutcome.UNKNOWN,
                trim(finished.stderr) or f"killed by {_signal_name(-status)}; it may have sent",
            )
        outcome = SendOutcome.REJECTED if status in PERMANENT else SendOutcome.FAILED
        return SendResult(outcome, trim(finished.stderr) or f"exit status {status}")


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:  # it, and everything it started, is gone already
        pass
    except PermissionError:  # it changed its own credentials: kill what we can
        process.kill()
    try:
        process.communicate(timeout=_REAP_SECONDS)
    except subprocess.TimeoutExpired:
        # Something left the group and holds the pipes: stop waiting for it.
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        process.wait()


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
