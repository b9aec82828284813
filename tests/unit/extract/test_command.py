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
        "question": None,
        "wants_follow_up": True,
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
    assert set(out[0]) == {
        "due", "grain", "ambiguous", "reason", "summary", "action", "question", "wants_follow_up"
    }  # fmt: skip
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


def test_batch_says_what_is_wrong_with_each_line_and_goes_on() -> None:
    good = {"text": "in 2 hours", "reference": "2013-02-12T04:30:00", "tz": "Etc/GMT+2"}
    lines = [
        "[]",
        json.dumps({"text": "x"}),
        json.dumps({**good, "tz": "Mars/Olympus"}),
        json.dumps({**good, "locale": "fr_FR"}),
        json.dumps(good),
    ]
    result = CliRunner().invoke(extract, ["--batch"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [row.get("error", "").split(":")[0:2] for row in out[:4]] == [
        ["line 1", " expected a JSON object with text, reference and tz"],
        ["line 2", " reference"],
        ["line 3", " tz"],
        ["line 4", " locale"],
    ]
    assert out[4]["due"] == "2013-02-12T06:30:00-02:00"


def test_a_locale_pigeon_does_not_read_is_a_usage_error() -> None:
    result = CliRunner().invoke(extract, ["--locale", "klingon", "tomorrow"])
    assert result.exit_code == 2
    assert "--locale" in result.output


def test_batch_lines_that_would_crash_are_errors_and_the_batch_goes_on() -> None:
    good = {"text": "in 2 hours", "reference": "2013-02-12T04:30:00", "tz": "Etc/GMT+2"}
    lines = [
        "\ufeff" + json.dumps(good),  # a byte-order mark before line 1
        json.dumps({**good, "text": "remind me in 1e309 hours"}),
        json.dumps({**good, "reference": "9999-12-31T23:00:00"}),
        json.dumps({**good, "text": "remind me \ud800 tomorrow"}),
        json.dumps({**good, "text": "tomorrow at 3pm\u0000"}),
        json.dumps(good),
    ]
    result = CliRunner().invoke(extract, ["--batch"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert out[0]["due"] == out[5]["due"] == "2013-02-12T06:30:00-02:00"
    assert out[1]["due"] is None and out[1]["reason"] == "no_time"
    assert [row["error"].split(":")[1].strip() for row in out[2:5]] == [
        "reference",
        "text",
        "text",
    ]


def test_a_reference_past_the_years_the_api_takes_is_a_usage_error() -> None:
    result = CliRunner().invoke(extract, ["--at", "9999-12-31T23:00", "remind me tomorrow"])
    assert result.exit_code == 2
    assert "--at" in result.output
