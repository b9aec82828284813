"""Inbound sync's cursor: it moves only past what the server has, or will never take."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pigeon.gateway.chatdb import ChatMessage
from pigeon.gateway.inbound import CURSOR, InboundSync
from pigeon.gateway.journal import Journal
from pigeon.gateway.server import Refused, Unreachable
from tests.fakes.chatdb import build_chat_db

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Server:
    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.pushed: list[str] = []

    async def push_inbound(self, messages: Sequence[ChatMessage]) -> tuple[int, int]:
        if self.error is not None:
            raise self.error
        self.pushed += [m.text for m in messages]
        return len(messages), 0


@pytest.mark.parametrize(
    ("error", "moves"),
    [
        (None, True),
        (Refused(422, "messages[0].from: too long"), True),  # never taken: skipped
        (Refused(401, "invalid or revoked device token"), False),
        (Unreachable("connection refused"), False),
    ],
)
async def test_the_cursor_moves_only_past_what_is_settled(
    tmp_path: Path, error: Exception | None, moves: bool
) -> None:
    with build_chat_db(tmp_path / "chat.db") as fake:
        journal = Journal(tmp_path / "journal.db")
        server = Server(error)
        sync = InboundSync(fake.path, journal, server)  # type: ignore[arg-type]
        await sync.step()  # the first start: the cursor starts at the newest row
        start = journal.cursor(CURSOR)
        fake.receive("+14155550123", "hello", at=datetime.now(UTC))
        if error is None or moves:
            await sync.step()
        else:
            with pytest.raises(type(error)):
                await sync.step()
        moved = journal.cursor(CURSOR) != start
        sync.close()
        journal.close()
    assert moved is moves
    assert server.pushed == (["hello"] if error is None else [])
