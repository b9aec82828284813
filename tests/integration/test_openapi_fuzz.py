"""schemathesis over /openapi.json, against the app in process: no 5xx and no drift.

Every operation of the document is called with generated requests, valid and invalid, with
the credential its security requirement names: a workspace admin key, a device token, or the
operator token (`POST /v1/workspaces`). The checks: no 5xx; every status code, content type,
header and body is one the document declares; invalid input is refused; a method the document
does not list answers 405 with `Allow`.

It runs schemathesis's engine (its command line, as a library) in three phases: the
document's examples, coverage (boundary values, each constraint broken in turn, unlisted
methods) and fuzzing (generated requests), with a fixed seed and budget, so that a run takes
the same course each time, in well under two minutes. Ids in paths and reports are drawn half
the time from things that exist (`World`), so requests get past 404 to the state machine.
(The pytest plugin's `from_fixture` needs pytest's `Function._nodeid`, which pytest 9 no
longer has.)

Nothing is excluded but `positive_data_acceptance` (see `_config`): no defect is waived.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events
from schemathesis.python import asgi

from pigeon.api.app import create_app
from pigeon.config import Settings
from pigeon.domain.accounts import Scope
from pigeon.services import admin, gateway, messages
from pigeon.services.context import Principal, Services
from tests.conftest import T0
from tests.integration.test_api_support import OPERATOR_TOKEN, PHONE

# Per operation, in the fuzzing phase; a longer or another run: PIGEON_TEST_FUZZ_EXAMPLES=500
# PIGEON_TEST_FUZZ_SEED=7 pytest tests/integration/test_openapi_fuzz.py
MAX_EXAMPLES = int(os.environ.get("PIGEON_TEST_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("PIGEON_TEST_FUZZ_SEED", "20260101"))
LATER = T0 + timedelta(days=30)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        operator_token=OPERATOR_TOKEN,
        max_claim_wait_seconds=0.05,  # a generated `wait` holds a claim this long at most
        sse_ping_seconds=0.05,  # an event stream sends its frames at once
    )


@dataclass(frozen=True)
class World:
    """What exists before the run: credentials, and ids the generated requests draw on."""

    admin_key: str
    device_token: str
    ids: dict[str, list[str]]  # path parameter -> ids of things that exist


def _world(container: Services) -> World:
    created = admin.create_workspace(container, name="fuzz", timezone="UTC", actor="test")
    who = Principal(created.workspace.id, "test", frozenset({"admin"}))
    device = admin.create_device(container, who, name="mac", channel_id=None)
    # Revoked by the run, perhaps: never the credentials the run itself uses.
    spare_device = admin.create_device(container, who, name="spare", channel_id=None)
    spare_key = admin.create_key(container, who, name="spare", scopes=frozenset({Scope.SEND}))
    due = [
        messages.create(container, who, messages.NewMessage(PHONE, f"due {n}")).message.id
        for n in range(6)
    ]
    later = [
        messages.create(
            container, who, messages.NewMessage(PHONE, "later", scheduled_for=LATER)
        ).message.id
        for _ in range(4)
    ]
    held = [m.id for m in gateway.claim(container, device.item, limit=3).messages]
    channels = [c.id for c in admin.list_channels(container, who)]
    return World(
        admin_key=created.api_key,
        device_token=device.secret,
        ids={
            "message_id": due + later,
            "id": held + due,  # seed 000's result: an item this device holds, or not
            "key_id": [spare_key.item.id],
            "device_id": [spare_device.item.id],
            "channel_id": channels,
        },
    )


def _config(world: World) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "phases": {
                # The document's examples first (valid recipients: messages get created).
                "examples": {"fill-missing": True},
                "stateful": {"enabled": False},
            },
            # Half the ids drawn are of things that exist, so that requests reach past 404.
            "dictionaries": {name: {"values": ids} for name, ids in world.ids.items()},
            "parameters": {
                **{f"path.{name}": {"dictionary": name, "probability": 0.5} for name in world.ids},
                "body.message_id": {"dictionary": "message_id", "probability": 0.5},
            },
            "max-stream-events": 2,
            "request-timeout": 10,
            "auth": {
                "openapi": {
                    "workspaceKey": {"bearer": world.admin_key},
                    "workspaceKeyQuery": {"api_key": world.admin_key},
                    "deviceToken": {"bearer": world.device_token},
                    "operatorToken": {"bearer": OPERATOR_TOKEN},
                }
            },
            "checks": {
                # The server checks more than a schema can say (E.164 numbers, time zones,
                # ids that exist, ...): valid-looking input may rightly be refused.
                "positive_data_acceptance": {"enabled": False},
            },
        }
    )


@dataclass
class Run:
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    seconds: float = 0.0

    def answered(self, label: str, low: int, high: int) -> int:
        return sum(
            n for (op, code), n in self.statuses.items() if op == label and low <= code < high
        )


def run(schema: Any) -> Run:
    result = Run()
    started = time.monotonic()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for interaction in recorder.interactions.values():
                if interaction.response is not None:
                    result.statuses[recorder.label, interaction.response.status_code] += 1
            for checks in recorder.checks.values():
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        result.failures.append(
                            f"{recorder.label} [{check.name}] {failure.title}: {failure.message}"
                            f"\n    {check.failure_info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError):
            result.errors.append(f"{event.label}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            result.errors.append(f"fatal: {event.exception!r}")
    result.seconds = time.monotonic() - started
    return result


@pytest.fixture
def schema(container: Services) -> Iterator[Any]:
    world = _world(container)
    app = create_app(container, run_workers=False)
    yield schemathesis.openapi.from_asgi("/openapi.json", app, config=_config(world))
    asgi.shutdown_lifespans()  # the app's lifespan ran on schemathesis's event loop


def test_the_api_answers_as_documented(schema: Any) -> None:
    result = run(schema)
    print(f"{sum(result.statuses.values())} requests in {result.seconds:.1f} s")
    for (label, code), count in sorted(result.statuses.items()):
        print(f"{label} {code}: {count}")
    assert not result.errors, "\n".join(result.errors)
    assert not result.failures, "\n".join(result.failures)
    # Authenticated, and past authentication: not every answer a 401.
    for label in (
        "POST /v1/workspaces",  # the operator token
        "POST /v1/messages",  # a workspace key, a valid recipient (the document's examples)
        "GET /v1/messages/{message_id}",  # an id that exists (the dictionaries)
        "POST /v1/gateway/claim",  # the device token
        "POST /client/imessage/send-queue/{id}/result",  # a message this device holds
    ):
        assert result.answered(label, 200, 300), label
