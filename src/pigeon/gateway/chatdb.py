"""Messages' database (`~/Library/Messages/chat.db`), read-only: what this Mac received,
and what became of what it sent.

The tables and columns are the ones macOS 12-15 have (`message`, `handle`, `chat`,
`chat_message_join`); see tests/fakes/chatdb.py for the schema. Three things about them
shape this module:

- Dates are nanoseconds since 2001-01-01 UTC (seconds before macOS 10.13), and 0 for "not
  yet" (`date_delivered`, `date_read`).
- Since macOS 13 the body is often only in `attributedBody`, an NSAttributedString archived
  by NSArchiver in Apple's "typedstream" format, with `text` left NULL.
- chat.db is in WAL mode and Messages writes to it while we read. The connection is opened
  `mode=ro` (never `immutable=1`, which would hide Messages' later commits) and in
  autocommit mode, so every query is its own read transaction and sees every commit made
  before it started.

Stdlib only: the agent installs without the server's dependencies.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from types import TracebackType

APPLE_EPOCH: Final = datetime(2001, 1, 1, tzinfo=UTC)
# Values at or above this are nanoseconds: 1e11 ns is 100 seconds after the epoch (no
# message is that old), while 1e11 seconds is the year 5170 (no message is that new).
NANOSECONDS_FROM: Final = 10**11
_NS: Final = 10**9

OBJECT_REPLACEMENT: Final = "\ufffc"  # where an attachment sits in the text
_IN_CHUNK: Final = 500  # guids per IN (...): under SQLite's variable limit (999 before 3.32)

_FIX: Final = (
    "grant Full Disk Access to the program that runs the agent (System Settings → "
    "Privacy & Security → Full Disk Access), then run `pigeon gateway doctor`"
)


class ChatDBUnavailable(Exception):
    """Messages' database is missing or cannot be read (on macOS, usually because the agent
    lacks Full Disk Access)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot read Messages' database {path}: {reason}; {_FIX}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class ChatMessage:
    rowid: int
    guid: str
    sender: str  # handle.id ("+14155550100", "a@b.com"); the recipient when is_from_me
    text: str
    at: datetime
    service: str | None  # "iMessage", "SMS", "RCS"
    is_from_me: bool
    chat: str | None  # chat.chat_identifier of a group chat; None for one-to-one


@dataclass(frozen=True)
class Scan:
    """Received messages past a ROWID, and the highest ROWID looked at: the cursor moves
    there even when every row was skipped (reactions, own messages, renames)."""

    messages: list[ChatMessage]
    last_rowid: int


@dataclass(frozen=True)
class Receipt:
    guid: str
    delivered_at: datetime | None
    read_at: datetime | None
    error: int  # message.error; 0 for none
    # The flags, for what Messages marks without a date (an SMS is often `is_delivered`
    # with date_delivered left 0).
    delivered: bool = False
    read: bool = False


def apple_time(value: int | float | None) -> datetime | None:
    """A chat.db date as an aware UTC datetime; None for 0/NULL ("not yet")."""
    if not value:
        return None
    try:
        if abs(value) < NANOSECONDS_FROM:
            return APPLE_EPOCH + timedelta(seconds=value)
        if isinstance(value, int):  # exact: a float would round the nanoseconds
            seconds, nanoseconds = divmod(value, _NS)
            return APPLE_EPOCH + timedelta(seconds=seconds, microseconds=nanoseconds // 1000)
        return APPLE_EPOCH + timedelta(seconds=value / _NS)
    except OverflowError:  # a corrupt value: no date rather than no row
        return None


def to_apple_time(at: datetime) -> int:
    """An aware datetime as chat.db stores it on macOS 10.13+ (nanoseconds since 2001)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: chat.db dates are UTC, pass an aware one")
    delta = at - APPLE_EPOCH
    return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1000


def text_of(text: str | None, attributed_body: bytes | None) -> str:
    """The message's text: the `text` column, else the string archived in
    `attributedBody`; attachment placeholders removed. Never raises."""
    plain = _clean(text or "")
    if plain:
        return plain
    return _clean(_archived_string(attributed_body) or "")


def _clean(text: str) -> str:
    return text.replace(OBJECT_REPLACEMENT, "").strip()


def _archived_string(blob: bytes | None) -> str | None:
    """The plain string of an NSAttributedString archived as a typedstream.

    The stream names the class chain, then the NSString's contents as one typed value:
    `NSString` <version> <superclass reference> 0x84 0x01 '+' <length> <UTF-8 bytes>.
    The bytes between the class name and `0x84 0x01 +` differ (NSMutableString chains
    reference NSObject by another number), so they are skipped rather than matched.
    """
    if not blob:
        return None
    try:
        data = bytes(blob)
        marker = data.find(b"NSString")
        if marker < 0:
            return None
        after = marker + len(b"NSString")
        typed = data.find(b"\x84\x01+", after, after + 16)
        if typed < 0:
            return None
        length, start = _typedstream_length(data, typed + 3)
        if length is None or start + length > len(data):
            return None
        return data[start : start + length].decode("utf-8")
    except (ValueError, IndexError):  # UnicodeDecodeError is a ValueError
        return None


def _typedstream_length(data: bytes, at: int) -> tuple[int | None, int]:
    """A typedstream unsigned integer at `at`: one byte for itself, 0x81 then 2 bytes, or
    0x82 then 4 bytes, little-endian (the "streamtyped" signature says little-endian).
    0x80-0x91 are the format's tags; the others cannot start a length."""
    head = data[at]
    if head == 0x81:
        return int.from_bytes(data[at + 1 : at + 3], "little"), at + 3
    if head == 0x82:
        return int.from_bytes(data[at + 1 : at + 5], "little"), at + 5
    if 0x80 <= head <= 0x91:
        return None, at
    return head, at + 1


# One row per message: the chat is the first it is joined to (a message sits in one chat,
# but the join table's key would allow more, and a duplicate row would be pushed twice).
# chat.style 45 is a one-to-one chat (its identifier is the other side's handle), 43 a group.
_SELECT_MESSAGES: Final = """
SELECT m.ROWID AS rowid, m.guid, m.text, m.attributedBody, m.date, m.service,
       m.is_from_me, m.item_type, m.associated_message_type,
       COALESCE(h.id, CASE WHEN c.style = 45 THEN c.chat_identifier END, '') AS sender,
       CASE WHEN c.style = 43 THEN c.chat_identifier END AS chat
FROM message AS m
LEFT JOIN handle AS h ON h.ROWID = m.handle_id
LEFT JOIN chat AS c ON c.ROWID = (
    SELECT cmj.chat_id FROM chat_message_join AS cmj
    WHERE cmj.message_id = m.ROWID
    ORDER BY cmj.chat_id LIMIT 1
)
"""
_RECEIVED_AFTER: Final = _SELECT_MESSAGES + "WHERE m.ROWID > ? ORDER BY m.ROWID LIMIT ?"
# Reactions (associated_message_type) and group events (item_type) are never a send's row.
_SENT_SINCE: Final = (
    _SELECT_MESSAGES
    + """WHERE m.is_from_me = 1 AND m.date >= ?
      AND m.item_type = 0 AND m.associated_message_type = 0
    ORDER BY m.date, m.ROWID LIMIT ?"""
)
_RECEIPTS: Final = (
    "SELECT guid, date_delivered, date_read, is_delivered, is_read, error FROM message"
    " WHERE guid IN "
)


class ChatDB:
    """A read-only connection to chat.db. One thread, like the agent's event loop."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            if not path.exists():
                raise ChatDBUnavailable(path, "no such file (is Messages set up on this Mac?)")
            if path.is_dir():
                raise ChatDBUnavailable(path, "a directory, not Messages' database")
        except OSError as error:  # macOS may refuse even a stat without Full Disk Access
            raise ChatDBUnavailable(path, str(error)) from error
        # Quoted: a '?', '#' or '%' in the path would otherwise be read as URI syntax.
        uri = f"file:{quote(str(path.absolute()))}?mode=ro"
        try:
            # isolation_level=None: no implicit BEGIN, so no read transaction outlives a
            # query and pins an old snapshot of the WAL.
            self._db = sqlite3.connect(uri, uri=True, timeout=5.0, isolation_level=None)
        except sqlite3.Error as error:
            raise ChatDBUnavailable(path, str(error)) from error
        self._db.row_factory = sqlite3.Row
        try:
            # Opening is lazy: reading is what fails without Full Disk Access.
            self._query("SELECT 1 FROM message LIMIT 1")
        except ChatDBUnavailable:
            self._db.close()
            raise

    def last_rowid(self) -> int:
        """The newest message's ROWID (0 for none): where a first sync starts."""
        rows = self._query("SELECT COALESCE(MAX(ROWID), 0) FROM message")
        return int(rows[0][0])

    def received_after(self, rowid: int, limit: int = 200) -> Scan:
        """Up to `limit` rows past `rowid`, keeping the messages received: not our own, not
        reactions, not group events, not attachment-only."""
        rows = self._query(_RECEIVED_AFTER, (rowid, limit))
        messages: list[ChatMessage] = []
        for row in rows:
            if row["is_from_me"] or row["item_type"] or row["associated_message_type"]:
                continue
            message = _message(row)
            if message.text:
                messages.append(message)
        return Scan(messages, rows[-1]["rowid"] if rows else rowid)

    def sent_since(self, at: datetime, limit: int = 500) -> list[ChatMessage]:
        """Messages sent from this Mac dated `at` or later, oldest first."""
        return [_message(row) for row in self._query(_SENT_SINCE, (to_apple_time(at), limit))]

    def receipts(self, guids: Sequence[str]) -> list[Receipt]:
        """Delivery, read and error state of the given messages; unknown guids are left out."""
        wanted = list(dict.fromkeys(guids))
        size = min(_IN_CHUNK, self._db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        receipts: list[Receipt] = []
        for start in range(0, len(wanted), size):
            chunk = wanted[start : start + size]
            sql = _RECEIPTS + "(" + ", ".join("?" * len(chunk)) + ")"
            receipts.extend(
                Receipt(
                    guid=row["guid"],
                    delivered_at=apple_time(row["date_delivered"]),
                    read_at=apple_time(row["date_read"]),
                    error=row["error"] or 0,
                    delivered=bool(row["is_delivered"]),
                    read=bool(row["is_read"]),
                )
                for row in self._query(sql, chunk)
            )
        return receipts

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ChatDB:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _query(self, sql: str, parameters: Sequence[object] = ()) -> list[sqlite3.Row]:
        try:
            # fetchall: a half-read cursor would hold its read transaction open.
            return self._db.execute(sql, parameters).fetchall()
        except sqlite3.DatabaseError as error:
            raise ChatDBUnavailable(self.path, str(error)) from error


def _message(row: sqlite3.Row) -> ChatMessage:
    return ChatMessage(
        rowid=row["rowid"],
        guid=row["guid"],
        sender=row["sender"],
        text=text_of(row["text"], row["attributedBody"]),
        at=apple_time(row["date"]) or APPLE_EPOCH,  # never 0 in practice; keep the row
        service=row["service"],
        is_from_me=bool(row["is_from_me"]),
        chat=row["chat"],
    )
