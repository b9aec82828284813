"""Microsoft 365 mailboxes through Microsoft Graph change notifications.

How mail comes in (Graph's documents, `concepts/change-notifications-delivery-webhooks.md`
and `concepts/change-notifications-lifecycle-events.md` in microsoft-graph-docs-contrib):

1. A subscribe job per mailbox creates a subscription to `users/{mailbox}/mailFolders('Inbox')
   /messages` (changeType `created`) whose notificationUrl is `PIGEON_PUBLIC_URL/webhooks/
   msgraph/{channel id}`, with the channel's `client_state`. Graph first calls both URLs with
   `?validationToken=` and creates the subscription only if pigeon echoes it.
2. Graph POSTs change notifications there. Each carries the clientState, which is Graph's
   only proof of origin: it is compared in constant time, a mismatch is dropped and counted
   (`client_state_mismatches` in the channel's state) and the rest of the batch goes on. What
   remains becomes pointer jobs (mailbox, message id, subscription id, change type: never the
   content), enqueued durably before the answer, `202`. A batch whose every notification
   failed the check is answered `202` too: Graph retries any other answer for up to four
   hours ("HTTP codes and retry logic"), and a forger learns nothing from a 202.
3. The consumer fetches each message at consume time (`SOURCE.fetch`).
4. Subscriptions for mail live at most 10070 minutes; pigeon asks for three days and the
   upkeep timer renews those that end within twelve hours (`due_upkeep`). Lifecycle
   notifications ask for the same sooner: `reauthorizationRequired` a renewal,
   `subscriptionRemoved` a new subscription and a resync, `missed` a resync (the recent
   messages of the inbox, listed and enqueued as pointers; identities dedupe repeats).

Every job records its outcome in the channel's state, which `/v1/channels` shows:
`subscriptions` (per mailbox: id, expiry, last error), `last_ok_at`, `last_error`.

Tokens come from msal's client-credentials flow, one app per channel and credentials (msal
keeps the token until it nears expiry). Graph and its login are called over one shared httpx
client, which trusts what `SSL_CERT_FILE` names when it is set (a corporate CA; the tests'
fake Graph).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
from collections import OrderedDict
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import msal
import pydantic
from anyio import to_thread
from pydantic import BaseModel, ConfigDict, Field

from pigeon.domain.inbound import Fetched, Provider, SourceUnavailable
from pigeon.domain.jobs import NewJob
from pigeon.errors import PigeonError, StorageUnavailable, TransientChannelError, ValidationError
from pigeon.providers import registry
from pigeon.providers.protocols import Fetch
from pigeon.services import ingress, jobs, mailboxes
from pigeon.services.inbound import open_mailbox
from pigeon.workers.consumer import PermanentJobError, Skipped

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from pigeon.domain.jobs import Job
    from pigeon.providers.protocols import Mailbox
    from pigeon.services.context import Services
    from pigeon.workers.consumer import Handler

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_LOGIN_BASE_URL = "https://login.microsoftonline.com"
SCOPES = ["https://graph.microsoft.com/.default"]
HTTP_TIMEOUT_SECONDS = 10.0

# Graph keeps a mail subscription at most 10070 minutes; three days leaves renewals room.
SUBSCRIPTION_LIFETIME = timedelta(days=3)
RENEW_BEFORE = timedelta(hours=12)
# After a failed subscribe or renewal, the upkeep timer waits this long before the next try:
# the job's own retries come first, and a dead job is not followed by one a minute.
RETRY_UPKEEP_AFTER = timedelta(hours=1)
RESYNC_WINDOW = timedelta(days=1)
RESYNC_PAGE = 50
RESYNC_MAX_PAGES = 20
MESSAGE_FIELDS = (
    "id,internetMessageId,subject,from,toRecipients,receivedDateTime,body,conversationId"
)
MAX_SESSIONS = 256
# What a Graph session is made of: a change of any makes a new msal app, and a new token.
SESSION_SETTINGS = ("tenant_id", "client_id", "client_secret", "login_base_url", "api_base_url")

SUBSCRIBE = "msgraph.subscribe"
RENEW = "msgraph.renew"
UNSUBSCRIBE = "msgraph.unsubscribe"
RESYNC = "msgraph.resync"

NO_PUBLIC_URL = (
    "PIGEON_PUBLIC_URL is not set, so Microsoft Graph has no address to send notifications "
    "to: set it to pigeon's public https address, restart pigeon, then update or re-enable "
    "this channel to subscribe again"
)


class GraphError(TransientChannelError):
    """Microsoft Graph or its login refused a request."""

    def __init__(self, status: int | None, message: str, *, permanent: bool = False) -> None:
        super().__init__(f"msgraph: {status or 'login'}: {message}"[:500])
        self.status = status
        self.permanent = permanent


# Notifications, as Graph sends them (changeNotificationCollection) ----------------------


class _GraphShape(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")


class ResourceData(_GraphShape):
    odata_type: str | None = Field(default=None, alias="@odata.type", max_length=200)
    odata_id: str | None = Field(default=None, alias="@odata.id", max_length=2000)
    odata_etag: str | None = Field(default=None, alias="@odata.etag", max_length=500)
    id: str | None = Field(default=None, max_length=1000)


class ChangeNotification(_GraphShape):
    """One change or lifecycle notification (Graph's `changeNotification`)."""

    subscription_id: str = Field(alias="subscriptionId", min_length=1, max_length=200)
    client_state: str | None = Field(default=None, alias="clientState", max_length=128)
    change_type: str | None = Field(default=None, alias="changeType", max_length=100)
    resource: str | None = Field(default=None, max_length=2000)
    resource_data: ResourceData | None = Field(default=None, alias="resourceData")
    subscription_expiration: str | None = Field(
        default=None, alias="subscriptionExpirationDateTime", max_length=100
    )
    tenant_id: str | None = Field(default=None, alias="tenantId", max_length=100)
    lifecycle_event: str | None = Field(default=None, alias="lifecycleEvent", max_length=100)


class NotificationCollection(_GraphShape):
    """What Graph POSTs to a notification URL (`changeNotificationCollection`)."""

    value: list[ChangeNotification] = Field(min_length=1)
    validation_tokens: list[str] | None = Field(default=None, alias="validationTokens")


# users/{id}/messages/{id}, users/{id}/mailFolders('Inbox')/messages/{id}; Graph spells the
# segments in either case and may append `@{tenant id}` to a user id.
_RESOURCE = re.compile(
    r"^/?users/(?P<user>[^/]+)/(?:mailfolders(?:\('[^/']*'\)|/[^/]+)/)?messages/(?P<id>[^/]+)$",
    re.IGNORECASE,
)
_GUID = r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"
_USER_AT_TENANT = re.compile(rf"^(?P<user>{_GUID})@{_GUID}$")
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})


# The webhook ------------------------------------------------------------------------------


def check_webhook(svc: Services, channel_id: str) -> Mailbox:
    """The mailbox channel a webhook URL names, or NotFound: Graph's validation handshake is
    answered for known channels only."""
    return ingress.mailbox(svc, channel_id, Provider.MSGRAPH)


def receive(svc: Services, channel_id: str, body: bytes) -> int:
    """Turn one notification POST into durable jobs; returns how many were enqueued.

    Authentication comes first: each notification's clientState is compared with the
    channel's before anything else of it is read. Mismatches are dropped and counted; a
    malformed notification that passed raises ValidationError naming its field, and then
    nothing of the batch is enqueued.
    """
    box = check_webhook(svc, channel_id)
    items = _items(body)
    expected = str(box.setting("client_state") or "").encode()
    trusted: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(items):
        given = item.get("clientState")
        if expected and isinstance(given, str) and hmac.compare_digest(given.encode(), expected):
            trusted.append((index, item))
    dropped = len(items) - len(trusted)
    notes = [(index, _parsed(index, item)) for index, item in trusted]
    made = [_pointer(index, note) for index, note in notes if note.lifecycle_event is None]
    pointers = [pointer for pointer in made if pointer is not None]
    upkeep = _lifecycle_jobs(svc, box, [note for _, note in notes if note.lifecycle_event])
    ingress.accept(svc, box, Provider.MSGRAPH, pointers)
    _enqueue_durably(svc, upkeep)
    if dropped:
        _count_mismatches(svc, box, dropped)
    if pointers or upkeep:
        log.info(
            "msgraph notifications accepted",
            extra={
                "action": "msgraph_notifications_accepted",
                "channel_id": box.id,
                "workspace_id": box.workspace_id,
                "pointers": len(pointers),
                "lifecycle_jobs": len(upkeep),
            },
        )
    return len(pointers) + len(upkeep)


def _items(body: bytes) -> list[dict[str, Any]]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise ValidationError.field("request_body", "is not valid JSON") from None
    if not isinstance(document, dict):
        raise ValidationError.field("request_body", "expected a JSON object with `value`")
    value = document.get("value")
    if not isinstance(value, list) or not value:
        raise ValidationError.field("value", "expected a non-empty list of notifications")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise ValidationError.field(f"value[{index}]", "expected a notification object")
    return value


def _parsed(index: int, item: dict[str, Any]) -> ChangeNotification:
    try:
        return ChangeNotification.model_validate(item)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        problem = "is required" if first["type"] == "missing" else first["msg"]
        raise ValidationError.field(f"value[{index}]{where}", problem) from None


def _pointer(index: int, note: ChangeNotification) -> dict[str, Any] | None:
    """The pointer a change notification makes; None for a deletion (nothing to fetch)."""
    if note.change_type is not None and note.change_type.lower() == "deleted":
        return None
    found = _RESOURCE.match(note.resource or "")
    if found is None:
        raise ValidationError.field(
            f"value[{index}].resource", "expected users/{user id}/messages/{message id}"
        )
    user = found["user"]
    if tenanted := _USER_AT_TENANT.match(user):
        user = tenanted["user"]
    message_id = (note.resource_data.id if note.resource_data else None) or found["id"]
    for field, value in (("resource", user), ("resourceData.id", message_id)):
        if value in {".", ".."}:
            raise ValidationError.field(f"value[{index}].{field}", "is not an id")
    return {
        "mailbox": user,
        "message_id": message_id,
        "subscription_id": note.subscription_id,
        "change_type": note.change_type or "created",
    }


def _lifecycle_jobs(
    svc: Services, box: Mailbox, notes: Sequence[ChangeNotification]
) -> list[NewJob]:
    """Graph's lifecycle notifications name a subscription, not a mailbox: the channel's
    state says whose it is. One of another (an old subscription being replaced) is ignored:
    it expires by itself. The state is read afresh: the webhook's channel may come from a
    cache older than the subscription being named."""
    fresh = open_mailbox(svc, box.id) or box
    owners = {
        entry.get("id"): mailbox for mailbox, entry in _subscriptions(fresh.state).items() if entry
    }
    new: list[NewJob] = []
    for note in notes:
        mailbox = owners.get(note.subscription_id)
        event = note.lifecycle_event
        if mailbox is None or event not in LIFECYCLE_EVENTS:
            log.warning(
                "msgraph lifecycle notification ignored",
                extra={
                    "action": "msgraph_lifecycle_ignored",
                    "channel_id": box.id,
                    "lifecycle_event": event,
                    "subscription_id": note.subscription_id,
                    "reason": "unknown subscription" if mailbox is None else "unknown event",
                },
            )
            continue
        log.info(
            "msgraph lifecycle notification",
            extra={
                "action": "msgraph_lifecycle",
                "channel_id": box.id,
                "lifecycle_event": event,
                "subscription_id": note.subscription_id,
            },
        )
        if event == "reauthorizationRequired":
            # A PATCH of the expiry reauthorizes and renews at once (Graph's advice).
            new.append(_renew_job(box, mailbox, note.subscription_id))
        elif event == "subscriptionRemoved":
            new.append(_subscribe_job(box, mailbox))
            new.append(_resync_job(box, mailbox, svc.clock.now(), note.subscription_id))
        else:  # missed
            new.append(_resync_job(box, mailbox, svc.clock.now(), note.subscription_id))
    return new


def _enqueue_durably(svc: Services, new: Sequence[NewJob]) -> None:
    """Enqueue and commit, or raise StorageUnavailable (the webhook answers 503)."""
    if not new:
        return
    try:
        jobs.enqueue(svc, new)
    except PigeonError:
        raise
    except Exception as error:  # the queue's own outage (Redis down)
        raise StorageUnavailable(f"the job queue is unavailable: {type(error).__name__}") from None


def _count_mismatches(svc: Services, box: Mailbox, count: int) -> None:
    """Log and count notifications whose clientState did not match. Best effort: what was
    accepted is already durable, and a forger must not turn into a 503."""
    log.warning(
        "msgraph notifications dropped: clientState mismatch",
        extra={
            "action": "msgraph_client_state_mismatch",
            "channel_id": box.id,
            "workspace_id": box.workspace_id,
            "count": count,
        },
    )
    at = _iso(svc.clock.now())

    def counted(stored: Mapping[str, Any]) -> dict[str, Any]:
        """Added to the count stored when written, under the channel's row lock."""
        seen = int(stored.get("client_state_mismatches") or 0)
        return {"client_state_mismatches": seen + count, "last_client_state_mismatch_at": at}

    try:
        mailboxes.record_outcome(svc, box.id, counted)
    except Exception:
        log.exception(
            "msgraph mismatch count not recorded",
            extra={"action": "msgraph_mismatch_count_failed", "channel_id": box.id},
        )


# Consume-time fetch -----------------------------------------------------------------------


class _Source:
    provider = Provider.MSGRAPH

    def fetch(self, svc: Services, mailbox: Mailbox, pointer: Mapping[str, Any]) -> Fetch:
        """GET the message a pointer names. 404/410: gone for good. 401: the token is
        dropped and the job retried with a new one. 429 and 5xx: retried (the consumer's
        backoff spaces the tries; Retry-After is in the error)."""
        user, message_id = pointer.get("mailbox"), pointer.get("message_id")
        if not isinstance(user, str) or not isinstance(message_id, str):
            raise SourceUnavailable("msgraph_pointer_malformed")
        graph = _graph(mailbox)
        response = graph.request(
            "GET",
            f"/users/{_segment(user)}/messages/{_segment(message_id)}",
            params={"$select": MESSAGE_FIELDS},
            headers={"Prefer": 'outlook.body-content-type="text"'},
        )
        if response.status_code in (404, 410):
            raise SourceUnavailable("msgraph_message_not_found")
        _raise_for(response)
        return Fetch(messages=[_fetched(response.json(), user)])


SOURCE = _Source()


def _fetched(data: Any, mailbox: str) -> Fetched:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise GraphError(200, "the message has no id")
    body = _object(data.get("body"))
    content = str(body.get("content") or "")
    html = None
    if str(body.get("contentType") or "text").lower() == "html":
        html, content = content, _text_of(content)
    recipients = tuple(
        address for recipient in data.get("toRecipients") or [] if (address := _address(recipient))
    )
    received = _parse_time(data.get("receivedDateTime"))
    if received is None:
        raise GraphError(200, "the message has no receivedDateTime")
    return Fetched(
        message_id=data["id"],
        sender=_address(data.get("from")) or "",
        recipients=recipients,
        subject=str(data.get("subject") or ""),
        text=content,
        received_at=received,
        internet_message_id=data.get("internetMessageId") or None,
        html=html,
        mailbox=mailbox,
    )


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _address(recipient: Any) -> str | None:
    address = _object(_object(recipient).get("emailAddress")).get("address")
    return address if isinstance(address, str) and address else None


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _text_of(html: str) -> str:
    """The text of an HTML body, for a Graph that ignored `Prefer: ...="text"`."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip()


# Upkeep: subscriptions, renewals, resyncs ---------------------------------------------------


def setup_jobs(mailbox: Mailbox) -> list[NewJob]:
    """A subscribe job per configured mailbox (replacing any subscription it has: the config
    may have changed its clientState), an unsubscribe job per mailbox no longer configured."""
    configured = _configured(mailbox)
    new = [_subscribe_job(mailbox, name) for name in configured]
    for name, entry in _subscriptions(mailbox.state).items():
        if name not in configured:
            new.append(_unsubscribe_job(mailbox, name, entry.get("id")))
    return new


def due_upkeep(mailbox: Mailbox, now: datetime) -> list[NewJob]:
    """Renewals of subscriptions ending within RENEW_BEFORE; new subscriptions for mailboxes
    without one (a setup job lost, a subscription expired); removals for mailboxes no longer
    configured. A mailbox whose last try failed waits RETRY_UPKEEP_AFTER; one whose subscribe
    failed in a way only a person can fix (`stalled`) is not subscribed again before the
    channel's next update (its subscription, if it has one, is still renewed)."""
    configured = _configured(mailbox)
    subscriptions = _subscriptions(mailbox.state)
    new: list[NewJob] = []
    for name in configured:
        entry = subscriptions.get(name) or {}
        if _cooling(entry, now):
            continue
        expires_at = _parse_time(entry.get("expires_at"))
        if entry.get("id") and expires_at is not None and expires_at > now:
            if expires_at - now <= RENEW_BEFORE:
                new.append(_renew_job(mailbox, name, entry["id"]))
        elif not entry.get("stalled"):
            new.append(_subscribe_job(mailbox, name))
    for name, entry in subscriptions.items():
        if name not in configured and not _cooling(entry, now):
            new.append(_unsubscribe_job(mailbox, name, entry.get("id")))
    return new


def _cooling(entry: Mapping[str, Any], now: datetime) -> bool:
    failed_at = _parse_time(entry.get("last_error_at"))
    return failed_at is not None and now - failed_at < RETRY_UPKEEP_AFTER


def _configured(mailbox: Mailbox) -> list[str]:
    names = mailbox.setting("mailboxes") or []
    return [name for name in names if isinstance(name, str)]


def _subscriptions(state: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    found = state.get("subscriptions")
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if isinstance(v, dict)}


def _job(box: Mailbox, kind: str, mailbox: str, payload: Mapping[str, Any]) -> NewJob:
    # Mailbox names may be 320 characters; a dedupe key holds 255.
    digest = hashlib.sha256(mailbox.encode()).hexdigest()[:16]
    return NewJob(
        workspace_id=box.workspace_id,
        kind=kind,
        queue=registry.UPKEEP_QUEUE,
        payload={
            "provider": Provider.MSGRAPH.value,
            "channel_id": box.id,
            "mailbox": mailbox,
            **payload,
        },
        dedupe_key=f"{kind}:{box.id}:{digest}",
        channel_id=box.id,
    )


def _subscribe_job(box: Mailbox, mailbox: str) -> NewJob:
    return _job(box, SUBSCRIBE, mailbox, {})


def _renew_job(box: Mailbox, mailbox: str, subscription_id: str) -> NewJob:
    return _job(box, RENEW, mailbox, {"subscription_id": subscription_id})


def _unsubscribe_job(box: Mailbox, mailbox: str, subscription_id: str | None) -> NewJob:
    return _job(box, UNSUBSCRIBE, mailbox, {"subscription_id": subscription_id})


def _resync_job(box: Mailbox, mailbox: str, now: datetime, subscription_id: str) -> NewJob:
    since = _iso(now - RESYNC_WINDOW)
    return _job(box, RESYNC, mailbox, {"since": since, "subscription_id": subscription_id})


def _subscribe(svc: Services, job: Job) -> Skipped | None:
    """Create the mailbox's subscription, then delete the one it replaces (if any)."""
    target = _target(svc, job)
    if isinstance(target, Skipped):
        return target
    box, mailbox = target
    if svc.settings.public_url is None:
        _record(svc, box, mailbox, error=NO_PUBLIC_URL, stalled=True)
        raise PermanentJobError(NO_PUBLIC_URL)
    previous = (_subscriptions(box.state).get(mailbox) or {}).get("id")
    webhook = f"{svc.settings.public_url}/webhooks/msgraph/{box.id}"
    expires_at = svc.clock.now() + SUBSCRIPTION_LIFETIME
    with _recorded_failures(svc, box, mailbox):
        graph = _graph(box)
        response = graph.request(
            "POST",
            "/subscriptions",
            json={
                "changeType": "created",
                "notificationUrl": webhook,
                "lifecycleNotificationUrl": f"{webhook}/lifecycle",
                "resource": f"users/{mailbox}/mailFolders('Inbox')/messages",
                "expirationDateTime": _iso(expires_at),
                "clientState": str(box.setting("client_state") or ""),
            },
        )
        _raise_for(response)
        created = response.json()
        if not isinstance(created, dict) or not isinstance(created.get("id"), str):
            raise GraphError(response.status_code, "the subscription has no id")
    entry = {
        "id": created["id"],
        "resource": created.get("resource"),
        "expires_at": _iso(_parse_time(created.get("expirationDateTime")) or expires_at),
        "created_at": _iso(svc.clock.now()),
    }
    _record(svc, box, mailbox, entry=entry, audit="msgraph_subscription_created")
    log.info(
        "msgraph subscription created",
        extra={
            "action": "msgraph_subscription_created",
            "channel_id": box.id,
            "subscription_id": entry["id"],
            "expires_at": entry["expires_at"],
        },
    )
    if isinstance(previous, str) and previous != entry["id"]:
        _replace(svc, box, mailbox, previous)
    return None


def _renew(svc: Services, job: Job) -> Skipped | None:
    """PATCH the expiry (which reauthorizes too); a subscription Graph no longer has is
    created anew."""
    target = _target(svc, job)
    if isinstance(target, Skipped):
        return target
    box, mailbox = target
    subscription_id = job.payload.get("subscription_id")
    current = (_subscriptions(box.state).get(mailbox) or {}).get("id")
    if not isinstance(subscription_id, str) or subscription_id != current:
        return None  # replaced since this job was enqueued
    expires_at = svc.clock.now() + SUBSCRIPTION_LIFETIME
    with _recorded_failures(svc, box, mailbox):
        response = _graph(box).request(
            "PATCH",
            f"/subscriptions/{_segment(subscription_id)}",
            json={"expirationDateTime": _iso(expires_at)},
        )
        if response.status_code != 404:
            _raise_for(response)
    if response.status_code == 404:
        log.info(
            "msgraph subscription gone; subscribing anew",
            extra={"action": "msgraph_subscription_gone", "channel_id": box.id},
        )
        return _subscribe(svc, job)
    renewed = _object(response.json())
    expiry = _parse_time(renewed.get("expirationDateTime")) or expires_at
    _record(
        svc,
        box,
        mailbox,
        entry={"expires_at": _iso(expiry), "renewed_at": _iso(svc.clock.now())},
        only_if_id=subscription_id,
    )
    log.info(
        "msgraph subscription renewed",
        extra={
            "action": "msgraph_subscription_renewed",
            "channel_id": box.id,
            "subscription_id": subscription_id,
            "expires_at": _iso(expiry),
        },
    )
    return None


def _unsubscribe(svc: Services, job: Job) -> Skipped | None:
    """Delete the subscription of a mailbox no longer configured, and forget it. One Graph
    refuses for good to delete is forgotten all the same: it expires by itself."""
    box = open_mailbox(svc, job.payload.get("channel_id"))
    mailbox = job.payload.get("mailbox")
    if box is None or box.workspace_id != job.workspace_id or not isinstance(mailbox, str):
        return Skipped("source_unavailable:channel_gone")
    if mailbox in _configured(box):
        return None  # configured again since
    subscription_id = job.payload.get("subscription_id")
    if isinstance(subscription_id, str):
        try:
            _delete(box, subscription_id)
        except (GraphError, httpx.HTTPError) as error:
            if not (isinstance(error, GraphError) and error.permanent):
                _record(svc, box, mailbox, error=str(error)[:500])
                raise
            _log_not_deleted(box, subscription_id, error)
    _record(svc, box, mailbox, remove=True, audit="msgraph_subscription_removed")
    return None


def _resync(svc: Services, job: Job) -> Skipped | None:
    """List the inbox's messages received since the pointer's time and enqueue a pointer per
    message; the consume-time identity makes those already stored no-ops."""
    target = _target(svc, job)
    if isinstance(target, Skipped):
        return target
    box, mailbox = target
    since = _parse_time(job.payload.get("since")) or svc.clock.now() - RESYNC_WINDOW
    graph = _graph(box)
    pointers: list[dict[str, Any]] = []
    path: str | None = f"/users/{_segment(mailbox)}/mailFolders/inbox/messages"
    params: dict[str, str] | None = {
        "$filter": f"receivedDateTime ge {_iso(since)}",
        "$select": "id",
        "$top": str(RESYNC_PAGE),
    }
    for _ in range(RESYNC_MAX_PAGES):
        if path is None:
            break
        response = graph.request("GET", path, params=params)
        _raise_for(response)
        page = _object(response.json())
        for item in page.get("value") or []:
            message_id = _object(item).get("id")
            if isinstance(message_id, str) and message_id not in {".", ".."}:
                pointers.append(
                    {
                        "mailbox": mailbox,
                        "message_id": message_id,
                        "subscription_id": job.payload.get("subscription_id"),
                        "change_type": "resync",
                    }
                )
        next_link = page.get("@odata.nextLink")
        path, params = (next_link, None) if isinstance(next_link, str) else (None, None)
    ingress.accept(svc, box, Provider.MSGRAPH, pointers)
    mailboxes.record_outcome(svc, box.id, {"last_resync_at": _iso(svc.clock.now())})
    log.info(
        "msgraph mailbox resynced",
        extra={"action": "msgraph_resync", "channel_id": box.id, "pointers": len(pointers)},
    )
    return None


def _target(svc: Services, job: Job) -> tuple[Mailbox, str] | Skipped:
    """The job's channel, read now (its config and state may have changed since the job was
    enqueued), and the mailbox, if still configured."""
    box = open_mailbox(svc, job.payload.get("channel_id"))
    if box is None or box.workspace_id != job.workspace_id:
        return Skipped("source_unavailable:channel_gone")
    if box.channel.disabled_at is not None:
        return Skipped("source_unavailable:channel_disabled")
    mailbox = job.payload.get("mailbox")
    if not isinstance(mailbox, str) or mailbox not in _configured(box):
        return Skipped("source_unavailable:mailbox_not_configured")
    return box, mailbox


def _delete(box: Mailbox, subscription_id: str) -> None:
    """DELETE a subscription; one Graph no longer has is as good as deleted."""
    response = _graph(box).request("DELETE", f"/subscriptions/{_segment(subscription_id)}")
    if response.status_code != 404:
        _raise_for(response)
    log.info(
        "msgraph subscription deleted",
        extra={
            "action": "msgraph_subscription_removed",
            "channel_id": box.id,
            "subscription_id": subscription_id,
        },
    )


def _replace(svc: Services, box: Mailbox, mailbox: str, previous: str) -> None:
    """Delete the subscription a new one replaced. A failure is only logged: the old one
    expires by itself within SUBSCRIPTION_LIFETIME, and its notifications are still the
    channel's (with the old clientState, they are dropped and counted)."""
    try:
        _delete(box, previous)
    except (GraphError, httpx.HTTPError) as error:
        _log_not_deleted(box, previous, error)
        return
    removed = {"mailbox": mailbox, "id": previous, "at": _iso(svc.clock.now())}
    mailboxes.record_outcome(
        svc,
        box.id,
        {"last_removed_subscription": removed},
        audit="msgraph_subscription_removed",
    )


def _log_not_deleted(box: Mailbox, subscription_id: str, error: Exception) -> None:
    log.warning(
        "msgraph subscription not deleted; it will expire",
        extra={
            "action": "msgraph_subscription_delete_failed",
            "channel_id": box.id,
            "subscription_id": subscription_id,
            "error": str(error)[:500],
        },
    )


@contextmanager
def _recorded_failures(svc: Services, box: Mailbox, mailbox: str) -> Iterator[None]:
    """Record a failed Graph call in the mailbox's state; one retrying cannot fix becomes a
    PermanentJobError (dead at once), a credentials refusal also `stalled` until the channel
    is updated."""
    try:
        yield
    except GraphError as error:
        _record(
            svc, box, mailbox, error=str(error), stalled=error.status is None and error.permanent
        )
        if error.permanent:
            raise PermanentJobError(str(error)) from error
        raise
    except httpx.HTTPError as error:
        _record(svc, box, mailbox, error=f"msgraph: {type(error).__name__}: {error}"[:500])
        raise


def _record(
    svc: Services,
    box: Mailbox,
    mailbox: str,
    *,
    entry: Mapping[str, Any] | None = None,
    error: str | None = None,
    stalled: bool = False,
    remove: bool = False,
    only_if_id: str | None = None,
    audit: str | None = None,
) -> None:
    """Merge one mailbox's outcome into the channel's state as stored when it is written
    (under the channel's row lock, so jobs of several mailboxes, in any process, cannot lose
    each other's outcome): a success clears the mailbox's error, a failure keeps its
    subscription and notes the error."""
    now = _iso(svc.clock.now())

    def merged(stored: Mapping[str, Any]) -> dict[str, Any]:
        subscriptions = _subscriptions(stored)
        current = subscriptions.get(mailbox, {})
        if only_if_id is not None and current.get("id") != only_if_id:
            return {}
        changes: dict[str, Any]
        if remove:
            subscriptions.pop(mailbox, None)
            changes = {"last_ok_at": now}
        elif error is None:
            subscriptions[mailbox] = {
                **current,
                **(entry or {}),
                "last_error": None,
                "last_error_at": None,
                "stalled": False,
            }
            changes = {"last_ok_at": now, "last_error": None}
        else:
            subscriptions[mailbox] = {
                **current,
                "last_error": error,
                "last_error_at": now,
                "stalled": stalled,
            }
            changes = {"last_error": error, "last_error_at": now}
        return {**changes, "subscriptions": subscriptions}

    mailboxes.record_outcome(svc, box.id, merged, audit=audit)


def _upkeep(run: Callable[[Services, Job], Skipped | None]) -> Handler:
    async def handle(svc: Services, job: Job) -> Skipped | None:
        return await to_thread.run_sync(run, svc, job, abandon_on_cancel=True)

    return handle


UPKEEP_HANDLERS: dict[str, Handler] = {
    SUBSCRIBE: _upkeep(_subscribe),
    RENEW: _upkeep(_renew),
    UNSUBSCRIBE: _upkeep(_unsubscribe),
    RESYNC: _upkeep(_resync),
}


# Graph over HTTP, tokens from msal ------------------------------------------------------------


class _MsalHttp:
    """msal's HTTP client interface (`msal.oauth2cli.http.HttpClient`) over httpx, so that
    Graph and its login share one client: one timeout, one trust store."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def post(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> httpx.Response:
        if isinstance(data, str | bytes):
            return self._client.post(url, params=params, content=data, headers=headers)
        return self._client.post(url, params=params, data=data, headers=headers)

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> httpx.Response:
        return self._client.get(url, params=params, headers=headers)

    def close(self) -> None:
        """The client is shared: it lives as long as the process."""


_HTTP: httpx.Client | None = None
_HTTP_GUARD = threading.Lock()


def _http() -> httpx.Client:
    global _HTTP
    with _HTTP_GUARD:
        if _HTTP is None:
            _HTTP = httpx.Client(timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=False)
        return _HTTP


class Graph:
    """One channel's Graph API: its base URL, and its token from its msal app."""

    def __init__(self, key: tuple[str, str], box: Mailbox) -> None:
        self._key = key
        self.api_base_url = str(box.setting("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")
        login = str(box.setting("login_base_url") or DEFAULT_LOGIN_BASE_URL).rstrip("/")
        custom = login != DEFAULT_LOGIN_BASE_URL
        try:
            self._app = msal.ConfidentialClientApplication(
                str(box.setting("client_id")),
                authority=f"{login}/{box.setting('tenant_id')}",
                client_credential=str(box.setting("client_secret")),
                http_client=_MsalHttp(_http()),
                # A login other than Microsoft's (a sovereign cloud's, a test's fake) is not
                # in msal's list of known hosts: trust the configured one as it is.
                validate_authority=not custom,
                instance_discovery=False if custom else None,
            )
        except ValueError as error:  # msal's word for an authority it cannot use
            raise GraphError(None, str(error), permanent=True) from None

    def token(self) -> str:
        """A token for Graph: msal's cached one until it nears expiry, then a new one."""
        result: Any = self._app.acquire_token_for_client(scopes=SCOPES)
        answer = _object(result)
        token = answer.get("access_token")
        if isinstance(token, str):
            return token
        code = str(answer.get("error") or "no token")
        detail = str(answer.get("error_description") or "").split("\n", 1)[0]
        # A wrong secret, client or tenant stays wrong until the channel is updated.
        permanent = code in {"invalid_client", "unauthorized_client", "invalid_scope"}
        raise GraphError(None, f"{code}: {detail}", permanent=permanent)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """`path` under the API base (or an absolute `@odata.nextLink`), with the token. A
        401 drops this channel's app, and with it the token, then raises (retried)."""
        url = path if path.startswith(("https://", "http://")) else self.api_base_url + path
        response = _http().request(
            method,
            url,
            params=params,
            json=json,
            headers={"Authorization": f"Bearer {self.token()}", **(headers or {})},
        )
        if response.status_code == 401:
            _forget(self._key)
            raise GraphError(401, _graph_message(response) + "; the token was dropped")
        return response


_SESSIONS: OrderedDict[tuple[str, str], Graph] = OrderedDict()
_SESSIONS_GUARD = threading.Lock()


def _graph(box: Mailbox) -> Graph:
    """The channel's Graph session, kept per channel and credentials: an update of the
    secret (or tenant, client id, login) makes a new msal app, and a new token."""
    settings = json.dumps([box.setting(k) for k in SESSION_SETTINGS], default=str)
    fingerprint = hashlib.sha256(settings.encode()).hexdigest()
    key = (box.id, fingerprint)
    with _SESSIONS_GUARD:
        found = _SESSIONS.get(key)
        if found is not None:
            _SESSIONS.move_to_end(key)
            return found
    made = Graph(key, box)  # outside the lock: msal reads the login's OpenID configuration
    with _SESSIONS_GUARD:
        _SESSIONS[key] = made
        while len(_SESSIONS) > MAX_SESSIONS:
            _SESSIONS.popitem(last=False)
    return made


def _forget(key: tuple[str, str]) -> None:
    with _SESSIONS_GUARD:
        _SESSIONS.pop(key, None)


def _raise_for(response: httpx.Response) -> None:
    """Raise GraphError for an error answer: permanent for a 4xx retrying cannot change."""
    status = response.status_code
    if status < 400:
        return
    message = _graph_message(response)
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        message += f" (Retry-After: {retry_after[:20]})"
    permanent = 400 <= status < 500 and status not in {401, 404, 408, 409, 423, 429}
    raise GraphError(status, message, permanent=permanent)


def _graph_message(response: httpx.Response) -> str:
    """Graph's `{"error": {"code", "message"}}`, or the status alone."""
    try:
        error = _object(_object(response.json()).get("error"))
    except ValueError:
        error = {}
    code, message = error.get("code"), error.get("message")
    if isinstance(code, str) and isinstance(message, str):
        return f"{code}: {message}"[:300]
    return response.reason_phrase or "error"


def _segment(value: str) -> str:
    return quote(value, safe="@")


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
