"""The `messages` driver: sends through Messages.app by running osascript (macOS 11+).

The AppleScript never changes: the service, recipient and text reach it as arguments of its
`run` handler, so no text, however crafted, can become AppleScript. They follow a `--`, and
the script reads them from the end of `argv`, so a text such as "-e" is never taken for an
osascript option whether or not osascript honours `--`.

What osascript's answer means (the number is the AppleScript error at the end of stderr):

    exit 0                                  SENT (service: the one that took it)
    -1728 / -1719, Can't get participant    the handle is not reachable on that service:
                                            SMS next with sms_fallback, else REJECTED
    -1728 / -1719, Can't get account        no such account signed in on this Mac: SMS next
                                            with sms_fallback, else FAILED (fixable here)
    -1743 not authorized                    FAILED: grant Automation (`pigeon gateway doctor`)
    -600 / -609 Messages not running/gone   FAILED
    -1712 Apple event timed out             UNKNOWN: Messages may have sent it
    no answer within the timeout            UNKNOWN: killed, it may have sent
    killed by a signal                      UNKNOWN
    osascript missing                       FAILED
    a text no argument can carry            REJECTED (a NUL character, or too long: E2BIG)
    anything else                           FAILED, with osascript's stderr
"""

from __future__ import annotations

import errno
import re
import subprocess
from typing import TYPE_CHECKING

from pigeon.gateway.drivers.command import TOO_LONG, run_bounded, trim
from pigeon.gateway.drivers.protocols import SendOutcome, SendResult

if TYPE_CHECKING:
    from pigeon.gateway.drivers.command import Finished
    from pigeon.gateway.drivers.protocols import Outgoing

IMESSAGE = "iMessage"
SMS = "SMS"

# One line per `-e`. The last three arguments are the service, the handle and the text.
SEND_SCRIPT = (
    "on run argv",
    "set serviceName to item -3 of argv",
    "set targetHandle to item -2 of argv",
    "set theText to item -1 of argv",
    'tell application "Messages"',
    'if serviceName is "SMS" then',
    "set targetService to 1st account whose service type = SMS",
    "else",
    "set targetService to 1st account whose service type = iMessage",
    "end if",
    "set targetBuddy to participant targetHandle of targetService",
    "send theText to targetBuddy",
    "end tell",
    "end run",
)

# Harmless, and it needs the same Automation permission a send does; it also tells whether
# an iMessage account is signed in, through the same lookup the send script makes.
AUTOMATION_PROBE = (
    'tell application "Messages" to get id of 1st account whose service type = iMessage'
)

NOT_AUTHORIZED = -1743
NO_SUCH_ELEMENT = frozenset({-1728, -1719})  # "Can't get …", "Invalid index"
NOT_RUNNING = frozenset({-600, -609})  # application isn't running; connection is invalid
EVENT_TIMED_OUT = -1712

AUTOMATION_FIX = (
    "grant Automation permission: System Settings → Privacy & Security → Automation, allow "
    "the agent (its terminal or Python) to control Messages; run `pigeon gateway doctor`"
)

_ERROR_NUMBER = re.compile(r"\((-?\d+)\)\s*$")
# Apple writes a curly apostrophe (U+2019); accept the straight one too.
_NO_HANDLE = re.compile(r"Can[\u2019']t get (participant|buddy)\b", re.IGNORECASE)
_NO_ACCOUNT = re.compile(
    r"Can[\u2019']t get (1st |first |every )?(account|service)\b", re.IGNORECASE
)


class MessagesDriver:
    name = "messages"

    def __init__(
        self, osascript: str = "osascript", *, sms_fallback: bool = False, timeout: float = 30.0
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.osascript = osascript
        self.services = (IMESSAGE, SMS) if sms_fallback else (IMESSAGE,)
        self.timeout = timeout

    def send(self, message: Outgoing) -> SendResult:
        misses: list[str] = []
        *first, final = self.services
        for service in first:
            result, reachable_elsewhere = self._attempt(service, message)
            if not reachable_elsewhere:
                return result
            misses.append(f"{service}: {result.error}")
        result, _ = self._attempt(final, message)
        if misses and result.outcome != SendOutcome.SENT:
            return SendResult(result.outcome, "; ".join([*misses, f"{final}: {result.error}"]))
        return result

    def _attempt(self, service: str, message: Outgoing) -> tuple[SendResult, bool]:
        """The result of one try on `service`, and whether another service may reach the
        handle (True when this one does not know it, or is not signed in)."""
        argv = [self.osascript, *_script_args(SEND_SCRIPT), "--", service]
        argv += [message.recipient, message.body]
        try:
            finished = run_bounded(argv, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            return SendResult(
                SendOutcome.UNKNOWN,
                f"Messages did not answer within {self.timeout:g}s (osascript killed); "
                "it may have sent, so it is not retried",
            ), False
        except OSError as error:
            if error.errno == errno.E2BIG:  # this text will never fit: no retry
                return SendResult(SendOutcome.REJECTED, f"the message is {TOO_LONG}"), False
            return SendResult(SendOutcome.FAILED, _cannot_run(self.osascript, error)), False
        except ValueError as error:  # NUL in the text: no argument can carry it
            return SendResult(
                SendOutcome.REJECTED, f"the message cannot be passed to osascript: {error}"
            ), False
        if finished.returncode == 0:
            return SendResult(SendOutcome.SENT, service=service), False
        return _failure(service, finished)


def _failure(service: str, finished: Finished) -> tuple[SendResult, bool]:
    stderr = trim(finished.stderr)
    if finished.returncode < 0:
        return SendResult(
            SendOutcome.UNKNOWN,
            f"osascript was killed (signal {-finished.returncode}); it may have sent",
        ), False
    code = error_number(finished.stderr)
    no_account = bool(_NO_ACCOUNT.search(finished.stderr))
    if _NO_HANDLE.search(finished.stderr) or (code in NO_SUCH_ELEMENT and not no_account):
        return SendResult(SendOutcome.REJECTED, f"not reachable on {service}: {stderr}"), True
    if no_account or code in NO_SUCH_ELEMENT:
        # Signed out, or no SMS relay from an iPhone: fixable on this Mac, so worth retrying.
        return SendResult(
            SendOutcome.FAILED, f"no {service} account signed in to Messages: {stderr}"
        ), True
    if code == NOT_AUTHORIZED:
        return SendResult(
            SendOutcome.FAILED,
            f"not authorized to send Apple events to Messages ({code}): {AUTOMATION_FIX}",
        ), False
    if code in NOT_RUNNING:
        return SendResult(
            SendOutcome.FAILED, f"Messages is not running or stopped answering: {stderr}"
        ), False
    if code == EVENT_TIMED_OUT:
        return SendResult(
            SendOutcome.UNKNOWN, f"Messages did not answer in time, it may have sent: {stderr}"
        ), False
    error = stderr or f"osascript exit status {finished.returncode}"
    return SendResult(SendOutcome.FAILED, error), False


def probe_automation(osascript: str = "osascript", timeout: float = 10.0) -> tuple[bool, str]:
    """Whether Messages answers Apple events from us, and what it said. A detail holding
    "(-1743)" means Automation permission is missing."""
    try:
        finished = run_bounded([osascript, *_script_args((AUTOMATION_PROBE,))], timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, (
            f"Messages did not answer within {timeout:g}s: a permission prompt may be waiting "
            "for an answer on this Mac"
        )
    except OSError as error:
        return False, _cannot_run(osascript, error)
    if finished.returncode == 0:
        return True, "Messages answered: an iMessage account is signed in"
    code = error_number(finished.stderr)
    if code == NOT_AUTHORIZED:
        return False, f"not authorized to send Apple events to Messages ({NOT_AUTHORIZED})"
    if code in NO_SUCH_ELEMENT:
        return False, "Messages answered, but no iMessage account is signed in"
    return False, trim(finished.stderr) or f"osascript exit status {finished.returncode}"


def error_number(stderr: str) -> int | None:
    """The AppleScript error number osascript ends its message with: "… (-1728)"."""
    match = _ERROR_NUMBER.search(stderr.strip())
    return int(match.group(1)) if match else None


def _script_args(lines: tuple[str, ...]) -> list[str]:
    return [arg for line in lines for arg in ("-e", line)]


def _cannot_run(osascript: str, error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return (
            f"osascript not found ({osascript}): the messages driver needs macOS; "
            "elsewhere use the console or command driver"
        )
    return f"cannot run {osascript}: {error}"
