"""/v1/opt-out: the workspace's opt-out keywords (STOP, START, HELP per language) and the
HELP answer. Inbound messages that are keywords act on consent (services/optout.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from pigeon.api.deps import Admin, PigeonRoute, Reader, Svc
from pigeon.api.openapi import one_of
from pigeon.api.v1.schemas import OptOutIn
from pigeon.services import optout

router = APIRouter(prefix="/v1", tags=["opt-out"], route_class=PigeonRoute)


@router.get("/opt-out")
def get_opt_out(svc: Svc, who: Reader) -> dict[str, Any]:
    """The keyword configuration; the default one until the workspace sets its own."""
    return optout.get_config(svc, who).to_json()


@router.put("/opt-out", openapi_extra=one_of(OptOutIn))
def put_opt_out(
    svc: Svc,
    who: Admin,
    body: dict[str, Any] = Body(...),  # noqa: B008
) -> dict[str, Any]:
    """Replace the keyword configuration. A word belongs to one action; words and texts
    are checked, every bad field named (`languages.es.stop[2]`)."""
    return optout.put_config(svc, who, body).to_json()
