"""/openapi.json tells the truth: each surface's error envelope, the answers each route gives,
its credentials, the bounds the server enforces; and a 405 names every method of its path.

Claims about behaviour are checked against the running app where they can be (every route
said to need credentials answers 401 without them, and only those); the fuzzer
(`test_openapi_fuzz.py`) checks the rest.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from openapi_spec_validator import validate

from pigeon.api.v1.schemas import MAX_REPORTS
from pigeon.config import Settings
from pigeon.services.extraction import MAX_TIME_TEXT
from pigeon.services.messages import MAX_BATCH
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    InProcessClient,
    bearer,
)

MAX_BODY = 500
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
AUTHENTICATED = {"workspaceKey", "deviceToken", "operatorToken"}
HEALTH = {"/v1/health", "/api/health/"}
PARAMETER = re.compile(r"\{[^}]+\}")  # a path parameter: all are ids


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url  # the document does not depend on the database


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, operator_token=OPERATOR_TOKEN, max_body_chars=MAX_BODY)


@pytest.fixture
def doc(api: InProcessClient) -> dict[str, Any]:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, operation


def errors_of(operation: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {int(code): r for code, r in operation["responses"].items() if int(code) >= 400}


def surface(path: str) -> str:
    if path.startswith("/api/"):
        return "seed002"
    if path.startswith(("/client/", "/admin/")):
        return "seed000"
    return "v1"


def schema_of(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = doc["components"]["schemas"][name]
    return found


def test_the_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_the_swagger_page_loads_the_document(api: InProcessClient) -> None:
    page = api.get("/docs")
    assert page.status_code == 200
    assert "/openapi.json" in page.text


def test_fastapi_validation_error_is_gone(doc: dict[str, Any]) -> None:
    text = json.dumps(doc)
    assert "HTTPValidationError" not in text
    assert "#/components/schemas/ValidationError" not in text


def test_v1_errors_are_problem_json(doc: dict[str, Any]) -> None:
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for method, path, operation in operations(doc):
        if surface(path) != "v1" or path in HEALTH:
            continue
        for status, response in errors_of(operation).items():
            assert response["content"] == problem, (method, path, status)
        assert 400 not in errors_of(operation), (method, path)  # /v1 says 422
    assert set(schema_of(doc, "Problem")["required"]) == {"type", "title", "status", "detail"}
    # A time in words pigeon cannot schedule: the question to ask back, and why.
    assert {"question", "reason"} <= set(schema_of(doc, "Problem")["properties"])


def test_seed_routes_declare_their_seeds_envelopes(doc: dict[str, Any]) -> None:
    ref = "#/components/schemas/"
    for method, path, operation in operations(doc):
        if surface(path) == "v1" or path in HEALTH:
            continue
        errors = errors_of(operation)
        assert 422 not in errors, (method, path)  # the seeds answer invalid input with 400
        for status, response in errors.items():
            schema = response["content"]["application/json"]["schema"]
            if surface(path) == "seed000":
                assert schema == {"$ref": ref + "Seed000Error"}, (method, path, status)
            elif status == 400:
                refs = [s["$ref"] for s in schema["anyOf"]]
                assert refs == [ref + "Seed002FieldErrors", ref + "Seed002Detail"]
            else:
                assert schema == {"$ref": ref + "Seed002Detail"}, (method, path, status)


def test_routes_with_input_declare_invalid_input(doc: dict[str, Any]) -> None:
    for method, path, operation in operations(doc):
        takes_input = "parameters" in operation or "requestBody" in operation
        invalid = 422 if surface(path) == "v1" else 400
        assert (invalid in errors_of(operation)) == takes_input, (method, path)


def test_authenticated_routes_declare_security_and_401(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert {schemes[name]["scheme"] for name in AUTHENTICATED} == {"bearer"}
    assert schemes["workspaceKeyQuery"] == {**schemes["workspaceKeyQuery"], "in": "query"}
    for method, path, operation in operations(doc):
        if path in HEALTH:
            assert "security" not in operation and 401 not in errors_of(operation)
            continue
        [first, *_] = operation["security"]
        assert set(first) <= AUTHENTICATED, (method, path)
        unauthorized = errors_of(operation)[401]
        assert unauthorized["headers"]["WWW-Authenticate"]["required"], (method, path)
        assert 503 in errors_of(operation), (method, path)
        assert errors_of(operation)[503]["headers"]["Retry-After"]["required"]
    stream = doc["paths"]["/api/stream/messages/"]["get"]
    assert [list(s) for s in stream["security"]] == [["workspaceKey"], ["workspaceKeyQuery"]]
    assert list(stream["responses"]["200"]["content"]) == ["text/event-stream"]


def test_every_route_said_to_need_credentials_refuses_a_request_without(
    api: InProcessClient, doc: dict[str, Any]
) -> None:
    """And every route said to need none answers without (the health probes)."""
    some_id = str(uuid.uuid4())
    wrong = []
    for method, path, operation in operations(doc):
        response = api.request(method, PARAMETER.sub(some_id, path), json={})
        declared = "security" in operation
        if (response.status_code == 401) != declared:
            wrong.append(f"{method} {path}: {response.status_code}, security declared: {declared}")
    assert not wrong, "\n".join(wrong)


def test_only_keys_below_admin_or_send_routes_can_be_forbidden(doc: dict[str, Any]) -> None:
    for method, path, operation in operations(doc):
        roles = [
            role for requirement in operation.get("security", []) for role in requirement.values()
        ]
        needs_more_than_read = any(r and r[0] in ("send", "admin") for r in roles)
        assert (403 in errors_of(operation)) == needs_more_than_read, (method, path)


def test_bodies_read_declare_408_and_413(doc: dict[str, Any]) -> None:
    for method, path, operation in operations(doc):
        reads_body = method in ("POST", "PUT", "PATCH", "DELETE")  # PigeonRoute reads theirs
        for status in (408, 413):
            assert (status in errors_of(operation)) == reads_body, (method, path, status)


def test_route_specific_answers(doc: dict[str, Any]) -> None:
    def answers(method: str, path: str) -> set[int]:
        return {int(code) for code in doc["paths"][path][method]["responses"]}

    for path in (
        "/v1/messages/{message_id}",
        "/v1/channels/{channel_id}",
        "/api/messages/{message_id}/",
    ):
        assert 404 in answers("get", path), path
    for path in (
        "/v1/messages",
        "/v1/messages/batch",
        "/v1/messages/{message_id}/cancel",
        "/v1/messages/{message_id}/retry",
        "/v1/gateway/report",
        "/api/messages/{message_id}/cancel/",
        "/api/gateway/report/",
        "/client/imessage/send-queue/{id}/result",
        "/admin/send-queue/enqueue",
    ):
        assert 409 in answers("post", path), path
    assert 204 in answers("post", "/api/gateway/claim/")
    assert 404 not in answers("get", "/v1/messages")
    assert 409 not in answers("post", "/v1/devices")


def test_the_report_body_is_one_report_or_a_list(doc: dict[str, Any]) -> None:
    operation = doc["paths"]["/v1/gateway/report"]["post"]
    body = operation["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {
        "oneOf": [
            {"$ref": "#/components/schemas/ReportIn"},
            {"$ref": "#/components/schemas/ReportsIn"},
        ]
    }
    reports = schema_of(doc, "ReportsIn")["properties"]["reports"]
    assert (reports["minItems"], reports["maxItems"]) == (1, MAX_REPORTS)
    assert reports["items"] == {"$ref": "#/components/schemas/ReportIn"}
    report = schema_of(doc, "ReportIn")
    assert report["properties"]["message_id"]["format"] == "uuid"
    assert report["additionalProperties"] is False
    # The seed 002 report is another model, under its own name.
    seed = doc["paths"]["/api/gateway/report/"]["post"]["requestBody"]
    assert seed["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Seed002ReportIn"
    }


def test_ids_are_uuids(doc: dict[str, Any]) -> None:
    for method, path, operation in operations(doc):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["schema"]["format"] == "uuid", (method, path, parameter)
    [cursor] = [
        p for p in doc["paths"]["/v1/messages"]["get"]["parameters"] if p["name"] == "cursor"
    ]
    assert {"type": "string", "format": "uuid"} in cursor["schema"]["anyOf"]
    message = schema_of(doc, "MessageIn")["properties"]
    for name in ("channel_id", "device_id"):
        assert {"type": "string", "format": "uuid"} in message[name]["anyOf"]
    assert schema_of(doc, "DeviceIn")["properties"]["channel_id"]["anyOf"][0]["format"] == "uuid"
    assert schema_of(doc, "Seed000EnqueueIn")["properties"]["deviceId"]["format"] == "uuid"
    assert schema_of(doc, "Seed002ReportIn")["properties"]["message_id"]["format"] == "uuid"


def test_instants_are_date_times(doc: dict[str, Any]) -> None:
    date_time = {"type": "string", "format": "date-time"}
    assert date_time in schema_of(doc, "MessageIn")["properties"]["scheduled_for"]["anyOf"]
    assert date_time in schema_of(doc, "Seed002MessageIn")["properties"]["scheduled_for"]["anyOf"]
    assert date_time in schema_of(doc, "ExtractIn")["properties"]["reference"]["anyOf"]
    query = {p["name"]: p for p in doc["paths"]["/v1/messages"]["get"]["parameters"]}
    for name in ("scheduled_from", "scheduled_until"):
        assert date_time in query[name]["schema"]["anyOf"]


def test_bounds_the_server_enforces(doc: dict[str, Any]) -> None:
    items = schema_of(doc, "BatchIn")["properties"]["items"]
    assert (items["minItems"], items["maxItems"]) == (1, MAX_BATCH)
    for model in ("MessageIn", "BatchItemIn", "Seed002MessageIn", "Seed000EnqueueIn"):
        body = schema_of(doc, model)["properties"]["body"]
        assert (body["minLength"], body["maxLength"]) == (1, MAX_BODY), model  # the setting
    recipient = schema_of(doc, "MessageIn")["properties"]["recipient"]
    assert (recipient["minLength"], recipient["maxLength"]) == (1, 254)
    text = schema_of(doc, "ExtractIn")["properties"]["text"]
    assert (text["minLength"], text["maxLength"]) == (1, MAX_BODY)  # the setting, like a body
    words = schema_of(doc, "MessageIn")["properties"]["scheduled_for_text"]
    assert (words["minLength"], words["anyOf"][0]["maxLength"]) == (1, MAX_TIME_TEXT)
    # A batch item takes neither a repetition nor a time in words: not offered.
    assert not {"repeat", "scheduled_for_text", "timezone", "locale"} & set(
        schema_of(doc, "BatchItemIn")["properties"]
    )
    key = {p["name"]: p for p in doc["paths"]["/v1/messages"]["post"]["parameters"]}
    [bounded] = [s for s in key["idempotency-key"]["schema"]["anyOf"] if s["type"] == "string"]
    assert (bounded["minLength"], bounded["maxLength"]) == (1, 255)
    scopes = schema_of(doc, "KeyIn")["properties"]["scopes"]
    assert scopes["minItems"] == 1 and set(scopes["items"]["enum"]) == {"admin", "send", "read"}
    claim = schema_of(doc, "ClaimIn")["properties"]
    limit = claim["limit"]["anyOf"][0]
    assert (limit["minimum"], limit["maximum"]) == (1, 500)
    assert (claim["wait"]["minimum"], claim["wait"]["maximum"]) == (0, 60)
    page = {p["name"]: p for p in doc["paths"]["/v1/messages"]["get"]["parameters"]}["limit"]
    assert (page["schema"]["minimum"], page["schema"]["maximum"]) == (1, 200)


# 405 ------------------------------------------------------------------------------------


def test_a_wrong_method_names_every_method_of_the_path(api: InProcessClient) -> None:
    """Starlette named only the methods of the first route matching the path."""
    response = api.request("PUT", "/v1/messages")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["content-type"].startswith("application/problem+json")
    some_id = str(uuid.uuid4())
    response = api.request("DELETE", f"/v1/channels/{some_id}")
    assert response.headers["allow"] == "GET, PATCH"


def test_a_literal_path_is_its_own_resource(api: InProcessClient, doc: dict[str, Any]) -> None:
    """`GET /v1/messages/batch` reached `GET /v1/messages/{message_id}` (id `batch`) and
    answered 422; the batch takes only POST. A malformed id elsewhere is still a 422."""
    key = api.post("/v1/workspaces", json={"name": "a"}, headers=bearer(OPERATOR_TOKEN))
    admin = bearer(key.json()["api_key"])
    response = api.get("/v1/messages/batch", headers=admin)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"].startswith("application/problem+json")
    response = api.get("/v1/messages/not-an-id", headers=admin)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["message_id"]


def test_allow_matches_the_document_on_every_path(
    api: InProcessClient, doc: dict[str, Any]
) -> None:
    some_id = str(uuid.uuid4())
    app_paths = {
        route.path_format for route in iter_route_contexts(api.app.routes) if route.path_format
    }
    for path, item in doc["paths"].items():
        assert path in app_paths
        url = PARAMETER.sub(some_id, path)
        documented = sorted(m.upper() for m in item if m in HTTP_METHODS)
        unsupported = next(m for m in ("DELETE", "PUT", "PATCH", "POST") if m not in documented)
        response = api.request(unsupported, url)
        assert response.status_code == 405, (unsupported, path)
        assert response.headers["allow"] == ", ".join(documented), (unsupported, path)


def test_provider_webhooks_stay_out_of_the_api_document(doc: dict[str, Any]) -> None:
    """Providers call them with their own secrets; docs/channels.md documents them."""
    assert not [path for path in doc["paths"] if path.startswith("/webhooks/")]
