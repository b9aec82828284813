"""Seed 000 (mac-sync send queue, Part 1) routes, as that system's clients call them.

Envelope `{"success": true, "data": ...}`, camelCase keys, 400 `{"success": false}` on bad
input. Device routes take the device token; the enqueue route's "service token" is a
workspace API key with the send scope.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from pigeon.api.deps import WRITING_GETS, DeviceAuth, PigeonRoute, Sender, Svc
from pigeon.api.openapi import answers
from pigeon.api.v1.schemas import Uuid, iso
from pigeon.domain.ids import is_uuid
from pigeon.domain.messages import Message
from pigeon.errors import IdempotencyConflict, ValidationError
from pigeon.services import gateway, messages

router = APIRouter(tags=["seed 000"], route_class=PigeonRoute)
WRITING_GETS.add("/client/imessage/send-queue/pending")  # it claims

PENDING_LIMIT = 50
# Its own key space: a batchItemId replays only a seed 000 answer, never a /v1 one.
IDEMPOTENCY_SCOPE = "seed000:send-queue"
SEED_FIELDS = {
    "recipient": "toHandle",
    "device_id": "deviceId",
    "body": "body",
    "Idempotency-Key": "batchItemId",
}


class ResultIn(BaseModel):
    status: Literal["sent", "failed"]
    error: str | None = None  # cut and cleaned, never refused: the result must land


class EnqueueIn(BaseModel):
    batchItemId: str = Field(min_length=1, max_length=100)
    deviceId: str
    toHandle: str = Field(max_length=254)
    body: str


def _ok(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data}


def _item(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "toHandle": message.recipient,
        "body": message.body,
        "createdAt": iso(message.created_at),
    }


@router.get("/client/imessage/send-queue/pending")
def pending(svc: Svc, device: DeviceAuth) -> dict[str, Any]:
    """This device's queued items, oldest first; leased, so a second poll skips them."""
    claimed = gateway.claim(svc, device, limit=PENDING_LIMIT)
    return _ok({"items": [_item(m) for m in claimed.messages]})


@router.post(
    "/client/imessage/send-queue/{id}/result",
    responses=answers(404, 409, c409="This device does not hold the item's current claim"),
)
def result(
    item_id: Annotated[Uuid, Path(alias="id")], body: ResultIn, svc: Svc, device: DeviceAuth
) -> dict[str, Any]:
    # As in the seed, a failed result is final: the device has already decided it cannot send.
    outcome = gateway.Outcome.SENT if body.status == "sent" else gateway.Outcome.REJECTED
    [settled] = gateway.report(svc, device, [gateway.Report(item_id, outcome, None, body.error)])
    if settled.error is not None:
        raise settled.error
    return _ok({"id": item_id, "status": body.status})


@router.post(
    "/admin/send-queue/enqueue",
    responses=answers(409, c409="The batchItemId was used with another message"),
)
def enqueue(body: EnqueueIn, svc: Svc, who: Sender) -> dict[str, Any]:
    """Queue a rendered message for a device now. A repeat with the same batchItemId and
    content returns the first sendQueueId instead of queueing twice."""
    if not is_uuid(body.deviceId):
        raise ValidationError.field("deviceId", "must be a device id (UUID)")
    request = messages.NewMessage(
        recipient=body.toHandle,
        body=body.body,
        device_id=body.deviceId,
        meta={"batchItemId": body.batchItemId},
        idempotency_key=body.batchItemId,
    )
    try:
        created = messages.create(svc, who, request, scope=IDEMPOTENCY_SCOPE)
    except ValidationError as error:
        raise ValidationError({SEED_FIELDS.get(k, k): v for k, v in error.errors.items()}) from None
    except IdempotencyConflict:
        raise IdempotencyConflict(
            "batchItemId: this id was already used with a different message"
        ) from None
    return _ok({"sendQueueId": created.message.id})
