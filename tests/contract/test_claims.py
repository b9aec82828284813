"""store/claims.py on a table of its own, on SQLite and PostgreSQL: the lease-and-fence
mechanism that messages and jobs share, held to its promises apart from either of them.

Each test makes a throwaway table with the columns the module needs (and a priority, a
run-at and attempts, as jobs have), in a MetaData of its own, and drops it afterwards.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    case,
    insert,
    literal,
    select,
)

from pigeon.clock import FrozenClock
from pigeon.domain.leases import Lease
from pigeon.store import claims
from pigeon.store.database import Database, make_engine
from pigeon.store.sql import status_is
from pigeon.store.tables import UTCDateTime

LEASE = timedelta(seconds=30)


@dataclass
class Synthetic:
    db: Database
    table: Table
    claim: claims.Claim
    clock: FrozenClock

    def add(self, row_id: str, *, priority: int = 0, run_in: float = 0, **values: Any) -> None:
        row = {
            "id": row_id,
            "status": "ready",
            "priority": priority,
            "run_at": self.clock.now() + timedelta(seconds=run_in),
            **values,
        }
        with self.db.transaction() as uow:
            uow.conn.execute(insert(self.table), row)

    def take(self, holder: str = "w", *, limit: int = 10) -> tuple[Lease, list[str]]:
        with self.db.transaction() as uow:
            lease = Lease.new(holder, uow.now + LEASE)
            rows = self.claim.run(uow.conn, limit=limit, lease=lease, due_by=uow.now)
        return lease, [row.id for row in rows]

    def row(self, row_id: str) -> Any:
        with self.db.transaction(readonly=True) as uow:
            return uow.conn.execute(select(self.table).where(self.table.c.id == row_id)).one()


def _synthetic(url: str, clock: FrozenClock) -> Iterator[Synthetic]:
    metadata = MetaData()
    table = Table(
        f"claims_{uuid.uuid4().hex[:10]}",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("status", String(16), nullable=False),
        Column("priority", Integer(), nullable=False),
        Column("run_at", UTCDateTime(), nullable=False),
        Column("attempts", Integer(), nullable=False, server_default="0"),
        Column("max_attempts", Integer(), nullable=False, server_default="2"),
        Column("last_error", Text()),
        Column("claim_token", String(36)),
        Column("claimed_by", String(100)),
        Column("lease_expires_at", UTCDateTime()),
    )
    engine = make_engine(url, pool_size=6)
    metadata.create_all(engine)
    claim = claims.Claim(
        table,
        eligible=and_(status_is(table, "ready"), table.c.run_at <= bindparam("due_by")),
        order_by=[table.c.priority.desc(), table.c.run_at, table.c.id],
        claimed_status="claimed",
        extra_values={"attempts": table.c.attempts + 1},
    )
    yield Synthetic(Database(engine, clock), table, claim, clock)
    metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def synthetic(db_url: str, clock: FrozenClock) -> Iterator[Synthetic]:
    yield from _synthetic(db_url, clock)


@pytest.fixture
def on_postgres(postgres_url: str, clock: FrozenClock) -> Iterator[Synthetic]:
    yield from _synthetic(postgres_url, clock)


@pytest.mark.postgres
def test_concurrent_claimers_never_get_the_same_row(on_postgres: Synthetic) -> None:
    """Claims that overlap in time (each holds its rows until it commits) skip each other's
    rows: none is handed out twice, none is left behind."""
    s = on_postgres
    total = 150
    with s.db.transaction() as uow:
        rows = [
            {"id": f"r{i:03}", "status": "ready", "priority": i % 3, "run_at": uow.now}
            for i in range(total)
        ]
        uow.conn.execute(insert(s.table), rows)
    taken: list[list[str]] = [[] for _ in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(taken))

    def drain(out: list[str]) -> None:
        try:
            start.wait()
            while True:
                with s.db.transaction() as uow:
                    lease = Lease.new("w", uow.now + LEASE)
                    got = s.claim.run(uow.conn, limit=7, lease=lease, due_by=uow.now)
                    time.sleep(0.005)  # hold the rows while the others pick
                if not got:
                    return
                out.extend(row.id for row in got)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=drain, args=(out,)) for out in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    handed_out = Counter(row_id for out in taken for row_id in out)
    assert max(handed_out.values()) == 1, "a row was claimed twice"
    assert len(handed_out) == total
    assert sum(1 for out in taken if out) >= 2, "the claims did not overlap"


def test_claim_takes_priority_desc_then_run_at_and_returns_that_order(
    synthetic: Synthetic,
) -> None:
    s = synthetic
    # Ids run against the claim order, so an answer in id or insertion order would show.
    s.add("a", priority=0, run_in=-1)
    s.add("b", priority=0, run_in=-30)
    s.add("c", priority=5, run_in=-1)
    s.add("d", priority=5, run_in=-20)
    s.add("e", priority=9, run_in=0)
    s.add("f", priority=9, run_in=5)  # not due yet
    first = s.take(limit=3)[1]
    second = s.take(limit=3)[1]
    assert first + second == ["e", "d", "c", "b", "a"]
    assert s.row("e").attempts == 1  # extra_values: an expression over the row
    assert s.row("f").status == "ready"


def test_claim_respects_its_limit(synthetic: Synthetic) -> None:
    s = synthetic
    for i in range(10):
        s.add(f"r{i}")
    lease, taken = s.take(limit=4)
    assert len(taken) == 4
    assert all(s.row(row_id).claim_token == lease.token for row_id in taken)
    assert len(s.take(limit=100)[1]) == 6


def test_settle_and_extend_with_a_stale_token_change_nothing(synthetic: Synthetic) -> None:
    s = synthetic
    s.add("a")
    s.add("b")
    lease, _ = s.take()
    before = s.row("a")
    later = lease.expires_at + LEASE
    with s.db.transaction() as uow:
        stale = "not-the-token"
        conn = uow.conn
        done = {"status": "done"}
        claimed = frozenset({"claimed"})
        assert (
            claims.settle(
                conn, s.table, row_ids=["a"], token=stale, from_statuses=claimed, values=done
            )
            == set()
        )
        assert (
            claims.settle_each(
                conn,
                s.table,
                rows=[{"id": "a", "token": stale, "status": "done"}],
                from_statuses=claimed,
                values={},
            )
            == set()
        )
        assert (
            claims.extend(
                conn,
                s.table,
                row_ids=["a"],
                token=stale,
                claimed_status="claimed",
                expires_at=later,
            )
            == set()
        )
    assert s.row("a") == before
    with s.db.transaction() as uow:
        assert claims.extend(
            uow.conn,
            s.table,
            row_ids=["a", "b"],
            token=lease.token,
            claimed_status="claimed",
            expires_at=later,
        ) == {"a", "b"}
        # Each row under its own token, with values of its own: only the holder's counts.
        assert claims.settle_each(
            uow.conn,
            s.table,
            rows=[
                {"id": "a", "token": lease.token, "status": "done", "last_error": None},
                {"id": "b", "token": "stale", "status": "done", "last_error": "x"},
            ],
            from_statuses=frozenset({"claimed"}),
            values={"claim_token": None},
        ) == {"a"}
    assert (s.row("a").status, s.row("a").claim_token) == ("done", None)
    assert (s.row("b").status, s.row("b").lease_expires_at) == ("claimed", later)


def test_reclaim_moves_only_run_out_leases_and_fences_out_their_token(
    synthetic: Synthetic,
) -> None:
    s = synthetic
    s.add("spent", attempts=1)  # its claim below spends the last of max_attempts=2
    s.add("retry")
    lapsed, _ = s.take("crashed")
    s.clock.advance(20)
    s.add("fresh")
    held, _ = s.take("alive")  # its lease runs 20 s longer
    # Ready, later: an old lease left on a row that is not claimed is no claim.
    s.add("idle", run_in=3600, lease_expires_at=s.clock.now() - LEASE)
    s.clock.advance(LEASE - timedelta(seconds=10))
    now = s.clock.now()
    lease_expired = case(
        (s.table.c.attempts < s.table.c.max_attempts, literal("ready")), else_="dead"
    )
    values = {"status": lease_expired, "run_at": now, "claim_token": None, "claimed_by": None}
    with s.db.transaction() as uow:
        moved = claims.reclaim(
            uow.conn, s.table, claimed_status="claimed", now=now, limit=10, values=values
        )
    assert sorted((row.id, row.status) for row in moved) == [("retry", "ready"), ("spent", "dead")]
    assert s.row("fresh").claim_token == held.token
    assert s.row("idle").status == "ready"
    with s.db.transaction() as uow:
        assert (
            claims.settle(
                uow.conn,
                s.table,
                row_ids=["retry", "spent"],
                token=lapsed.token,
                from_statuses=frozenset({"claimed", "ready", "dead"}),
                values={"status": "done"},
            )
            == set()
        )
    assert s.row("retry").status == "ready"
    again, taken = s.take("healthy")
    assert taken == ["retry"] and again.token != lapsed.token


def test_reclaim_respects_its_limit_longest_expired_first(synthetic: Synthetic) -> None:
    s = synthetic
    for i in range(5):
        s.add(f"r{i}")
        s.take(limit=1)
        s.clock.advance(1)
    s.clock.advance(LEASE)
    with s.db.transaction() as uow:
        moved = claims.reclaim(
            uow.conn,
            s.table,
            claimed_status="claimed",
            now=uow.now,
            limit=2,
            values={"status": "ready", "claim_token": None},
        )
    assert sorted(row.id for row in moved) == ["r0", "r1"]
    assert s.row("r2").status == "claimed"
