"""`POST /webhooks/gmail/{channel_id}`: Gmail's Pub/Sub push subscription.

The OIDC token Pub/Sub sends is the route's credential: `PigeonRoute` checks it before the
body is read (401 without a valid Google token, 403 with one for another channel), then
reads the body within bounds. The envelope becomes one pointer job; the answer is 204 once
it is durable (Pub/Sub takes any of 102, 200, 201, 202 and 204 as an ack) and 503 with
Retry-After when it is not, so Pub/Sub pushes again. A malformed envelope is 400, naming the
field.

Not in the OpenAPI document: Google calls this route, not API clients, and its credential
is none of the document's security schemes.
"""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, Request, Response

from pigeon.api.deps import CREDENTIAL, Credential, PigeonRoute, Svc, services
from pigeon.api.errors import render_error
from pigeon.domain.inbound import Provider
from pigeon.errors import ValidationError
from pigeon.providers import gmail
from pigeon.providers.protocols import Mailbox
from pigeon.services import ingress

router = APIRouter(route_class=PigeonRoute)


class PubSubToken(Credential):
    """A Pub/Sub push's OIDC token, for the channel the URL names: what it verified is the
    channel's mailbox."""

    def __init__(self) -> None:
        super().__init__("pubsub")

    async def check(self, request: Request) -> None:
        request.scope[CREDENTIAL] = await to_thread.run_sync(
            gmail.authenticate_push,
            services(request),
            request.path_params["channel_id"],
            request.headers.get("authorization"),
        )


PushedTo = Annotated[Mailbox, Depends(PubSubToken())]


@router.post("/webhooks/gmail/{channel_id}", status_code=204, include_in_schema=False)
async def gmail_push(request: Request, svc: Svc, box: PushedTo) -> Response:
    try:
        pointers = gmail.push_pointers(box, await request.body())
    except ValidationError as error:
        return render_error(request.url.path, 400, error.message, error.errors)
    await to_thread.run_sync(ingress.accept, svc, box, Provider.GMAIL, pointers)
    return Response(status_code=204)
