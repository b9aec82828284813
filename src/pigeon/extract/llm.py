"""Model-backed extraction: the only module here that talks to the network.

The rule-based result is computed first. It is the hint in the prompt and
the answer whenever the model times out, errors, or returns something that
does not validate, so a model can only improve on the rules. Text is
redacted before it leaves the process and restored in what comes back.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from pigeon.extract.protocols import (
    REASON_TEXT,
    Action,
    Extraction,
    Extractor,
    ExtractRequest,
    Grain,
    Reason,
)
from pigeon.extract.redact import redact

if TYPE_CHECKING:
    from pigeon.extract.redact import Redaction

log = logging.getLogger(__name__)

SYSTEM_PROMPT = """You extract one follow-up task from a message.
Answer with a single JSON object and nothing else, with exactly these keys:
"due": ISO 8601 date-time with UTC offset in the user's zone, or null;
"grain": one of "second","minute","hour","day","week","month","quarter","year", or null;
"ambiguous": true when the due time cannot be decided without asking;
"reason": null, or one of "vague_time","unknown_date_order","weekday_this_or_next",
"nonexistent_date","past_time","no_time","conflicting_times";
"summary": what to follow up about and with whom, without the time phrase;
"action": "remind_and_draft" if the message asks to reply, draft, send or write back, else "remind".
The due time must not be before the received time. Placeholders like [PHONE_1] stand for
redacted details: copy them unchanged. A rule-based reading is given as a hint; keep it
unless the message clearly says otherwise."""


class ModelError(Exception):
    """The model could not give a usable answer (network, HTTP status, format)."""


class ModelClient(Protocol):
    name: str

    def complete(self, system: str, user: str) -> str:
        """The model's text answer to one user message."""
        ...


class AnthropicClient:
    """Claude through the official SDK (Messages API); `base_url` points tests at a fake."""

    name = "anthropic"

    def __init__(
        self, *, api_key: str, model: str, base_url: str | None = None, timeout_s: float = 10.0
    ) -> None:
        import anthropic

        self._anthropic = anthropic
        self._client = anthropic.Anthropic(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0
        )
        self.model = model

    def complete(self, system: str, user: str) -> str:
        try:
            message = self._client.messages.create(
                model=self.model,
                max_tokens=512,
                system=system,
                messages=[{"role": "user", "content": user}],
            )
        except self._anthropic.APIError as exc:
            raise ModelError(f"anthropic: {type(exc).__name__}") from exc
        texts = [
            text
            for block in message.content
            if getattr(block, "type", "") == "text"
            and isinstance(text := getattr(block, "text", None), str)
        ]
        if not texts:
            raise ModelError("anthropic: no text block in the response")
        return "".join(texts)


class OpenAICompatibleClient:
    """Any server that speaks OpenAI's `/v1/chat/completions` (vLLM, llama.cpp, Ollama...)."""

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout_s, headers=headers, transport=transport
        )
        self.model = model

    def complete(self, system: str, user: str) -> str:
        body = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "response_format": {"type": "json_object"},
            "temperature": 0,
        }
        try:
            response = self._http.post("/v1/chat/completions", json=body)
            response.raise_for_status()
            payload = response.json()
            content = payload["choices"][0]["message"]["content"]
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise ModelError(f"openai: {type(exc).__name__}") from exc
        if not isinstance(content, str):
            raise ModelError("openai: message content is not text")
        return content


class LLMExtractor:
    """Asks a model, validates the answer, and falls back to `fallback` on any failure."""

    def __init__(self, client: ModelClient, *, fallback: Extractor) -> None:
        self.client = client
        self.fallback = fallback

    def extract(self, request: ExtractRequest) -> Extraction:
        baseline = self.fallback.extract(request)
        hidden = redact(request.text)
        hint = self.fallback.extract(replace(request, text=hidden.text))
        prompt = build_prompt(request, hidden.text, hint)
        try:
            answer = self.client.complete(SYSTEM_PROMPT, prompt)
            result = parse_answer(answer, request, hidden)
        except (ModelError, ValueError, OverflowError) as exc:
            log.warning(
                "model extraction failed; using rules",
                extra={
                    "action": "extract_fallback",
                    "backend": self.client.name,
                    "error": str(exc),
                },
            )
            return replace(baseline, notes=(*baseline.notes, f"fallback:{type(exc).__name__}"))
        if result.ambiguous:  # the rules' own question when they saw the same doubt
            question = baseline.question if baseline.reason is result.reason else None
            if question is None and result.reason is not None:
                question = _QUESTIONS.get(result.reason)
            result = replace(result, question=question or "When should I remind you?")
        return replace(result, mentions=baseline.mentions, source=self.client.name)


# What to ask when the model finds a request ambiguous and the rules did not see why.
_QUESTIONS = {
    Reason.VAGUE_TIME: "When should I remind you: which day, and what time?",
    Reason.VAGUE_PERIOD: "Which day should I remind you, and at what time?",
    Reason.UNKNOWN_DATE_ORDER: "Which date do you mean: is the day or the month first?",
    Reason.WEEKDAY_THIS_OR_NEXT: "Do you mean this week or next week?",
    Reason.NONEXISTENT_DATE: "That date does not exist. Which day do you mean?",
    Reason.PAST_TIME: "That time has already passed. When should I remind you instead?",
    Reason.CONFLICTING_TIMES: "You mention more than one time. Which one should I use?",
    Reason.WHICH_DAY: "Do you mean later today or the next day?",
    Reason.WEEKDAY_DATE_CONFLICT: "The weekday and the date do not match. Which day do you mean?",
    Reason.AM_PM: "Is that in the morning or in the evening?",
}


def build_prompt(request: ExtractRequest, text: str, hint: Extraction) -> str:
    hint_json = {
        "due": hint.due.isoformat() if hint.due else None,
        "grain": hint.grain.label if hint.grain is not None else None,
        "ambiguous": hint.ambiguous,
        "reason": hint.reason.value if hint.reason else None,
        "summary": hint.summary,
        "action": hint.action.value,
    }
    return json.dumps(
        {
            "message": text,
            "received_at": request.received_at.astimezone(request.zone).isoformat(),
            "time_zone": request.zone.key,
            "locale": request.locale,
            "preferred_hours": {
                "morning": request.hours.morning.isoformat(timespec="minutes"),
                "end_of_day": request.hours.end_of_day.isoformat(timespec="minutes"),
            },
            "rule_based_hint": hint_json,
        },
        ensure_ascii=False,
    )


def parse_answer(answer: str, request: ExtractRequest, hidden: Redaction) -> Extraction:
    """Validate the model's JSON; raise `ValueError` on anything off-contract."""
    data = _json_object(answer)
    ambiguous = data.get("ambiguous")
    if not isinstance(ambiguous, bool):
        raise ValueError("'ambiguous' must be a boolean")
    summary = data.get("summary")
    if not isinstance(summary, str) or len(summary) > 500:
        raise ValueError("'summary' must be a short string")
    action = Action(str(data.get("action")))
    grain = _grain(data.get("grain"))
    reason = Reason(data["reason"]) if data.get("reason") else None
    due = _due(data.get("due"), request)
    if not ambiguous and due is None:
        raise ValueError("a definite answer needs 'due'")
    if ambiguous and reason is None:
        reason = Reason.VAGUE_TIME
    return Extraction(
        due=due,
        grain=grain if due is not None else None,
        summary=hidden.restore(summary).strip(),
        action=action,
        ambiguous=ambiguous,
        reason=reason if ambiguous else None,
        reason_text=REASON_TEXT[reason] if ambiguous and reason else None,
    )


def _grain(raw: object) -> Grain | None:
    if raw is None:
        return None
    try:
        return Grain[str(raw).upper()]
    except KeyError:
        raise ValueError(f"unknown grain {raw!r}") from None


def _json_object(answer: str) -> dict[str, Any]:
    text = answer.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    return data


def _due(raw: object, request: ExtractRequest) -> datetime | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValueError("'due' must be a string")
    due = datetime.fromisoformat(raw)
    if due.tzinfo is None:
        raise ValueError("'due' must carry a UTC offset")
    if due < request.received_at:
        raise ValueError("'due' is before the message was received")
    if due - request.received_at > _HORIZON:
        raise ValueError("'due' is more than a hundred years away")
    return due.astimezone(request.zone)


_HORIZON = timedelta(days=36525)
