"""The Duckling corpus as a ratchet: every row is a test, known misses are strict xfails.

`corpus_floor.json` lists the rows we still get wrong and the accuracy
floors. Fixing a row makes its strict xfail fail: delete it from the list.
Beating a floor by more than half a point fails too: raise the floor.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pigeon.extract import grammar
from pigeon.extract.resolve import resolve_phrase
from tests.unit.extract import corpus

pytestmark = pytest.mark.skipif(not corpus.available(), reason=corpus.MISSING_REASON)

FLOOR = json.loads((Path(__file__).parent / "corpus_floor.json").read_text())
KNOWN_MISSES = set(FLOOR["known_misses"])
ROWS = corpus.rows(corpus.MAIN)
NEGATIVES = corpus.rows(corpus.NEGATIVE)


def resolves_as_expected(row: dict[str, Any]) -> bool:
    ref = datetime.fromisoformat(row["reference"])
    resolved = resolve_phrase(row["text"], ref, ZoneInfo(row["tz"]), row["locale"])
    if resolved is None:
        return False
    return (resolved.start.isoformat(), resolved.grain.label) == (row["value"], row["grain"])


def _param(row: dict[str, Any]) -> Any:
    marks = []
    if row["id"] in KNOWN_MISSES:
        marks.append(
            pytest.mark.xfail(
                reason="known miss; remove from corpus_floor.json once fixed", strict=True
            )
        )
    return pytest.param(row, id=f"{row['id']}-{row['split']}", marks=marks)


@pytest.mark.parametrize("row", [_param(row) for row in ROWS])
def test_row(row: dict[str, Any]) -> None:
    assert resolves_as_expected(row), f"{row['text']!r} at {row['reference']} ({row['locale']})"


@pytest.mark.parametrize("row", NEGATIVES, ids=[row["id"] for row in NEGATIVES])
def test_negative_row_is_not_a_time(row: dict[str, Any]) -> None:
    assert grammar.parse(row["text"]) is None


def _accuracy(selected: list[dict[str, Any]]) -> float:
    ok = sum(resolves_as_expected(row) for row in selected)
    return 100.0 * ok / len(selected)


@pytest.mark.parametrize(
    ("name", "select"),
    [
        ("core_slice", corpus.is_core),
        ("all_instants", lambda row: row["kind"] == "instant" and not row["latent"]),
        ("all_rows", lambda row: True),
    ],
)
def test_accuracy_floor(name: str, select: Any) -> None:
    accuracy = _accuracy([row for row in ROWS if select(row)])
    floor = FLOOR["floors_pct"][name]
    assert accuracy >= floor, f"{name} accuracy {accuracy:.2f}% fell below the floor {floor}%"
    assert accuracy < floor + 0.5, (
        f"{name} is now {accuracy:.2f}%: raise its floor in corpus_floor.json"
    )


def test_issue_targets_hold() -> None:
    assert FLOOR["floors_pct"]["core_slice"] >= 90.0
    assert FLOOR["floors_pct"]["all_instants"] >= 70.0
    parsed = [row["text"] for row in NEGATIVES if grammar.parse(row["text"]) is not None]
    assert len(parsed) <= 3, parsed
