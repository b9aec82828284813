"""`pigeon extract`, driven through click's test runner on the command object."""

from __future__ import annotations

import json

from click.testing import CliRunner

from pigeon.extract.command import extract


def test_one_message() -> None:
    result = CliRunner().invoke(
        extract,
        ["--at", "2025-01-15T10:00", "--tz", "America/New_York", "Reply to Sam tomorrow at 3pm"],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload == {
        "due": "2025-01-16T15:00:00-05:00",
        "grain": "hour",
        "ambiguous": False,
        "reason": None,
        "summary": "Reply to Sam",
        "action": "remind_and_draft",
    }


def test_batch_writes_one_line_per_input() -> None:
    lines = [
        {"text": "call Ann in 2 hours", "reference": "2013-02-12T04:30:00", "tz": "Etc/GMT+2"},
        {"text": "follow up sometime next week", "reference": "2013-02-12T04:30:00", "tz": "UTC"},
        {"text": "not json"},
    ]
    stdin = "\n".join(json.dumps(line) for line in lines[:2]) + "\n{broken\n"
    result = CliRunner().invoke(extract, ["--batch"], input=stdin)
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert len(out) == 3
    assert out[0]["due"] == "2013-02-12T06:30:00-02:00"
    assert set(out[0]) == {"due", "grain", "ambiguous", "reason", "summary", "action"}
    assert (
        out[1]["ambiguous"] is True and out[1]["reason"] == "vague_period" and out[1]["due"] is None
    )
    assert "error" in out[2]


def test_neutral_mode_keeps_the_corpus_semantics() -> None:
    result = CliRunner().invoke(
        extract, ["--neutral", "--at", "2013-02-12T04:30:00", "--tz", "Etc/GMT+2", "last tuesday"]
    )
    assert json.loads(result.output)["due"] == "2013-02-05T00:00:00-02:00"


def test_bad_zone_and_bad_backend_are_usage_errors() -> None:
    assert CliRunner().invoke(extract, ["--tz", "Mars/Olympus", "hi"]).exit_code == 2
    bad = CliRunner().invoke(extract, ["hi"], env={"PIGEON_EXTRACT_BACKEND": "gpt"})
    assert bad.exit_code == 2
    assert "PIGEON_EXTRACT_BACKEND" in bad.output
