"""Benchmark the extractor: accuracy on every corpus, per class, and its speed.

Prints progress lines, then ONE JSON object on the last line.

* The hand-written corpora in tests/corpora (phrases and follow-up requests, each split
  into a dev and a test half, plus a second dev set, dev2; see tests/corpora/README.md):
  accuracy per corpus, half and
  class; for follow-ups also due times inside their window, questions asked on the
  ambiguous requests (ambiguity recall), needless questions on clear ones (false asks),
  and negatives (no follow-up found where none was asked for).
* The Duckling English corpus (../shared/corpora, or PIGEON_CORPORA_DIR): an exact match
  of the resolved start (naive local wall clock) and grain.
* Speed on one core: phrases/s through the resolver, messages/s through the extractor
  (fresh text every time, so no cache helps), and the slowest of a few 10,000-character
  texts built to make the extractor work hard (lists of dates, far-off counts).

    python bench/extract.py            # every half
    python bench/extract.py --half dev # only the halves you may look at (dev, dev2)

Durability settings: none apply (pure computation, no I/O).
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
sys.path.insert(1, str(ROOT))  # tests.corpora.score

from tests.corpora import score  # noqa: E402

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


def hand_written(halves: list[str]) -> dict[str, object]:
    """The figures of tests/corpora, per corpus and half."""
    extractor = RuleBasedExtractor()
    figures: dict[str, object] = {}
    for corpus in ("phrases", "followups"):
        for half in halves:
            report = score.evaluate(corpus, half, extractor)
            found = report.figures()
            print(f"{corpus}.{half}: {found['accuracy_pct']}% of {found['rows']}")
            for name, pct_ok in found["by_class_pct"].items():
                print(f"  {name:26} {pct_ok:6.1f}%")
            figures[f"{corpus}_{half}"] = found
    return figures


def messages_per_second(seconds: float = 2.0) -> float:
    """Follow-up requests through the extractor on one core, each text new."""
    rows = [row for half in score.HALVES for row in score.load("followups", half)]
    extractor = RuleBasedExtractor()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        row = rows[count % len(rows)]
        request = score.request_of(row)
        # A distinct suffix per message defeats the phrase cache, like real traffic.
        extractor.extract(ExtractRequest(f"{request.text} #{count}", *_rest(request)))
        count += 1
    return count / (time.perf_counter() - start)


# Texts at the request limit (10,000 characters) built to find work that grows faster than
# the text: lists of dates, times, weekdays, counts far off the calendar.
_ADVERSARIAL = [
    " ".join(f"{i % 12 + 1}/{i % 28 + 1}" for i in range(2000)),
    "in 999 business days " * 500,
    "monday tuesday wednesday thursday friday saturday sunday " * 200,
    "friday the 13th monday the 2nd " * 400,
    "on 3/4 at 5pm friday the 13th in 2 weeks by EOD christmas eve " * 200,
    " ".join(f"tue {i % 28 + 1}/{i % 12 + 1}" for i in range(1000)),
    "in 99999 years " * 700,
]


def slowest_adversarial_ms() -> float:
    """The longest one of `_ADVERSARIAL` takes through the extractor, cold."""
    extractor = RuleBasedExtractor()
    zone = ZoneInfo("Europe/London")
    slowest = 0.0
    for text in _ADVERSARIAL:
        start = time.perf_counter()
        extractor.extract(ExtractRequest(text[:10000], datetime(2026, 3, 2, 10, tzinfo=zone), zone))
        slowest = max(slowest, time.perf_counter() - start)
    return slowest * 1000


def _rest(request: ExtractRequest) -> tuple[datetime, ZoneInfo, str]:
    return request.received_at, request.zone, request.locale


def main() -> None:
    looked_at = ["dev", "dev2"]
    halves = looked_at if "--half" in sys.argv and "dev" in sys.argv else list(score.HALVES)
    corpora = hand_written(halves)
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

    messages_per_s = messages_per_second()
    adversarial_ms = slowest_adversarial_ms()

    result = {
        "corpora": corpora,
        "core_slice_accuracy_pct": pct(*core),
        "core_slice_rows": core[1],
        "all_instants_accuracy_pct": pct(*instants),
        "all_instants_rows": instants[1],
        "all_rows_accuracy_pct": pct(*everything),
        "negatives_parsed_count": len(parsed_negatives),
        "negatives_total_count": len(negatives),
        "phrases_per_s_one_core": round(phrases_per_s),
        "messages_per_s_one_core": round(messages_per_s),
        "slowest_adversarial_message_ms": round(adversarial_ms),
        "split_accuracy_pct": {
            split: pct(ok, total) for split, (ok, total) in sorted(per_split.items())
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
