"""Errors to HTTP: problem+json (RFC 9457) on /v1, each compat surface in its seed's envelope.

Every error names the offending fields; nothing here ever answers 500 for bad input.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import pydantic
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from pigeon.errors import (
    AuthError,
    Conflict,
    NotFound,
    PermissionDenied,
    PigeonError,
    StorageUnavailable,
    ValidationError,
)

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)

SEED_000_PREFIXES = ("/client/", "/admin/")
SEED_002_PREFIX = "/api/"
REQUEST_PARTS = frozenset({"body", "query", "path", "header", "cookie"})
# The name under which a problem with the request body as a whole is reported (not JSON, not
# an object): "body" would read as the message's own `body` field. Seed 002 says it the Django
# REST framework way.
WHOLE_BODY = "request_body"
FASTAPI_UNPARSABLE_BODY = "There was an error parsing the body"
DRF_WHOLE_BODY = "non_field_errors"


def status_of(error: PigeonError) -> int:
    if isinstance(error, ValidationError):
        return 422
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, AuthError):
        return 401
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, StorageUnavailable):
        return 503
    return 400


TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    413: "Content too large",
    422: "Invalid request",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem_body(
    status: int,
    detail: str,
    errors: dict[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """RFC 9457 problem details; `extensions` are members of their own beside the standard
    ones (a 422 about a time in words carries `question` and `reason`)."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [{"field": name, "detail": text} for name, text in errors.items()]
    for name, value in (extensions or {}).items():
        body.setdefault(name, value)  # never in place of a standard member
    return body


def render_error(
    path: str,
    status: int,
    detail: str,
    errors: dict[str, str] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    headers = dict(extra_headers or {})  # e.g. Allow on a 405, from the router
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 503:
        headers["Retry-After"] = "1"
    if path.startswith(SEED_000_PREFIXES):
        # Seed 000 answers validation errors with 400 and a success flag.
        code = 400 if status == 422 else status
        body: dict[str, Any] = {"success": False, "error": detail}
        if errors:
            body["details"] = errors
        return JSONResponse(body, status_code=code, headers=headers)
    if path.startswith(SEED_002_PREFIX):
        # Seed 002 is Django REST framework: 400 with {field: [messages]}, else {"detail"}.
        if errors and status == 422:
            fields = {DRF_WHOLE_BODY if k == WHOLE_BODY else k: [v] for k, v in errors.items()}
            return JSONResponse(fields, status_code=400)
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)
    return JSONResponse(
        problem_body(status, detail, errors, extensions),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def _field_name(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        return WHOLE_BODY  # located at ("body", <character offset>)
    location: Sequence[Any] = error.get("loc", ())
    if location and location[0] in REQUEST_PARTS:
        location = location[1:]  # only the first element says where; a field may be "body"
    parts = [str(p) for p in location]
    name = ""
    for part in parts:
        name += f"[{part}]" if part.isdigit() else (f".{part}" if name else part)
    return name or WHOLE_BODY


def _json_reason(error: dict[str, Any]) -> str:
    return str((error.get("ctx") or {}).get("error") or "malformed JSON")


def _readable(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        return f"is not valid JSON ({_json_reason(error)})"
    if error.get("type") == "missing":
        return "is required"
    if error.get("type") == "extra_forbidden":
        return "is not a known field"
    message = str(error.get("msg", "is invalid"))
    # A validator's own ValueError arrives as "Value error, <its message>".
    return message.removeprefix("Value error, ")


def _methods_at(request: Request) -> dict[int, set[str]]:
    """The methods of the app's routes whose path matches this request's, by how many path
    parameters the route has."""
    found: dict[int, set[str]] = {}
    for route in iter_route_contexts(request.app.routes):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            parameters = str(route.path_format or "").count("{")
            found.setdefault(parameters, set()).update(route.methods or ())
    return found


def allowed_methods(request: Request) -> str:
    """Every method the app answers at this request's path, for `Allow`.

    Starlette's router names only the methods of the first route whose path matched: `PUT
    /v1/messages` would say `Allow: POST` though `GET /v1/messages` exists too. The routes
    with the fewest parameters name the resource: `/v1/messages/batch` is the batch (POST),
    not a message whose id would be `batch`.
    """
    found = _methods_at(request)
    return ", ".join(sorted(found[min(found)])) if found else ""


def _shadowed(request: Request) -> bool:
    """Did a method that the resource at this path does not allow reach a route with path
    parameters, which refused them? `GET /v1/messages/batch` reaches `GET
    /v1/messages/{message_id}` with the id `batch`: the answer is 405 (Allow: POST), not an
    invalid id."""
    found = _methods_at(request)
    if not found:
        return False
    fewest = min(found)
    return len(request.path_params) > fewest and request.method not in found[fewest]


def install(app: FastAPI) -> None:
    @app.exception_handler(Exception)
    async def _bug(request: Request, error: Exception) -> JSONResponse:
        # A defect of pigeon's, not of the request: logged with its traceback, answered in
        # the surface's envelope like every other error (never a bare text/plain 500).
        log.error("unhandled error", exc_info=error, extra={"action": "unhandled_error"})
        detail = "pigeon failed to handle this request; the error is in its log"
        return render_error(request.url.path, 500, detail)

    @app.exception_handler(PigeonError)
    async def _pigeon_error(request: Request, error: PigeonError) -> JSONResponse:
        fields = error.errors if isinstance(error, ValidationError) else None
        extensions = error.extensions if isinstance(error, ValidationError) else None
        status = status_of(error)
        if status == 503:
            log.error("storage unavailable", exc_info=error, extra={"action": "storage_error"})
        return render_error(request.url.path, status, error.message, fields, extensions=extensions)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        if _shadowed(request):
            headers = {"Allow": allowed_methods(request)}
            return render_error(request.url.path, 405, "Method Not Allowed", None, headers)
        items = error.errors()
        unparsable = [item for item in items if item.get("type") == "json_invalid"]
        if unparsable and request.url.path.startswith(SEED_002_PREFIX):
            # Django REST framework's ParseError, as seed 002's clients know it.
            reason = _json_reason(unparsable[0])
            return JSONResponse({"detail": f"JSON parse error - {reason}"}, status_code=400)
        fields: dict[str, str] = {}
        for item in unparsable or items:
            fields.setdefault(_field_name(item), _readable(item))
        detail = "; ".join(f"{k}: {v}" for k, v in fields.items())
        return render_error(request.url.path, 422, detail, fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400 and error.detail == FASTAPI_UNPARSABLE_BODY:
            # A body FastAPI's reader gave up on (JSON nested past the parser's depth, bytes
            # that are not UTF-8) is answered like any other JSON that does not parse.
            unreadable = {"error": "the parser could not read it"}
            return await _invalid(
                request,
                RequestValidationError(
                    [{"type": "json_invalid", "loc": ("body",), "ctx": unreadable}]
                ),
            )
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
        return render_error(
            request.url.path, error.status_code, str(error.detail), extra_headers=headers
        )


def parse_body(model: type[ModelT], data: Any) -> ModelT:
    """Validate `data` against `model`, failing like FastAPI's own body validation."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as error:
        raise RequestValidationError(
            [{**item, "loc": ("body", *item["loc"])} for item in error.errors()]
        ) from None
