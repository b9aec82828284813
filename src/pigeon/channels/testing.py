"""A recording sender for tests: remembers what it sent and fails on demand."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pigeon.channels.protocols import Receipt
from pigeon.domain.channels import ChannelKind

if TYPE_CHECKING:
    from collections.abc import Callable

    from pigeon.domain.accounts import Channel
    from pigeon.domain.messages import Message


class RecordingSender:
    def __init__(
        self,
        kind: ChannelKind = ChannelKind.CONSOLE,
        fail: Callable[[Message], Exception | None] | None = None,
    ) -> None:
        self.kind = kind
        self.sent: list[Message] = []
        self._fail = fail

    async def send(self, message: Message, channel: Channel) -> Receipt:
        if self._fail is not None:
            error = self._fail(message)
            if error is not None:
                raise error
        self.sent.append(message)
        return Receipt(provider_message_id=f"rec-{len(self.sent)}")
