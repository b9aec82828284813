"""Outreach benchmark: a batch rendered, previewed and released; a large preview; the cost of
a throttle policy at release.

    python bench/outreach.py                      # SQLite and PostgreSQL
    python bench/outreach.py --backends sqlite --quick

Prints progress lines, then ONE JSON object on the last line. See docs/benchmarks.md.

Per backend (a fresh SQLite file; a scratch PostgreSQL database):

1. Batch. `--recipients` contacts (imported before the clock starts), one batch over all of
   them with a three-variable template and no throttle policy: preview (every recipient
   rendered), start (every item rendered again and written as a message), then releases
   (pigeon's own release step, chunk after chunk) until nothing is due. Seconds for each
   step and their total.
2. Large preview. `--preview-recipients` contacts; the preview of one batch over them.
3. Throttle cost. Two workspaces with `--release-messages` due messages each: one with no
   policy, one with a policy in force at workspace and channel scope whose limits do not
   bind (so both release everything). Release throughput (messages/s) of each, measured
   in alternating rounds, and their ratio.

Durability: SQLite WAL with synchronous=FULL (pigeon's setting, read back), PostgreSQL as
configured on this machine (fsync and synchronous_commit read back): stated in the JSON.
"""

# ruff: noqa: E402 (the standard library must win over bench/queue.py; see below)
from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py shadows the standard library's `queue` (psycopg imports it) for scripts run
# from this folder: the folder goes last.
_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _HERE)] + [_HERE]

import argparse
import json
import shutil
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from _common import (
    DEFAULT_PG_ADMIN_URL,
    machine_facts,
    median,
    pigeon_source,
    postgres_facts,
    progress,
    scratch_postgres,
    sqlite_facts,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pigeon.services.context import Principal, Services

TEMPLATE = (
    "Hi {{ name | first_name }}, your {{ plan }} plan renews on {{ renews }}. "
    "Reply STOP to opt out."
)
CHUNK = 10_000


@contextmanager
def database(backend: str, workdir: Path, args: argparse.Namespace, label: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'{label}.db'}"
        return
    with scratch_postgres(args.pg_admin_url, label) as url:
        yield url.replace("postgresql://", "postgresql+psycopg://", 1)


def services(url: str) -> Services:
    from pigeon import bootstrap
    from pigeon.bus.memory import MemoryBus
    from pigeon.config import Settings
    from pigeon.store import migrate

    migrate.upgrade(url)
    return bootstrap.build(Settings(database_url=url), bus=MemoryBus(), pool_size=4)


def workspace(svc: Services, name: str) -> Principal:
    from pigeon.services import admin
    from pigeon.services.context import Principal

    made = admin.create_workspace(svc, name=name, timezone="Europe/London", actor="bench")
    return Principal(made.workspace.id, "bench", frozenset({"admin"}))


def import_contacts(svc: Services, who: Principal, count: int, offset: int = 0) -> None:
    from pigeon.services import contacts

    for start in range(0, count, CHUNK):
        rows = [
            {
                "name": f"Person{i} Example",
                "handles": [{"kind": "phone", "value": f"+447400{i:06d}"}],
                "tags": ["clients"],
                "attributes": {"plan": "gold" if i % 3 else "silver"},
            }
            for i in range(offset + start, offset + min(start + CHUNK, count))
        ]
        contacts.upsert_many(svc, who, rows, max_rows=None)


def new_batch(svc: Services, who: Principal) -> str:
    from pigeon.services import batches

    made = batches.create(
        svc,
        who,
        batches.NewBatch(
            name="bench",
            template=TEMPLATE,
            audience={"tags": ["clients"]},
            variables={"renews": "1 March"},
            auto_pause=None,
        ),
    )
    return made.id


def release_all(svc: Services) -> int:
    from pigeon.services import scheduling

    released = 0
    while True:
        step = scheduling.release_due(svc)
        released += len(step.released)
        if step.considered == 0:
            return released


def run_batch(backend: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    from pigeon.services import batches

    with database(backend, workdir, args, "batch") as url:
        svc = services(url)
        try:
            who = workspace(svc, "batch")
            progress(f"{backend}: importing {args.recipients} contacts")
            import_contacts(svc, who, args.recipients)
            batch_id = new_batch(svc, who)
            started = time.perf_counter()
            preview = batches.preview(svc, who, batch_id)
            previewed = time.perf_counter()
            batches.start(svc, who, batch_id)
            written = time.perf_counter()
            released = release_all(svc)
            done = time.perf_counter()
        finally:
            svc.close()
    if len(preview.resolution.sendable) != args.recipients or released != args.recipients:
        raise SystemExit(f"{backend}: previewed {len(preview.resolution.sendable)}, "
                         f"released {released}, expected {args.recipients}")  # fmt: skip
    return {
        "recipients": args.recipients,
        "preview_s": round(previewed - started, 3),
        "start_s": round(written - previewed, 3),
        "release_s": round(done - written, 3),
        "total_s": round(done - started, 3),
    }


def run_preview(backend: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    from pigeon.services import batches

    with database(backend, workdir, args, "preview") as url:
        svc = services(url)
        try:
            who = workspace(svc, "preview")
            progress(f"{backend}: importing {args.preview_recipients} contacts")
            import_contacts(svc, who, args.preview_recipients)
            batch_id = new_batch(svc, who)
            progress(f"{backend}: previewing {args.preview_recipients} recipients")
            started = time.perf_counter()
            preview = batches.preview(svc, who, batch_id)
            elapsed = time.perf_counter() - started
        finally:
            svc.close()
    assert len(preview.resolution.sendable) == args.preview_recipients
    return {"recipients": args.preview_recipients, "preview_s": round(elapsed, 3)}


def run_throttle_cost(backend: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Release rate with and without a policy in force, alternating rounds."""
    from pigeon.domain.throttle import ThrottleRules
    from pigeon.services import messages, throttle

    roomy = ThrottleRules(
        max_per_minute=10_000_000, max_per_hour=10_000_000, max_per_day=10_000_000
    ).to_json()
    with database(backend, workdir, args, "throttle") as url:
        svc = services(url)
        try:
            plain, limited = workspace(svc, "plain"), workspace(svc, "limited")
            throttle.put(svc, limited, "workspace", None, roomy)
            rates: dict[str, list[float]] = {"without": [], "with": []}
            for round_ in range(args.rounds):
                for label, who in (("without", plain), ("with", limited)):
                    requests = [
                        messages.NewMessage(recipient=f"+447400{i:06d}", body=f"m{i}")
                        for i in range(args.release_messages)
                    ]
                    for start in range(0, len(requests), 1000):
                        messages.create_batch(svc, who, requests[start : start + 1000])
                    started = time.perf_counter()
                    released = release_all(svc)
                    elapsed = time.perf_counter() - started
                    assert released == args.release_messages, (label, released)
                    rates[label].append(released / elapsed)
                progress(f"{backend}: throttle round {round_ + 1}/{args.rounds}")
        finally:
            svc.close()
    without, with_policy = median(rates["without"]), median(rates["with"])
    return {
        "messages_per_round": args.release_messages,
        "rounds": args.rounds,
        "release_per_s_without_policy": round(without),
        "release_per_s_with_policy": round(with_policy),
        "with_over_without": round(with_policy / without, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--preview-recipients", type=int, default=100_000)
    parser.add_argument("--release-messages", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.recipients, args.preview_recipients, args.release_messages = 1000, 5000, 1000
        args.rounds = 1
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="pigeon-bench-outreach-"))
    figures: dict[str, Any] = {}
    details: dict[str, Any] = {}
    try:
        for backend in backends:
            batch = run_batch(backend, workdir, args)
            preview = run_preview(backend, workdir, args)
            cost = run_throttle_cost(backend, workdir, args)
            details[backend] = {"batch": batch, "preview": preview, "throttle": cost}
            figures[f"batch_{args.recipients}_render_preview_release_s_{backend}"] = batch[
                "total_s"
            ]
            figures[f"preview_{args.preview_recipients}_s_{backend}"] = preview["preview_s"]
            figures[f"release_per_s_without_policy_{backend}"] = cost[
                "release_per_s_without_policy"
            ]
            figures[f"release_per_s_with_policy_{backend}"] = cost["release_per_s_with_policy"]
            figures[f"release_with_over_without_policy_{backend}"] = cost["with_over_without"]
        facts: dict[str, Any] = {}
        if "sqlite" in backends:
            facts["sqlite"] = sqlite_facts(f"sqlite:///{workdir / 'facts.db'}")
        if "postgres" in backends:
            facts["postgres"] = postgres_facts(args.pg_admin_url)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        json.dumps(
            {
                **figures,
                "units": "seconds for times, messages/s for rates, a ratio for *_over_*",
                "durability": facts,
                "details": details,
                "machine": machine_facts(),
                "pigeon": pigeon_source(),
                "at": datetime.now(UTC).isoformat(),
            }
        )
    )


if __name__ == "__main__":
    main()
