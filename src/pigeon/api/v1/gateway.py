"""/v1 gateway protocol for pull devices: claim (with long-poll), report, heartbeat, and the
messages a device received (inbound)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse

from pigeon.api.deps import (
    BATCH_LIMITS,
    WAITING_ROUTES,
    DeviceAuth,
    PigeonRoute,
    Svc,
    closing,
    services,
    waiters,
    write_turns,
)
from pigeon.api.errors import parse_body, problem_body, status_of
from pigeon.api.openapi import answers, one_of
from pigeon.api.turns import unlimited
from pigeon.api.v1.schemas import (
    MAX_INBOUND,
    MAX_REPORTS,
    ClaimIn,
    InboundsIn,
    ReleasesIn,
    ReportIn,
    ReportsIn,
    iso,
)
from pigeon.services import gateway

router = APIRouter(prefix="/v1/gateway", tags=["gateway"], route_class=PigeonRoute)
BATCH_LIMITS["/v1/gateway/report"] = ("reports", MAX_REPORTS)
BATCH_LIMITS["/v1/gateway/inbound"] = ("messages", MAX_INBOUND)
BATCH_LIMITS["/v1/gateway/release"] = ("releases", MAX_REPORTS)
WAITING_ROUTES.add("/v1/gateway/claim")
log = logging.getLogger(__name__)


async def _client_gone(request: Request) -> None:
    """Return once the client has closed its connection (its body has been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _wait_while_wanted(request: Request, waiting: asyncio.Future[Any]) -> bool:
    """Wait for `waiting` while the client is there and the server is not shutting down.

    False: the wait was cut short before it claimed anything. A claim that completed in the
    meantime counts (True): its messages are leased, so they must be handed out.
    """
    gone = asyncio.ensure_future(_client_gone(request))
    shutdown = asyncio.ensure_future(closing(request).wait())
    try:
        await asyncio.wait({waiting, gone, shutdown}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        shutdown.cancel()
    if not waiting.done():
        waiting.cancel()
        await asyncio.wait({waiting})  # cancelled, or it finished a claim meanwhile
    return not waiting.cancelled()


@router.post(
    "/claim",
    response_model=None,
    responses=answers(204, c204="The client went away while waiting: nobody reads this"),
)
async def claim(request: Request, device: DeviceAuth, body: ClaimIn | None = None) -> Response:
    """Claim released messages; with `wait`, hold the request until some arrive or it ends.

    A waiting claim stops when its client goes away (an HTTP timeout shorter than `wait`):
    claiming for a closed connection would lease messages to nobody, and each would end
    `unknown` when its lease ran out. It also ends, empty, when the server shuts down.
    """
    body = body or ClaimIn()
    turns = write_turns(request)
    waiting = asyncio.ensure_future(
        gateway.claim_or_wait(
            services(request),
            waiters(request),
            device,
            limit=body.limit,
            wait=body.wait,
            run=turns.run if turns is not None else unlimited,
        )
    )
    try:
        if body.wait > 0 and not await _wait_while_wanted(request, waiting):
            if closing(request).is_set():
                # The server is shutting down: answer "nothing yet"; the device polls again.
                return JSONResponse({"lease_expires_at": None, "messages": []})
            log.info(
                "waiting claim ended: the client went away",
                extra={"action": "claim_abandoned", "device_id": device.id},
            )
            return Response(status_code=204)  # nobody reads it
        claimed = await waiting
    finally:
        waiting.cancel()  # no-op once done; otherwise our own request was cancelled
    # Plain JSON already: a JSONResponse spares FastAPI's jsonable_encoder walk.
    return JSONResponse(
        {
            "lease_expires_at": iso(claimed.lease_expires_at),
            "messages": [
                {
                    "id": m.id,
                    "recipient": m.recipient,
                    "body": m.body,
                    "claim_token": m.claim_token,
                    "scheduled_for": iso(m.scheduled_for),
                    "attempt": m.attempts,
                    # Held by this device since an earlier claim it did not report (its
                    # answer may have been lost): send it unless it already went out,
                    # and report it either way.
                    "handed_back": m.id in claimed.handed_back,
                }
                for m in claimed.messages
            ],
        }
    )


def _report(item: ReportIn) -> gateway.Report:
    return gateway.Report(
        message_id=item.message_id,
        outcome=gateway.Outcome(item.status),
        claim_token=item.claim_token,
        error=item.error,
    )


def _result(result: gateway.ReportResult) -> dict[str, Any]:
    if result.error is not None:
        status = status_of(result.error)
        return {
            "message_id": result.message_id,
            "error": problem_body(status, result.error.message),
        }
    assert result.message is not None
    return {"message_id": result.message_id, "status": result.message.status}


@router.post(
    "/report",
    openapi_extra=one_of(ReportIn, ReportsIn),
    responses=answers(
        404, 409, c409="A single report whose claim is no longer current (a list answers per item)"
    ),
)
def report(
    svc: Svc,
    device: DeviceAuth,
    body: dict[str, Any] = Body(...),  # noqa: B008
) -> JSONResponse:
    """One report `{message_id, claim_token, status, error?}` or `{"reports": [...]}`."""
    if "reports" in body:
        batch = parse_body(ReportsIn, body)
        results = gateway.report(svc, device, [_report(r) for r in batch.reports])
        return JSONResponse({"results": [_result(r) for r in results]})
    single = parse_body(ReportIn, body)
    [result] = gateway.report(svc, device, [_report(single)])
    if result.error is not None:
        raise result.error
    return JSONResponse(_result(result))


@router.post("/release")
def release(svc: Svc, device: DeviceAuth, body: ReleasesIn) -> JSONResponse:
    """Hand claimed messages back unsent (`{"releases": [{message_id, claim_token}]}`), as
    a device that is stopping does: each is released at once, without counting an attempt,
    for any device of the channel to claim. Answered per item, like a list of reports."""
    results = gateway.release(
        svc, device, [gateway.Release(r.message_id, r.claim_token) for r in body.releases]
    )
    return JSONResponse({"results": [_result(r) for r in results]})


@router.post("/heartbeat")
def heartbeat(svc: Svc, device: DeviceAuth) -> dict[str, Any]:
    return {"device_id": device.id, "last_seen_at": iso(gateway.heartbeat(svc, device))}


@router.post("/inbound")
def inbound(svc: Svc, device: DeviceAuth, body: InboundsIn) -> dict[str, Any]:
    """Messages the device received, each stored once by its `guid` (a repeat is counted
    in `duplicates` and changes nothing: push again whatever may not have arrived). A
    message that is a keyword (STOP, START, HELP) acts on the sender's consent for the
    device's channel."""
    result = gateway.receive(
        svc,
        device,
        [
            gateway.Received(
                guid=m.guid,
                sender=m.sender,
                text=m.text,
                received_at=m.received_at,
                service=m.service,
            )
            for m in body.messages
        ],
    )
    return {"accepted": result.accepted, "duplicates": result.duplicates}
