"""Settling claimed messages: one path for device reports and for the sender worker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pigeon.domain import transitions
from pigeon.domain.delivery import MAX_ERROR_CHARS, Outcome, check_report, decide
from pigeon.domain.ids import is_uuid
from pigeon.domain.storable import cleaned
from pigeon.errors import Conflict, NotFound, PigeonError, StaleClaim
from pigeon.store import messages as store

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pigeon.domain.messages import Message
    from pigeon.services.context import Services
    from pigeon.store.database import UnitOfWork


@dataclass(frozen=True)
class Report:
    message_id: str
    outcome: Outcome
    claim_token: str | None = None  # None: the holder's current claim (seed routes)
    error: str | None = None


@dataclass(frozen=True)
class Settled:
    message_id: str
    message: Message | None = None
    error: PigeonError | None = None


def settle(
    svc: Services,
    uow: UnitOfWork,
    reports: Sequence[Report],
    *,
    holder: str,
    workspace_id: str | None,
    actor: str,
) -> list[Settled]:
    """Apply reports made by `holder` (a device or a worker), each independently.

    A report is refused with StaleClaim unless its holder still holds the claim (another
    claim since, or the message settled by someone else); a repeated report changes nothing.
    All the messages are read in one query and written with one UPDATE per kind of change.
    """
    results: list[Settled | None] = [None] * len(reports)
    for indexes in _rounds(reports):
        _settle_round(svc, uow, reports, indexes, results, holder, workspace_id, actor)
    return [r for r in results if r is not None]


def _rounds(reports: Sequence[Report]) -> list[list[int]]:
    """Group report positions so that no message appears twice in a group: a message
    reported twice in one call is settled again, on its new state, in the next round."""
    seen: dict[str, int] = {}
    rounds: list[list[int]] = []
    for index, report in enumerate(reports):
        occurrence = seen.get(report.message_id, 0)
        seen[report.message_id] = occurrence + 1
        if occurrence == len(rounds):
            rounds.append([])
        rounds[occurrence].append(index)
    return rounds


def _settle_round(
    svc: Services,
    uow: UnitOfWork,
    reports: Sequence[Report],
    indexes: list[int],
    results: list[Settled | None],
    holder: str,
    workspace_id: str | None,
    actor: str,
) -> None:
    ids = [reports[i].message_id for i in indexes if is_uuid(reports[i].message_id)]
    # Locked: a lease sweep between this read and the write would otherwise make a report
    # that is still good look stale (the sweep skips locked rows instead).
    current = {m.id: m for m in store.get_many(uow, workspace_id, ids, lock=True)}
    planned: dict[int, store.Settlement] = {}
    for i in indexes:
        report = reports[i]
        message = current.get(report.message_id)
        try:
            if message is None:
                raise NotFound(f"no message {report.message_id} in this workspace")
            settlement = _plan(svc, uow, message, report, holder)
        except (NotFound, Conflict) as error:  # a stale claim or an illegal change
            results[i] = Settled(report.message_id, error=error)
            continue
        if settlement is None:
            results[i] = Settled(report.message_id, message)  # a repeat: nothing to change
        else:
            planned[i] = settlement
    moved = store.settle_claims(uow, list(planned.values()), at=uow.now, actor=actor)
    for i, settlement in planned.items():
        message_id = settlement.message.id
        if message_id in moved:
            results[i] = Settled(message_id, moved[message_id])
        else:
            results[i] = Settled(message_id, error=StaleClaim("this claim is no longer current"))


def _plan(
    svc: Services, uow: UnitOfWork, message: Message, report: Report, holder: str
) -> store.Settlement | None:
    token = report.claim_token if report.claim_token is not None else message.claim_token or ""
    check_report(message, holder=holder, token=token, outcome=report.outcome, now=uow.now)
    error = cleaned(report.error, limit=MAX_ERROR_CHARS) if report.error else None
    decision = decide(message, report.outcome, error=error, now=uow.now, backoff=svc.backoff)
    if not decision.changes(message):
        return None
    # Refused here, for this report only.
    transitions.check(message.status, decision.target, report=True)
    detail = {"error": error} if error else None
    return store.Settlement(message, token, decision.target, decision.values, detail)
