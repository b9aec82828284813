"""`POST /webhooks/imap/{channel_id}`: pointers from an IMAP listener run apart from pigeon
(`pigeon imap-listen --webhook-url`), as the seed's email service sent them.

- Authentication comes first, before the body is even read: `Authorization: Bearer <the
  channel's shared_secret>`, compared in constant time. A missing or wrong secret is 401;
  a channel that is not an enabled IMAP channel is 404.
- The body: `{"pointers": [{"mailbox", "uid", "uidValidity", "messageId"?}, ...]}`. The
  seed's camelCase names are the wire format; the snake_case names of the pointer jobs
  (`uid_validity`, `message_id`) are accepted too, since a listener written against the
  jobs may send them (one pointer giving both spellings of a field is refused).
- Nothing but pointers: a content key anywhere (`body`, `raw`, `html`, ...) is refused
  by name, as is any other unknown field. Bad input is 400 naming the field, and nothing
  is enqueued.
- 202 only once every pointer job is durable; 503 with Retry-After when the queue cannot
  take them, so the listener retries.

The route is left out of the OpenAPI document: it is for listeners, not API clients.
"""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Any

import pydantic
from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from pigeon.api.deps import CREDENTIAL, Credential, PigeonRoute, Svc, bearer, services
from pigeon.api.errors import WHOLE_BODY, render_error
from pigeon.domain.inbound import Provider
from pigeon.domain.jobs import assert_pointer_only
from pigeon.errors import AuthError, ValidationError
from pigeon.providers import imap
from pigeon.providers.protocols import Mailbox
from pigeon.services import ingress

MAX_POINTERS = 500

router = APIRouter(route_class=PigeonRoute)


class SharedSecret(Credential):
    """The channel's shared secret as the bearer token; checked before the body is read
    (PigeonRoute runs `check` first)."""

    def __init__(self) -> None:
        super().__init__("imap_shared_secret")

    async def check(self, request: Request) -> None:
        token = bearer(request)
        if token is None:
            raise AuthError("Authorization: expected Bearer <the channel's shared_secret>")
        svc = services(request)
        channel_id = str(request.path_params.get("channel_id", ""))
        box = await to_thread.run_sync(ingress.mailbox, svc, channel_id, Provider.IMAP)
        expected = box.secrets.get("shared_secret")
        if not isinstance(expected, str) or not hmac.compare_digest(
            token.encode(), expected.encode()
        ):
            raise AuthError("Authorization: not the channel's shared_secret")
        request.scope[CREDENTIAL] = box


Listener = Annotated[Mailbox, Depends(SharedSecret())]


NO_CONTROLS = r"^[^\x00-\x1f\x7f]*$"  # a mailbox name or Message-ID has no control characters


class PointerIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=True)

    mailbox: str = pydantic.Field(min_length=1, max_length=1000, pattern=NO_CONTROLS)
    uid: int = pydantic.Field(ge=1, le=2**32 - 1)
    uidValidity: int = pydantic.Field(ge=1, le=2**32 - 1)  # the wire's names
    messageId: str | None = pydantic.Field(default=None, max_length=1000, pattern=NO_CONTROLS)

    def payload(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "mailbox": self.mailbox,
            "uid": self.uid,
            "uid_validity": self.uidValidity,
        }
        if self.messageId:
            found["message_id"] = self.messageId
        return found


class PointersIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=True)

    pointers: list[PointerIn] = pydantic.Field(max_length=MAX_POINTERS)


SNAKE = {"uid_validity": "uidValidity", "message_id": "messageId"}


@router.post("/webhooks/imap/{channel_id}", status_code=202, include_in_schema=False)
async def imap_pointers(channel_id: str, request: Request, svc: Svc, box: Listener) -> JSONResponse:
    try:
        pointers = _parse(await request.body())
    except ValidationError as error:
        return _invalid(request, error.message, error.errors)
    watched = imap.Account.of(box).mailboxes
    for index, pointer in enumerate(pointers):
        if not imap.watches(watched, pointer.mailbox):
            problem = f"not a mailbox this channel watches ({', '.join(watched)})"
            return _invalid(request, problem, {f"pointers[{index}].mailbox": problem})
    try:
        enqueued = await to_thread.run_sync(
            ingress.accept, svc, box, Provider.IMAP, [p.payload() for p in pointers]
        )
    except ValidationError as error:  # the queue's own pointer-only guard
        return _invalid(request, error.message, error.errors)
    return JSONResponse(
        {"accepted": len(enqueued), "job_ids": [e.job_id for e in enqueued]}, status_code=202
    )


def _parse(raw: bytes) -> list[PointerIn]:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError.field(WHOLE_BODY, "is not valid JSON") from None
    except RecursionError:  # nested past what the parser can walk: no pointer is
        raise ValidationError.field(WHOLE_BODY, "is nested too deeply") from None
    if not isinstance(data, dict):
        raise ValidationError.field(WHOLE_BODY, "expected an object with `pointers`")
    try:
        assert_pointer_only(data, path="$")  # names the first content key, at any depth
    except ValidationError as error:
        raise ValidationError({k.removeprefix("$."): v for k, v in error.errors.items()}) from None
    items = data.get("pointers")
    if isinstance(items, list):
        data = {**data, "pointers": [_camel(item, n) for n, item in enumerate(items)]}
    try:
        return PointersIn.model_validate(data).pointers
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        name = _field(first["loc"])
        raise ValidationError.field(name, _reason(first)) from None


def _camel(item: object, index: int) -> object:
    """A pointer with the snake_case names of the pointer jobs, spelled the wire's way."""
    if not isinstance(item, dict):
        return item
    found = dict(item)
    for snake, camel in SNAKE.items():
        if snake in found:
            if camel in found:
                raise ValidationError.field(f"pointers[{index}].{snake}", f"given as {camel} too")
            found[camel] = found.pop(snake)
    return found


def _field(location: tuple[int | str, ...]) -> str:
    name = ""
    for part in location:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or WHOLE_BODY


def _reason(error: Any) -> str:
    if error.get("type") == "missing":
        return "is required"
    if error.get("type") == "extra_forbidden":
        return "is not a known field; a pointer is mailbox, uid, uidValidity, messageId"
    return str(error.get("msg", "is invalid"))


def _invalid(request: Request, detail: str, fields: dict[str, str] | None) -> JSONResponse:
    return render_error(request.url.path, 400, detail, fields)
