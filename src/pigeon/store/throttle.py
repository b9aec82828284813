"""The release gate: what the throttle, consent and device selection make of due messages.

`store.messages.release_due` picks due queued messages (locked) and asks `plan` what to do
with each: release it (on a device pigeon chose, for gateway channels), hold it until the
earliest instant its policies allow (`domain.throttle`), or suppress it (opted out). The
policies in force are read `FOR UPDATE` (PostgreSQL; SQLite's single writer serialises
anyway), so two workers releasing at once take turns and cannot overshoot a limit.

Policies count releases in `throttle_ledger`, written while the workspace has a policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, delete, func, insert, select

from pigeon.domain import throttle
from pigeon.domain.channels import ChannelKind
from pigeon.domain.optout import REPLY_META_KEY
from pigeon.domain.transitions import MessageStatus
from pigeon.store import accounts, consent
from pigeon.store.bulk import insert_rows
from pigeon.store.sql import one_of, status_is
from pigeon.store.tables import (
    contact_handles,
    contacts,
    devices,
    messages,
    throttle_ledger,
    throttle_policies,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pigeon.store.database import UnitOfWork

DAY = timedelta(days=1)
SCOPE_WIDE = frozenset(
    {
        throttle.HoldReason.MAX_PER_MINUTE,
        throttle.HoldReason.MAX_PER_HOUR,
        throttle.HoldReason.MAX_PER_DAY,
        throttle.HoldReason.MIN_GAP,
    }
)
SENT_STATUSES = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)


@dataclass
class Candidate:
    """A due queued message, as the gate sees it."""

    id: str
    workspace_id: str
    channel_id: str
    channel_kind: str
    device_id: str | None
    recipient: str
    held: bool = False  # the throttle held it before: it is in its own slot now
    device_assigned: bool = False


@dataclass
class Plan:
    release: list[Candidate] = field(default_factory=list)
    hold: list[tuple[Candidate, datetime | None, str]] = field(default_factory=list)
    suppress: list[Candidate] = field(default_factory=list)
    counted: list[Candidate] = field(default_factory=list)  # releases the ledger records
    by_recipient: frozenset[str] = frozenset()  # workspaces whose ledger keeps recipients


@dataclass(frozen=True)
class Policy:
    id: str
    workspace_id: str
    scope: str  # workspace | channel | device
    scope_id: str
    rules: throttle.ThrottleRules
    updated_at: datetime


def plan(uow: UnitOfWork, candidates: Sequence[Candidate], *, offline_after: float) -> Plan:
    """Decide, for each candidate in order, whether it goes now, waits or is suppressed."""
    result = Plan()
    if not candidates:
        return result
    opted_out = _opted_out(uow, candidates)
    suppressed = _without_keyword_replies(
        uow, [c for c in candidates if (c.channel_id, c.recipient) in opted_out]
    )
    live = [c for c in candidates if c.id not in suppressed]
    result.suppress = [c for c in candidates if c.id in suppressed]
    policies = locked_policies(uow, {c.workspace_id for c in live})
    limited = {p.scope_id for p in policies if p.scope == "device"}
    _assign_devices(uow, live, limited, now=uow.now, offline_after=offline_after)
    if not policies:
        result.release = live
        return result
    # Another worker may have held the policies until a moment ago and released meanwhile:
    # what this one releases is stamped after what it waited for.
    now = uow.catch_up()
    result.by_recipient = frozenset(
        p.workspace_id for p in policies if p.rules.recipient_min_gap_seconds
    )
    if _room_for_all(uow, policies, live):
        # No rule can hold any of them: the common case of limits that do not bind, without
        # looking at each message.
        result.release = live
        result.counted = [c for c in live if c.workspace_id in {p.workspace_id for p in policies}]
        return result
    gate = _Gate(uow, policies, live)
    # Where a scope-wide rule held a message, the ones after it under the same policies go
    # after it too: first come, first served (a recipient's own gap or zone holds only it).
    floors: dict[tuple[int, ...], tuple[datetime, throttle.HoldReason]] = {}
    for candidate in live:
        scopes = gate.scopes_of(candidate)
        if not scopes:
            result.release.append(candidate)
            continue
        key = tuple(id(scope) for scope in scopes)
        floor, behind = floors.get(key, (now, None))
        if not candidate.held:  # a newcomer waits behind what earlier passes held
            earlier = gate.held_until(candidate, scopes)
            if earlier is not None and earlier[0] > floor:
                floor, behind = earlier
        decision = throttle.earliest(
            scopes,
            floor,
            recipient_zone=gate.recipient_zone(candidate),
            recipient_last=gate.recipient_last(candidate),
        )
        if decision.reason is None and behind is not None:
            decision = throttle.Decision(decision.at, behind)  # waits behind an earlier one
        if not decision.allows(now):
            # The floor is what the policies alone hold it for, not its recipient's gap.
            shared = throttle.earliest(scopes, floor, recipient_zone=None, recipient_last=None)
            if shared.at is not None and shared.at > now and shared.reason in SCOPE_WIDE:
                floors[key] = (shared.at, shared.reason)
        if decision.allows(now):
            result.release.append(candidate)
            gate.spend(candidate, scopes, now)
        else:
            reason = decision.reason or throttle.HoldReason.PAUSED
            result.hold.append((candidate, decision.at, str(reason)))
            if decision.at is not None:
                # Reserve its slot, so the next candidates are placed after it and each
                # held message is looked at again only when its own turn comes.
                gate.spend(candidate, scopes, decision.at)
    result.counted = [c for c in result.release if c.workspace_id in gate.workspaces]
    return result


def _applies(policy: Policy, c: Candidate) -> bool:
    if policy.workspace_id != c.workspace_id:
        return False
    if policy.scope == "channel":
        return c.channel_id == policy.scope_id
    if policy.scope == "device":
        return c.device_id == policy.scope_id
    return True


def _room_for_all(
    uow: UnitOfWork, policies: Sequence[Policy], candidates: Sequence[Candidate]
) -> bool:
    """Whether every policy has room for all the candidates it applies to at once."""
    for policy in policies:
        count = sum(1 for c in candidates if _applies(policy, c))
        if count and not policy.rules.room_for(count, _spent(uow, policy)):
            return False
    return True


def _spent(uow: UnitOfWork, policy: Policy) -> dict[int, int]:
    """The policy's releases in the last minute, hour and day, in one statement."""
    led, now = throttle_ledger.c, uow.now
    widths = (60, 3600, 86_400)
    row = uow.conn.execute(
        select(
            *(
                func.coalesce(
                    func.sum(case((led.at > now - timedelta(seconds=w), led.count), else_=0)), 0
                )
                for w in widths
            )
        ).where(*_scope_of(policy), led.at > now - DAY)
    ).one()
    return dict(zip(widths, row, strict=True))


def _scope_of(policy: Policy) -> list[ColumnElement[bool]]:
    led = throttle_ledger.c
    where = [led.workspace_id == policy.workspace_id]
    if policy.scope == "channel":
        where.append(led.channel_id == policy.scope_id)
    elif policy.scope == "device":
        where.append(led.device_id == policy.scope_id)
    return where


def record_releases(
    uow: UnitOfWork, released: Sequence[Candidate], *, by_recipient: frozenset[str]
) -> None:
    """Spend the releases in the ledger: one row per channel and device, or per recipient
    in the workspaces of `by_recipient` (a per-recipient gap is in force there)."""
    counts: dict[tuple[str, str, str | None, str | None], int] = {}
    for c in released:
        recipient = c.recipient if c.workspace_id in by_recipient else None
        key = (c.workspace_id, c.channel_id, c.device_id, recipient)
        counts[key] = counts.get(key, 0) + 1
    rows = [
        {
            "workspace_id": workspace_id,
            "channel_id": channel_id,
            "device_id": device_id,
            "recipient": recipient,
            "count": count,
            "at": uow.now,
        }
        for (workspace_id, channel_id, device_id, recipient), count in counts.items()
    ]
    if rows:
        insert_rows(uow, throttle_ledger, rows)


def prune_ledger(uow: UnitOfWork) -> int:
    """Forget releases older than any window (a day)."""
    cutoff = uow.now - DAY - timedelta(minutes=5)
    return uow.conn.execute(delete(throttle_ledger).where(throttle_ledger.c.at < cutoff)).rowcount


# -- policies -------------------------------------------------------------------------------


def _policy(row: Any) -> Policy:
    return Policy(
        row.id,
        row.workspace_id,
        row.scope,
        row.scope_id,
        throttle.ThrottleRules.from_json(row.rules),
        row.updated_at,
    )


def locked_policies(uow: UnitOfWork, workspace_ids: Iterable[str]) -> list[Policy]:
    ids = sorted(set(workspace_ids))
    if not ids:
        return []
    query = (
        select(throttle_policies)
        .where(one_of(uow.dialect, throttle_policies.c.workspace_id, ids))
        .order_by(throttle_policies.c.id)
    )
    if uow.dialect == "postgresql":
        query = query.with_for_update()
    return [_policy(row) for row in uow.conn.execute(query).all()]


def policies_of(uow: UnitOfWork, workspace_id: str) -> list[Policy]:
    rows = uow.conn.execute(
        select(throttle_policies)
        .where(throttle_policies.c.workspace_id == workspace_id)
        .order_by(throttle_policies.c.scope, throttle_policies.c.scope_id)
    ).all()
    return [_policy(row) for row in rows]


def put_policy(
    uow: UnitOfWork,
    workspace_id: str,
    scope: str,
    scope_id: str,
    rules: throttle.ThrottleRules,
    *,
    new_id: str,
) -> Policy:
    """Create or replace the policy of one scope; locks it like release does."""
    t = throttle_policies.c
    where = and_(t.workspace_id == workspace_id, t.scope == scope, t.scope_id == scope_id)
    values = {"rules": rules.to_json(), "updated_at": uow.now}
    changed = uow.conn.execute(throttle_policies.update().where(where).values(**values))
    if not changed.rowcount:
        uow.conn.execute(
            insert(throttle_policies).values(
                id=new_id, workspace_id=workspace_id, scope=scope, scope_id=scope_id, **values
            )
        )
    row = uow.conn.execute(select(throttle_policies).where(where)).one()
    return _policy(row)


def delete_policy(uow: UnitOfWork, workspace_id: str, scope: str, scope_id: str) -> bool:
    t = throttle_policies.c
    result = uow.conn.execute(
        delete(throttle_policies).where(
            t.workspace_id == workspace_id, t.scope == scope, t.scope_id == scope_id
        )
    )
    return result.rowcount > 0


def lift_holds(uow: UnitOfWork, workspace_id: str, *, reasons: Iterable[str]) -> int:
    """Let messages held for these reasons be looked at again now (a policy changed)."""
    c = messages.c
    result = uow.conn.execute(
        messages.update()
        .where(
            c.workspace_id == workspace_id,
            status_is(messages, MessageStatus.QUEUED),
            c.hold_reason.in_(sorted(set(reasons))),
        )
        .values(release_at=c.scheduled_for, hold_reason=None)
    )
    return result.rowcount


# -- the gate's reads ------------------------------------------------------------------------


def ledger_of(uow: UnitOfWork, policy: Policy) -> throttle.Ledger:
    """The releases the policy's windows and gap need: the most recent `limit` of the last
    day, `limit` being its largest window limit (at least the last one, for the gap)."""
    rules, now = policy.rules, uow.now
    led = throttle_ledger.c
    where = [led.at > now - DAY, *_scope_of(policy)]
    limits = [
        limit
        for limit in (rules.max_per_minute, rules.max_per_hour, rules.max_per_day)
        if limit is not None
    ]
    wanted = max([*limits, 1])
    rows = uow.conn.execute(
        select(led.at, led.count.label("n")).where(*where).order_by(led.at.desc()).limit(wanted)
    ).all()
    return throttle.Ledger(row.at for row in rows for _ in range(row.n))


def _opted_out(uow: UnitOfWork, candidates: Sequence[Candidate]) -> set[tuple[str, str]]:
    by_workspace: dict[str, list[tuple[str, str]]] = {}
    for c in candidates:
        by_workspace.setdefault(c.workspace_id, []).append((c.channel_id, c.recipient))
    found: set[tuple[str, str]] = set()
    for workspace_id, pairs in by_workspace.items():
        found |= consent.opted_out(uow, workspace_id, pairs)  # one look when it has none
    return found


def _without_keyword_replies(uow: UnitOfWork, chosen: Sequence[Candidate]) -> set[str]:
    """The ids of `chosen` that are not pigeon's answers to STOP, START or HELP: those go
    even to a handle that has opted out (the carriers' rules ask for them)."""
    if not chosen:
        return set()
    rows = uow.conn.execute(
        select(messages.c.id, messages.c.meta).where(
            one_of(uow.dialect, messages.c.id, [c.id for c in chosen])
        )
    ).all()
    return {row.id for row in rows if not (row.meta or {}).get(REPLY_META_KEY)}


def _assign_devices(
    uow: UnitOfWork,
    candidates: Sequence[Candidate],
    limited: set[str],
    *,
    now: datetime,
    offline_after: float,
) -> None:
    """Give unpinned gateway messages a device when it matters: the online device that last
    sent to the recipient (a conversation stays on one Apple ID), else, where the channel's
    devices have their own throttle policies (`limited`), the online device with the least
    work waiting, so its policy can be applied now. The rest stay with the channel: the first
    online device free to claim takes each, the least loaded one at that moment."""
    wanting = [c for c in candidates if c.channel_kind == ChannelKind.GATEWAY and not c.device_id]
    if not wanting:
        return
    online = online_devices(uow, {c.channel_id for c in wanting}, now, offline_after)
    if not online:
        return
    balanced = {channel for channel, ids in online.items() if limited.intersection(ids)}
    loads = _waiting_per_device(uow, [d for ch in balanced for d in online[ch]]) if balanced else {}
    sticky = _last_senders(uow, [c for c in wanting if len(online.get(c.channel_id, ())) > 1])
    for c in wanting:
        choices = online.get(c.channel_id)
        if not choices:
            continue
        device = sticky.get((c.channel_id, c.recipient))
        if device not in choices:
            if c.channel_id not in balanced:
                continue
            device = min(choices, key=lambda d: (loads.get(d, 0), d))
        loads[device] = loads.get(device, 0) + 1
        c.device_id, c.device_assigned = device, True


def online_devices(
    uow: UnitOfWork, channel_ids: Iterable[str], now: datetime, offline_after: float
) -> dict[str, list[str]]:
    """Active devices seen within `offline_after` seconds, by channel."""
    d = devices.c
    rows = uow.conn.execute(
        select(d.id, d.channel_id)
        .where(
            one_of(uow.dialect, d.channel_id, sorted(set(channel_ids))),
            d.revoked_at.is_(None),
            d.last_seen_at >= now - timedelta(seconds=offline_after),
        )
        .order_by(d.id)
    ).all()
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row.channel_id, []).append(row.id)
    return found


def _waiting_per_device(uow: UnitOfWork, device_ids: list[str]) -> dict[str, int]:
    c = messages.c
    rows = uow.conn.execute(
        select(c.device_id, func.count())
        .where(
            status_is(messages, MessageStatus.RELEASED),
            one_of(uow.dialect, c.device_id, device_ids),
        )
        .group_by(c.device_id)
    ).all()
    return {row[0]: row[1] for row in rows}


def _last_senders(uow: UnitOfWork, candidates: Sequence[Candidate]) -> dict[tuple[str, str], str]:
    """(channel, recipient) -> the device that last sent to the recipient on that channel."""
    found: dict[tuple[str, str], tuple[datetime, str]] = {}
    by_workspace: dict[str, set[str]] = {}
    for cand in candidates:
        by_workspace.setdefault(cand.workspace_id, set()).add(cand.recipient)
    c = messages.c
    for workspace_id, recipients in by_workspace.items():
        rows = uow.conn.execute(
            select(c.channel_id, c.recipient, c.claimed_by, c.sent_at).where(
                c.workspace_id == workspace_id,
                one_of(uow.dialect, c.recipient, sorted(recipients)),
                c.sent_at.is_not(None),
                c.claimed_by.is_not(None),
                c.status.in_([str(s) for s in SENT_STATUSES]),
            )
        ).all()
        for row in rows:
            key = (row.channel_id, row.recipient)
            if key not in found or row.sent_at > found[key][0]:
                found[key] = (row.sent_at, row.claimed_by)
    return {key: device for key, (_at, device) in found.items()}


class _Gate:
    """The policies of the candidates' workspaces with what they have spent, loaded once
    per scope and kept up to date as this pass releases and reserves."""

    def __init__(
        self, uow: UnitOfWork, policies: Sequence[Policy], candidates: Sequence[Candidate]
    ) -> None:
        self.uow = uow
        self.by_scope = {(p.workspace_id, p.scope, p.scope_id): p for p in policies}
        self.workspaces = {p.workspace_id for p in policies}
        self._scopes: dict[tuple[str, str, str], throttle.Scope] = {}
        self._zones: dict[str, ZoneInfo] = {}
        self._recipient_last: dict[tuple[str, str], datetime | None] = {}
        self._recipient_zones: dict[tuple[str, str], ZoneInfo] = {}
        self._held: dict[tuple[str, str], tuple[datetime, throttle.HoldReason] | None] = {}
        self._load_recipients(candidates)

    def held_until(
        self, c: Candidate, scopes: Sequence[throttle.Scope]
    ) -> tuple[datetime, throttle.HoldReason] | None:
        """The slots earlier passes gave the channel's messages that its policies hold, now
        reserved in `scopes` (once), and the last of them: a newcomer goes after it."""
        key = (c.workspace_id, c.channel_id)
        if key not in self._held:
            m = messages.c
            rows = self.uow.conn.execute(
                select(m.release_at, m.hold_reason)
                .where(
                    m.workspace_id == c.workspace_id,
                    m.channel_id == c.channel_id,
                    m.hold_reason.in_(sorted(str(r) for r in SCOPE_WIDE)),
                    m.release_at > self.uow.now,
                    status_is(messages, MessageStatus.QUEUED),
                )
                .order_by(m.release_at.desc())
                .limit(max(self._largest_limit(c.workspace_id), 1))
            ).all()
            for row in rows:
                throttle.record(scopes, row.release_at)
            self._held[key] = (
                (rows[0].release_at, throttle.HoldReason(rows[0].hold_reason)) if rows else None
            )
        return self._held[key]

    def _largest_limit(self, workspace_id: str) -> int:
        return max(
            (
                limit or 0
                for p in self.by_scope.values()
                if p.workspace_id == workspace_id
                for limit in (p.rules.max_per_minute, p.rules.max_per_hour, p.rules.max_per_day)
            ),
            default=0,
        )

    def scopes_of(self, c: Candidate) -> list[throttle.Scope]:
        keys = [
            (c.workspace_id, "workspace", c.workspace_id),
            (c.workspace_id, "channel", c.channel_id),
        ]
        if c.device_id:
            keys.append((c.workspace_id, "device", c.device_id))
        return [self._scope(key) for key in keys if key in self.by_scope]

    def spend(self, c: Candidate, scopes: Sequence[throttle.Scope], at: datetime) -> None:
        throttle.record(scopes, at)
        self._recipient_last[(c.workspace_id, c.recipient)] = at

    def _scope(self, key: tuple[str, str, str]) -> throttle.Scope:
        if key not in self._scopes:
            policy = self.by_scope[key]
            zone = self._zone(policy)
            self._scopes[key] = throttle.Scope(policy.rules, self._ledger(policy), zone)
        return self._scopes[key]

    def _zone(self, policy: Policy) -> ZoneInfo:
        if policy.workspace_id not in self._zones:
            workspace = accounts.get_workspace(self.uow, policy.workspace_id)
            self._zones[policy.workspace_id] = ZoneInfo(workspace.timezone if workspace else "UTC")
        return policy.rules.zone(self._zones[policy.workspace_id])

    def _ledger(self, policy: Policy) -> throttle.Ledger:
        return ledger_of(self.uow, policy)

    def recipient_last(self, c: Candidate) -> datetime | None:
        return self._recipient_last.get((c.workspace_id, c.recipient))

    def recipient_zone(self, c: Candidate) -> ZoneInfo | None:
        return self._recipient_zones.get((c.workspace_id, c.recipient))

    def _load_recipients(self, candidates: Sequence[Candidate]) -> None:
        """What the per-recipient rules need of every candidate, a statement or two per
        workspace: its last release within the gap, its zone for quiet hours."""
        by_workspace: dict[str, set[str]] = {}
        for c in candidates:
            by_workspace.setdefault(c.workspace_id, set()).add(c.recipient)
        for workspace_id, recipients in by_workspace.items():
            rules = [p.rules for p in self.by_scope.values() if p.workspace_id == workspace_id]
            gap = max((r.recipient_min_gap_seconds or 0 for r in rules), default=0)
            if gap:
                self._load_last(workspace_id, sorted(recipients), gap)
            if any(r.quiet_hours is not None and r.quiet_zone == "recipient" for r in rules):
                self._load_zones(workspace_id, sorted(recipients))

    def _load_last(self, workspace_id: str, recipients: list[str], gap: float) -> None:
        led = throttle_ledger.c  # rows kept per recipient while a gap is in force
        rows = self.uow.conn.execute(
            select(led.recipient, func.max(led.at))
            .where(
                led.workspace_id == workspace_id,
                one_of(self.uow.dialect, led.recipient, recipients),
                led.at > self.uow.now - timedelta(seconds=gap),
            )
            .group_by(led.recipient)
        ).all()
        self._recipient_last.update({(workspace_id, r[0]): r[1] for r in rows})

    def _load_zones(self, workspace_id: str, recipients: list[str]) -> None:
        """The contact's zone, else the one its phone number names, else none."""
        from pigeon.domain.contacts import zone_from_phone

        h = contact_handles.c
        rows = self.uow.conn.execute(
            select(h.value, contacts.c.timezone)
            .join(contacts, h.contact_id == contacts.c.id)
            .where(
                h.workspace_id == workspace_id,
                one_of(self.uow.dialect, h.value, recipients),
                contacts.c.timezone.is_not(None),
            )
        ).all()
        given = {value: zone for value, zone in rows}
        for recipient in recipients:
            name = given.get(recipient)
            if name is None and recipient.startswith("+"):
                name = zone_from_phone(recipient)
            if name:
                self._recipient_zones[(workspace_id, recipient)] = ZoneInfo(name)
