"""The extractor as part of the product: `POST /v1/extract`, times in words on message create
(`scheduled_for_text`) and on `pigeon send --at`, on SQLite and PostgreSQL.

The clock is frozen at T0 (Monday 2030-01-07 09:00 UTC). The phrases are chosen to stay
clear whatever the resolver learns: "tomorrow at 3pm" names one time, "later" and "sometime
next month" name none a person would schedule without asking.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from pigeon import bootstrap, cli
from pigeon.api.turns import WriteTurns
from pigeon.bus.memory import MemoryBus
from pigeon.clock import FrozenClock
from pigeon.config import Settings
from pigeon.extract.protocols import Action, Extraction, ExtractRequest
from pigeon.extract.settings import Deferred
from pigeon.services import admin
from pigeon.services.context import Services
from tests.conftest import T0
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    PHONE,
    InProcessClient,
    Tenant,
    bearer,
    new_key,
    problem_fields,
    row_counts,
    serve_in_process,
)

VAGUE = ("later", "sometime next month")  # as times in words
VAGUE_REQUESTS = ("remind me later", "remind me sometime next month")  # as messages
VAGUE_REASONS = {"vague_time", "vague_period"}


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, operator_token=OPERATOR_TOKEN)


def workspace_in(api: InProcessClient, timezone: str) -> Tenant:
    response = api.post(
        "/v1/workspaces",
        json={"name": f"in {timezone}", "timezone": timezone},
        headers=bearer(OPERATOR_TOKEN),
    )
    assert response.status_code == 201, response.text
    return Tenant(response.json()["id"], response.json()["api_key"])


def extract(api: InProcessClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = api.post("/v1/extract", json=body, headers=tenant.auth)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


# POST /v1/extract -------------------------------------------------------------------------


def test_extract_reads_the_text_at_the_reference_in_the_zone(
    api: InProcessClient, tenant: Tenant
) -> None:
    text = "Please remind me to call Ann tomorrow at 3pm about the lease."
    found = extract(
        api,
        tenant,
        text=text,
        reference="2030-01-07T10:15:00+01:00",
        zone="Europe/Paris",
        locale="en-GB",
    )
    assert (found["reference"], found["zone"], found["locale"]) == (
        "2030-01-07T09:15:00Z",
        "Europe/Paris",
        "en_GB",
    )
    extraction = found["extraction"]
    assert extraction["due"] == "2030-01-08T14:00:00Z"  # 15:00 in Paris
    assert extraction["grain"] == "hour"
    assert (extraction["ambiguous"], extraction["reason"], extraction["question"]) == (
        False,
        None,
        None,
    )
    assert extraction["wants_follow_up"] is True
    assert extraction["action"] in {"remind", "remind_and_draft"}
    assert extraction["source"] == "rules"
    assert isinstance(extraction["summary"], str)
    [mention] = [m for m in found["mentions"] if "3pm" in m["text"]]
    start, end = mention["span"]
    assert text[start:end] == mention["text"]
    assert mention["start"] == "2030-01-08T14:00:00Z"
    assert mention["grain"] == "hour"
    assert set(mention) == {"text", "span", "start", "end", "grain", "kind", "open", "vague"}


def test_extract_defaults_to_now_the_workspace_zone_and_the_settings_locale(
    api: InProcessClient,
) -> None:
    tenant = workspace_in(api, "America/New_York")
    reader = bearer(new_key(api, tenant, "read"))  # any key may ask: it reads nothing
    text = "remind me tomorrow at 3pm"
    response = api.post("/v1/extract", json={"text": text}, headers=reader)
    assert response.status_code == 200, response.text
    found = response.json()
    assert (found["reference"], found["zone"], found["locale"]) == (
        "2030-01-07T09:00:00Z",  # the clock's now
        "America/New_York",
        "en",
    )
    assert found["extraction"]["due"] == "2030-01-08T20:00:00Z"  # 15:00 in New York


@pytest.mark.parametrize("text", VAGUE_REQUESTS)
def test_extract_says_why_a_vague_text_cannot_be_scheduled(
    api: InProcessClient, tenant: Tenant, text: str
) -> None:
    extraction = extract(api, tenant, text=text)["extraction"]
    assert extraction["ambiguous"] is True
    assert extraction["due"] is None
    assert extraction["reason"] in VAGUE_REASONS
    assert extraction["reason_text"]


def test_extract_says_when_a_text_asks_for_nothing(api: InProcessClient, tenant: Tenant) -> None:
    extraction = extract(api, tenant, text="Thanks, got it!")["extraction"]
    assert extraction["wants_follow_up"] is False
    assert (extraction["due"], extraction["ambiguous"]) == (None, False)


def test_extract_uses_the_extractor_the_composition_root_built(settings: Settings) -> None:
    asked: list[ExtractRequest] = []

    class Recording:
        def extract(self, request: ExtractRequest) -> Extraction:
            asked.append(request)
            return Extraction(due=None, grain=None, summary="s", action=Action.REMIND)

    built = bootstrap.build(
        settings, clock=FrozenClock(T0), bus=MemoryBus(), pool_size=2, extractor=Recording()
    )
    try:
        created = admin.create_workspace(built, name="w", timezone="Asia/Tokyo", actor="test")
        with serve_in_process(built) as api:
            response = api.post(
                "/v1/extract",
                json={"text": "hi", "locale": "EN_us"},
                headers=bearer(created.api_key),
            )
    finally:
        built.close()
    assert response.status_code == 200, response.text
    [request] = asked
    assert (request.text, request.zone, request.locale) == ("hi", ZoneInfo("Asia/Tokyo"), "en_US")
    assert request.received_at == T0
    assert response.json()["extraction"]["summary"] == "s"


def test_a_time_past_the_calendar_is_the_texts_fault(settings: Settings) -> None:
    """An extractor that runs off the calendar ("in 99999 years") is a 422 naming the
    text, not a 500."""

    class OffTheCalendar:
        def extract(self, request: ExtractRequest) -> Extraction:
            raise OverflowError("date value out of range")

    built = bootstrap.build(
        settings, clock=FrozenClock(T0), bus=MemoryBus(), pool_size=2, extractor=OffTheCalendar()
    )
    try:
        created = admin.create_workspace(built, name="w", timezone="UTC", actor="test")
        with serve_in_process(built) as api:
            response = api.post(
                "/v1/extract", json={"text": "in 99999 years"}, headers=bearer(created.api_key)
            )
            words = api.post(
                "/v1/messages",
                json={"recipient": PHONE, "body": "x", "scheduled_for_text": "in 99999 years"},
                headers=bearer(created.api_key),
            )
    finally:
        built.close()
    assert response.status_code == 422, response.text
    assert problem_fields(response) == ["text"]
    assert words.status_code == 422, words.text
    assert problem_fields(words) == ["scheduled_for_text"]


def test_the_default_extractor_is_built_on_first_use(settings: Settings) -> None:
    built = bootstrap.build(settings, clock=FrozenClock(T0), bus=MemoryBus(), pool_size=2)
    try:
        assert isinstance(built.extractor, Deferred)
        assert built.extractor._built is None  # the API's start does not pay for it
        first = built.extractor.built
        assert built.extractor.built is first  # once
    finally:
        built.close()


def test_extract_waits_for_no_write_turn(sqlite_url: str, clock: FrozenClock) -> None:
    """It writes nothing: on SQLite it answers while every write turn is taken."""
    built = bootstrap.build(
        Settings(database_url=sqlite_url, sqlite_busy_seconds=0.2),
        clock=clock,
        bus=MemoryBus(),
        pool_size=2,
    )
    try:
        created = admin.create_workspace(built, name="w", timezone="UTC", actor="test")
        key = bearer(created.api_key)
        with serve_in_process(built) as api:
            api.app.state.write_turns = WriteTurns(0.2, turns=0)  # every turn taken
            found = api.post("/v1/extract", json={"text": "remind me at 5pm"}, headers=key)
            write = api.post("/v1/messages", json={"recipient": PHONE, "body": "x"}, headers=key)
    finally:
        built.close()
    assert found.status_code == 200, found.text
    assert write.status_code == 503, write.text  # what a write gets meanwhile


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "   "}, "text"),
        ({}, "text"),
        ({"text": "tomorrow", "zone": "Mars/Olympus"}, "zone"),
        ({"text": "tomorrow", "reference": "2030-01-07T09:00:00"}, "reference"),
        ({"text": "tomorrow", "reference": "0005-01-07T09:00:00Z"}, "reference"),
        ({"text": "tomorrow", "locale": "english please"}, "locale"),
    ],
)
def test_extract_refuses_bad_input_naming_the_field(
    api: InProcessClient, tenant: Tenant, container: Services, body: dict[str, Any], field: str
) -> None:
    before = row_counts(container)
    response = api.post("/v1/extract", json=body, headers=tenant.auth)
    assert response.status_code == 422, response.text
    assert field in problem_fields(response)
    assert row_counts(container) == before


# POST /v1/messages with scheduled_for_text -----------------------------------------------


def create(api: InProcessClient, tenant: Tenant, **fields: Any) -> Any:
    return api.post(
        "/v1/messages", json={"recipient": PHONE, "body": "hello", **fields}, headers=tenant.auth
    )


def test_a_time_in_words_is_resolved_now_in_the_given_zone(
    api: InProcessClient, tenant: Tenant
) -> None:
    response = create(api, tenant, scheduled_for_text="tomorrow at 3pm", timezone="Asia/Tokyo")
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["scheduled_for"] == "2030-01-08T06:00:00Z"  # 15:00 in Tokyo
    stored = api.get(f"/v1/messages/{created['id']}", headers=tenant.auth).json()
    assert stored["scheduled_for"] == "2030-01-08T06:00:00Z"


def test_a_time_in_words_is_read_in_the_workspace_zone_by_default(api: InProcessClient) -> None:
    tenant = workspace_in(api, "Europe/London")
    response = create(api, tenant, scheduled_for_text="tomorrow at 3pm")
    assert response.status_code == 201, response.text
    assert response.json()["scheduled_for"] == "2030-01-08T15:00:00Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on 2030-12-25", "2030-12-25T09:00:00Z"),  # one date, not a range at its dashes
        ("on 25/12/2030 at 4pm", "2030-12-25T16:00:00Z"),  # day-first: 25 is no month
        ("in 1.5 hours", "2030-01-07T10:30:00Z"),  # an amount, not 1 May
        ("christmas eve at 8pm", "2030-12-24T20:00:00Z"),
        ("now", "2030-01-07T09:00:00Z"),
    ],
)
def test_times_in_words_a_new_user_tried(api: InProcessClient, text: str, expected: str) -> None:
    tenant = workspace_in(api, "Europe/London")  # and the default locale, `en`
    response = create(api, tenant, scheduled_for_text=text)
    assert response.status_code == 201, response.text
    assert response.json()["scheduled_for"] == expected


@pytest.mark.parametrize("text", VAGUE)
def test_a_vague_time_is_asked_back_and_nothing_is_written(
    api: InProcessClient, tenant: Tenant, container: Services, text: str
) -> None:
    before = row_counts(container)
    response = create(api, tenant, scheduled_for_text=text)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == ["scheduled_for_text"]
    problem = response.json()
    assert problem["reason"] in VAGUE_REASONS
    assert isinstance(problem["question"], str) and problem["question"].strip()
    assert "scheduled_for_text" in problem["detail"]
    assert row_counts(container) == before
    messages = api.get("/v1/messages", headers=tenant.auth).json()["items"]
    assert messages == []


def test_a_time_and_a_time_in_words_are_refused_together(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    before = row_counts(container)
    response = create(
        api, tenant, scheduled_for="2030-02-01T09:00:00Z", scheduled_for_text="tomorrow at 3pm"
    )
    assert response.status_code == 422, response.text
    assert problem_fields(response) == ["scheduled_for_text"]
    assert "question" not in response.json()
    assert row_counts(container) == before


def test_a_zone_without_words_is_refused(api: InProcessClient, tenant: Tenant) -> None:
    response = create(api, tenant, scheduled_for="2030-02-01T09:00:00Z", timezone="Asia/Tokyo")
    assert response.status_code == 422, response.text
    assert problem_fields(response) == ["timezone"]


def test_a_retry_of_a_time_in_words_replays_the_first_message(
    api: InProcessClient, tenant: Tenant, clock: FrozenClock
) -> None:
    """The words, not the instant they gave, identify the request: a retry a minute later
    is the same request, though "in 2 hours" now means another instant."""
    key = {"Idempotency-Key": "words-1"}
    payload = {"recipient": PHONE, "body": "hi", "scheduled_for_text": "in 2 hours"}
    first = api.post("/v1/messages", json=payload, headers={**tenant.auth, **key})
    assert first.status_code == 201, first.text
    assert first.json()["scheduled_for"] == "2030-01-07T11:00:00Z"
    clock.advance(timedelta(minutes=1))
    again = api.post("/v1/messages", json=payload, headers={**tenant.auth, **key})
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    other = {**payload, "scheduled_for_text": "in 3 hours"}
    assert api.post("/v1/messages", json=other, headers={**tenant.auth, **key}).status_code == 409


def test_a_repeating_message_may_start_at_a_time_in_words(
    api: InProcessClient, tenant: Tenant
) -> None:
    response = create(
        api,
        tenant,
        scheduled_for_text="tomorrow at 9am",
        timezone="Europe/London",
        repeat={"rrule": "FREQ=DAILY", "timezone": "Europe/London"},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["scheduled_for"] == "2030-01-08T09:00:00Z"
    recurrence = api.get(f"/v1/recurrences/{created['recurrence_id']}", headers=tenant.auth)
    assert recurrence.json()["dtstart"] == "2030-01-08T09:00:00Z"
    assert recurrence.json()["next_at"] == "2030-01-09T09:00:00Z"


def test_a_vague_start_of_a_repetition_is_asked_back(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    before = row_counts(container)
    response = create(api, tenant, scheduled_for_text="later", repeat={"rrule": "FREQ=DAILY"})
    assert response.status_code == 422, response.text
    assert response.json()["question"]
    assert row_counts(container) == before


def test_a_batch_item_takes_no_time_in_words(api: InProcessClient, tenant: Tenant) -> None:
    item = {"recipient": PHONE, "body": "x", "scheduled_for_text": "tomorrow at 3pm"}
    response = api.post("/v1/messages/batch", json={"items": [item]}, headers=tenant.auth)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == ["items[0].scheduled_for_text"]


# pigeon send --at -------------------------------------------------------------------------


def _midday_zone(now: datetime) -> str:
    """A zone where it is about noon now: "tomorrow" said there is clear at any hour of the
    test run (said just after midnight, a person might mean later today)."""
    hours_ahead = (12 - now.hour + 12) % 24 - 12  # -12..11
    # Etc/GMT-N is N hours ahead of UTC (the POSIX sign).
    return "Etc/GMT" + (f"{-hours_ahead:+d}" if hours_ahead else "")


@pytest.fixture
def cli_workspace(
    container: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> admin.NewWorkspace:
    monkeypatch.setenv("PIGEON_DATABASE_URL", settings.database_url)
    zone = _midday_zone(datetime.now(UTC))
    return admin.create_workspace(container, name="cli", timezone=zone, actor="test")


def test_send_at_words_schedules_the_time_they_name(cli_workspace: admin.NewWorkspace) -> None:
    zone = ZoneInfo(cli_workspace.workspace.timezone)
    before = datetime.now(zone)
    sent = CliRunner().invoke(
        cli.main, ["send", "--to", PHONE, "--body", "hi", "--at", "tomorrow at 3pm", "--json"]
    )
    after = datetime.now(zone)
    assert sent.exit_code == 0, sent.output
    scheduled = datetime.fromisoformat(json.loads(sent.output)["scheduled_for"])
    tomorrow = {(moment + timedelta(days=1)).date() for moment in (before, after)}
    assert scheduled.astimezone(zone).date() in tomorrow
    assert scheduled.astimezone(zone).time().isoformat() == "15:00:00"


def test_send_at_iso_is_read_as_before(cli_workspace: admin.NewWorkspace) -> None:
    sent = CliRunner().invoke(
        cli.main, ["send", "--to", PHONE, "--body", "hi", "--at", "2031-01-01T09:00Z", "--json"]
    )
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.output)["scheduled_for"] == "2031-01-01T09:00:00Z"


@pytest.mark.parametrize("text", VAGUE)
def test_send_at_vague_words_asks_back_and_creates_nothing(
    cli_workspace: admin.NewWorkspace, container: Services, text: str
) -> None:
    before = row_counts(container)
    sent = CliRunner().invoke(cli.main, ["send", "--to", PHONE, "--body", "hi", "--at", text])
    assert sent.exit_code == 2, sent.output  # a usage error
    assert "--at" in sent.output
    assert "?" in sent.output  # the question
    assert text in sent.output
    assert "Traceback" not in sent.output
    assert row_counts(container) == before


def test_send_at_words_reads_the_zone_and_locale_given(cli_workspace: admin.NewWorkspace) -> None:
    sent = CliRunner().invoke(
        cli.main,
        [
            *("send", "--to", PHONE, "--body", "hi", "--json"),
            *("--at", "on 3/11/2031 at 4pm", "--tz", "Asia/Tokyo", "--locale", "en_GB"),
        ],
    )
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.output)["scheduled_for"] == "2031-11-03T07:00:00Z"  # 16:00 in Tokyo


@pytest.mark.parametrize(("option", "value"), [("--tz", "Mars/Olympus"), ("--locale", "fr_FR")])
def test_send_at_names_a_bad_zone_or_locale(
    cli_workspace: admin.NewWorkspace, container: Services, option: str, value: str
) -> None:
    before = row_counts(container)
    sent = CliRunner().invoke(
        cli.main, ["send", "--to", PHONE, "--body", "hi", "--at", "tomorrow 3pm", option, value]
    )
    assert sent.exit_code == 2, sent.output
    assert option in sent.output
    assert "Traceback" not in sent.output
    assert row_counts(container) == before
