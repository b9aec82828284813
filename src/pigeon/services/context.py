"""The one context every service function, worker and surface receives, built once by
`pigeon.bootstrap.build`: the database, the clock, the settings, the event bus, the senders,
the job queue and the extractor."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pigeon.crypto import SecretBox
from pigeon.domain.backoff import Backoff
from pigeon.domain.channels import PULL_KINDS, ChannelKind
from pigeon.services.recent import Credentials

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pigeon.bus.protocols import EventBus
    from pigeon.channels.protocols import Sender
    from pigeon.clock import Clock
    from pigeon.config import Settings
    from pigeon.extract.protocols import Extractor
    from pigeon.queue.protocols import JobQueue
    from pigeon.services.group_commit import GroupCommit
    from pigeon.store.database import Database


@dataclass(frozen=True)
class Services:
    db: Database
    clock: Clock
    settings: Settings
    bus: EventBus
    queue: JobQueue
    # Follow-up extraction and times in words; bootstrap builds it (lazily: extract.Deferred).
    extractor: Extractor
    senders: Mapping[str, Sender] = field(default_factory=dict)
    credentials: Credentials = field(default_factory=Credentials)

    @functools.cached_property
    def ingress_commits(self) -> GroupCommit:
        """Webhooks' enqueues, committed together when they arrive together."""
        from pigeon.services import ingress
        from pigeon.services.group_commit import GroupCommit

        return GroupCommit(lambda new: ingress.write_durably(self, new))

    @functools.cached_property
    def secrets(self) -> SecretBox:
        """Seals provider secrets at rest (pigeon.crypto)."""
        return SecretBox.for_database(self.settings.database_url, self.settings.secret_key)

    @property
    def backoff(self) -> Backoff:
        retry = self.settings.retry
        return Backoff(retry.base_seconds, retry.cap_seconds, retry.max_attempts, retry.jitter)

    def can_send(self, kind: ChannelKind) -> bool:
        """Whether this pigeon delivers messages of a channel of `kind`: devices pull from
        gateway channels; a push channel needs a sender."""
        return kind in PULL_KINDS or kind in self.senders

    @property
    def job_backoff(self) -> Backoff:
        queue = self.settings.queue
        return Backoff(
            queue.retry_base_seconds, queue.retry_cap_seconds, queue.max_attempts, jitter=0.5
        )

    def close(self) -> None:
        self.queue.close()
        self.db.dispose()


@dataclass(frozen=True)
class Principal:
    """Who is acting: an API key of a workspace with its scopes, or a trusted local actor
    (the CLI, the system) that has no key."""

    workspace_id: str
    actor: str  # "key:<id>", "operator", "cli", "device:<id>" ...
    scopes: frozenset[str]
    key_id: str | None = None  # checked again inside each transaction: revocation is at once
