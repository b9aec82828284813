"""/v1/gateway: the device protocol (`pigeon gateway` speaks it), with a device token.

Every route here is safe to send again after a lost answer, which is why each call says
`repeatable`: a claim hands back the messages this device claimed and never reported (under
their own tokens), and report, release and inbound are idempotent by design (a repeated
report or release changes nothing; inbound messages are stored once per guid).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pigeon.client._endpoint import Group, M, endpoint
from pigeon.client._transport import (
    CLAIM_GRACE_SECONDS,
    Call,
    error_from_problem,
    instant,
    json_body,
)
from pigeon.client.types import ItemResult

if TYPE_CHECKING:
    from collections.abc import Iterable

    import httpx

    from pigeon.client.types import Claim, Heartbeat, InboundAccepted, Received, Release, Report


def _claimed(response: httpx.Response) -> Claim:
    if response.status_code == 204:
        # pigeon answers a waiting claim whose client went away with 204, leasing nothing.
        # Only a request the client gave up on gets it, so this is seldom read; it is empty.
        return {"lease_expires_at": None, "messages": []}
    claim: Claim = json_body(response)
    return claim


def _results(response: httpx.Response) -> list[ItemResult]:
    results: list[ItemResult] = []
    for item in json_body(response)["results"]:
        problem = item.get("error")
        if problem is None:
            results.append(ItemResult(item["message_id"], item.get("status")))
        else:
            status = problem.get("status", 0) if isinstance(problem, dict) else 0
            error = error_from_problem(int(status), problem)
            results.append(ItemResult(item["message_id"], None, error))
    return results


def claim_messages(*, limit: int | None = None, wait: float = 0) -> Call[Claim]:
    """Claim messages to send, up to `limit`, under a lease. With `wait` (seconds), pigeon
    holds the request until work arrives or the time runs out (the request's read timeout is
    stretched past `wait`). Messages claimed before and not reported come first, marked
    `handed_back`."""
    body: dict[str, Any] = {}
    if limit is not None:
        body["limit"] = limit
    if wait:
        body["wait"] = wait
    return Call(
        "POST",
        "/v1/gateway/claim",
        json=body,
        repeatable=True,
        read_timeout=wait + CLAIM_GRACE_SECONDS if wait else None,
        parse=_claimed,
    )


def report_messages(reports: Iterable[Report]) -> Call[list[ItemResult]]:
    """Report what became of claimed messages (up to 500). Answered per item: an item pigeon
    refuses (a stale claim token: `Conflict`; not this device's message: `NotFound`) has its
    `error`, and does not raise."""
    items = []
    for r in reports:
        item = {"message_id": r.message_id, "claim_token": r.claim_token, "status": r.status}
        if r.error is not None:
            item["error"] = r.error
        items.append(item)
    return Call(
        "POST", "/v1/gateway/report", json={"reports": items}, repeatable=True, parse=_results
    )


def release_messages(releases: Iterable[Release]) -> Call[list[ItemResult]]:
    """Hand claimed messages back unsent (up to 500), e.g. when stopping: each is released at
    once, without counting an attempt, for any device of the channel. Answered per item, as
    `report` is; a released message's status is `released`."""
    items = [{"message_id": r.message_id, "claim_token": r.claim_token} for r in releases]
    return Call(
        "POST", "/v1/gateway/release", json={"releases": items}, repeatable=True, parse=_results
    )


def send_heartbeat() -> Call[Heartbeat]:
    """Say this device is alive (one unseen for 90 s gets no new work)."""
    return Call("POST", "/v1/gateway/heartbeat", repeatable=True)


def push_inbound(messages: Iterable[Received]) -> Call[InboundAccepted]:
    """Hand over messages the device received (1 to 500), each stored once by its `guid`:
    push again whatever may not have arrived."""
    items = []
    for m in messages:
        item = {
            "guid": m.guid,
            "from": m.sender,
            "text": m.text,
            "received_at": instant(m.received_at, "received_at"),
        }
        if m.service is not None:
            item["service"] = m.service
        items.append(item)
    return Call("POST", "/v1/gateway/inbound", json={"messages": items}, repeatable=True)


class Gateway(Group[M]):
    """/v1/gateway, with a device token: `client.gateway.claim(wait=25)`."""

    claim = endpoint(claim_messages)
    report = endpoint(report_messages)
    release = endpoint(release_messages)
    heartbeat = endpoint(send_heartbeat)
    inbound = endpoint(push_inbound)
