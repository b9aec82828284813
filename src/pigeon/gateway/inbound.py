"""Inbound sync: what the Mac received, and what became of what it sent.

Each step reads chat.db (read-only) past the journal's cursor and pushes the messages it
received to `POST /v1/gateway/inbound`; the cursor moves only once the server has them
(stored once by GUID, so a push repeated after a crash changes nothing). Then it finds the
chat.db rows of the messages the agent sent, and turns their delivered and read receipts
(or Messages' own send errors) into reports, through the journal like every other result.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pigeon.gateway.chatdb import ChatDB
from pigeon.gateway.server import Refused

if TYPE_CHECKING:
    from pathlib import Path

    from pigeon.gateway.chatdb import ChatMessage
    from pigeon.gateway.journal import Entry, Journal
    from pigeon.gateway.server import Server

log = logging.getLogger("pigeon.gateway")

CURSOR = "chat.db"
SINCE = "chat.db since"  # when inbound sync first started (Unix seconds)
MATCH_SECONDS = 600  # how long after a send its chat.db row is looked for
MATCH_SLACK = 5.0  # Messages may date the row a little before the agent's own clock
RECEIPT_SECONDS = 7 * 86_400  # how long receipts are watched for


class InboundSync:
    def __init__(self, chat_db: Path, journal: Journal, server: Server) -> None:
        self.chat_db = chat_db
        self.journal = journal
        self.server = server
        self._chat: ChatDB | None = None

    @property
    def chat(self) -> ChatDB:
        if self._chat is None:  # opened on first use, and again after a failure
            self._chat = ChatDB(self.chat_db)
        return self._chat

    def close(self) -> None:
        if self._chat is not None:
            self._chat.close()
            self._chat = None

    async def step(self) -> bool:
        """One pass; True when new receipts wait to be reported. Raises when the server or
        chat.db cannot be reached (the caller backs off; nothing was skipped)."""
        try:
            await self._push_received()
            return self._follow_sent()
        except Exception:
            self.close()  # a fresh connection next time (chat.db replaced, access granted)
            raise

    async def _push_received(self) -> None:
        cursor = self.journal.cursor(CURSOR)
        if cursor is None:
            # First start: from now on, not the years of history the Mac holds.
            cursor = self.chat.last_rowid()
            self.journal.set_cursor(CURSOR, cursor)
            self.journal.set_cursor(SINCE, int(time.time()))
            log.info("inbound sync starts after chat.db row %d", cursor)
        # History can still arrive as new rows (Messages in iCloud syncing old
        # conversations): what was received before the first start is not pushed.
        since = self.journal.cursor(SINCE) or 0
        while True:
            scan = self.chat.received_after(cursor)
            fresh = [m for m in scan.messages if m.at.timestamp() >= since]
            if fresh:
                await self._push(fresh)
            if scan.last_rowid <= cursor:
                return
            cursor = scan.last_rowid
            self.journal.set_cursor(CURSOR, cursor)

    async def _push(self, messages: list[ChatMessage]) -> None:
        try:
            accepted, duplicates = await self.server.push_inbound(messages)
        except Refused as error:
            if error.status not in (400, 413, 422):
                raise  # a revoked token: try again later, skip nothing
            # The server will never take these as they are: skipped, so that one odd row
            # does not hold back everything received after it.
            log.error(
                "the server refused %d received messages (%s): skipped %s",
                len(messages),
                error,
                ", ".join(m.guid for m in messages),
            )
            return
        log.info("pushed %d received messages (%d already there)", accepted, duplicates)

    def _follow_sent(self) -> bool:
        now = time.time()
        self._link_chat_rows(now)
        watching = self.journal.watching_receipts(since=now - RECEIPT_SECONDS)
        if not watching:
            return False
        changes = []
        for receipt in self.chat.receipts(list(watching)):
            entry = watching[receipt.guid]
            if receipt.error:
                seen = "failed"
            elif receipt.read_at is not None or receipt.read:
                seen = "read"
            elif receipt.delivered_at is not None or receipt.delivered:
                seen = "delivered"
            else:
                continue
            if seen != entry.receipt:
                changes.append((entry.message_id, seen))
        self.journal.record_receipts(changes)
        return bool(changes)

    def _link_chat_rows(self, now: float) -> None:
        """Find the chat.db row of each recent send: the first outgoing row to the same
        handle with the same text, dated from the send on, that no other send took."""
        waiting = self.journal.awaiting_chat_row(since=now - MATCH_SECONDS)
        if not waiting:
            return
        earliest = min(e.started_at for e in waiting) - MATCH_SLACK
        rows = self.chat.sent_since(datetime.fromtimestamp(earliest, UTC))
        taken = self.journal.linked_since(earliest - MATCH_SECONDS)
        for entry in waiting:
            row = _match(entry, rows, taken)
            if row is not None:
                taken.add(row.guid)
                self.journal.link_chat_row(entry.message_id, row.guid)


def _match(entry: Entry, rows: list[ChatMessage], taken: set[str]) -> ChatMessage | None:
    for row in rows:
        if row.guid in taken or row.at.timestamp() < entry.started_at - MATCH_SLACK:
            continue
        if _same_handle(row.sender, entry.recipient) and row.text.strip() == entry.body.strip():
            return row
    return None


def _same_handle(a: str, b: str) -> bool:
    def plain(handle: str) -> str:
        return "".join(handle.split()).lower()

    return plain(a) == plain(b)
