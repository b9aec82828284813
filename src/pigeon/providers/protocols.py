"""What the inbound services need of a mail provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from pigeon.domain.accounts import Channel
    from pigeon.domain.inbound import Fetched, Provider
    from pigeon.services.context import Services


@dataclass(frozen=True)
class Mailbox:
    """A mailbox channel with its secrets opened: what a provider adapter works with."""

    channel: Channel
    secrets: Mapping[str, Any]

    @property
    def id(self) -> str:
        return self.channel.id

    @property
    def workspace_id(self) -> str:
        return self.channel.workspace_id

    @property
    def state(self) -> Mapping[str, Any]:
        return self.channel.state

    def setting(self, key: str, default: Any = None) -> Any:
        """A config value, secret or not."""
        if key in self.secrets:
            return self.secrets[key]
        return self.channel.config.get(key, default)


@dataclass(frozen=True)
class Fetch:
    """What a pointer led to: the messages, and the provider state to keep (a Gmail history
    cursor), committed with them. `state` may be a function of the state stored at that
    moment (read under the channel's row lock) returning the changes: a cursor that must
    never move back compares with what a concurrent fetch wrote meanwhile."""

    messages: list[Fetched] = field(default_factory=list)
    state: Mapping[str, Any] | Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None


class MailSource(Protocol):
    provider: Provider

    def fetch(self, svc: Services, mailbox: Mailbox, pointer: Mapping[str, Any]) -> Fetch:
        """The messages `pointer` names, fetched now. Raises SourceUnavailable when they are
        gone for good; any other error is retried."""
        ...
