"""Mailbox channels (Microsoft Graph, Gmail, IMAP): their config with secrets sealed at
rest, the jobs that set them up, and the upkeep that keeps them receiving.

Creating or updating a mailbox channel never calls the provider inside the request: it
enqueues the provider's setup jobs (a Graph subscription, a Gmail watch, an IMAP login
check) with the channel's own write, and those jobs record their outcome in the channel's
state, where the API shows it. An upkeep timer enqueues renewals before subscriptions
expire, and heals a setup job that was lost.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pigeon.domain.channels import CONFIG_SPECS, MAILBOX_KINDS, ChannelKind, split_config
from pigeon.providers import registry
from pigeon.providers.protocols import Mailbox
from pigeon.services import jobs
from pigeon.store import accounts

if TYPE_CHECKING:
    from pigeon.domain.accounts import Channel
    from pigeon.services.context import Services
    from pigeon.store.database import UnitOfWork

log = logging.getLogger(__name__)

UPKEEP_SECONDS = 60.0
SETUP_FOR = "setup_for"  # the state key: the fingerprint of the config last set up


@dataclass(frozen=True)
class Prepared:
    """A mailbox channel's config, split: what is stored in the clear, what is sealed, and
    the secrets pigeon generated (shown once, on creation)."""

    public: dict[str, Any]
    sealed: str
    generated: dict[str, str] = field(default_factory=dict)


def prepare(
    svc: Services,
    kind: ChannelKind,
    config: Mapping[str, Any],
    current: Channel | None = None,
) -> Prepared:
    """Check `config` for a new channel of `kind`, or an update of `current` (the keys
    given replace those stored; the others stay)."""
    public, secret = split_config(kind, dict(config), partial=current is not None)
    if current is not None:
        public = {**current.config, **public}
        secret = {**svc.secrets.open(current.sealed_secrets), **secret}
    generated = {
        key: secrets.token_urlsafe(32) for key in CONFIG_SPECS[kind].generated if key not in secret
    }
    return Prepared(public, svc.secrets.seal({**secret, **generated}), generated)


def setup(svc: Services, uow: UnitOfWork | None, channel: Channel) -> None:
    """Enqueue the jobs that make `channel` receive mail, with the caller's write on SQL.
    With another queue backend `uow` is None and this runs after the commit; should it fail
    then, the upkeep timer enqueues them within a minute."""
    if channel.kind not in MAILBOX_KINDS:
        return
    box = Mailbox(channel, svc.secrets.open(channel.sealed_secrets))
    new = registry.module(channel.kind).setup_jobs(box)
    if new:
        jobs.enqueue(svc, new, uow)
    done = {SETUP_FOR: fingerprint(channel)}
    if uow is not None:
        merge_state(uow, channel.id, done)
    else:
        record_outcome(svc, channel.id, done)


def fingerprint(channel: Channel) -> str:
    """What a channel's setup was enqueued for: its config and sealed secrets as stored. The
    upkeep sets up again a channel whose setup was lost (its enqueue failed after the
    channel's commit, with a queue outside the database)."""
    material = json.dumps(dict(channel.config), sort_keys=True) + (channel.sealed_secrets or "")
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def setup_after_commit(svc: Services, channel: Channel) -> None:
    """`setup` for a queue outside the database; a failure is logged, not raised: the
    channel is stored and the upkeep timer tries again."""
    try:
        setup(svc, None, channel)
    except Exception:
        log.exception(
            "mailbox setup jobs could not be enqueued; upkeep will retry",
            extra={"action": "mailbox_setup_failed", "channel_id": channel.id},
        )


def run_upkeep(svc: Services) -> int:
    """Enqueue every renewal or resync now due; returns how many jobs were enqueued."""
    now = svc.clock.now()
    with svc.db.transaction(readonly=True) as uow:
        channels = accounts.mailbox_channels(uow, [k.value for k in MAILBOX_KINDS])
    enqueued = 0
    for channel in channels:
        try:
            if channel.state.get(SETUP_FOR) != fingerprint(channel):
                setup(svc, None, channel)
                continue
            box = Mailbox(channel, svc.secrets.open(channel.sealed_secrets))
            due = registry.module(channel.kind).due_upkeep(box, now)
            if due:
                enqueued += sum(e.created for e in jobs.enqueue(svc, due))
        except Exception:
            log.exception(
                "mailbox upkeep failed",
                extra={"action": "mailbox_upkeep_failed", "channel_id": channel.id},
            )
    return enqueued


StateChanges = Mapping[str, Any] | Callable[[Mapping[str, Any]], Mapping[str, Any]]


def merge_state(
    uow: UnitOfWork, channel_id: str, changes: StateChanges
) -> Mapping[str, Any] | None:
    """Merge `changes` into a channel's provider state, its row locked so that two jobs
    updating one channel at once cannot lose either's change. `changes` may be a function
    of the stored state (a cursor that keeps the larger of its value and the stored one)."""
    channel = accounts.channel_for_update(uow, channel_id)
    if channel is None:
        return None
    if callable(changes):
        changes = changes(channel.state)
    if not changes:
        return changes  # nothing to keep (a function of the state found nothing to change)
    accounts.update_channel(
        uow,
        channel.workspace_id,
        channel.id,
        {"state": {**channel.state, **changes}, "updated_at": uow.now},
    )
    return changes


def record_outcome(
    svc: Services, channel_id: str, changes: StateChanges, *, audit: str | None = None
) -> None:
    """Merge `changes` into a channel's provider state (an upkeep job's outcome), with an
    audit event when the change is one a person should find in the trail."""
    with svc.db.transaction() as uow:
        channel = accounts.channels_by_id(uow, [channel_id]).get(channel_id)
        applied = merge_state(uow, channel_id, changes)
        if channel is not None and applied and audit is not None:
            accounts.audit(
                uow,
                workspace_id=channel.workspace_id,
                actor="system",
                action=audit,
                subject_type="channel",
                subject_id=channel.id,
                at=uow.now,
                detail={k: v for k, v in applied.items() if not k.endswith("_secret")},
            )
