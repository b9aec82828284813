"""Reading Messages' chat.db: Apple dates, typedstream bodies, what counts as received, and
that the reader sees Messages' writes as they commit and never writes itself."""

from __future__ import annotations

import calendar
import hashlib
import os
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pigeon.gateway.chatdb import (
    APPLE_EPOCH,
    ChatDB,
    ChatDBUnavailable,
    Scan,
    apple_time,
    text_of,
    to_apple_time,
)
from tests.fakes.chatdb import FakeChatDB, build_chat_db, encode_attributed_body

UNIX_2001 = 978_307_200  # 2001-01-01T00:00:00Z as a Unix timestamp
T0 = datetime(2026, 3, 29, 0, 30, 15, 250_000, tzinfo=UTC)
ALICE = "+14155550100"
BOB = "bob@example.com"

# A real attributedBody ("Fesker") as Messages wrote it, from the hex dump in the Stack
# Overflow question "Inspecting files of type NeXT/Apple typedstream version 4 (NSArchiver)".
REAL_BLOB = bytes.fromhex(
    """
    04 0B 73 74 72 65 61 6D 74 79 70 65 64 81 E8 03 84 01 40 84 84 84 12 4E 53 41 74 74
    72 69 62 75 74 65 64 53 74 72 69 6E 67 00 84 84 08 4E 53 4F 62 6A 65 63 74 00 85 92
    84 84 84 08 4E 53 53 74 72 69 6E 67 01 94 84 01 2B 06 46 65 73 6B 65 72 86 84 02 69
    49 01 06 92 84 84 84 0C 4E 53 44 69 63 74 69 6F 6E 61 72 79 00 94 84 01 69 01 92 84
    96 96 1D 5F 5F 6B 49 4D 4D 65 73 73 61 67 65 50 61 72 74 41 74 74 72 69 62 75 74 65
    4E 61 6D 65 86 92 84 84 84 08 4E 53 4E 75 6D 62 65 72 00 84 84 07 4E 53 56 61 6C 75
    65 00 94 84 01 2A 84 99 99 00 86 86 86
    """
)
# An NSMutableAttributedString, as some messages are archived: the string's class chain is
# NSMutableString -> NSString, so NSObject is reference 0x95, not 0x94, and the bytes between
# "NSString" and "+" are not the plain case's. Reconstructed, not copied: the class chain as
# in imessage-exporter's test_data/typedstream/AttributedBodyTextOnly, the rest as above.
MUTABLE_BLOB = (
    b"\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@\x84\x84\x84\x19NSMutableAttributedString"
    b"\x00\x84\x84\x12NSAttributedString\x00\x84\x84\x08NSObject\x00\x85\x92\x84\x84\x84"
    b"\x0fNSMutableString\x01\x84\x84\x08NSString\x01\x95\x84\x01+\x0aNoter test"
    b"\x86\x84\x02iI\x01\x0a\x92\x84\x84\x84\x0cNSDictionary\x00\x95\x84\x01i\x01\x92\x84"
    b"\x98\x98\x1d__kIMMessagePartAttributeName\x86\x92\x84\x84\x84\x08NSNumber\x00\x84"
    b"\x84\x07NSValue\x00\x96\x84\x01*\x84\x9b\x9b\x00\x86\x86\x86"
)


def apple_seconds(*when: int) -> int:
    """Seconds since 2001-01-01 UTC, computed from the Unix clock, not from APPLE_EPOCH."""
    return calendar.timegm((*when, 0, 0, 0)) - UNIX_2001


@pytest.fixture
def local_tz_with_dst(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run under Europe/Berlin, which changes to summer time at 01:00 UTC on 2026-03-29: a
    conversion through local time would be an hour off on one side of it."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeChatDB]:
    with build_chat_db(tmp_path / "chat.db") as db:
        yield db


@pytest.fixture
def chat(fake: FakeChatDB) -> Iterator[ChatDB]:
    with ChatDB(fake.path) as reader:
        yield reader


# --- Apple time -----------------------------------------------------------------------


@pytest.mark.usefixtures("local_tz_with_dst")
def test_nanoseconds_since_2001_are_read_exactly_in_utc() -> None:
    # 2026-03-29 00:30:15.123456789Z and 01:30:15Z: either side of Berlin's DST change.
    before = apple_seconds(2026, 3, 29, 0, 30, 15) * 10**9 + 123_456_789
    after = apple_seconds(2026, 3, 29, 1, 30, 15) * 10**9

    assert apple_time(before) == datetime(2026, 3, 29, 0, 30, 15, 123_456, tzinfo=UTC)
    assert apple_time(after) == datetime(2026, 3, 29, 1, 30, 15, tzinfo=UTC)
    read = apple_time(after)
    assert read is not None and read.utcoffset() == timedelta(0)


@pytest.mark.usefixtures("local_tz_with_dst")
def test_seconds_since_2001_from_before_macos_10_13() -> None:
    assert apple_time(apple_seconds(2012, 7, 1, 12, 0, 0)) == datetime(2012, 7, 1, 12, tzinfo=UTC)
    assert apple_time(apple_seconds(2012, 7, 1, 12, 0, 0) + 0.5) == datetime(
        2012, 7, 1, 12, 0, 0, 500_000, tzinfo=UTC
    )


def test_nanoseconds_as_a_float_are_nanoseconds() -> None:
    value = float(apple_seconds(2026, 1, 2, 3, 4, 5) * 10**9)
    assert apple_time(value) == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_the_unit_threshold_is_1e11() -> None:
    assert apple_time(10**11 - 1) == APPLE_EPOCH + timedelta(seconds=10**11 - 1)  # year 5170
    assert apple_time(10**11) == APPLE_EPOCH + timedelta(seconds=100)  # 100 s, in ns


@pytest.mark.parametrize("value", [0, 0.0, None])
def test_zero_and_null_are_not_yet(value: int | float | None) -> None:
    assert apple_time(value) is None


def test_a_corrupt_date_reads_as_none_rather_than_raising() -> None:
    assert apple_time(-(10**10) * 10**9 * 10**3) is None


def test_to_apple_time_is_nanoseconds_and_round_trips() -> None:
    assert to_apple_time(datetime(2001, 1, 1, 0, 0, 1, tzinfo=UTC)) == 10**9
    assert apple_time(to_apple_time(T0)) == T0
    with pytest.raises(ValueError, match="naive"):
        to_apple_time(datetime(2026, 1, 1))


# --- attributedBody -------------------------------------------------------------------


def test_the_fake_encodes_a_real_messages_blob_byte_for_byte() -> None:
    assert encode_attributed_body("Fesker") == REAL_BLOB
    assert text_of(None, REAL_BLOB) == "Fesker"


def test_text_column_wins_over_the_body() -> None:
    assert text_of("from text", encode_attributed_body("from body")) == "from text"


@pytest.mark.parametrize("text", [None, "", "  ", "\ufffc"])
def test_the_body_is_read_when_text_is_empty(text: str | None) -> None:
    assert text_of(text, encode_attributed_body("from body")) == "from body"


def test_a_mutable_string_chain_is_read_too() -> None:
    assert text_of(None, MUTABLE_BLOB) == "Noter test"


@pytest.mark.parametrize(
    "body",
    [
        "hi",
        "x" * 127,  # the longest one-byte length
        "y" * 128,  # the shortest 0x81 length
        "z" * 300,  # 300 = 0x012c: both length bytes matter, little-endian
        "👋🏽 " * 20,  # 20 characters' worth of emoji, 180 bytes: the length counts bytes
        "𠜎𠜱𠝹 🎉 (outside the BMP: four UTF-8 bytes, two UTF-16 units each)",
        "line one\nline two\tand ↄ, whose UTF-8 holds 0x86 0x84",
        "w" * 40_000,  # the 0x82 four-byte length
    ],
)
def test_body_strings_of_every_length_form(body: str) -> None:
    blob = encode_attributed_body(body)
    size = len(body.encode())
    length_at = blob.index(b"NSString\x01\x94\x84\x01+") + 13
    assert blob[length_at] == (size if size < 0x80 else 0x81 if size < 0x8000 else 0x82)
    assert text_of(None, blob) == body.strip()


def test_attachment_placeholders_are_removed_and_the_rest_stripped() -> None:
    assert text_of(None, encode_attributed_body("\ufffc look at this \ufffc")) == "look at this"
    assert text_of("\ufffc", None) == ""


@pytest.mark.parametrize(
    "blob",
    [
        None,
        b"",
        b"\x00\xff" * 50,
        b"bplist00\xd4\x01\x02NSString\x00",  # keyed archive, not a typedstream
        REAL_BLOB[: REAL_BLOB.index(b"Fesker") + 3],  # cut inside the string
        REAL_BLOB.replace(b"+\x06Fesker", b"+\x7fFesker"),  # length beyond the blob
        REAL_BLOB.replace(b"+\x06", b"+\x85"),  # a tag (nil) where the length goes
        REAL_BLOB.replace(b"+\x06", b"+\x81"),  # 0x81, then "Fe" read as 25926
        REAL_BLOB.replace(b"Fesker", b"Fe\xffker"),  # not UTF-8
        REAL_BLOB.replace(b"\x84\x01+", b"\x84\x01*"),  # no '+' value after NSString
        REAL_BLOB[: REAL_BLOB.index(b"+") + 1],  # ends where the length should be
    ],
)
def test_malformed_bodies_read_as_empty(blob: bytes | None) -> None:
    assert text_of(None, blob) == ""


# --- received_after -------------------------------------------------------------------


def test_received_after_keeps_received_messages_only(fake: FakeChatDB, chat: ChatDB) -> None:
    hello = fake.receive(ALICE, "hello", at=T0)
    fake.sent(ALICE, "hi back", at=T0 + timedelta(seconds=1))
    fake.receive(ALICE, "hi back", at=T0 + timedelta(seconds=2), reaction=True)
    fake.rename("chat900", "Team", by=BOB, at=T0 + timedelta(seconds=3))
    fake.receive(ALICE, at=T0 + timedelta(seconds=4), attachment=True)
    in_group = fake.receive(
        BOB, "lunch?", at=T0 + timedelta(seconds=5), attributed=True, chat="chat900"
    )
    sms = fake.receive("+447700900123", "code 1234", at=T0 + timedelta(seconds=6), service="SMS")

    scan = chat.received_after(0)

    assert [m.guid for m in scan.messages] == [hello, in_group, sms]
    first, group, text = scan.messages
    assert (first.sender, first.text, first.at, first.service) == (ALICE, "hello", T0, "iMessage")
    assert first.is_from_me is False and first.chat is None
    assert (group.sender, group.text, group.chat) == (BOB, "lunch?", "chat900")
    assert group.at == T0 + timedelta(seconds=5)
    assert (text.sender, text.service) == ("+447700900123", "SMS")
    assert [m.rowid for m in scan.messages] == [1, 6, 7]
    assert scan.last_rowid == 7


def test_an_attachment_with_a_caption_keeps_the_caption(fake: FakeChatDB, chat: ChatDB) -> None:
    fake.receive(ALICE, "our cat", at=T0, attachment=True, attributed=True)
    assert [m.text for m in chat.received_after(0).messages] == ["our cat"]


def test_the_cursor_moves_past_skipped_rows(fake: FakeChatDB, chat: ChatDB) -> None:
    fake.receive(ALICE, "one", at=T0)
    fake.sent(ALICE, "two", at=T0)
    fake.receive(ALICE, "two", at=T0, reaction=True)

    scan = chat.received_after(0)
    assert [m.text for m in scan.messages] == ["one"]
    assert scan.last_rowid == 3  # the reaction's row, not the last message's

    assert chat.received_after(1) == Scan([], 3)  # nothing but skipped rows: still moves
    assert chat.received_after(3) == Scan([], 3)  # nothing new: stays


def test_received_after_reads_in_batches_of_limit(fake: FakeChatDB, chat: ChatDB) -> None:
    for n in range(5):
        fake.receive(ALICE, f"m{n}", at=T0 + timedelta(seconds=n))
    cursor, batches = 0, []
    while True:
        scan = chat.received_after(cursor, limit=2)
        if scan.last_rowid <= cursor:
            break
        batches.append([m.text for m in scan.messages])
        cursor = scan.last_rowid
    assert batches == [["m0", "m1"], ["m2", "m3"], ["m4"]]


def test_last_rowid_is_zero_then_the_newest_row(fake: FakeChatDB, chat: ChatDB) -> None:
    assert chat.last_rowid() == 0
    fake.receive(ALICE, "a", at=T0)
    fake.sent(ALICE, "b", at=T0)
    assert chat.last_rowid() == 2


def test_rows_committed_after_opening_are_seen(fake: FakeChatDB, chat: ChatDB) -> None:
    assert chat.received_after(0).messages == []
    fake.receive(ALICE, "first", at=T0)
    assert [m.text for m in chat.received_after(0).messages] == ["first"]

    fake.checkpoint()  # the WAL folded into chat.db, as SQLite does for Messages
    fake.receive(ALICE, "second", at=T0)
    assert [m.text for m in chat.received_after(0).messages] == ["first", "second"]
    assert chat.last_rowid() == 2


# --- sent_since and receipts ----------------------------------------------------------


def test_sent_since_finds_our_rows_from_a_time_on(fake: FakeChatDB, chat: ChatDB) -> None:
    fake.sent(ALICE, "too early", at=T0 - timedelta(microseconds=1))
    at_t0 = fake.sent(ALICE, "at t0", at=T0)
    fake.receive(ALICE, "not ours", at=T0 + timedelta(seconds=1))
    later = fake.sent(BOB, "later", at=T0 + timedelta(seconds=2))

    rows = chat.sent_since(T0)

    assert [(r.guid, r.sender, r.text, r.is_from_me) for r in rows] == [
        (at_t0, ALICE, "at t0", True),
        (later, BOB, "later", True),
    ]
    assert rows[1].at == T0 + timedelta(seconds=2)
    assert [r.guid for r in chat.sent_since(T0, limit=1)] == [at_t0]


def test_sent_rows_without_a_handle(fake: FakeChatDB, chat: ChatDB) -> None:
    direct = fake.sent(ALICE, "direct", at=T0)
    fake._db.execute("UPDATE message SET handle_id = 0 WHERE guid = ?", (direct,))
    group = fake.sent(BOB, "to the team", at=T0, chat="chat900")

    rows = {r.guid: r for r in chat.sent_since(T0)}

    # One-to-one: the chat's identifier is the other side's handle. A group: no one handle.
    assert (rows[direct].sender, rows[direct].chat) == (ALICE, None)
    assert (rows[group].sender, rows[group].chat) == ("", "chat900")


def test_receipts_report_delivered_read_and_error(fake: FakeChatDB, chat: ChatDB) -> None:
    pending = fake.sent(ALICE, "a", at=T0)
    delivered = fake.sent(ALICE, "b", at=T0)
    read = fake.sent(ALICE, "c", at=T0)
    failed = fake.sent(ALICE, "d", at=T0)
    fake.deliver(delivered, T0 + timedelta(seconds=1))
    fake.deliver(read, T0 + timedelta(seconds=1))
    fake.read(read, T0 + timedelta(seconds=9))
    fake.fail(failed)

    found = {r.guid: r for r in chat.receipts([pending, delivered, read, failed, "NO-SUCH"])}

    assert set(found) == {pending, delivered, read, failed}
    assert (found[pending].delivered_at, found[pending].read_at, found[pending].error) == (
        None,
        None,
        0,
    )
    assert found[delivered].delivered_at == T0 + timedelta(seconds=1)
    assert found[delivered].read_at is None
    assert found[read].read_at == T0 + timedelta(seconds=9)
    assert found[failed].error == 22 and found[failed].delivered_at is None
    assert chat.receipts([]) == []


def test_receipts_stay_under_sqlites_variable_limit(fake: FakeChatDB, chat: ChatDB) -> None:
    guids = [fake.sent(ALICE, f"m{n}", at=T0) for n in range(20)]
    chat._db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 7)  # as an old SQLite's 999
    assert sorted(r.guid for r in chat.receipts(guids + guids)) == sorted(guids)


# --- read-only, and when chat.db cannot be read ---------------------------------------


def _digest(path: Path) -> dict[str, str]:
    files = [path, path.with_name(path.name + "-wal")]
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.exists()}


def test_the_reader_cannot_write_and_changes_nothing(fake: FakeChatDB) -> None:
    guid = fake.sent(ALICE, "a", at=T0)
    fake.receive(ALICE, "b", at=T0, attributed=True)
    before = _digest(fake.path)

    with ChatDB(fake.path) as chat:
        chat.last_rowid()
        chat.received_after(0)
        chat.sent_since(T0)
        chat.receipts([guid])
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            chat._db.execute("UPDATE message SET text = 'x'")
        with pytest.raises(sqlite3.OperationalError):  # "disk I/O error", not a new mode
            chat._db.execute("PRAGMA journal_mode=DELETE")

    assert _digest(fake.path) == before
    assert fake._db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert len(before) == 2  # chat.db and its WAL were both compared


def _says_what_to_do(error: ChatDBUnavailable) -> None:
    assert "Full Disk Access" in str(error)
    assert "pigeon gateway doctor" in str(error)


def test_a_missing_chat_db_is_unavailable_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "Messages" / "chat.db"
    path.parent.mkdir()
    with pytest.raises(ChatDBUnavailable) as raised:
        ChatDB(path)
    _says_what_to_do(raised.value)
    assert str(path) in str(raised.value)
    assert not path.exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_chat_db_is_unavailable(fake: FakeChatDB) -> None:
    fake.path.chmod(0)
    try:
        with pytest.raises(ChatDBUnavailable) as raised:
            ChatDB(fake.path)
    finally:
        fake.path.chmod(0o644)
    _says_what_to_do(raised.value)
    assert isinstance(raised.value.__cause__, sqlite3.Error)


def test_a_file_that_is_not_a_database_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    path.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(ChatDBUnavailable) as raised:
        ChatDB(path)
    _says_what_to_do(raised.value)
    assert path.read_bytes() == b"not sqlite at all" * 100


def test_a_directory_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ChatDBUnavailable, match="directory"):
        ChatDB(tmp_path)


def test_uri_characters_in_the_path_are_quoted(tmp_path: Path) -> None:
    folder = tmp_path / "Library 100% #1?mode=rwc"
    folder.mkdir()
    with build_chat_db(folder / "chat.db") as fake, ChatDB(fake.path) as chat:
        fake.receive(ALICE, "found", at=T0)
        assert [m.text for m in chat.received_after(0).messages] == ["found"]


def test_a_delivered_flag_without_a_date_is_a_delivery(tmp_path: Path) -> None:
    """Messages often marks an SMS `is_delivered` and leaves date_delivered at 0."""
    with build_chat_db(tmp_path / "chat.db") as fake:
        at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
        sms = fake.sent("+14155550100", "hi", at=at, service="SMS")
        pending = fake.sent("+14155550100", "later", at=at)
        fake.deliver(sms, None)
        with ChatDB(fake.path) as chat:
            receipts = {r.guid: r for r in chat.receipts([sms, pending])}
    assert (receipts[sms].delivered, receipts[sms].delivered_at) == (True, None)
    assert not receipts[pending].delivered
