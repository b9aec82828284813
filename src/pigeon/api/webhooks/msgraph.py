"""Microsoft Graph's webhooks: change notifications at `/webhooks/msgraph/{channel_id}`,
lifecycle notifications at `.../lifecycle` (pigeon.providers.msgraph says what becomes of them).

Both answer Graph's validation handshake: a POST with `?validationToken=` is answered 200,
`text/plain`, with the token URL-decoded, for a known channel (404 otherwise), as Graph's
"notificationUrl validation" asks. Any other POST is a batch of notifications: 202 once its
jobs are durable, 503 with Retry-After when they cannot be, and 400 naming the field of a
malformed body (Graph's own status for a request it cannot use; such a body is not Graph's).
"""

from __future__ import annotations

from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse

from pigeon.api.deps import PigeonRoute, Svc
from pigeon.api.errors import render_error
from pigeon.api.openapi import answers, one_of
from pigeon.api.v1.schemas import IdText
from pigeon.errors import ValidationError
from pigeon.providers import msgraph

router = APIRouter(prefix="/webhooks/msgraph", tags=["webhooks"], route_class=PigeonRoute)

# Graph's tokens are opaque and short; the bound keeps a forged one from being echoed large.
MAX_TOKEN = 4096
Token = Annotated[
    str | None,
    Query(
        alias="validationToken",
        min_length=1,
        max_length=MAX_TOKEN,
        description="Graph's validation handshake: echoed as text/plain",
    ),
]


def _body_document() -> dict[str, Any]:
    """A notification batch as JSON, or the handshake's text/plain (empty) body."""
    extra = one_of(msgraph.NotificationCollection)
    extra["requestBody"]["required"] = False
    extra["requestBody"]["content"]["text/plain"] = {"schema": {"type": "string"}}
    return extra


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The validation handshake: the token, decoded",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    202: {"description": "The notifications' jobs are durable (or the batch was dropped)"},
    **answers(400, 404, c400="The body is not a notification batch; `errors` names the field"),
}


@router.post(
    "/{channel_id}",
    status_code=202,
    response_class=Response,
    responses=RESPONSES,
    openapi_extra=_body_document(),
    include_in_schema=False,  # for Graph, not API clients: docs/channels.md
)
async def change_notifications(
    channel_id: IdText, request: Request, svc: Svc, token: Token = None
) -> Response:
    return await _answer(svc, request, channel_id, token)


@router.post(
    "/{channel_id}/lifecycle",
    status_code=202,
    response_class=Response,
    responses=RESPONSES,
    openapi_extra=_body_document(),
    include_in_schema=False,  # for Graph, not API clients: docs/channels.md
)
async def lifecycle_notifications(
    channel_id: IdText, request: Request, svc: Svc, token: Token = None
) -> Response:
    return await _answer(svc, request, channel_id, token)


async def _answer(svc: Svc, request: Request, channel_id: str, token: str | None) -> Response:
    if token is not None:
        await to_thread.run_sync(msgraph.check_webhook, svc, channel_id)
        # Plain text that a browser must not sniff into HTML: the token is the caller's.
        return PlainTextResponse(token, headers={"X-Content-Type-Options": "nosniff"})
    body = await request.body()
    try:
        await to_thread.run_sync(msgraph.receive, svc, channel_id, body)
    except ValidationError as error:
        return render_error(request.url.path, 400, error.message, error.errors)
    return Response(status_code=202)
