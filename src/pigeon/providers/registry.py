"""Each provider module, by channel kind, behind one small interface:

- `SOURCE`: a `MailSource` that fetches what a pointer names, at consume time;
- `UPKEEP_HANDLERS`: job handlers for its subscriptions, watches and resyncs;
- `setup_jobs(mailbox)`: the jobs that make a new (or reconfigured) channel receive mail;
- `due_upkeep(mailbox, now)`: the jobs due now to keep it receiving (renewals before expiry).

Creating or updating a channel never calls the provider in the request: the jobs do, and
record their outcome in the channel's state.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

from pigeon.domain.channels import ChannelKind

if TYPE_CHECKING:
    from datetime import datetime

    from pigeon.domain.jobs import NewJob
    from pigeon.providers.protocols import Mailbox, MailSource
    from pigeon.workers.consumer import Handler

UPKEEP_QUEUE = "providers"


class ProviderModule(Protocol):
    SOURCE: MailSource
    UPKEEP_HANDLERS: dict[str, Handler]

    def setup_jobs(self, mailbox: Mailbox) -> list[NewJob]: ...

    def due_upkeep(self, mailbox: Mailbox, now: datetime) -> list[NewJob]: ...


MODULES = {
    ChannelKind.MSGRAPH: "pigeon.providers.msgraph",
    ChannelKind.GMAIL: "pigeon.providers.gmail",
    ChannelKind.IMAP: "pigeon.providers.imap",
}


def module(kind: ChannelKind | str) -> ProviderModule:
    found: Any = importlib.import_module(MODULES[ChannelKind(kind)])
    return found  # type: ignore[no-any-return]


def upkeep_handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    for kind in MODULES:
        handlers.update(module(kind).UPKEEP_HANDLERS)
    return handlers
