"""Benchmark the rule-based time resolver on the Duckling English corpus.

Prints progress lines, then ONE JSON object on the last line. Accuracy is an
exact match of the resolved start (naive local wall clock) and grain: the
start of an instant, the start of an interval, the boundary of an open one.
The corpus lives in ../shared/corpora next to the repository, or wherever
PIGEON_CORPORA_DIR points.

    python bench/extract.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pigeon.extract import grammar  # noqa: E402
from pigeon.extract.protocols import ExtractRequest  # noqa: E402
from pigeon.extract.resolve import resolve_phrase  # noqa: E402
from pigeon.extract.rules import RuleBasedExtractor  # noqa: E402


def corpora_dir() -> Path:
    return Path(os.environ.get("PIGEON_CORPORA_DIR") or ROOT.parent / "shared" / "corpora")


def load(name: str) -> list[dict[str, object]]:
    with (corpora_dir() / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def is_core(row: dict[str, object]) -> bool:
    return row["split"] == "main" and not row.get("holiday") and not row["latent"]


def check(row: dict[str, object]) -> bool:
    zone = ZoneInfo(str(row["tz"]))
    ref = datetime.fromisoformat(str(row["reference"]))
    resolved = resolve_phrase(str(row["text"]), ref, zone, str(row["locale"]))
    if resolved is None:
        return False
    return (resolved.start.isoformat(), resolved.grain.label) == (row["value"], row["grain"])


def pct(ok: int, total: int) -> float:
    return round(100.0 * ok / total, 2) if total else 0.0


def main() -> None:
    rows = load("time-en-duckling.jsonl")
    negatives = load("time-en-duckling-negative.jsonl")
    print(f"corpus: {len(rows)} phrases, {len(negatives)} negatives from {corpora_dir()}")
    per_split: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    core = [0, 0]
    instants = [0, 0]
    everything = [0, 0]
    for row in rows:
        ok = check(row)
        for bucket in (per_split[str(row["split"])], everything):
            bucket[0] += ok
            bucket[1] += 1
        if is_core(row):
            core[0] += ok
            core[1] += 1
        if row["kind"] == "instant" and not row["latent"]:
            instants[0] += ok
            instants[1] += 1
    parsed_negatives = [r["text"] for r in negatives if grammar.parse(str(r["text"])) is not None]
    for split, (ok, total) in sorted(per_split.items()):
        print(f"  {split:16} {ok:4}/{total:<4} {pct(ok, total):6.2f}%")
    print(f"negatives parsed as a time: {parsed_negatives}")

    # Throughput: fresh phrases every time (the parse cache is cleared), one core.
    texts = [(str(r["text"]), r) for r in rows]
    grammar._PARSERS[True].parse.cache_clear()
    grammar._PARSERS[False].parse.cache_clear()
    start = time.perf_counter()
    for text, row in texts:
        resolve_phrase(
            text,
            datetime.fromisoformat(str(row["reference"])),
            ZoneInfo(str(row["tz"])),
            str(row["locale"]),
        )
    phrases_per_s = len(texts) / (time.perf_counter() - start)

    messages = [
        "Follow up with Dr office next Friday morning about test results.",
        "Can you reply to Sarah first thing tmrw about the invoice?",
        "call 555-1234 about the 2 of them, the 3 of us meet in 2 weeks",
        "Remind me to send the contract to Bob by EOD",
        "ping Ana between 3 and 5pm on thursday re: offsite",
        "lunch with Tom sometime next week",
    ]
    extractor = RuleBasedExtractor()
    zone = ZoneInfo("America/New_York")
    received = datetime(2025, 1, 15, 10, 0, tzinfo=zone)
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < 1.0:
        for i, message in enumerate(messages):
            # A distinct suffix per message defeats the phrase cache, like real traffic.
            extractor.extract(ExtractRequest(f"{message} #{count}{i}", received, zone))
            count += 1
    messages_per_s = count / (time.perf_counter() - start)

    result = {
        "core_slice_accuracy_pct": pct(*core),
        "core_slice_rows": core[1],
        "all_instants_accuracy_pct": pct(*instants),
        "all_instants_rows": instants[1],
        "all_rows_accuracy_pct": pct(*everything),
        "negatives_parsed_count": len(parsed_negatives),
        "negatives_total_count": len(negatives),
        "phrases_per_s_one_core": round(phrases_per_s),
        "messages_per_s_one_core": round(messages_per_s),
        "split_accuracy_pct": {
            split: pct(ok, total) for split, (ok, total) in sorted(per_split.items())
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
