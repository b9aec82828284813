"""/v1/extract: what a text says about time, as the follow-up extractor reads it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pigeon.api.deps import READING_POSTS, PigeonRoute, Reader, Svc
from pigeon.api.v1.render import extracted_out
from pigeon.api.v1.schemas import ExtractIn
from pigeon.services import extraction

router = APIRouter(prefix="/v1", tags=["extract"], route_class=PigeonRoute)
READING_POSTS.add("/v1/extract")  # it writes nothing: no SQLite write turn


@router.post("/extract")
def extract(body: ExtractIn, svc: Svc, who: Reader) -> dict[str, Any]:
    """The due time, summary and action the text asks for, or why it is ambiguous and the
    question to ask back; and every time mention found, with its span in the text. Times
    are rendered in UTC; `zone` says where they were read. Writes nothing."""
    found = extraction.extract(
        svc, who, body.text, reference=body.reference, zone=body.zone, locale=body.locale
    )
    return extracted_out(found)
