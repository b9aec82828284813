"""`pigeon gateway doctor`: what keeps this Mac from sending, and what to do about it.

Each check answers on its own (one failing does not hide the others) and never raises.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pigeon.gateway.drivers.messages import NOT_AUTHORIZED, probe_automation

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None


AUTOMATION_FIX = (
    "System Settings → Privacy & Security → Automation: allow the terminal (or the Python "
    f"the agent runs under, {sys.executable}) to control Messages. No prompt ever came? "
    "Run `tccutil reset AppleEvents`, then doctor again, and answer OK."
)
FULL_DISK_ACCESS_FIX = (
    "System Settings → Privacy & Security → Full Disk Access: add the terminal (or the "
    f"Python the agent runs under, {sys.executable}), then restart the agent."
)
# What SQLite says on macOS when TCC refuses the file, and elsewhere when permissions do.
_DENIED = ("authorization denied", "unable to open database file", "operation not permitted")
_UNAUTHORIZED = re.compile(r"\b(401|403)\b|unauthori[sz]ed|forbidden|revoked", re.IGNORECASE)


def check_automation(osascript: str, timeout: float = 10) -> Check:
    """Whether Messages takes Apple events from us (the Automation permission)."""
    name = "Messages automation"
    if shutil.which(osascript) is None:
        return Check(
            name,
            False,
            f"osascript not found ({osascript}): this is not a Mac, or it is not on PATH",
            fix="run the agent on a Mac signed in to iMessage, or set "
            "PIGEON_GATEWAY_DRIVER=console or command",
        )
    ok, detail = probe_automation(osascript, timeout)
    if ok:
        return Check(name, True, detail)
    if f"({NOT_AUTHORIZED})" in detail:
        return Check(name, False, detail, fix=AUTOMATION_FIX)
    return Check(
        name,
        False,
        detail,
        fix="open Messages, sign in to iMessage (Messages → Settings → iMessage), and run "
        "doctor again",
    )


def check_full_disk_access(chat_db: Path) -> Check:
    """Whether Messages' database can be read (inbound sync needs Full Disk Access)."""
    name = "Full Disk Access (chat.db)"
    try:
        if chat_db.is_dir():
            return Check(
                name,
                False,
                f"{chat_db} is a directory, not Messages' database",
                fix="set PIGEON_CHAT_DB to the chat.db file",
            )
        if not chat_db.exists():
            return Check(
                name,
                False,
                f"Messages has no database at {chat_db}",
                fix="open Messages once and sign in, set PIGEON_CHAT_DB to where chat.db is, "
                "or turn inbound sync off with PIGEON_GATEWAY_INBOUND=off",
            )
    except PermissionError as error:  # TCC may refuse even a stat
        return _denied(name, chat_db, error)
    # Read-only through a URI: never creates the file, never writes Messages' database.
    uri = chat_db.absolute().as_uri() + "?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True)
        try:
            connection.execute("select 1 from message limit 1").fetchall()
        finally:
            connection.close()
    except PermissionError as error:
        return _denied(name, chat_db, error)
    except sqlite3.Error as error:
        text = str(error)
        if "no such table" in text or "not a database" in text:
            return Check(
                name,
                False,
                f"{chat_db} is not Messages' database ({text})",
                fix="set PIGEON_CHAT_DB to Messages' chat.db (~/Library/Messages/chat.db)",
            )
        if any(denied in text.lower() for denied in _DENIED):
            return _denied(name, chat_db, error)
        return Check(name, False, f"cannot read {chat_db}: {text}", fix=FULL_DISK_ACCESS_FIX)
    return Check(name, True, f"{chat_db} is readable")


def check_server(heartbeat: Callable[[], object]) -> Check:
    """Whether the server answers a heartbeat with this device's token."""
    name = "server"
    try:
        heartbeat()
    except Exception as error:
        detail = str(error) or type(error).__name__
        if getattr(error, "status", None) in (401, 403) or _UNAUTHORIZED.search(detail):
            fix = (
                "the device token was revoked or mistyped: set PIGEON_DEVICE_TOKEN to the "
                "token shown when the device was added (`pigeon devices add` makes a new one)"
            )
        else:
            fix = (
                "check PIGEON_URL (is the server running, and reachable from this Mac?) "
                "and PIGEON_DEVICE_TOKEN"
            )
        return Check(name, False, f"no heartbeat: {detail}", fix=fix)
    return Check(name, True, "the server answered a heartbeat")


def render(checks: Sequence[Check]) -> str:
    """One line per check, its fix indented under it; plain text for a terminal or a log."""
    lines: list[str] = []
    for check in checks:
        lines.append(f"{'ok' if check.ok else 'FAIL':<4}  {check.name}: {check.detail}")
        if check.fix:
            lines.append(f"      fix: {check.fix}")
    failed = sum(not check.ok for check in checks)
    lines.append(f"{failed} of {len(checks)} checks failed" if failed else "all checks passed")
    return "\n".join(lines)


def _denied(name: str, chat_db: Path, error: BaseException) -> Check:
    return Check(
        name,
        False,
        f"cannot read {chat_db}: {error} (Full Disk Access is missing)",
        fix=FULL_DISK_ACCESS_FIX,
    )
