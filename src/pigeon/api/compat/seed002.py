"""Seed 002 (iMessage scheduler) routes, as that system's clients call them.

Django REST framework conventions: trailing slashes, upper-case statuses, 400 with
`{field: [problem]}` on bad input, 204 when a gateway has nothing to claim. The seed names no
authentication; pigeon requires a workspace key for message routes and a device token for
gateway routes (`Authorization: Bearer ...`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from pigeon.api.deps import (
    DeviceAuth,
    PigeonRoute,
    Reader,
    Sender,
    StreamReader,
    Svc,
    closing,
    services,
)
from pigeon.api.openapi import (
    EVENT_STREAM_RESPONSES,
    HEALTH_RESPONSES,
    EventStream,
    answers,
)
from pigeon.api.sse import message_stream
from pigeon.api.v1.schemas import Instant, Uuid, iso
from pigeon.domain.messages import Message
from pigeon.domain.transitions import MessageStatus
from pigeon.errors import ValidationError
from pigeon.services import auth, gateway, health, messages
from pigeon.services.messages import MessageFilter

router = APIRouter(prefix="/api", tags=["seed 002"], route_class=PigeonRoute)

M = MessageStatus

# Seed 002's statuses; ACCEPTED covers "prepared or claimed".
SEED_STATUS = {
    M.QUEUED: "QUEUED",
    M.RELEASED: "ACCEPTED",
    M.CLAIMED: "ACCEPTED",
    M.SENT: "SENT",
    M.DELIVERED: "DELIVERED",
    M.READ: "RECEIVED",
    M.FAILED: "FAILED",
    M.CANCELED: "CANCELED",
    M.SUPPRESSED: "SUPPRESSED",
    M.EXPIRED: "EXPIRED",
    M.UNKNOWN: "UNKNOWN",
}
REPORTED = {
    "SENT": gateway.Outcome.SENT,
    "FAILED": gateway.Outcome.FAILED,
    "DELIVERED": gateway.Outcome.DELIVERED,
    "RECEIVED": gateway.Outcome.READ,
}


class MessageIn(BaseModel):
    to_handle: str = Field(max_length=254)
    body: str
    scheduled_for: Instant | None = None


class ClaimIn(BaseModel):
    gateway_id: str | None = Field(default=None, max_length=100)


class ReportIn(BaseModel):
    message_id: Uuid
    status: str
    error: Any = None
    claim_token: str | None = None


# The seed marks a message prepared for pickup with this claimant.
PENDING_GATEWAY = "gateway_pending"

Gateways = Mapping[str, str]  # device id -> name: the seed's gateway id is a device's name


def _claimed_by(message: Message, gateways: Gateways) -> str | None:
    if message.status is M.RELEASED:
        return PENDING_GATEWAY
    if message.status is M.QUEUED or message.claimed_by is None:
        return None  # not claimed now, whoever held it before a retry
    return gateways.get(message.claimed_by, message.claimed_by)


def seed_message(message: Message, gateways: Gateways | None = None) -> dict[str, Any]:
    return {
        "id": message.id,
        "to_handle": message.recipient,
        "body": message.body,
        "scheduled_for": iso(message.scheduled_for),
        "status": SEED_STATUS[message.status],
        "attempt_count": message.attempts,
        "last_error": message.last_error,
        "claimed_by": _claimed_by(message, gateways or {}),
        "created_at": iso(message.created_at),
        "updated_at": iso(message.updated_at),
        "sent_at": iso(message.sent_at),
    }


@router.post("/messages/", status_code=201)
def create_message(body: MessageIn, svc: Svc, who: Sender) -> Any:
    request = messages.NewMessage(
        recipient=body.to_handle, body=body.body, scheduled_for=body.scheduled_for
    )
    try:
        return seed_message(messages.create(svc, who, request).message)
    except ValidationError as error:
        raise ValidationError(
            {name.replace("recipient", "to_handle"): text for name, text in error.errors.items()}
        ) from None


@router.get("/messages/")
def list_messages(
    svc: Svc,
    who: Reader,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    wanted: frozenset[MessageStatus] = frozenset()
    if status:
        wanted = frozenset(s for s, name in SEED_STATUS.items() if name == status.upper())
        if not wanted:
            raise ValidationError.field("status", f"unknown status {status!r}")
    found = messages.list_(svc, who, MessageFilter(statuses=wanted), limit=limit)
    gateways = messages.claimant_names(svc, who, found)
    return [seed_message(m, gateways) for m in found]


@router.get("/messages/{message_id}/", responses=answers(404))
def get_message(message_id: Uuid, svc: Svc, who: Reader) -> dict[str, Any]:
    found = messages.get(svc, who, message_id)
    events: list[dict[str, Any]] = []
    for e in found.events:
        status = SEED_STATUS[e.to_status]
        if events and events[-1]["status"] == status:
            continue  # released then claimed: one ACCEPTED in the seed's terms
        events.append(
            {
                "status": status,
                "created_at": iso(e.at),
                "detail": dict(e.detail) if e.detail else None,
            }
        )
    gateways = messages.claimant_names(svc, who, [found.message])
    return {**seed_message(found.message, gateways), "events": events}


@router.post(
    "/messages/{message_id}/cancel/",
    responses=answers(404, 409, c409="The message can no longer be canceled"),
)
def cancel_message(message_id: Uuid, svc: Svc, who: Sender) -> dict[str, Any]:
    canceled = messages.cancel(svc, who, message_id)
    return seed_message(canceled, messages.claimant_names(svc, who, [canceled]))


@router.post("/gateway/claim/", responses=answers(204))
def claim(svc: Svc, device: DeviceAuth, body: ClaimIn | None = None) -> Response:
    # The seed's gateway claims the next message each time and keeps no record of what it
    # sent: handing back an unreported claim would make it send that message again.
    claimed = gateway.claim(svc, device, limit=1, hand_back=False)
    if not claimed.messages:
        return Response(status_code=204)
    [message] = claimed.messages
    return JSONResponse(
        {
            **seed_message(message, {device.id: device.name}),
            "message_id": message.id,
            "claim_token": message.claim_token,
            "lease_expires_at": iso(message.lease_expires_at),
        }
    )


@router.post(
    "/gateway/report/",
    responses=answers(404, 409, c409="This device does not hold the message's current claim"),
)
def report(body: ReportIn, svc: Svc, device: DeviceAuth) -> dict[str, Any]:
    outcome = REPORTED.get(body.status.upper())
    if outcome is None:
        raise ValidationError.field("status", f"must be one of {', '.join(REPORTED)}")
    # "Optional error metadata": a string as is, anything else as JSON (not a Python repr).
    error = (
        body.error
        if body.error is None or isinstance(body.error, str)
        else json.dumps(body.error, sort_keys=True)
    )
    [result] = gateway.report(
        svc, device, [gateway.Report(body.message_id, outcome, body.claim_token, error)]
    )
    if result.error is not None:
        raise result.error
    assert result.message is not None
    return seed_message(result.message, {device.id: device.name})


@router.get("/stats/messages-by-status/")
def messages_by_status(svc: Svc, who: Reader) -> list[dict[str, Any]]:
    totals: dict[str, int] = {}
    for status, count in messages.count_by_status(svc, who).items():
        totals[SEED_STATUS[status]] = totals.get(SEED_STATUS[status], 0) + count
    return [{"status": name, "count": count} for name, count in sorted(totals.items())]


@router.get("/stream/messages/", response_class=EventStream, responses=EVENT_STREAM_RESPONSES)
async def stream(request: Request, who: StreamReader) -> StreamingResponse:
    """Live status changes of this workspace's messages; it ends when its key is revoked."""

    def shape(payload: dict[str, Any]) -> dict[str, Any]:
        return {"ids": payload["ids"], "status": SEED_STATUS[MessageStatus(payload["status"])]}

    # The door checked a cache; a stream lasts, so its key is checked in the database too.
    await to_thread.run_sync(auth.check_still_valid, services(request), who)

    return StreamingResponse(
        message_stream(services(request), who, shape=shape, closing=closing(request)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/health/", responses=HEALTH_RESPONSES)
async def health_check(request: Request) -> JSONResponse:
    report_ = await to_thread.run_sync(
        health.check, services(request), limiter=request.app.state.health_threads
    )
    return JSONResponse(report_, status_code=200 if report_["status"] == "ok" else 503)
