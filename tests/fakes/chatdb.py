"""A synthetic Messages database (chat.db), written the way Messages writes it.

The tables carry the real macOS 14/15 columns, types and defaults (`.schema` of a real
chat.db; `message` abridged to the columns that matter here plus a few neighbours), the
database is in WAL mode, and every change is committed on its own read-write connection,
so a reader sees rows appear while it holds chat.db open, as it would with Messages
running. Dates are nanoseconds since 2001-01-01 UTC, as on macOS 10.13 and later.

`attributed=True` stores a body only in `attributedBody`, as an NSAttributedString
archived in Apple's typedstream format (`encode_attributed_body`), with `text` NULL, which
is how macOS 13+ stores many messages.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

_EPOCH = datetime(2001, 1, 1, tzinfo=UTC)
GROUP, DIRECT = 43, 45  # chat.style
LOVED = 2000  # associated_message_type of a "loved" tapback (2001-2005: the others)
RENAMED = 2  # item_type of a group rename (1: a member added or removed)

SCHEMA = """
CREATE TABLE message (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL,
    text TEXT, replace INTEGER DEFAULT 0, service_center TEXT, handle_id INTEGER DEFAULT 0,
    subject TEXT, country TEXT, attributedBody BLOB, version INTEGER DEFAULT 0,
    type INTEGER DEFAULT 0, service TEXT, account TEXT, account_guid TEXT,
    error INTEGER DEFAULT 0, date INTEGER, date_read INTEGER, date_delivered INTEGER,
    is_delivered INTEGER DEFAULT 0, is_finished INTEGER DEFAULT 0,
    is_emote INTEGER DEFAULT 0, is_from_me INTEGER DEFAULT 0, is_empty INTEGER DEFAULT 0,
    is_delayed INTEGER DEFAULT 0, is_auto_reply INTEGER DEFAULT 0,
    is_prepared INTEGER DEFAULT 0, is_read INTEGER DEFAULT 0,
    is_system_message INTEGER DEFAULT 0, is_sent INTEGER DEFAULT 0,
    has_dd_results INTEGER DEFAULT 0, is_service_message INTEGER DEFAULT 0,
    is_forward INTEGER DEFAULT 0, was_downgraded INTEGER DEFAULT 0,
    is_archive INTEGER DEFAULT 0, cache_has_attachments INTEGER DEFAULT 0,
    cache_roomnames TEXT, was_data_detected INTEGER DEFAULT 0,
    was_deduplicated INTEGER DEFAULT 0, is_audio_message INTEGER DEFAULT 0,
    is_played INTEGER DEFAULT 0, date_played INTEGER, item_type INTEGER DEFAULT 0,
    other_handle INTEGER DEFAULT 0, group_title TEXT, group_action_type INTEGER DEFAULT 0,
    share_status INTEGER DEFAULT 0, share_direction INTEGER DEFAULT 0,
    is_expirable INTEGER DEFAULT 0, expire_state INTEGER DEFAULT 0,
    message_action_type INTEGER DEFAULT 0, message_source INTEGER DEFAULT 0,
    associated_message_guid TEXT, associated_message_type INTEGER DEFAULT 0,
    balloon_bundle_id TEXT, payload_data BLOB, expressive_send_style_id TEXT,
    associated_message_range_location INTEGER DEFAULT 0,
    associated_message_range_length INTEGER DEFAULT 0, time_expressive_send_played INTEGER,
    message_summary_info BLOB, ck_sync_state INTEGER DEFAULT 0, ck_record_id TEXT,
    ck_record_change_tag TEXT, destination_caller_id TEXT, is_corrupt INTEGER DEFAULT 0,
    reply_to_guid TEXT, sort_id INTEGER, is_spam INTEGER DEFAULT 0,
    has_unseen_mention INTEGER DEFAULT 0, thread_originator_guid TEXT,
    thread_originator_part TEXT, syndication_ranges TEXT, synced_syndication_ranges TEXT,
    was_delivered_quietly INTEGER DEFAULT 0, did_notify_recipient INTEGER DEFAULT 0,
    date_retracted INTEGER, date_edited INTEGER, was_detonated INTEGER DEFAULT 0,
    part_count INTEGER, is_stewie INTEGER DEFAULT 0, is_sos INTEGER DEFAULT 0,
    is_critical INTEGER DEFAULT 0, bia_reference_id TEXT, is_kt_verified INTEGER DEFAULT 0,
    fallback_hash TEXT);
CREATE INDEX message_idx_date ON message(date);
CREATE INDEX message_idx_handle ON message(handle_id, date);
CREATE INDEX message_idx_is_sent_is_from_me_error ON message(is_sent, is_from_me, error);
CREATE INDEX message_idx_associated_message ON message(associated_message_guid);
CREATE TABLE handle (ROWID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, id TEXT NOT NULL,
    country TEXT, service TEXT NOT NULL, uncanonicalized_id TEXT, person_centric_id TEXT,
    UNIQUE (id, service));
CREATE TABLE chat (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL,
    style INTEGER, state INTEGER, account_id TEXT, properties BLOB, chat_identifier TEXT,
    service_name TEXT, room_name TEXT, account_login TEXT, is_archived INTEGER DEFAULT 0,
    last_addressed_handle TEXT, display_name TEXT, group_id TEXT,
    is_filtered INTEGER DEFAULT 0, successful_query INTEGER, engram_id TEXT,
    server_change_token TEXT, ck_sync_state INTEGER DEFAULT 0, original_group_id TEXT,
    last_read_message_timestamp INTEGER DEFAULT 0, cloudkit_record_id TEXT,
    last_addressed_sim_id TEXT, is_blackholed INTEGER DEFAULT 0,
    syndication_date INTEGER DEFAULT 0, syndication_type INTEGER DEFAULT 0,
    is_recovered INTEGER DEFAULT 0, is_deleting_incoming_messages INTEGER DEFAULT 0);
CREATE INDEX chat_idx_chat_identifier ON chat(chat_identifier);
CREATE TABLE chat_message_join (
    chat_id INTEGER REFERENCES chat (ROWID) ON DELETE CASCADE,
    message_id INTEGER REFERENCES message (ROWID) ON DELETE CASCADE,
    message_date INTEGER DEFAULT 0, PRIMARY KEY (chat_id, message_id));
CREATE INDEX chat_message_join_idx_message_id_only ON chat_message_join(message_id);
CREATE TABLE chat_handle_join (
    chat_id INTEGER REFERENCES chat (ROWID) ON DELETE CASCADE,
    handle_id INTEGER REFERENCES handle (ROWID) ON DELETE CASCADE,
    UNIQUE(chat_id, handle_id));
"""

# An NSAttributedString as NSArchiver writes it, up to the string's length: version 4,
# "streamtyped" (little-endian), system 1000 (0x81 + 2 bytes), the object (0x84 '@'), its
# class chain NSAttributedString -> NSObject -> nil, then the NSString whose contents are
# one '+' value. These bytes are those of a real Messages blob.
HEADER = (
    b"\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@\x84\x84\x84\x12NSAttributedString\x00"
    b"\x84\x84\x08NSObject\x00\x85\x92\x84\x84\x84\x08NSString\x01\x94\x84\x01+"
)
# After the string: end of the NSString, one attribute run ("iI": run 1, its length in
# UTF-16 units) and its dictionary {__kIMMessagePartAttributeName: 0}, as Messages writes.
_RUN = b"\x86\x84\x02iI\x01"
_ATTRIBUTES = (
    b"\x92\x84\x84\x84\x0cNSDictionary\x00\x94\x84\x01i\x01\x92\x84\x96\x96"
    b"\x1d__kIMMessagePartAttributeName\x86\x92\x84\x84\x84\x08NSNumber\x00"
    b"\x84\x84\x07NSValue\x00\x94\x84\x01*\x84\x99\x99\x00\x86\x86\x86"
)


def typedstream_int(value: int) -> bytes:
    """A non-negative typedstream integer: itself below 0x80, else 0x81 + int16 or 0x82 +
    int32, little-endian (0x80-0x91 are tags, so 128 and up cannot stand alone)."""
    if value < 0x80:
        return bytes([value])
    if value < 0x8000:
        return b"\x81" + value.to_bytes(2, "little")
    return b"\x82" + value.to_bytes(4, "little")


def encode_attributed_body(text: str) -> bytes:
    """`text` archived as Messages archives a plain message body. The length before the
    text counts UTF-8 bytes; the run length after it counts UTF-16 units."""
    encoded = text.encode("utf-8")
    utf16_units = len(text.encode("utf-16-le")) // 2
    return (
        HEADER
        + typedstream_int(len(encoded))
        + encoded
        + _RUN
        + typedstream_int(utf16_units)
        + _ATTRIBUTES
    )


def apple_ns(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("chat.db dates are UTC: pass an aware datetime")
    delta = at - _EPOCH
    return ((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds) * 1000


def new_guid() -> str:
    return str(uuid.uuid4()).upper()  # Messages' guids are upper-case UUIDs


@dataclass
class FakeChatDB:
    path: Path
    _db: sqlite3.Connection
    _last_received: dict[str, str] = field(default_factory=dict)  # chat guid -> message

    def receive(
        self,
        sender: str,
        text: str | None = None,
        *,
        at: datetime,
        attributed: bool = False,
        service: str = "iMessage",
        chat: str | None = None,
        reaction: bool = False,
        attachment: bool = False,
    ) -> str:
        """A message from `sender`, in a group chat `chat` (its chat_identifier) or the
        one-to-one chat. `reaction`: a "loved" tapback on the chat's last message.
        `attachment`: a file, whose place in the text is U+FFFC."""
        body = (("\ufffc" if attachment else "") + (text or "")) or None
        values: dict[str, object] = {
            "is_from_me": 0,
            "is_delivered": 1,
            "is_finished": 1,
            "cache_has_attachments": int(attachment),
        }
        chat_guid = _chat_guid(service, sender, chat)
        if reaction:
            target = self._last_received.get(chat_guid) or new_guid()
            values["associated_message_guid"] = f"p:0/{target}"
            values["associated_message_type"] = LOVED
            values["associated_message_range_length"] = len(text or "")
            body = f"Loved “{text or ''}”"
        if attributed and body is not None:
            values["attributedBody"] = encode_attributed_body(body)
        else:
            values["text"] = body
        guid = self._insert(sender, service, chat, at, values)
        if not reaction:
            self._last_received[chat_guid] = guid
        return guid

    def sent(
        self,
        recipient: str,
        text: str,
        *,
        at: datetime,
        service: str = "iMessage",
        chat: str | None = None,
    ) -> str:
        """A message this Mac sent to `recipient`, or to the group chat `chat` (then with
        handle_id 0, as Messages leaves it), not yet delivered."""
        values: dict[str, object] = {
            "text": text,
            "is_from_me": 1,
            "is_sent": 1,
            "is_finished": 1,
            "date_delivered": 0,
            "date_read": 0,
        }
        return self._insert(recipient, service, chat, at, values)

    def rename(self, chat: str, title: str, *, by: str, at: datetime) -> str:
        """`by` renames the group chat `chat`: a row with item_type 2 and no text."""
        values: dict[str, object] = {"item_type": RENAMED, "group_title": title, "is_finished": 1}
        return self._insert(by, "iMessage", chat, at, values)

    def deliver(self, guid: str, at: datetime | None) -> None:
        # None: the flag alone, as Messages often leaves an SMS (date_delivered stays 0).
        self._update(guid, is_delivered=1, date_delivered=apple_ns(at) if at else 0)

    def read(self, guid: str, at: datetime) -> None:
        self._update(guid, is_read=1, date_read=apple_ns(at))

    def fail(self, guid: str, error: int = 22) -> None:
        self._update(guid, error=error, is_sent=0)

    def checkpoint(self) -> None:
        """Move the WAL into the database file, as SQLite does now and then for Messages."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> FakeChatDB:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _insert(
        self, who: str, service: str, chat: str | None, at: datetime, values: dict[str, object]
    ) -> str:
        guid = new_guid()
        date = apple_ns(at)
        row = {"guid": guid, "service": service, "date": date, **values}
        with self._transaction():
            handle = self._handle(who, service)
            chat_id = self._chat(service, who, chat, handle)
            # Messages leaves handle_id 0 on what we send to a group.
            row["handle_id"] = 0 if chat is not None and values.get("is_from_me") else handle
            columns = ", ".join(row)
            marks = ", ".join("?" * len(row))
            cursor = self._db.execute(
                f"INSERT INTO message ({columns}) VALUES ({marks})", tuple(row.values())
            )
            self._db.execute(
                "INSERT INTO chat_message_join (chat_id, message_id, message_date) "
                "VALUES (?, ?, ?)",
                (chat_id, cursor.lastrowid, date),
            )
        return guid

    def _handle(self, who: str, service: str) -> int:
        found = self._db.execute(
            "SELECT ROWID FROM handle WHERE id = ? AND service = ?", (who, service)
        ).fetchone()
        if found is not None:
            return int(found[0])
        cursor = self._db.execute(
            "INSERT INTO handle (id, country, service, uncanonicalized_id) VALUES (?, ?, ?, ?)",
            (who, "us", service, who if "@" in who else who.lstrip("+")),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _chat(self, service: str, who: str, chat: str | None, handle: int) -> int:
        guid = _chat_guid(service, who, chat)
        found = self._db.execute("SELECT ROWID FROM chat WHERE guid = ?", (guid,)).fetchone()
        if found is not None:
            chat_id = int(found[0])
        else:
            cursor = self._db.execute(
                "INSERT INTO chat (guid, style, state, chat_identifier, service_name) "
                "VALUES (?, ?, 3, ?, ?)",
                (guid, DIRECT if chat is None else GROUP, chat or who, service),
            )
            assert cursor.lastrowid is not None
            chat_id = cursor.lastrowid
        self._db.execute(
            "INSERT OR IGNORE INTO chat_handle_join (chat_id, handle_id) VALUES (?, ?)",
            (chat_id, handle),
        )
        return chat_id

    def _update(self, guid: str, **values: object) -> None:
        assignments = ", ".join(f"{column} = ?" for column in values)
        with self._transaction():
            cursor = self._db.execute(
                f"UPDATE message SET {assignments} WHERE guid = ?", (*values.values(), guid)
            )
            if cursor.rowcount != 1:
                raise KeyError(guid)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error): each change lands whole."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


def _chat_guid(service: str, who: str, chat: str | None) -> str:
    # "iMessage;-;+14155550100" for one-to-one, "iMessage;+;chat123..." for a group.
    return f"{service};+;{chat}" if chat is not None else f"{service};-;{who}"


def build_chat_db(path: Path) -> FakeChatDB:
    """A new, empty chat.db at `path` in WAL mode, with its writer connection open."""
    db = sqlite3.connect(path, isolation_level=None)  # autocommit: we BEGIN ourselves
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    return FakeChatDB(path, db)
