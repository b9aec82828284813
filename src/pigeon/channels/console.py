"""The `console` channel prints messages instead of sending them: for development."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from pigeon.channels.protocols import Receipt
from pigeon.domain.channels import ChannelKind

if TYPE_CHECKING:
    from pigeon.domain.accounts import Channel
    from pigeon.domain.messages import Message


class ConsoleSender:
    kind = ChannelKind.CONSOLE

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send(self, message: Message, channel: Channel) -> Receipt:
        stream = self._stream or sys.stdout
        stream.write(f"[{channel.name}] to {message.recipient}: {message.body}\n")
        stream.flush()
        return Receipt(provider_message_id=f"console-{message.id}")
