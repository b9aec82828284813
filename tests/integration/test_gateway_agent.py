"""The gateway agent in-process against a real served pigeon, reading a synthetic chat.db
(tests/fakes/chatdb.py: Messages' real tables and columns): what the Mac receives reaches
/v1/inbound once, history and reactions do not, and the receipts of what it sent become
the message's delivered and read statuses."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pigeon.client import Client
from pigeon.config import Settings
from pigeon.gateway.agent import Agent
from pigeon.gateway.clientserver import ClientServer
from pigeon.gateway.drivers.console import ConsoleDriver
from pigeon.gateway.inbound import InboundSync
from pigeon.gateway.journal import Journal
from pigeon.gateway.settings import load
from pigeon.services.context import Services
from tests.fakes.chatdb import FakeChatDB, build_chat_db
from tests.integration.test_api_support import OPERATOR_TOKEN, PHONE
from tests.integration.test_client import serving

pytestmark = pytest.mark.anyio
FRIEND = "+14155550123"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, lease_seconds=60, operator_token=OPERATOR_TOKEN)


@pytest.fixture
def base_url(container: Services) -> Iterator[str]:
    with serving(container) as url:
        yield url


@pytest.fixture
def admin(base_url: str) -> Iterator[Client]:
    with Client(base_url, OPERATOR_TOKEN) as operator:
        key = operator.workspaces.create("acme", timezone="Europe/London")["api_key"]
    with Client(base_url, key) as client:
        yield client


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[FakeChatDB]:
    with build_chat_db(tmp_path / "chat.db") as fake:
        yield fake


async def until(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := await asyncio.to_thread(check)):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return value


async def test_inbound_sync_and_receipts_through_a_real_server(
    base_url: str, admin: Client, chat: FakeChatDB, tmp_path: Path
) -> None:
    token = admin.devices.create("mac")["token"]
    now = datetime.now(UTC)
    chat.receive(FRIEND, "an old message, from before the agent ran", at=now)
    message = admin.messages.create(PHONE, "See you at 5?")

    settings = load(
        env={
            "PIGEON_URL": base_url,
            "PIGEON_DEVICE_TOKEN": token,
            "PIGEON_GATEWAY_DRIVER": "console",
            "PIGEON_GATEWAY_INBOUND": "on",
            "PIGEON_CHAT_DB": str(chat.path),
            "PIGEON_GATEWAY_JOURNAL": str(tmp_path / "journal.db"),
            "PIGEON_INBOUND_SECONDS": "0.1",
            "PIGEON_POLL_SECONDS": "0.5",
        }
    )
    server = ClientServer(settings.url, settings.token, poll_seconds=settings.poll_seconds)
    journal = Journal(settings.journal)
    assert settings.chat_db == chat.path
    printed = io.StringIO()
    agent = Agent(
        settings,
        server,
        ConsoleDriver(printed),
        journal,
        InboundSync(settings.chat_db, journal, server),
    )
    running = asyncio.create_task(agent.run())
    try:
        status = lambda: admin.messages.get(message["id"])["status"]  # noqa: E731
        await until(lambda: status() == "sent", "the send")
        [line] = printed.getvalue().splitlines()
        assert json.loads(line)["body"] == "See you at 5?"

        # Messages records the send in chat.db; then the receipts arrive.
        sent_guid = chat.sent(PHONE, "See you at 5?", at=datetime.now(UTC))
        chat.deliver(sent_guid, datetime.now(UTC))
        await until(lambda: status() == "delivered", "the delivered receipt")
        chat.read(sent_guid, datetime.now(UTC))
        await until(lambda: status() == "read", "the read receipt")

        # What the Mac receives now is pushed once; the history and a reaction are not.
        chat.receive(FRIEND, "Can we make it 6?", at=datetime.now(UTC))
        chat.receive(FRIEND, "Great", at=datetime.now(UTC), reaction=True)
        chat.receive(
            FRIEND, "stored only in attributedBody 🎉", at=datetime.now(UTC), attributed=True
        )

        def inbound() -> list[str]:
            items = admin.inbound.list()["items"]
            return [item["text"] for item in items] if len(items) >= 2 else []

        texts = await until(inbound, "the inbound messages")
        assert sorted(texts) == ["Can we make it 6?", "stored only in attributedBody 🎉"]
        await asyncio.sleep(0.5)  # a few more passes push nothing again
        assert len(admin.inbound.list()["items"]) == 2
    finally:
        agent.stop()
        await asyncio.wait_for(running, 15)
        await server.aclose()
        journal.close()
    history = [event["to"] for event in admin.messages.get(message["id"])["events"]]
    assert history[-3:] == ["sent", "delivered", "read"]


async def test_the_cursor_survives_a_restart(
    base_url: str, admin: Client, chat: FakeChatDB, tmp_path: Path
) -> None:
    """Messages received while the agent was stopped are pushed when it starts again; what
    it pushed before is not pushed twice."""
    token = admin.devices.create("mac")["token"]
    env = {
        "PIGEON_URL": base_url,
        "PIGEON_DEVICE_TOKEN": token,
        "PIGEON_GATEWAY_DRIVER": "console",
        "PIGEON_GATEWAY_INBOUND": "on",
        "PIGEON_CHAT_DB": str(chat.path),
        "PIGEON_GATEWAY_JOURNAL": str(tmp_path / "journal.db"),
    }
    settings = load(env=env)
    assert settings.chat_db is not None

    async def one_pass() -> None:
        server = ClientServer(settings.url, settings.token, poll_seconds=0)
        journal = Journal(settings.journal)
        sync = InboundSync(settings.chat_db, journal, server)  # type: ignore[arg-type]
        try:
            await sync.step()
        finally:
            sync.close()
            journal.close()
            await server.aclose()

    await one_pass()  # the first start: the cursor starts after what is there
    chat.receive(FRIEND, "first", at=datetime.now(UTC))
    await one_pass()
    chat.receive(FRIEND, "while stopped", at=datetime.now(UTC))
    # An old conversation synced from iCloud arrives as new rows: not pushed.
    chat.receive(FRIEND, "from 2019", at=datetime(2019, 5, 1, tzinfo=UTC))
    await one_pass()
    texts = [item["text"] for item in admin.inbound.list()["items"]]
    assert sorted(texts) == ["first", "while stopped"]
