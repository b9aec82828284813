"""The model-backed extractor against an HTTP fake of both APIs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pigeon.extract import Action, ExtractRequest, Reason, RuleBasedExtractor
from pigeon.extract.llm import AnthropicClient, LLMExtractor, ModelClient, OpenAICompatibleClient
from tests.unit.extract.fake_models import FakeModelServer

ZONE = ZoneInfo("America/New_York")
RECEIVED = datetime(2025, 1, 15, 10, 0, tzinfo=ZONE)
TEXT = (
    "Reply to Bob at 415-555-2671 or bob@example.com tomorrow at 3pm about card 4111 1111 1111 1111"
)
GOOD = {
    "due": "2025-01-16T16:00:00-05:00",
    "grain": "hour",
    "ambiguous": False,
    "reason": None,
    "summary": "Reply to Bob at [PHONE_1] about the invoice",
    "action": "remind_and_draft",
}


@pytest.fixture
def fake() -> Iterator[FakeModelServer]:
    server = FakeModelServer().start()
    server.answer = dict(GOOD)
    yield server
    server.stop()


def anthropic_client(fake: FakeModelServer) -> ModelClient:
    return AnthropicClient(
        api_key="sk-test", model="claude-haiku-4-5", base_url=fake.url, timeout_s=0.5
    )


def openai_client(fake: FakeModelServer) -> ModelClient:
    return OpenAICompatibleClient(
        base_url=fake.url, model="local-model", api_key="k", timeout_s=0.5
    )


CLIENTS = [pytest.param(anthropic_client, id="anthropic"), pytest.param(openai_client, id="openai")]


def extract(client: ModelClient, text: str = TEXT):  # type: ignore[no-untyped-def]
    extractor = LLMExtractor(client, fallback=RuleBasedExtractor())
    return extractor.extract(ExtractRequest(text, RECEIVED, ZONE))


def sent_text(fake: FakeModelServer) -> str:
    body = fake.requests[-1]["body"]
    return json.dumps(body)


@pytest.mark.parametrize("make", CLIENTS)
def test_model_answer_is_used_and_pii_restored(fake: FakeModelServer, make) -> None:  # type: ignore[no-untyped-def]
    result = extract(make(fake))
    assert result.source in {"anthropic", "openai"}
    assert result.due is not None and result.due.isoformat() == "2025-01-16T16:00:00-05:00"
    assert result.summary == "Reply to Bob at 415-555-2671 about the invoice"
    assert result.action is Action.REMIND_AND_DRAFT
    assert result.mentions, "mentions come from the rules"


@pytest.mark.parametrize("make", CLIENTS)
def test_only_redacted_text_leaves_the_process(fake: FakeModelServer, make) -> None:  # type: ignore[no-untyped-def]
    extract(make(fake))
    sent = sent_text(fake)
    for secret in ("415-555-2671", "bob@example.com", "4111 1111 1111 1111"):
        assert secret not in sent
    assert "[PHONE_1]" in sent and "[EMAIL_1]" in sent and "[CARD_1]" in sent
    assert "rule_based_hint" in sent and "2025-01-16T15:00:00-05:00" in sent


def test_request_formats(fake: FakeModelServer) -> None:
    extract(anthropic_client(fake))
    extract(openai_client(fake))
    anthropic_request, openai_request = fake.requests
    assert anthropic_request["path"] == "/v1/messages"
    headers = {key.lower(): value for key, value in anthropic_request["headers"].items()}
    # The SDK authenticates with x-api-key or, in newer versions, a bearer token.
    assert "sk-test" in {
        headers.get("x-api-key"),
        headers.get("authorization", "").removeprefix("Bearer "),
    }
    assert "anthropic-version" in headers
    assert anthropic_request["body"]["messages"][0]["role"] == "user"
    assert anthropic_request["body"]["system"]
    assert openai_request["path"] == "/v1/chat/completions"
    assert {k.lower(): v for k, v in openai_request["headers"].items()}[
        "authorization"
    ] == "Bearer k"
    assert openai_request["body"]["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize("make", CLIENTS)
@pytest.mark.parametrize("mode", ["500", "slow", "not_json"])
def test_falls_back_to_rules_on_failure(fake: FakeModelServer, make, mode: str) -> None:  # type: ignore[no-untyped-def]
    fake.mode = mode
    fake.delay_s = 0.8
    result = extract(make(fake))
    assert result.source == "rules"
    assert result.due is not None and result.due.isoformat() == "2025-01-16T15:00:00-05:00"
    assert any(note.startswith("fallback:") for note in result.notes)


@pytest.mark.parametrize("make", CLIENTS)
@pytest.mark.parametrize(
    "broken",
    [
        {"due": "2025-01-14T09:00:00-05:00"},  # in the past
        {"due": "2025-01-16T16:00:00"},  # no offset
        {"action": "launch"},
        {"ambiguous": "no"},
        {"grain": "fortnight"},
        {"due": None},  # definite answer without a due time
        {"due": "9999-12-31T23:00:00-05:00"},  # past the calendar's end in UTC
        {"due": "9999-12-31T23:59:59Z"},  # scheduling for the year 9999 is no answer
    ],
)
def test_answers_are_validated(fake: FakeModelServer, make, broken: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    fake.answer = {**GOOD, **broken}
    result = extract(make(fake))
    assert result.source == "rules"


def test_model_may_ask_back(fake: FakeModelServer) -> None:
    fake.answer = {**GOOD, "due": None, "grain": None, "ambiguous": True, "reason": "vague_time"}
    result = extract(openai_client(fake), "lunch with Tom sometime next week")
    assert result.ambiguous and result.reason is Reason.VAGUE_TIME and result.due is None
    assert result.question is not None and result.question.endswith("?")


def test_a_model_doubt_the_rules_did_not_see_still_comes_with_a_question(
    fake: FakeModelServer,
) -> None:
    fake.answer = {**GOOD, "due": None, "grain": None, "ambiguous": True, "reason": "am_pm"}
    result = extract(openai_client(fake), "call Ann tomorrow at 3pm")
    assert result.reason is Reason.AM_PM
    assert result.question == "Is that in the morning or in the evening?"
