"""Scoring the extractor on the hand-written corpora (see README.md here).

`bench/extract.py` prints the figures; `tests/unit/extract/test_corpora.py` holds the dev
halves to their floors. One row is scored by one function, so both agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pigeon.extract.protocols import Extraction, Extractor, ExtractRequest
from pigeon.extract.rules import RuleBasedExtractor

HERE = Path(__file__).resolve().parent
HALVES = ("dev", "dev2", "test")  # dev2: a second dev set, written later (see README)

Row = dict[str, Any]


def load(corpus: str, half: str) -> list[Row]:
    """`corpus` is "phrases" or "followups"; `half` is "dev" or "test"."""
    with (HERE / f"{corpus}.{half}.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def request_of(row: Row, prefix: str = "") -> ExtractRequest:
    zone = ZoneInfo(row["zone"])
    received = datetime.fromisoformat(row["reference"]).replace(tzinfo=zone)
    return ExtractRequest(prefix + row["text"], received, zone, row["locale"])


# A phrase is scored as the time of a reminder request, which is what its expected window
# describes ("21.3" is due on 21 March in the morning).
PHRASE_PREFIX = "remind me "


@dataclass(frozen=True, slots=True)
class Outcome:
    """One row's verdict: `ok`, and what went wrong otherwise."""

    row: Row
    ok: bool
    asked: bool  # the extractor asked back
    found: bool  # it found a follow-up (a due time or a question)
    summary_ok: bool = True
    got: str = ""


def _in_window(due: datetime | None, expect: Row) -> bool:
    if due is None:
        return False
    return datetime.fromisoformat(expect["start"]) <= due <= datetime.fromisoformat(expect["end"])


def _describe(extraction: Extraction) -> str:
    if not extraction.wants_follow_up:
        return "no follow-up"
    if extraction.ambiguous:
        return f"asks ({extraction.reason}): {extraction.question or extraction.reason_text}"
    return f"due {extraction.due.isoformat() if extraction.due else None} / {extraction.summary!r}"


def _summary_ok(summary: str, words: Iterable[str]) -> bool:
    have = set(re.findall(r"[\w'-]+", summary.lower()))
    return all(word in have for word in words)


def score_phrase(row: Row, extractor: Extractor) -> Outcome:
    """A phrase passes when its due time lies in the window, unasked; or, for a `none`
    row, when no time is found in it."""
    extraction = extractor.extract(request_of(row, PHRASE_PREFIX))
    expect = row["expect"]
    if expect.get("kind") == "none":
        ok = not extraction.mentions
        return Outcome(
            row, ok, extraction.ambiguous, bool(extraction.mentions), got=_mentions(extraction)
        )
    ok = not extraction.ambiguous and _in_window(extraction.due, expect)
    return Outcome(row, ok, extraction.ambiguous, True, got=_describe(extraction))


def _mentions(extraction: Extraction) -> str:
    return "; ".join(m.text for m in extraction.mentions) or "nothing"


def score_followup(row: Row, extractor: Extractor) -> Outcome:
    """`due` rows pass inside their window, unasked, with the summary words; `ask` rows
    when the extractor asks; `none` rows when it finds no follow-up to make."""
    extraction = extractor.extract(request_of(row))
    expect = row["expect"]
    asked = extraction.wants_follow_up and extraction.ambiguous
    found = extraction.wants_follow_up
    got = _describe(extraction)
    if expect["kind"] == "none":
        return Outcome(row, not found, asked, found, got=got)
    if expect["kind"] == "ask":
        return Outcome(row, asked, asked, found, got=got)
    summary_ok = _summary_ok(extraction.summary, expect["summary"])
    ok = found and not extraction.ambiguous and _in_window(extraction.due, expect)
    return Outcome(row, ok, asked, found, summary_ok, got)


@dataclass
class Tally:
    ok: int = 0
    total: int = 0

    def add(self, passed: bool) -> None:
        self.ok += passed
        self.total += 1

    @property
    def pct(self) -> float:
        return round(100.0 * self.ok / self.total, 1) if self.total else 0.0


@dataclass
class Report:
    """The figures of one corpus half."""

    overall: Tally = field(default_factory=Tally)
    by_class: dict[str, Tally] = field(default_factory=dict)
    failures: list[Outcome] = field(default_factory=list)
    # followups only
    due_in_window: Tally = field(default_factory=Tally)
    asks_made: Tally = field(default_factory=Tally)  # ambiguity recall
    false_asks: int = 0  # asked on a clear request
    negatives: Tally = field(default_factory=Tally)  # no follow-up found where none is
    summaries: Tally = field(default_factory=Tally)

    def figures(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "accuracy_pct": self.overall.pct,
            "rows": self.overall.total,
            "by_class_pct": {name: t.pct for name, t in sorted(self.by_class.items())},
        }
        if self.due_in_window.total:
            out |= {
                "due_in_window_pct": self.due_in_window.pct,
                "asks_made": f"{self.asks_made.ok}/{self.asks_made.total}",
                "ambiguity_recall_pct": self.asks_made.pct,
                "false_asks_count": self.false_asks,
                "negatives_pct": self.negatives.pct,
                "summary_pct": self.summaries.pct,
            }
        return out


def evaluate(
    corpus: str, half: str, extractor: Extractor | None = None, rows: list[Row] | None = None
) -> Report:
    extractor = extractor or RuleBasedExtractor()
    report = Report()
    score = score_phrase if corpus == "phrases" else score_followup
    for row in rows if rows is not None else load(corpus, half):
        outcome = score(row, extractor)
        report.overall.add(outcome.ok)
        report.by_class.setdefault(row["class"], Tally()).add(outcome.ok)
        if not outcome.ok or not outcome.summary_ok:
            report.failures.append(outcome)
        if corpus == "followups":
            _tally_followup(report, outcome)
    return report


def _tally_followup(report: Report, outcome: Outcome) -> None:
    kind = outcome.row["expect"]["kind"]
    if kind == "due":
        report.due_in_window.add(outcome.ok)
        report.false_asks += outcome.asked
        report.summaries.add(outcome.summary_ok)
    elif kind == "ask":
        report.asks_made.add(outcome.asked)
    else:
        report.negatives.add(outcome.ok)


def failures_text(report: Report) -> Iterator[str]:
    for outcome in report.failures:
        row = outcome.row
        expect = row["expect"]
        wanted = expect.get("kind", "due")
        if wanted == "due" or "start" in expect:
            wanted = f"{expect['start']} .. {expect['end']}"
            if "summary" in expect:
                wanted += f" {expect['summary']}"
        elif wanted == "ask":
            wanted = f"ask {expect['about']}"
        flag = "" if outcome.ok else "FAIL "
        where = f"{row['reference']} {row['zone']} {row['locale']}"
        yield f"{flag}{row['id']} [{row['class']}] {row['text']!r} @ {where}"
        yield f"    want {wanted}\n    got  {outcome.got}"
