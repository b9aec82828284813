"""The push path: console and recording senders through the sender worker."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest

from pigeon.channels.console import ConsoleSender
from pigeon.channels.testing import RecordingSender
from pigeon.domain.channels import ChannelKind
from pigeon.domain.transitions import MessageStatus
from pigeon.errors import PermanentChannelError, TransientChannelError
from pigeon.services import admin, messages, scheduling
from pigeon.services.context import Principal, Services
from pigeon.workers.sender import SenderWorker
from tests.factories import add_device, schedule

pytestmark = pytest.mark.anyio
M = MessageStatus


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _console(container: Services, who: Principal) -> str:
    [console] = [c for c in admin.list_channels(container, who) if c.kind == "console"]
    return console.id


async def test_console_channel_prints_and_marks_sent(container: Services, who: Principal) -> None:
    out = io.StringIO()
    senders = {ChannelKind.CONSOLE: ConsoleSender(out)}
    [message] = schedule(container, who, channel_id=_console(container, who))
    [gateway_message] = schedule(container, who)  # the gateway channel is not pushed
    scheduling.release_due(container)
    worker = SenderWorker(replace(container, senders=senders))
    assert await worker.run_once() == 1
    assert "to +14155552671: hello 0" in out.getvalue()
    assert messages.get(container, who, message.id).message.status is M.SENT
    assert messages.get(container, who, gateway_message.id).message.status is M.RELEASED


async def test_transient_failure_retries_and_permanent_fails(
    container: Services, who: Principal
) -> None:
    def fail(message: messages.Message) -> Exception:
        if message.body.endswith("0"):
            return TransientChannelError("provider busy")
        return PermanentChannelError("number unreachable")

    sender = RecordingSender(fail=fail)
    transient, permanent = schedule(container, who, count=2, channel_id=_console(container, who))
    scheduling.release_due(container)
    worker = SenderWorker(replace(container, senders={ChannelKind.CONSOLE: sender}))
    assert await worker.run_once() == 2
    retried = messages.get(container, who, transient.id).message
    assert retried.status is M.QUEUED and retried.last_error == "provider busy"
    failed = messages.get(container, who, permanent.id).message
    assert failed.status is M.FAILED and failed.last_error == "number unreachable"


async def test_disabled_channel_is_not_sent(container: Services, who: Principal) -> None:
    sender = RecordingSender()
    console = _console(container, who)
    schedule(container, who, channel_id=console)
    admin.update_channel(container, who, console, disabled=True)
    scheduling.release_due(container)
    worker = SenderWorker(replace(container, senders={ChannelKind.CONSOLE: sender}))
    assert await worker.run_once() == 0 and sender.sent == []
    add_device(container, who)  # devices only ever see gateway work
