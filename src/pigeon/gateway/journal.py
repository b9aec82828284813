"""The agent's local journal: what it is about to send, what happened, what the server has
been told, and where inbound sync stopped reading chat.db.

The one rule that makes the agent safe: the intent to send is on disk (fsync) before the
driver is called, and the result is on disk before it is reported. After a crash an intent
without a result is in doubt: the message may have gone out, so it is reported `unknown`
and never sent again. A result the server has not acknowledged is reported again, however
long the server stays away.

SQLite with `synchronous=FULL` (and `fullfsync` on macOS, where a plain fsync does not
reach the platter), one connection, used from the agent's event loop thread only.
"""

from __future__ import annotations

import fcntl
import sqlite3
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

    from pigeon.gateway.drivers.protocols import Outgoing

SCHEMA = """
CREATE TABLE IF NOT EXISTS sends (
    message_id   TEXT PRIMARY KEY,
    claim_token  TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    body         TEXT NOT NULL,
    started_at   REAL NOT NULL,
    outcome      TEXT,             -- NULL while in doubt: sent | failed | rejected | unknown
    error        TEXT,
    finished_at  REAL,
    reported     INTEGER NOT NULL DEFAULT 0,   -- the server acknowledged the outcome
    chat_guid    TEXT,             -- its row in Messages' chat.db, once found
    receipt      TEXT,             -- delivered | read | failed, seen in chat.db
    receipt_reported TEXT          -- the receipt the server acknowledged last
);
CREATE INDEX IF NOT EXISTS sends_unreported ON sends (reported) WHERE reported = 0;
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

IN_DOUBT_ERROR = "the agent stopped during this send: it may have gone out, so it is not sent again"
# Sends the server may still retry: a new claim of the message sends it again.
RETRYABLE = "failed"
BOUNCE_ERROR = "Messages shows this message as not delivered"


@dataclass(frozen=True)
class Entry:
    message_id: str
    claim_token: str
    recipient: str
    body: str
    started_at: float
    outcome: str | None
    error: str | None
    reported: bool
    chat_guid: str | None = None
    receipt: str | None = None
    receipt_reported: str | None = None

    @property
    def in_doubt(self) -> bool:
        return self.outcome is None


@dataclass(frozen=True)
class Pending:
    """A report the server has not acknowledged yet."""

    message_id: str
    claim_token: str
    status: str  # sent | failed | rejected | unknown; for a receipt: delivered | read | failed
    error: str | None
    receipt: bool = False  # what chat.db showed after the send, not the send's outcome


class JournalInUse(Exception):
    """Another agent holds this journal."""


class Journal:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # One agent per journal: a second one would take the first's sends under way for
        # sends in doubt. The lock goes with the process, however it ends.
        self._lock = (path.parent / f"{path.name}.lock").open("a")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise JournalInUse(
                f"another agent is running on the journal {path} (one agent per device)"
            ) from None
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "fullfsync=ON",  # macOS: F_FULLFSYNC, a flush the disk cannot keep to itself
            "checkpoint_fullfsync=ON",
            "busy_timeout=5000",
        ):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()
        self._lock.close()  # and with it the lock

    # Sends ---------------------------------------------------------------------------------

    def get(self, message_id: str) -> Entry | None:
        row = self._db.execute("SELECT * FROM sends WHERE message_id = ?", (message_id,)).fetchone()
        return _entry(row) if row else None

    def intend(self, message: Outgoing, claim_token: str) -> None:
        """Record that `message` is about to be sent (durable before the driver runs). An
        earlier failed attempt of the same message is replaced: the server retried it."""
        self._db.execute(
            "INSERT OR REPLACE INTO sends (message_id, claim_token, recipient, body, started_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (message.id, claim_token, message.recipient, message.body, time.time()),
        )

    def finish(self, message_id: str, outcome: str, error: str | None) -> None:
        self._db.execute(
            "UPDATE sends SET outcome = ?, error = ?, finished_at = ?, reported = 0"
            " WHERE message_id = ?",
            (outcome, error, time.time(), message_id),
        )

    def settle_in_doubt(self) -> int:
        """After a crash: every send that started and has no result may have gone out."""
        cursor = self._db.execute(
            "UPDATE sends SET outcome = 'unknown', error = ?, finished_at = ?, reported = 0"
            " WHERE outcome IS NULL",
            (IN_DOUBT_ERROR, time.time()),
        )
        return cursor.rowcount

    def reclaimed(self, message_id: str, claim_token: str) -> Entry | None:
        """The journal's answer for a message the server hands out again (under the same
        token: its last answer was lost; or a new one: its lease ran out meanwhile), or None
        when it may be sent. Only a failure the server chose to retry (a new claim, so a new
        token) is sent again; under the same token the server has not had the failure's
        report yet. Everything else is reported, never resent, under the token the server
        holds now."""
        entry = self.get(message_id)
        if entry is None or (entry.outcome == RETRYABLE and entry.claim_token != claim_token):
            return None
        if entry.in_doubt:
            self.finish(message_id, "unknown", IN_DOUBT_ERROR)
        self._db.execute(
            "UPDATE sends SET claim_token = ?, reported = 0 WHERE message_id = ?",
            (claim_token, message_id),
        )
        return self.get(message_id)

    # Reports -------------------------------------------------------------------------------

    def unreported(self, limit: int = 500) -> list[Pending]:
        """Outcomes first, then receipts, oldest first."""
        outcomes = self._db.execute(
            "SELECT message_id, claim_token, outcome, error FROM sends"
            " WHERE reported = 0 AND outcome IS NOT NULL ORDER BY finished_at LIMIT ?",
            (limit,),
        ).fetchall()
        pending = [Pending(r[0], r[1], r[2], r[3]) for r in outcomes]
        if len(pending) < limit:
            receipts = self._db.execute(
                "SELECT message_id, claim_token, receipt FROM sends WHERE reported = 1"
                " AND receipt IS NOT NULL AND receipt IS NOT receipt_reported"
                " ORDER BY finished_at LIMIT ?",
                (limit - len(pending),),
            ).fetchall()
            pending += [
                Pending(r[0], r[1], r[2], BOUNCE_ERROR if r[2] == "failed" else None, receipt=True)
                for r in receipts
            ]
        return pending

    def acknowledge(self, reports: Iterable[Pending]) -> None:
        """The server has these (or refused them for good: nothing more to tell it)."""
        with self._db:
            self._db.execute("BEGIN")
            for report in reports:
                if report.receipt:
                    self._db.execute(
                        "UPDATE sends SET receipt_reported = ? WHERE message_id = ?",
                        (report.status, report.message_id),
                    )
                else:
                    self._db.execute(
                        "UPDATE sends SET reported = 1 WHERE message_id = ? AND outcome = ?",
                        (report.message_id, report.status),
                    )

    def outcomes_unreported(self) -> int:
        return int(
            self._db.execute(
                "SELECT count(*) FROM sends WHERE reported = 0 AND outcome IS NOT NULL"
            ).fetchone()[0]
        )

    def count_unreported(self) -> int:
        return int(
            self._db.execute(
                "SELECT count(*) FROM sends WHERE (reported = 0 AND outcome IS NOT NULL)"
                " OR (receipt IS NOT NULL AND receipt IS NOT receipt_reported)"
            ).fetchone()[0]
        )

    # Receipts (chat.db) --------------------------------------------------------------------

    def awaiting_chat_row(self, since: float) -> list[Entry]:
        """Sent messages not yet matched to their chat.db row, started after `since`."""
        rows = self._db.execute(
            "SELECT * FROM sends WHERE outcome = 'sent' AND chat_guid IS NULL"
            " AND started_at >= ? ORDER BY started_at",
            (since,),
        ).fetchall()
        return [_entry(r) for r in rows]

    def linked_since(self, since: float) -> set[str]:
        """The chat.db GUIDs already matched to sends started after `since`."""
        rows = self._db.execute(
            "SELECT chat_guid FROM sends WHERE chat_guid IS NOT NULL AND started_at >= ?",
            (since,),
        ).fetchall()
        return {row[0] for row in rows}

    def link_chat_row(self, message_id: str, chat_guid: str) -> None:
        self._db.execute(
            "UPDATE sends SET chat_guid = ? WHERE message_id = ?", (chat_guid, message_id)
        )

    def watching_receipts(self, since: float) -> dict[str, Entry]:
        """Sent messages with a chat.db row and no read receipt yet, by chat.db GUID."""
        rows = self._db.execute(
            "SELECT * FROM sends WHERE chat_guid IS NOT NULL AND started_at >= ?"
            " AND (receipt IS NULL OR receipt = 'delivered')",
            (since,),
        ).fetchall()
        return {row["chat_guid"]: _entry(row) for row in rows}

    def record_receipts(self, receipts: Sequence[tuple[str, str]]) -> None:
        """(message id, delivered | read | failed): only ever forward."""
        with self._db:
            self._db.execute("BEGIN")
            for message_id, receipt in receipts:
                self._db.execute(
                    "UPDATE sends SET receipt = ? WHERE message_id = ?"
                    " AND (receipt IS NULL OR (receipt = 'delivered' AND ? != 'delivered'))",
                    (receipt, message_id, receipt),
                )

    # Cursors -------------------------------------------------------------------------------

    def cursor(self, name: str) -> int | None:
        row = self._db.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else None

    def set_cursor(self, name: str, value: int) -> None:
        self._db.execute(
            "INSERT INTO cursors (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def prune(self, before: float) -> int:
        """Forget finished, acknowledged sends older than `before` (receipts no longer awaited)."""
        cursor = self._db.execute(
            "DELETE FROM sends WHERE reported = 1 AND finished_at < ?"
            " AND (receipt IS NULL OR receipt IS receipt_reported)",
            (before,),
        )
        return cursor.rowcount


def _entry(row: sqlite3.Row) -> Entry:
    return Entry(
        message_id=row["message_id"],
        claim_token=row["claim_token"],
        recipient=row["recipient"],
        body=row["body"],
        started_at=row["started_at"],
        outcome=row["outcome"],
        error=row["error"],
        reported=bool(row["reported"]),
        chat_guid=row["chat_guid"],
        receipt=row["receipt"],
        receipt_reported=row["receipt_reported"],
    )
