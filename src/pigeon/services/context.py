"""What every service function needs, built once by `pigeon.bootstrap`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pigeon.domain.backoff import Backoff

if TYPE_CHECKING:
    from pigeon.clock import Clock
    from pigeon.config import Settings
    from pigeon.store.database import Database


@dataclass(frozen=True)
class Services:
    db: Database
    clock: Clock
    settings: Settings

    @property
    def backoff(self) -> Backoff:
        retry = self.settings.retry
        return Backoff(retry.base_seconds, retry.cap_seconds, retry.max_attempts, retry.jitter)


@dataclass(frozen=True)
class Principal:
    """Who is acting: an API key of a workspace, with its scopes."""

    workspace_id: str
    actor: str  # "key:<id>", "operator", "cli", "device:<id>" ...
    scopes: frozenset[str]
