"""Bad input on every route answers 4xx naming the field, never 500, and writes nothing.

`CASES` holds bad requests for each route of the app; `test_every_route_has_bad_input_cases`
fails when a route is added without any, so a new route cannot skip this check. Each surface
reports in its own envelope: problem+json `errors[].field` on /v1, `{field: [message]}` with
400 on seed 002 (Django REST framework), `{"success": false, "details": {field: ...}}` with
400 on seed 000.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts

from pigeon import bootstrap
from pigeon.api.app import create_app
from pigeon.config import Settings
from pigeon.services.context import Services
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    PHONE,
    InProcessClient,
    bearer,
    new_device,
    new_message,
    new_tenant,
    row_counts,
)

MAX_BODY = 100
BAD_ID = "not-an-id"
MALFORMED = b'{"recipient": "+14155550100", "body": '  # cut short
OK_MESSAGE = {"recipient": PHONE, "body": "hello"}
IN_WORDS = {"scheduled_for_text": "tomorrow at 3pm"}
OK_REPORT = {"claim_token": "t", "status": "sent"}  # + message_id
INBOUND = {"guid": "g", "from": PHONE, "text": "x", "received_at": "2030-01-07T09:00:00Z"}
NOTHING = object()
TOO_DEEP = (
    b'{"recipient": "+14155550100", "body": "x", "meta": {"x": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
)
LATEST = "9999-12-31T23:59:59-12:00"  # in UTC, past the last year Python can hold
EARLIEST = "0001-01-01T00:00:00+14:00"  # in UTC, before the first

# Routes the framework adds; they take no input of ours.
FRAMEWORK_ROUTES = {
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}


@dataclass(frozen=True)
class Bad:
    """One bad request for a route, and the name its error must give."""

    name: str
    field: str
    json: Any = NOTHING
    content: bytes | None = None
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    bad_ids: bool = False  # put BAD_ID in every path parameter
    anonymous: bool = False  # send no credentials at all


@dataclass(frozen=True)
class NoInput:
    """A route that reads nothing from the request: junk in it must change nothing."""

    reason: str


def malformed() -> Bad:
    return Bad("malformed JSON", "request_body", content=MALFORMED)


def not_an_object() -> Bad:
    return Bad("a list, not an object", "request_body", json=[1, 2])


def anonymous() -> Bad:
    return Bad("no credentials", "Authorization", anonymous=True)


def bad_id(name: str) -> Bad:
    return Bad(f"malformed {name}", name, bad_ids=True)


CASES: dict[tuple[str, str], list[Bad] | NoInput] = {
    # /v1 accounts
    ("POST", "/v1/workspaces"): [
        malformed(),
        not_an_object(),
        Bad("name of the wrong type", "name", json={"name": 5}),
        Bad("name missing", "name", json={}),
        Bad("name blank", "name", json={"name": "   "}),
        Bad("name with NUL", "name", json={"name": "a\x00b"}),
        Bad("unknown field", "colour", json={"name": "x", "colour": "red"}),
        Bad("unknown time zone", "timezone", json={"name": "x", "timezone": "Mars/Olympus"}),
    ],
    ("GET", "/v1/workspace"): [anonymous()],
    ("POST", "/v1/keys"): [
        malformed(),
        Bad("scopes not a list", "scopes", json={"name": "k", "scopes": "send"}),
        Bad("scopes missing", "scopes", json={"name": "k"}),
        Bad("unknown scope", "scopes", json={"name": "k", "scopes": ["root"]}),
        Bad("no scope", "scopes", json={"name": "k", "scopes": []}),
        Bad("name blank", "name", json={"name": "", "scopes": ["send"]}),
        Bad("name with NUL", "name", json={"name": "k\x00", "scopes": ["send"]}),
        Bad("unknown field", "expires", json={"name": "k", "scopes": ["send"], "expires": 1}),
    ],
    ("GET", "/v1/keys"): [anonymous()],
    ("POST", "/v1/keys/{key_id}/revoke"): [bad_id("key_id")],
    ("POST", "/v1/devices"): [
        malformed(),
        Bad("name of the wrong type", "name", json={"name": ["mac"]}),
        Bad("name missing", "name", json={}),
        Bad("name with a lone surrogate", "name", json={"name": "mac\udc00"}),
        Bad("unknown channel", "channel_id", json={"name": "m", "channel_id": BAD_ID}),
        Bad("unknown field", "os", json={"name": "m", "os": "macOS"}),
    ],
    ("GET", "/v1/devices"): [anonymous()],
    ("POST", "/v1/devices/{device_id}/revoke"): [bad_id("device_id")],
    ("POST", "/v1/channels"): [
        malformed(),
        Bad("unknown kind", "kind", json={"kind": "pigeon", "name": "x"}),
        Bad("name missing", "name", json={"kind": "console"}),
        Bad("config not an object", "config", json={"kind": "console", "name": "x", "config": [1]}),
        Bad(
            "config with NaN",
            "config",
            json={"kind": "console", "name": "x", "config": {"rate": float("nan")}},
        ),
        Bad("name with NUL", "name", json={"kind": "console", "name": "x\x00"}),
        Bad(
            "unknown lease policy",
            "on_lease_expiry",
            json={"kind": "console", "name": "x", "on_lease_expiry": "never"},
        ),
        Bad(
            "is_default not a boolean",
            "is_default",
            json={"kind": "console", "name": "x", "is_default": "perhaps"},
        ),
        Bad("unknown field", "secret", json={"kind": "console", "name": "x", "secret": "s"}),
    ],
    ("GET", "/v1/channels"): [anonymous()],
    ("GET", "/v1/channels/{channel_id}"): [bad_id("channel_id")],
    ("PATCH", "/v1/channels/{channel_id}"): [
        bad_id("channel_id"),
        malformed(),
        Bad("name of the wrong type", "name", json={"name": 5}),
        Bad("name blank", "name", json={"name": " "}),
        Bad("name with NUL", "name", json={"name": "c\x00"}),
        Bad("config with Infinity", "config", json={"config": {"x": float("inf")}}),
        Bad("disabled not a boolean", "disabled", json={"disabled": "maybe"}),
        Bad("is_default a word", "is_default", json={"is_default": "yes"}),
        Bad("is_default a number", "is_default", json={"is_default": 1}),
        Bad("unknown lease policy", "on_lease_expiry", json={"on_lease_expiry": "later"}),
        Bad("kind cannot change", "kind", json={"kind": "smtp"}),
    ],
    ("POST", "/v1/channels/{channel_id}/disable"): [bad_id("channel_id")],
    ("GET", "/v1/audit"): [Bad("limit not a number", "limit", params={"limit": "lots"})],
    # /v1 messages
    ("POST", "/v1/messages"): [
        malformed(),
        not_an_object(),
        Bad("recipient of the wrong type", "recipient", json={"recipient": 5, "body": "x"}),
        Bad("recipient missing", "recipient", json={"body": "x"}),
        Bad("recipient not a handle", "recipient", json={"recipient": "12", "body": "x"}),
        Bad("body missing", "body", json={"recipient": PHONE}),
        Bad("body null", "body", json={"recipient": PHONE, "body": None}),
        Bad("body too long", "body", json={"recipient": PHONE, "body": "x" * (MAX_BODY + 1)}),
        Bad("unknown field", "colour", json={**OK_MESSAGE, "colour": "red"}),
        Bad("time not a time", "scheduled_for", json={**OK_MESSAGE, "scheduled_for": "soon"}),
        Bad(
            "naive time",
            "scheduled_for",
            json={**OK_MESSAGE, "scheduled_for": "2030-01-08T09:00:00"},
        ),
        Bad(
            "time past the calendar", "scheduled_for", json={**OK_MESSAGE, "scheduled_for": LATEST}
        ),
        Bad(
            "time before the calendar",
            "scheduled_for",
            json={**OK_MESSAGE, "scheduled_for": EARLIEST},
        ),
        Bad("time as a number", "scheduled_for", json={**OK_MESSAGE, "scheduled_for": 1893488400}),
        Bad(
            "time as digits",
            "scheduled_for",
            json={**OK_MESSAGE, "scheduled_for": "1893488400"},
        ),
        Bad("body with NUL", "body", json={"recipient": PHONE, "body": "a\x00b"}),
        Bad("body with a lone surrogate", "body", json={"recipient": PHONE, "body": "a\ud800"}),
        Bad("recipient with NUL", "recipient", json={"recipient": "a\x00@b.org", "body": "x"}),
        Bad(
            "recipient with a lone surrogate",
            "recipient",
            json={"recipient": "\ud800@b.org", "body": "x"},
        ),
        Bad("meta not an object", "meta", json={**OK_MESSAGE, "meta": "x"}),
        Bad("meta too large", "meta", json={**OK_MESSAGE, "meta": {"x": "y" * 5000}}),
        Bad("meta with NaN", "meta", json={**OK_MESSAGE, "meta": {"x": float("nan")}}),
        Bad("meta with Infinity", "meta", json={**OK_MESSAGE, "meta": {"x": [float("inf")]}}),
        Bad("meta with a lone surrogate", "meta", json={**OK_MESSAGE, "meta": {"\udfff": 1}}),
        Bad("JSON nested too deep", "request_body", content=TOO_DEEP),
        Bad("unknown channel", "channel_id", json={**OK_MESSAGE, "channel_id": BAD_ID}),
        Bad("unknown device", "device_id", json={**OK_MESSAGE, "device_id": BAD_ID}),
        Bad(
            "idempotency key too long",
            "idempotency-key",
            json=OK_MESSAGE,
            headers={"Idempotency-Key": "k" * 256},
        ),
        Bad(
            "idempotency key empty",
            "idempotency-key",
            json=OK_MESSAGE,
            headers={"Idempotency-Key": ""},
        ),
        Bad("repeat without a rule", "repeat.rrule", json={**OK_MESSAGE, "repeat": {}}),
        Bad(
            "repeat too often",
            "repeat.rrule",
            json={**OK_MESSAGE, "repeat": {"rrule": "FREQ=MINUTELY"}},
        ),
        Bad(
            "repeat in no time zone",
            "repeat.timezone",
            json={**OK_MESSAGE, "repeat": {"rrule": "FREQ=DAILY", "timezone": "Mars/Olympus"}},
        ),
        Bad(
            "a time and a time in words",
            "scheduled_for_text",
            json={**OK_MESSAGE, "scheduled_for": "2030-02-01T00:00:00Z", **IN_WORDS},
        ),
        Bad(
            "a time in words too vague to send at",
            "scheduled_for_text",
            json={**OK_MESSAGE, "scheduled_for_text": "later"},
        ),
        Bad(
            "a time in no words",
            "scheduled_for_text",
            json={**OK_MESSAGE, "scheduled_for_text": " "},
        ),
        Bad(
            "a time in too many words",
            "scheduled_for_text",
            json={**OK_MESSAGE, "scheduled_for_text": "tomorrow " * 30},
        ),
        Bad(
            "a time in words with NUL",
            "scheduled_for_text",
            json={**OK_MESSAGE, "scheduled_for_text": "tomorrow\x00"},
        ),
        Bad(
            "words in no time zone",
            "timezone",
            json={**OK_MESSAGE, **IN_WORDS, "timezone": "Mars/Olympus"},
        ),
        Bad("words in no locale", "locale", json={**OK_MESSAGE, **IN_WORDS, "locale": "klingon!"}),
        Bad("a zone without words", "timezone", json={**OK_MESSAGE, "timezone": "Europe/Paris"}),
    ],
    ("POST", "/v1/messages/batch"): [
        malformed(),
        not_an_object(),
        Bad("items missing", "items", json={}),
        Bad("items not a list", "items", json={"items": {}}),
        Bad("items empty", "items", json={"items": []}),
        Bad(
            "third item's recipient",
            "items[2].recipient",
            json={"items": [OK_MESSAGE, OK_MESSAGE, {"recipient": "nope", "body": "x"}]},
        ),
        Bad("first item's body", "items[0].body", json={"items": [{"recipient": PHONE}]}),
        Bad(
            "an item's time past the calendar",
            "items[1].scheduled_for",
            json={"items": [OK_MESSAGE, {**OK_MESSAGE, "scheduled_for": LATEST}]},
        ),
        Bad(
            "empty item key",
            "items[0].idempotency_key",
            json={"items": [{**OK_MESSAGE, "idempotency_key": ""}]},
        ),
        Bad(
            "item key with NUL",
            "items[0].idempotency_key",
            json={"items": [{**OK_MESSAGE, "idempotency_key": "k\x00"}]},
        ),
        Bad("unknown field", "dry_run", json={"items": [OK_MESSAGE], "dry_run": True}),
        Bad(
            "an item that repeats",
            "items[0].repeat",
            json={"items": [{**OK_MESSAGE, "repeat": {"rrule": "FREQ=DAILY"}}]},
        ),
        Bad(
            "an item's time in words",
            "items[0].scheduled_for_text",
            json={"items": [{**OK_MESSAGE, **IN_WORDS}]},
        ),
        Bad(
            "one key for the whole batch",
            "idempotency-key",
            json={"items": [OK_MESSAGE]},
            headers={"Idempotency-Key": "batch-1"},
        ),
    ],
    ("GET", "/v1/messages"): [
        Bad("unknown status", "status", params={"status": "bogus"}),
        Bad("limit too small", "limit", params={"limit": 0}),
        Bad("limit too large", "limit", params={"limit": 100_000}),
        Bad("time not a time", "scheduled_from", params={"scheduled_from": "yesterday"}),
        Bad("naive time", "scheduled_until", params={"scheduled_until": "2030-01-08T00:00:00"}),
        Bad("time before the calendar", "scheduled_from", params={"scheduled_from": EARLIEST}),
        Bad("time as digits", "scheduled_from", params={"scheduled_from": "1893488400"}),
        Bad("recipient not a handle", "recipient", params={"recipient": "nope"}),
        Bad("cursor not an id", "cursor", params={"cursor": BAD_ID}),
    ],
    ("GET", "/v1/messages/{message_id}"): [bad_id("message_id")],
    # /v1 extract
    ("POST", "/v1/extract"): [
        malformed(),
        not_an_object(),
        anonymous(),
        Bad("text missing", "text", json={}),
        Bad("text blank", "text", json={"text": "  "}),
        Bad("text of the wrong type", "text", json={"text": ["tomorrow"]}),
        Bad("text too long", "text", json={"text": "x" * (MAX_BODY + 1)}),
        Bad("text with NUL", "text", json={"text": "tomorrow\x00"}),
        Bad("unknown field", "colour", json={"text": "x", "colour": "red"}),
        Bad("unknown zone", "zone", json={"text": "x", "zone": "Mars/Olympus"}),
        Bad("naive reference", "reference", json={"text": "x", "reference": "2030-01-08T09:00"}),
        Bad("reference not a time", "reference", json={"text": "x", "reference": "now"}),
        Bad("reference past the calendar", "reference", json={"text": "x", "reference": LATEST}),
        Bad("locale not a locale", "locale", json={"text": "x", "locale": "en GB please"}),
        Bad("a language pigeon does not read", "locale", json={"text": "x", "locale": "fr_FR"}),
    ],
    ("POST", "/v1/messages/{message_id}/cancel"): [bad_id("message_id")],
    ("POST", "/v1/messages/{message_id}/retry"): [bad_id("message_id")],
    ("GET", "/v1/stats/messages"): [anonymous()],
    ("GET", "/v1/stats"): [anonymous()],
    # /v1 jobs, dead letters, inbound
    ("GET", "/v1/jobs"): [
        Bad("unknown status", "status", params={"status": "finished"}),
        Bad("cursor not an id", "cursor", params={"cursor": "next"}),
        Bad("limit too big", "limit", params={"limit": 1000}),
        Bad("channel_id not an id", "channel_id", params={"channel_id": "x"}),
    ],
    ("GET", "/v1/jobs/{job_id}"): [bad_id("job_id")],
    ("GET", "/v1/dead-letters"): [
        Bad("limit not a number", "limit", params={"limit": "all"}),
        Bad("kind too long", "kind", params={"kind": "k" * 101}),
    ],
    ("POST", "/v1/dead-letters/redrive"): [
        malformed(),
        not_an_object(),
        Bad("nothing named", "all", json={}),
        Bad("all not a boolean", "all", json={"all": 0}),
        Bad("job_ids not ids", "job_ids[0]", json={"job_ids": ["x"]}),
        Bad("job_ids empty", "job_ids", json={"job_ids": []}),
        Bad("unknown field", "everything", json={"everything": True}),
    ],
    ("POST", "/v1/dead-letters/purge"): [
        malformed(),
        Bad("nothing named", "all", json={}),
        Bad("kind of the wrong type", "kind", json={"kind": 5}),
    ],
    ("GET", "/v1/inbound"): [
        Bad("cursor not an id", "cursor", params={"cursor": "x"}),
        Bad("limit too small", "limit", params={"limit": 0}),
    ],
    ("GET", "/v1/inbound/{message_id}"): [bad_id("message_id")],
    # /v1 contacts
    ("POST", "/v1/contacts"): [
        malformed(),
        not_an_object(),
        Bad("unknown field", "colour", json={"name": "x", "colour": "red"}),
        Bad(
            "handle not a phone",
            "handles[0].value",
            json={"handles": [{"kind": "phone", "value": "call me"}]},
        ),
        Bad("tag with NUL", "tags", json={"name": "x", "tags": ["a\x00"]}),
        Bad("attribute named badly", "attributes.a b", json={"attributes": {"a b": 1}}),
        Bad("unknown zone", "timezone", json={"name": "x", "timezone": "Mars/Olympus"}),
        Bad("NaN attribute", "attributes.n", content=b'{"attributes": {"n": NaN}}'),
    ],
    ("GET", "/v1/contacts"): [
        Bad("cursor not an id", "cursor", params={"cursor": "x"}),
        Bad("limit too large", "limit", params={"limit": 100_000}),
    ],
    ("GET", "/v1/contacts/{contact_id}"): [bad_id("contact_id")],
    ("PATCH", "/v1/contacts/{contact_id}"): [bad_id("contact_id")],
    ("DELETE", "/v1/contacts/{contact_id}"): [bad_id("contact_id")],
    ("POST", "/v1/contacts/bulk"): [
        malformed(),
        Bad("contacts missing", "contacts", json={}),
        Bad("contacts not a list", "contacts", json={"contacts": {"name": "x"}}),
        Bad(
            "a bad row",
            "contacts[1].handles[0].value",
            json={"contacts": [{"name": "a"}, {"handles": [{"kind": "email", "value": "nope"}]}]},
        ),
    ],
    # /v1 batches
    ("POST", "/v1/batches"): [
        malformed(),
        not_an_object(),
        Bad("template missing", "template", json={"name": "b", "audience": {"all": True}}),
        Bad(
            "template broken",
            "template",
            json={"name": "b", "template": "{{ x ", "audience": {"all": True}},
        ),
        Bad(
            "unknown audience field",
            "audience.colour",
            json={"name": "b", "template": "x", "audience": {"colour": 1}},
        ),
        Bad(
            "auto_pause rate a flag",
            "auto_pause.max_failure_rate",
            json={
                "name": "b",
                "template": "x",
                "audience": {"all": True},
                "auto_pause": {"max_failure_rate": False},
            },
        ),
        Bad(
            "send_at in seconds",
            "send_at",
            json={"name": "b", "template": "x", "audience": {"all": True}, "send_at": 1700000000},
        ),
        Bad(
            "repeat every second",
            "repeat.rrule",
            json={
                "name": "b",
                "template": "x",
                "audience": {"all": True},
                "repeat": {"rrule": "FREQ=SECONDLY"},
            },
        ),
    ],
    ("GET", "/v1/batches"): [
        Bad("cursor not an id", "cursor", params={"cursor": "x"}),
        Bad("unknown status", "status", params={"status": "nope"}),
    ],
    ("GET", "/v1/batches/{batch_id}"): [bad_id("batch_id")],
    ("GET", "/v1/batches/{batch_id}/items"): [
        bad_id("batch_id"),
        Bad("unknown status", "status", params={"status": "lost"}),
    ],
    ("POST", "/v1/batches/{batch_id}/preview"): [
        bad_id("batch_id"),
        Bad("samples too many", "samples", params={"samples": 10_000}),
    ],
    ("POST", "/v1/batches/{batch_id}/start"): [bad_id("batch_id")],
    ("POST", "/v1/batches/{batch_id}/pause"): [bad_id("batch_id")],
    ("POST", "/v1/batches/{batch_id}/resume"): [bad_id("batch_id")],
    ("POST", "/v1/batches/{batch_id}/cancel"): [bad_id("batch_id")],
    # /v1 throttle
    ("GET", "/v1/throttle"): [
        Bad("channel_id not an id", "channel_id", params={"channel_id": "x"})
    ],
    ("PUT", "/v1/throttle"): [
        malformed(),
        Bad("a flag as a limit", "max_per_minute", json={"max_per_minute": True}),
        Bad("a negative gap", "min_gap_seconds", json={"min_gap_seconds": -1}),
        Bad(
            "quiet hours past midnight",
            "quiet_hours.start",
            json={"quiet_hours": {"start": "25:00", "end": "07:00"}},
        ),
        Bad("unknown zone", "timezone", json={"timezone": "Mars/Olympus"}),
        Bad("unknown field", "max_per_week", json={"max_per_week": 5}),
        Bad(
            "both scopes",
            "device_id",
            json={},
            params={
                "channel_id": "01a2304d-2ca5-77b5-a4d9-3a2e48ed7241",
                "device_id": "01a2304d-2ca5-77b5-a4d9-3a2e48ed7241",
            },
        ),
    ],
    ("DELETE", "/v1/throttle"): [
        Bad("device_id not an id", "device_id", params={"device_id": "x"})
    ],
    ("GET", "/v1/throttle/policies"): [anonymous()],
    # /v1 opt-out keywords, recurrences
    ("GET", "/v1/opt-out"): [anonymous()],
    ("PUT", "/v1/opt-out"): [
        malformed(),
        not_an_object(),
        Bad("languages missing", "languages", json={}),
        Bad(
            "a word with punctuation",
            "languages.en.stop[0]",
            json={"languages": {"en": {"stop": ["STOP!"], "help_text": "Hi"}}},
        ),
        Bad("help text missing", "languages.en.help_text", json={"languages": {"en": {}}}),
        Bad(
            "unknown field",
            "colour",
            json={"languages": {"en": {"help_text": "Hi"}}, "colour": "red"},
        ),
    ],
    ("GET", "/v1/recurrences"): [
        Bad("cursor not an id", "cursor", params={"cursor": "x"}),
        Bad("limit too small", "limit", params={"limit": 0}),
    ],
    ("GET", "/v1/recurrences/{recurrence_id}"): [bad_id("recurrence_id")],
    ("DELETE", "/v1/recurrences/{recurrence_id}"): [bad_id("recurrence_id")],
    # Provider webhooks (their bodies' cases are in tests/integration/test_inbound_*.py,
    # which have mailbox channels; here the channel is the console one: not a webhook).
    ("POST", "/webhooks/imap/{channel_id}"): [
        Bad("not an imap channel", "webhook", json={"pointers": [{"body": "x"}]}),
        Bad("channel id not an id", "webhook", json={"pointers": []}, bad_ids=True),
        Bad("no shared secret", "Authorization", content=b"{junk", anonymous=True),
    ],
    ("POST", "/webhooks/gmail/{channel_id}"): [
        Bad("no push token", "Authorization", json={"message": {}}, anonymous=True),
        Bad(
            "a push token that is not a JWT",
            "bearer token",
            content=b"{junk",
            headers={"Authorization": "Bearer not-a-jwt"},
        ),
    ],
    ("POST", "/webhooks/msgraph/{channel_id}"): [
        Bad("not a msgraph channel", "webhook", json={"value": [{"clientState": "x"}]}),
        Bad("channel id not an id", "webhook", json={"value": []}, bad_ids=True),
        Bad("handshake for no channel", "webhook", params={"validationToken": "t"}, bad_ids=True),
    ],
    ("POST", "/webhooks/msgraph/{channel_id}/lifecycle"): [
        Bad("not a msgraph channel", "webhook", json={"value": []}),
        Bad("channel id not an id", "webhook", content=b"{junk", bad_ids=True),
    ],
    # /v1 gateway
    ("POST", "/v1/gateway/claim"): [
        malformed(),
        not_an_object(),
        Bad("limit too small", "limit", json={"limit": 0}),
        Bad("limit not a number", "limit", json={"limit": "many"}),
        Bad("limit a boolean", "limit", json={"limit": True}),
        Bad("wait a boolean", "wait", json={"wait": True}),
        Bad("negative wait", "wait", json={"wait": -1}),
        Bad("wait too long", "wait", json={"wait": 3600}),
        Bad("unknown field", "lease", json={"lease": 5}),
    ],
    ("POST", "/v1/gateway/report"): [
        malformed(),
        not_an_object(),
        Bad("message_id missing", "message_id", json={}),
        Bad("message_id not an id", "message_id", json={**OK_REPORT, "message_id": BAD_ID}),
        Bad("unknown status", "status", json={**OK_REPORT, "message_id": "{mid}", "status": "x"}),
        Bad("error not text", "error", json={**OK_REPORT, "message_id": "{mid}", "error": 5}),
        Bad("unknown field", "extra", json={**OK_REPORT, "message_id": "{mid}", "extra": 1}),
        Bad("reports empty", "reports", json={"reports": []}),
        Bad("reports not a list", "reports", json={"reports": "all"}),
        Bad(
            "a report's status",
            "reports[0].status",
            json={"reports": [{**OK_REPORT, "message_id": "{mid}", "status": "weird"}]},
        ),
    ],
    ("POST", "/v1/gateway/release"): [
        malformed(),
        not_an_object(),
        Bad("releases missing", "releases", json={}),
        Bad("releases empty", "releases", json={"releases": []}),
        Bad("releases not a list", "releases", json={"releases": "all"}),
        Bad(
            "a release's message id",
            "releases[0].message_id",
            json={"releases": [{"message_id": BAD_ID, "claim_token": "t"}]},
        ),
        Bad(
            "a release without its token",
            "releases[0].claim_token",
            json={"releases": [{"message_id": "{mid}"}]},
        ),
        Bad(
            "too many releases",
            "releases",
            json={"releases": [{"message_id": "{mid}", "claim_token": "t"}] * 501},
        ),
    ],
    ("POST", "/v1/gateway/heartbeat"): [anonymous()],
    ("POST", "/v1/gateway/inbound"): [
        malformed(),
        not_an_object(),
        Bad("messages missing", "messages", json={}),
        Bad("messages empty", "messages", json={"messages": []}),
        Bad(
            "a message without its sender",
            "messages[0].from",
            json={"messages": [{"guid": "g", "received_at": "2030-01-07T09:00:00Z"}]},
        ),
        Bad(
            "a naive time",
            "messages[0].received_at",
            json={"messages": [{**INBOUND, "received_at": "2030-01-07T09:00:00"}]},
        ),
        Bad(
            "an unknown service",
            "messages[0].service",
            json={"messages": [{**INBOUND, "service": "Fax"}]},
        ),
        Bad(
            "a guid too long",
            "messages[0].guid",
            json={"messages": [{**INBOUND, "guid": "g" * 201}]},
        ),
    ],
    ("GET", "/v1/health"): NoInput("a health probe: no credentials, no parameters"),
    # Seed 002
    ("POST", "/api/messages/"): [
        Bad("malformed JSON", "JSON parse error", content=MALFORMED),
        Bad("a list, not an object", "non_field_errors", json=[1]),
        Bad("to_handle of the wrong type", "to_handle", json={"to_handle": 5, "body": "x"}),
        Bad("to_handle missing", "to_handle", json={"body": "x"}),
        Bad("to_handle not a handle", "to_handle", json={"to_handle": "nope", "body": "x"}),
        Bad("body missing", "body", json={"to_handle": PHONE}),
        Bad("body empty", "body", json={"to_handle": PHONE, "body": ""}),
        Bad("body with a lone surrogate", "body", json={"to_handle": PHONE, "body": "\ud800"}),
        Bad(
            "time past the calendar",
            "scheduled_for",
            json={"to_handle": PHONE, "body": "x", "scheduled_for": LATEST},
        ),
        Bad(
            "time as a number",
            "scheduled_for",
            json={"to_handle": PHONE, "body": "x", "scheduled_for": 1893488400},
        ),
        Bad(
            "time not a time",
            "scheduled_for",
            json={"to_handle": PHONE, "body": "x", "scheduled_for": "soon"},
        ),
        Bad(
            "naive time",
            "scheduled_for",
            json={"to_handle": PHONE, "body": "x", "scheduled_for": "2030-01-08T09:00:00"},
        ),
    ],
    ("GET", "/api/messages/"): [
        Bad("unknown status", "status", params={"status": "LOST"}),
        Bad("limit not a number", "limit", params={"limit": "all"}),
    ],
    ("GET", "/api/messages/{message_id}/"): [bad_id("message_id")],
    ("POST", "/api/messages/{message_id}/cancel/"): [bad_id("message_id")],
    ("POST", "/api/gateway/claim/"): [
        Bad("malformed JSON", "JSON parse error", content=MALFORMED),
        Bad("gateway_id of the wrong type", "gateway_id", json={"gateway_id": 5}),
        Bad("gateway_id too long", "gateway_id", json={"gateway_id": "m" * 101}),
    ],
    ("POST", "/api/gateway/report/"): [
        Bad("malformed JSON", "JSON parse error", content=MALFORMED),
        Bad("message_id missing", "message_id", json={"status": "SENT"}),
        Bad("message_id not an id", "message_id", json={"message_id": BAD_ID, "status": "SENT"}),
        Bad("status missing", "status", json={"message_id": "{mid}"}),
        Bad("unknown status", "status", json={"message_id": "{mid}", "status": "LOST"}),
        Bad("status of the wrong type", "status", json={"message_id": "{mid}", "status": 1}),
    ],
    ("GET", "/api/stats/messages-by-status/"): [anonymous()],
    ("GET", "/api/stream/messages/"): [anonymous()],
    ("GET", "/api/health/"): NoInput("a health probe: no credentials, no parameters"),
    # Seed 000
    ("GET", "/client/imessage/send-queue/pending"): [anonymous()],
    ("POST", "/client/imessage/send-queue/{id}/result"): [
        bad_id("id"),
        malformed(),
        Bad("status missing", "status", json={}),
        Bad("unknown status", "status", json={"status": "delivered"}),
        Bad("error of the wrong type", "error", json={"status": "failed", "error": 5}),
    ],
    ("POST", "/admin/send-queue/enqueue"): [
        malformed(),
        not_an_object(),
        Bad("all missing", "toHandle", json={}),
        Bad(
            "toHandle not a handle",
            "toHandle",
            json={"batchItemId": "b", "deviceId": "{did}", "toHandle": "x", "body": "b"},
        ),
        Bad(
            "deviceId not an id",
            "deviceId",
            json={"batchItemId": "b", "deviceId": BAD_ID, "toHandle": PHONE, "body": "b"},
        ),
        Bad(
            "body of the wrong type",
            "body",
            json={"batchItemId": "b", "deviceId": "{did}", "toHandle": PHONE, "body": 5},
        ),
        Bad(
            "body with NUL",
            "body",
            json={"batchItemId": "b", "deviceId": "{did}", "toHandle": PHONE, "body": "a\x00"},
        ),
        Bad(
            "batchItemId with NUL",
            "batchItemId",
            json={"batchItemId": "b\x00", "deviceId": "{did}", "toHandle": PHONE, "body": "b"},
        ),
        Bad(
            "batchItemId empty",
            "batchItemId",
            json={"batchItemId": "", "deviceId": "{did}", "toHandle": PHONE, "body": "b"},
        ),
    ],
}


def _app_routes(app: Any) -> set[tuple[str, str]]:
    return {
        (method, route.path_format)  # `{contact_id}`, not its convertor `{contact_id:...}`
        for route in iter_route_contexts(app.routes)
        for method in (route.methods or set()) - {"HEAD"}
    }


def test_every_route_has_bad_input_cases(tmp_path: Path) -> None:
    container = bootstrap.build(Settings(database_url=f"sqlite:///{tmp_path}/routes.db"))
    try:
        routes = _app_routes(create_app(container, run_workers=False)) - FRAMEWORK_ROUTES
    finally:
        container.close()
    assert len(routes) > 30
    missing = sorted(routes - set(CASES))
    assert not missing, f"routes without bad-input cases: {missing}"
    stale = sorted(set(CASES) - routes)
    assert not stale, f"cases for routes that do not exist: {stale}"
    assert all(isinstance(v, NoInput) or v for v in CASES.values())


# Running the cases ----------------------------------------------------------------------


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, operator_token=OPERATOR_TOKEN, max_body_chars=MAX_BODY)


@dataclass(frozen=True)
class World:
    """Credentials and ids that exist, so that only the bad part of a request is bad."""

    ids: dict[str, str]
    credentials: dict[str, dict[str, str]]


@pytest.fixture
def world(api: InProcessClient) -> World:
    tenant = new_tenant(api)
    device = new_device(api, tenant)
    message = new_message(api, tenant, scheduled_for="2030-02-01T00:00:00Z")
    console = next(
        c
        for c in api.get("/v1/channels", headers=tenant.auth).json()["items"]
        if c["kind"] == "console"
    )
    [key] = api.get("/v1/keys", headers=tenant.auth).json()["items"]
    return World(
        ids={
            "message_id": message["id"],
            "id": message["id"],
            "key_id": key["id"],
            "device_id": device.id,
            "channel_id": console["id"],
            "job_id": message["id"],
            "recurrence_id": message["id"],
            "batch_id": message["id"],
            "contact_id": message["id"],
        },
        credentials={
            "operator": bearer(OPERATOR_TOKEN),
            "key": tenant.auth,
            "device": device.auth,
            "none": {},
        },
    )


def _credential_for(path: str) -> str:
    if path == "/v1/workspaces":
        return "operator"
    if path.startswith(("/v1/gateway/", "/api/gateway/", "/client/")):
        return "device"
    if path in ("/v1/health", "/api/health/"):
        return "none"
    return "key"


def _fill(value: Any, world: World) -> Any:
    """Put real ids in place of the {mid} / {did} markers of a case body."""
    if isinstance(value, str):
        return value.replace("{mid}", world.ids["message_id"]).replace(
            "{did}", world.ids["device_id"]
        )
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


def _named_in(response: Any, surface: str, name: str) -> bool:
    """Does the error, in its surface's envelope, name `name`?"""
    try:
        body = response.json()
    except ValueError:
        return False
    if surface == "v1":
        if not response.headers["content-type"].startswith("application/problem+json"):
            return False
        fields = [item["field"] for item in body.get("errors", [])]
        return name in fields if fields else name in body["detail"]
    if surface == "seed000":
        details = body.get("details", {})
        return body.get("success") is False and (name in details or name in body["error"])
    if not isinstance(body, dict):  # seed 002: {field: [messages]} or {"detail": ...}
        return False
    if "detail" in body:
        return name in body["detail"]
    return name in body and all(isinstance(v, list) for v in body.values())


def _surface(path: str) -> str:
    if path.startswith("/api/"):
        return "seed002"
    if path.startswith(("/client/", "/admin/")):
        return "seed000"
    return "v1"


def _problems_with(
    api: InProcessClient, world: World, container: Services, method: str, path: str
) -> Iterator[str]:
    """Send each bad request of a route; yield a line for each answer that is not right."""
    cases = CASES[(method, path)]
    surface = _surface(path)
    default_auth = world.credentials[_credential_for(path)]
    if isinstance(cases, NoInput):
        response = api.request(
            method, path, params={"junk": "1"}, content=b"{junk", headers=default_auth
        )
        if response.status_code != 200:
            yield f"{method} {path} ({cases.reason}) -> {response.status_code} {response.text}"
        return
    for case in cases:
        url = path.format(**{k: BAD_ID if case.bad_ids else v for k, v in world.ids.items()})
        headers = {**({} if case.anonymous else default_auth), **case.headers}
        kwargs: dict[str, Any] = {"params": case.params, "headers": headers}
        if case.content is not None:
            kwargs["content"] = case.content
            headers["content-type"] = "application/json"
        elif case.json is not NOTHING:
            # Python's encoder, not httpx's: it writes NaN and escapes lone surrogates, as a
            # careless client may.
            kwargs["content"] = json.dumps(_fill(case.json, world)).encode()
            headers["content-type"] = "application/json"
        before = row_counts(container)
        response = api.request(method, url, **kwargs)
        label = f"{method} {path} [{case.name}] -> {response.status_code} {response.text[:300]}"
        if not 400 <= response.status_code < 500:
            yield f"{label}: not a 4xx"
        elif not _named_in(response, surface, case.field):
            yield f"{label}: does not name {case.field!r}"
        if row_counts(container) != before:
            yield f"{label}: rows were written"


def test_bad_input_is_refused_naming_the_field(
    api: InProcessClient, world: World, container: Services
) -> None:
    """Every case of every route, in one app per database; all failures are listed at once."""
    problems = [
        problem
        for method, path in sorted(CASES)
        for problem in _problems_with(api, world, container, method, path)
    ]
    assert not problems, "\n".join(problems)


def test_a_wrong_method_answers_405_with_allow(api: InProcessClient, world: World) -> None:
    for method, path, surface in [
        ("GET", "/v1/gateway/claim", "v1"),
        ("DELETE", "/api/gateway/report/", "seed002"),
        ("PUT", "/client/imessage/send-queue/pending", "seed000"),
    ]:
        response = api.request(method, path, headers=world.credentials["key"])
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"], (method, path)
        assert _named_in(response, surface, "Method Not Allowed"), response.text
