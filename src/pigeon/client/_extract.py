"""/v1/extract: `client.extract(text, ...)`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pigeon.client._endpoint import Group, M, endpoint
from pigeon.client._transport import Call, instant

if TYPE_CHECKING:
    from datetime import datetime

    from pigeon.client.types import Extracted


def extract_text(
    text: str,
    *,
    reference: datetime | str | None = None,
    zone: str | None = None,
    locale: str | None = None,
) -> Call[Extracted]:
    """What `text` says about time, as pigeon's follow-up extractor reads it: the due time,
    summary and action in `extraction` (or `ambiguous`, its `reason` and the `question` to
    ask back), and every time mention with its span.

    `reference` is when the text was said (an aware time; pigeon's now when left out),
    `zone` the IANA zone it was said in (the workspace's), `locale` the sender's (`en_GB`
    reads 3/11 day first; pigeon's PIGEON_EXTRACT_LOCALE). Writes nothing: safe to retry.
    """
    payload = {
        "text": text,
        "reference": instant(reference, "reference"),
        "zone": zone,
        "locale": locale,
    }
    body = {name: value for name, value in payload.items() if value is not None}
    return Call("POST", "/v1/extract", json=body, repeatable=True)


class ExtractGroup(Group[M]):
    """/v1/extract; the clients offer its one endpoint as `client.extract`."""

    extract = endpoint(extract_text)
