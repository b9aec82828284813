"""The OpenAPI document at /openapi.json, made to tell the truth about every route.

FastAPI's generated document knows the routes' inputs, but not how pigeon answers: it declares
its own 422 `HTTPValidationError` where /v1 answers problem+json (RFC 9457) and the seed
surfaces answer their seeds' envelopes, and it knows nothing of the credentials, the body
limits or the storage outage. `document` post-processes the generated document:

- every error answer carries its surface's envelope (`Problem` on /v1, Django REST
  framework's on seed 002, `{"success": false, ...}` on seed 000), and invalid input is the
  surface's status (422 on /v1, 400 on the seeds);
- answers every route of a kind gives are added here, from the route itself: 401 (with
  `WWW-Authenticate`) and its security requirement where it takes a credential, 403 where a
  key can lack the scope, 408 and 413 where a body is read, 503 (with `Retry-After`)
  everywhere; answers only some routes give (404, 409, 204) are named by their decorators,
  with `answers(...)`;
- bounds that live in services or settings rather than in a model appear in the schemas.

`tests/integration/test_openapi.py` checks the document, and `test_openapi_fuzz.py` runs
schemathesis against it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fastapi.openapi.utils import get_openapi
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from pigeon.api.deps import Credential
from pigeon.api.errors import SEED_000_PREFIXES, SEED_002_PREFIX
from pigeon.api.v1.schemas import NOT_EMPTY, RECIPIENT_EXAMPLES, UUID_SCHEMA
from pigeon.domain.accounts import Scope

if TYPE_CHECKING:
    from fastapi import FastAPI

    from pigeon.config import Settings

PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
REF = "#/components/schemas/"

REASONS = {
    204: "Nothing to hand out",
    400: "Invalid input",
    401: "Missing, unknown or revoked credentials",
    403: "The key lacks the scope this operation needs",
    404: "No such resource in this workspace",
    408: "The request body did not arrive in time",
    409: "Conflicts with the current state",
    413: "The request body is larger than PIGEON_MAX_REQUEST_BYTES",
    422: "Invalid input; nothing was written",
    503: "The database is unavailable; nothing was accepted",
}

# Models named by `one_of`, by their module path (`pigeon.api.v1.schemas.ReportIn`) until
# `document` adds them to the components under their plain names: those of the seeds' models
# (a seed 002 `ReportIn`) are made free first.
_BODY_MODELS: dict[str, type[BaseModel]] = {}


def answers(*codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route decorator: the answers only some routes give.

    Only the description is given here (`descriptions` may replace it, as `c409="..."`):
    `document` adds the surface's error envelope.
    """
    return {code: {"description": descriptions.get(f"c{code}", REASONS[code])} for code in codes}


def one_of(*models: type[BaseModel]) -> dict[str, Any]:
    """The `openapi_extra=` of a route whose handler reads a free-form body and parses it as
    one of `models` itself: the body is declared as exactly one of them."""
    refs = []
    for model in models:
        _BODY_MODELS[f"{model.__module__}.{model.__qualname__}"] = model
        refs.append({"$ref": f"{REF}{model.__module__}.{model.__qualname__}"})
    return {"requestBody": {"content": {JSON: {"schema": {"oneOf": refs}}}, "required": True}}


# A create that takes an Idempotency-Key says when it answers with the first request's result.
IDEMPOTENT_CREATED: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "Created; or, repeated with its Idempotency-Key, as first created",
        "headers": {
            "Idempotent-Replayed": {
                "description": "`true` when this answer repeats the first one",
                "schema": {"const": "true"},
            }
        },
    }
}


class EventStream(StreamingResponse):
    """The `response_class=` of a server-sent event stream, so the document says so."""

    media_type = "text/event-stream"


# One event of a stream (before OpenAPI 3.2's `itemSchema`, a stream's `schema` is read as
# each event's): api/sse.py sends `message`, `ping` and `revoked`, each with JSON data.
SERVER_SENT_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"enum": ["message", "ping", "revoked"]},
        "data": {"type": "string", "contentMediaType": JSON},
    },
}
EVENT_STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-sent events until the key is revoked or the server stops",
        "content": {EventStream.media_type: {"schema": SERVER_SENT_EVENT}},
    }
}


HEALTH_REPORT: dict[str, Any] = {
    "type": "object",
    "required": ["status", "version"],
    "properties": {
        "status": {"enum": ["ok", "unavailable"]},
        "version": {"type": "string"},
        "database": {"type": "string"},
        "schema": {"type": "string"},
        "writes": {"type": "string"},
    },
}
# The health probes answer their report, also when unavailable (503, without Retry-After).
HEALTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Able to serve", "content": {JSON: {"schema": HEALTH_REPORT}}},
    503: {
        "description": "Unable to serve: the report says why",
        "content": {JSON: {"schema": HEALTH_REPORT}},
    },
}

COMPONENTS: dict[str, dict[str, Any]] = {
    "Problem": {
        "description": "An error, as RFC 9457 problem details.",
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "description": "The offending fields: `items[2].recipient`, `cursor`, ...",
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "detail"],
                    "properties": {"field": {"type": "string"}, "detail": {"type": "string"}},
                },
            },
            "question": {
                "description": "When a time given in words (`scheduled_for_text`) cannot be "
                "scheduled: the question to ask its sender back.",
                "type": "string",
            },
            "reason": {
                "description": "With `question`: why the time cannot be scheduled "
                "(`vague_time`, `no_time`, `past_time`, `unknown_date_order`, ...).",
                "type": "string",
            },
        },
    },
    "Seed002FieldErrors": {
        "description": "Invalid input, the Django REST framework way: messages by field.",
        "type": "object",
        "minProperties": 1,
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
    "Seed002Detail": {
        "description": "Any other error, the Django REST framework way.",
        "type": "object",
        "required": ["detail"],
        "properties": {"detail": {"type": "string"}},
    },
    "Seed000Error": {
        "type": "object",
        "required": ["success", "error"],
        "properties": {
            "success": {"const": False},
            "error": {"type": "string"},
            "details": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
}

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "workspaceKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "A workspace API key; scopes read < send < admin.",
    },
    "workspaceKeyQuery": {
        "type": "apiKey",
        "in": "query",
        "name": "access_token",
        "description": "A workspace API key, for an EventSource, which cannot send headers.",
    },
    "deviceToken": {"type": "http", "scheme": "bearer", "description": "A device's token."},
    "operatorToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "The operator token (PIGEON_OPERATOR_TOKEN or made at first start).",
    },
}
SCHEME_OF_KIND = {"key": "workspaceKey", "device": "deviceToken", "operator": "operatorToken"}

STRING_HEADER = {"schema": {"type": "string"}, "required": True}
ERROR_HEADERS = {
    401: {"WWW-Authenticate": {**STRING_HEADER, "description": "`Bearer`"}},
    503: {"Retry-After": {**STRING_HEADER, "description": "Seconds to wait: `1`"}},
}
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})  # PigeonRoute reads their body


def install(app: FastAPI) -> None:
    """Serve `document(app)` at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
    )
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    _rename_models(doc, app)
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(COMPONENTS)
    for model in _BODY_MODELS.values():
        found = model.model_json_schema(ref_template=REF + "{model}")
        schemas.update(found.pop("$defs", {}))
        schemas[model.__name__] = found
    _replace_refs(doc, {REF + path: REF + model.__name__ for path, model in _BODY_MODELS.items()})
    doc["components"]["securitySchemes"] = SECURITY_SCHEMES
    for path, method, route, operation in _operations(doc, app):
        _declare_answers(path, method, route, operation)
    _declare_bounds(schemas, app.state.services.settings)
    return doc


def _api_routes(app: FastAPI) -> Iterator[tuple[str, set[str], APIRoute]]:
    """(path, methods, route) of each documented route, under the prefixes it was included with."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.include_in_schema:
            yield str(context.path_format), set(context.methods or ()), route


def _operations(doc: dict[str, Any], app: FastAPI) -> Iterator[tuple[str, str, APIRoute, Any]]:
    for path, methods, route in _api_routes(app):
        for method in sorted(methods):
            yield path, method, route, doc["paths"][path][method.lower()]


def _surface(path: str) -> str:
    if path.startswith(SEED_000_PREFIXES):
        return "Seed000"
    if path.startswith(SEED_002_PREFIX):
        return "Seed002"
    return ""


def _rename_models(doc: dict[str, Any], app: FastAPI) -> None:
    """Name request models plainly: FastAPI names two models of one name by their module
    (`pigeon__api__v1__schemas__MessageIn`); here /v1's keep their name and the seeds' take
    their surface's (`Seed002MessageIn`)."""
    schemas = doc["components"]["schemas"]
    renamed: dict[str, str] = {}
    for path, _methods, route in _api_routes(app):
        for body in route.dependant.body_params:
            model = body.field_info.annotation
            for candidate in getattr(model, "__args__", None) or (model,):  # X | None
                if not (isinstance(candidate, type) and issubclass(candidate, BaseModel)):
                    continue
                name = candidate.__name__
                long_name = f"{candidate.__module__}.{candidate.__qualname__}".replace(".", "__")
                for old in (long_name, name):
                    if old in schemas and old not in renamed:
                        renamed[old] = _surface(path) + name
    for old, new in renamed.items():
        schemas[new] = schemas.pop(old)
        schemas[new]["title"] = new
    _replace_refs(doc, {REF + old: REF + new for old, new in renamed.items()})


def _replace_refs(node: Any, refs: dict[str, str]) -> None:
    if isinstance(node, dict):
        if node.get("$ref") in refs:
            node["$ref"] = refs[node["$ref"]]
        for value in node.values():
            _replace_refs(value, refs)
    elif isinstance(node, list):
        for value in node:
            _replace_refs(value, refs)


def _declare_answers(path: str, method: str, route: APIRoute, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    surface = _surface(path)
    credentials = [d.call for d in route.dependant.dependencies if isinstance(d.call, Credential)]
    for credential in credentials:
        scheme = SCHEME_OF_KIND[credential.kind]
        roles = [credential.scope.value] if credential.scope is not None else []
        operation["security"] = [{scheme: roles}]
        if credential.query_token:
            operation["security"].append({"workspaceKeyQuery": roles})
        responses.setdefault("401", {"description": REASONS[401]})
        if credential.scope not in (None, Scope.READ):  # every key can read
            responses.setdefault("403", {"description": REASONS[403]})
    invalid = responses.pop("422", None)  # FastAPI's, when the route takes any input
    if invalid is not None or "requestBody" in operation:
        status = "400" if surface else "422"
        responses.setdefault(status, {"description": REASONS[int(status)]})
    if method in BODY_METHODS:
        responses.setdefault("408", {"description": REASONS[408]})
        responses.setdefault("413", {"description": REASONS[413]})
    responses.setdefault("503", {"description": REASONS[503]})
    if "oneOf" in (body := _json_body(operation)):
        # `one_of` was merged into FastAPI's free-form object: keep only the union.
        for key in ("type", "additionalProperties", "title"):
            body.pop(key, None)
    for code, response in responses.items():
        if int(code) >= 400 and "content" not in response:
            response["content"] = _envelope(surface, int(code))
            if int(code) in ERROR_HEADERS:
                response["headers"] = ERROR_HEADERS[int(code)]
    operation["responses"] = dict(sorted(responses.items()))


def _json_body(operation: dict[str, Any]) -> dict[str, Any]:
    content = operation.get("requestBody", {}).get("content", {})
    schema: dict[str, Any] = content.get(JSON, {}).get("schema", {})
    return schema


def _envelope(surface: str, status: int) -> dict[str, Any]:
    """The error body of `surface` for `status`, as a response's `content`."""
    if surface == "Seed000":
        return {JSON: {"schema": {"$ref": REF + "Seed000Error"}}}
    if surface == "Seed002":
        detail = {"$ref": REF + "Seed002Detail"}
        if status == 400:  # invalid fields, or a body that is not JSON
            return {JSON: {"schema": {"anyOf": [{"$ref": REF + "Seed002FieldErrors"}, detail]}}}
        return {JSON: {"schema": detail}}
    return {PROBLEM_JSON: {"schema": {"$ref": REF + "Problem"}}}


def _declare_bounds(schemas: dict[str, Any], settings: Settings) -> None:
    """Bounds the services enforce on fields whose models do not say them: the seeds' models
    keep their seeds' shapes, and a message body's longest length is a setting."""
    body = {"minLength": 1, "maxLength": settings.max_body_chars}
    handle = {**NOT_EMPTY, "examples": RECIPIENT_EXAMPLES}
    bounds = {
        ("MessageIn", "body"): body,
        ("BatchItemIn", "body"): body,
        ("ExtractIn", "text"): body,
        ("Seed002MessageIn", "body"): body,
        ("Seed002MessageIn", "to_handle"): handle,
        ("Seed000EnqueueIn", "body"): body,
        ("Seed000EnqueueIn", "toHandle"): handle,
        ("Seed000EnqueueIn", "deviceId"): UUID_SCHEMA,
    }
    for (model, field), bound in bounds.items():
        schemas[model]["properties"][field].update(bound)
