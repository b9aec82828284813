"""Push channels: pigeon hands a message to a provider and learns the outcome at once.

(Pull channels, the `gateway` kind, have no sender: devices claim work themselves.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pigeon.domain.accounts import Channel
    from pigeon.domain.channels import ChannelKind
    from pigeon.domain.messages import Message


@dataclass(frozen=True)
class Receipt:
    provider_message_id: str | None = None


class Sender(Protocol):
    kind: ChannelKind

    async def send(self, message: Message, channel: Channel) -> Receipt:
        """Send `message`; raise TransientChannelError to retry, PermanentChannelError not to.

        The message id is the idempotency key to hand to providers that accept one, so a
        retried send after a lost response cannot go out twice.
        """
        ...
