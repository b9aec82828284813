"""Gmail: Pub/Sub pushes in, messages fetched at consume time, the watch kept alive.

How mail comes in:
1. A `gmail.watch` job (on the channel's creation or config update, then renewed daily by
   the upkeep timer) calls `users.watch`: Gmail publishes every change to INBOX to the
   channel's Pub/Sub topic. Its answer carries the mailbox's current historyId, which becomes
   the channel's history cursor when it has none yet.
2. Pub/Sub pushes `{emailAddress, historyId}` to `/webhooks/gmail/{channel}` with an OIDC
   token in `Authorization`. `authenticate_push` verifies the token before the body is read;
   `push_pointers` turns the envelope into a pointer (no content) for the inbound queue.
3. The consumer calls `SOURCE.fetch`: `users.history.list` from the STORED cursor, then
   `users.messages.get` for each message added to INBOX; the new cursor is returned in
   `Fetch.state` and committed with the messages.

The cursor. A push's historyId is the mailbox's latest; `history.list` returns the changes
after `startHistoryId`. So the cursor is only ever what a `history.list` (or the watch, or
a profile read before a resync) has seen, never a push's own number: starting from a push's
id would skip the very message it announces. A push at or below the stored cursor names
nothing unseen and is done without calling Gmail, so pushes that arrive late or twice are
cheap and can never move the cursor back; the cursor returned is never below the one stored.
With no cursor stored (a push before the first watch answered), or a cursor too old for
Gmail's history (`history.list` answers 404), the fetch resyncs: it reads the mailbox's
current historyId first, then lists the last day of INBOX and fetches each message (the
consume-time identity drops those stored already). A message deleted between the listing
and its fetch (404) is skipped, not the job. Only messages added to INBOX come in (the
watch's label): mail the user sends, drafts and spam are not inbound. A long backlog is
taken MAX_MESSAGES_PER_FETCH at a time, the cursor stopping at the last whole record.

Two fetches of one channel may run at once (two pushes, two consumers). Each returns a
cursor no lower than the one stored when it finished listing, but the consumer merges state
last-writer-wins, so the slower one can still write a lower cursor in the moment between.
That costs a second listing, never a message (identities drop repeats); a monotonic merge
in services/inbound.py would close it.

Time. The push token's `iat`/`exp` are checked against pigeon's clock (`svc.clock`):
google-auth reads the system clock inside `jwt.decode` and offers no way to inject another,
so it is asked for the signature only (its own time check given an unbounded skew) and the
same check it would make, with its default skew (0 s), is made here. Access tokens for the
Gmail API are google-auth's own business: it refreshes them against the system clock, which
is the clock Google's token expiry is stated in; they are cached per channel until then.
"""

from __future__ import annotations

import base64
import binascii
import email.message
import email.utils
import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, TypeGuard
from urllib.parse import quote

import httpx
import requests
from anyio import to_thread
from google.auth import exceptions as google_errors
from google.auth import jwt as google_jwt
from google.auth.credentials import TokenState
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from pigeon.domain.inbound import Fetched, Provider
from pigeon.domain.jobs import NewJob
from pigeon.errors import (
    AuthError,
    PermissionDenied,
    PigeonError,
    StorageUnavailable,
    ValidationError,
)
from pigeon.providers import registry
from pigeon.providers.protocols import Fetch
from pigeon.workers.consumer import PermanentJobError, Skipped

if TYPE_CHECKING:
    from pigeon.domain.jobs import Job
    from pigeon.providers.protocols import Mailbox
    from pigeon.services.context import Services
    from pigeon.workers.consumer import Handler

log = logging.getLogger(__name__)

API_BASE_URL = "https://gmail.googleapis.com"
SCOPES = ["https://www.googleapis.com/auth/gmail.readonly"]
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
GOOGLE_ISSUERS = frozenset({"https://accounts.google.com", "accounts.google.com"})
CLOCK_SKEW_SECONDS = 0  # google-auth's default for `iat`/`exp` (jwt.decode, id_token)
# Given to google-auth so that its system-clock check never decides; pigeon's clock does.
_SKEW_PAST_ANY_CLOCK = 10**12
TIMEOUT_SECONDS = 10.0
MAX_TOKEN_CHARS = 8192
# A key id not among the cached keys makes pigeon fetch them again, at most this often.
UNKNOWN_KEY_REFETCH = timedelta(minutes=1)

LABEL = "INBOX"  # the watch's label, and the only one whose new messages come in
CURSOR = "history_id"  # the channel state key of the history cursor
CURSOR_MAILBOX = "history_mailbox"  # whose history: ids mean nothing in another mailbox
HISTORY_PAGE = 500
MAX_MESSAGES_PER_FETCH = 500  # past this, the cursor stops at the last whole record
RESYNC_QUERY = "newer_than:1d"
RESYNC_PAGE = 100
MAX_RESYNC_MESSAGES = 500

WATCH_KIND = "gmail.watch"
RENEW_EVERY = timedelta(days=1)  # Google's advice; a watch lasts 7 days
RENEW_BEFORE = timedelta(hours=24)
RETRY_FAILED_WATCH_AFTER = timedelta(hours=1)


# Errors -----------------------------------------------------------------------------------


class GmailError(PigeonError):
    """Gmail answered with an error."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"gmail answered {status}: {reason}"[:500])
        self.status = status
        self.reason = reason

    @property
    def permanent(self) -> bool:
        """Retrying the same request cannot help: a bad topic, no permission, no such user.
        Gmail also says 403 when a rate limit is hit; that one passes."""
        if self.status == 403:
            return "ratelimit" not in self.reason.lower().replace("_", "")
        return self.status in (400, 404)


class MalformedPush(ValidationError):
    """The Pub/Sub envelope is malformed."""


class KeysUnavailable(StorageUnavailable):
    """Google's signing keys could not be fetched; Pub/Sub pushes again after a 503."""


# Push authentication: before anything else -------------------------------------------------


def authenticate_push(svc: Services, channel_id: str, authorization: str | None) -> Mailbox:
    """The Gmail channel a push is for, once its OIDC token holds.

    The signature, its time and its issuer are checked before the channel is even looked up
    (AuthError: 401); then the token must be for this channel: its audience and the push
    identity configured for it (PermissionDenied: 403). NotFound when no such channel.
    """
    from pigeon.services import ingress

    token = _bearer(authorization)
    claims = _verified_claims(svc, token)
    box = ingress.mailbox(svc, channel_id, Provider.GMAIL)
    _check_identity(svc, box, claims)
    return box


def audience_of(svc: Services, box: Mailbox) -> str | None:
    """What a push token for this channel must be addressed to: `config.audience`, or the
    channel's webhook URL (None when PIGEON_PUBLIC_URL is not set either)."""
    configured = box.setting("audience")
    if configured:
        return str(configured)
    public_url = svc.settings.public_url
    return f"{public_url}/webhooks/gmail/{box.id}" if public_url else None


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError("a Pub/Sub push needs `Authorization: Bearer <OIDC token>`")
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise AuthError("the bearer token is not a JWT")
    return token


def _verified_claims(svc: Services, token: str) -> Mapping[str, Any]:
    """The claims of a token signed (RS256) by one of Google's published keys, current by
    pigeon's clock, issued by Google."""
    try:
        header = google_jwt.decode_header(token)  # type: ignore[no-untyped-call]
    except (google_errors.GoogleAuthError, ValueError, TypeError):
        raise _rejected("the bearer token is not a JWT") from None
    if header.get("alg") != "RS256":
        raise _rejected("the token is not signed with RS256")
    key_id = header.get("kid")
    if not isinstance(key_id, str) or not key_id:
        raise _rejected("the token names no signing key")
    certs = _KEYS.certs(svc, key_id)
    if key_id not in certs:
        raise _rejected("the token is signed by a key Google does not publish")
    try:
        claims: Mapping[str, Any] = google_jwt.decode(  # type: ignore[no-untyped-call]
            token,
            certs={key_id: certs[key_id]},
            audience=None,  # checked against the channel, once found (403, not 401)
            clock_skew_in_seconds=_SKEW_PAST_ANY_CLOCK,
        )
    except (google_errors.GoogleAuthError, ValueError, TypeError):
        raise _rejected("the token's signature does not verify") from None
    _check_times(claims, svc.clock.now())
    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise _rejected("the token is not issued by Google")
    return claims


def _check_times(claims: Mapping[str, Any], now: datetime) -> None:
    """google-auth's own `iat`/`exp` check, against pigeon's clock."""
    issued, expires = claims.get("iat"), claims.get("exp")
    if not _is_number(issued) or not _is_number(expires):
        raise _rejected("the token has no iat or exp")
    seconds = now.timestamp()
    if seconds < issued - CLOCK_SKEW_SECONDS:
        raise _rejected("the token is used before it was issued")
    if expires + CLOCK_SKEW_SECONDS < seconds:
        raise _rejected("the token has expired")


def _check_identity(svc: Services, box: Mailbox, claims: Mapping[str, Any]) -> None:
    audience = audience_of(svc, box)
    if audience is None:
        raise _forbidden(box, "set config.audience or PIGEON_PUBLIC_URL to receive pushes")
    if claims.get("aud") != audience:
        raise _forbidden(box, "the token is addressed to another audience")
    expected = str(box.setting("service_account_email", "")).casefold()
    found = claims.get("email")
    if not isinstance(found, str) or found.casefold() != expected:
        raise _forbidden(box, "the token is not the channel's push identity")
    if claims.get("email_verified") is not True:
        raise _forbidden(box, "the token's email is not verified")


def _rejected(reason: str) -> AuthError:
    log.warning(
        "gmail push refused", extra={"action": "gmail_push_unauthenticated", "reason": reason}
    )
    return AuthError(reason)


def _forbidden(box: Mailbox, reason: str) -> PermissionDenied:
    log.warning(
        "gmail push refused",
        extra={
            "action": "gmail_push_forbidden",
            "channel_id": box.id,
            "workspace_id": box.workspace_id,
            "reason": reason,
        },
    )
    return PermissionDenied(reason)


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class _Keys:
    certs: Mapping[str, str]
    fetched_at: datetime
    expires_at: datetime


class _KeyCache:
    """Google's certificates by URL, kept (in the services' cache of verified credentials)
    for their Cache-Control max-age by pigeon's clock. One fetch at a time: a burst of pushes
    after expiry costs one request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def certs(self, svc: Services, key_id: str) -> Mapping[str, str]:
        url = svc.settings.google_certs_url
        kept: dict[str, _Keys] = svc.credentials.google_keys
        with self._lock:
            now = svc.clock.now()
            keys = kept.get(url)
            if (
                keys is None
                or now >= keys.expires_at
                or (key_id not in keys.certs and now - keys.fetched_at >= UNKNOWN_KEY_REFETCH)
            ):
                keys = kept[url] = _fetch_keys(url, now)
            return keys.certs


_KEYS = _KeyCache()
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*(\d+)", re.IGNORECASE)


def _fetch_keys(url: str, now: datetime) -> _Keys:
    try:
        response = httpx.get(url, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
        found = response.json()
    except (httpx.HTTPError, ValueError) as error:
        log.error(
            "google's signing keys could not be fetched",
            extra={"action": "gmail_certs_unavailable", "error": type(error).__name__},
        )
        raise KeysUnavailable() from None
    if not isinstance(found, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in found.items()
    ):
        raise KeysUnavailable("Google's signing keys are not a JSON object of certificates")
    control = response.headers.get("cache-control", "")
    match = _MAX_AGE.search(control)
    max_age = 0 if match is None or "no-store" in control.lower() else int(match.group(1))
    log.info(
        "google signing keys fetched", extra={"action": "gmail_certs_fetched", "keys": len(found)}
    )
    return _Keys(found, now, now + timedelta(seconds=max_age))


# The push envelope -------------------------------------------------------------------------


def push_pointers(box: Mailbox, body: bytes) -> list[dict[str, Any]]:
    """The pointer a Pub/Sub envelope carries: which mailbox, which history position, which
    Pub/Sub message; never content. A push for another mailbox carries none: it is
    acknowledged (Pub/Sub would redeliver anything else, forever) and logged.
    Raises MalformedPush naming the field."""
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise MalformedPush.field("request_body", "is not JSON") from None
    message = _object(envelope, "request_body").get("message")
    message = _object(message, "message")
    message_id = message.get("messageId", message.get("message_id"))
    if not isinstance(message_id, str) or not 0 < len(message_id) <= 200:
        raise MalformedPush.field("message.messageId", "expected the Pub/Sub message id")
    notification = _object(_decoded_data(message.get("data")), "message.data")
    address = notification.get("emailAddress")
    if not isinstance(address, str) or not 0 < len(address) <= 320:
        raise MalformedPush.field("message.data.emailAddress", "expected an email address")
    history_id = _history_id(notification.get("historyId"))
    if history_id is None:
        raise MalformedPush.field("message.data.historyId", "expected a positive integer")
    if address.casefold() != str(box.setting("mailbox", "")).casefold():
        log.warning(
            "gmail push for another mailbox acknowledged and ignored",
            extra={
                "action": "gmail_push_other_mailbox",
                "channel_id": box.id,
                "workspace_id": box.workspace_id,
                "pubsub_message_id": message_id,
            },
        )
        return []
    return [
        {"email_address": address, "history_id": str(history_id), "pubsub_message_id": message_id}
    ]


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedPush.field(name, "expected a JSON object")
    return value


def _decoded_data(data: Any) -> Any:
    if not isinstance(data, str) or not data:
        raise MalformedPush.field("message.data", "expected base64 of a JSON object")
    try:
        return json.loads(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise MalformedPush.field("message.data", "expected base64 of a JSON object") from None


def _history_id(value: Any) -> int | None:
    """A Gmail history id (a JSON number in pushes, a string elsewhere), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return int(value) or None
    return None


# Access tokens ------------------------------------------------------------------------------


class _Transport(GoogleRequest):
    """google-auth's requests transport, with pigeon's timeout instead of its 120 s."""

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: float = TIMEOUT_SECONDS,
        **kwargs: Any,
    ) -> Any:
        return super().__call__(  # type: ignore[no-untyped-call]
            url, method=method, body=body, headers=headers, timeout=timeout, **kwargs
        )


@dataclass
class _Entry:
    fingerprint: str
    credentials: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


class _TokenCache:
    """google-auth credentials per channel, refreshed when google-auth finds their token
    stale. A channel whose credentials or mailbox change gets new ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def token(self, box: Mailbox) -> str:
        info = box.setting("credentials")
        mailbox = str(box.setting("mailbox"))
        fingerprint = hashlib.sha256(
            json.dumps([info, mailbox], sort_keys=True).encode()
        ).hexdigest()
        with self._lock:
            entry = self._entries.get(box.id)
            if entry is None or entry.fingerprint != fingerprint:
                entry = self._entries[box.id] = _Entry(fingerprint, _credentials(info, mailbox))
        with entry.lock:
            if entry.credentials.token_state != TokenState.FRESH:
                with requests.Session() as session:
                    entry.credentials.refresh(_Transport(session))
            return str(entry.credentials.token)

    def forget(self, box: Mailbox) -> None:
        """Drop a channel's token that Gmail refused (revoked before its expiry)."""
        with self._lock:
            self._entries.pop(box.id, None)


def _credentials(info: Any, mailbox: str) -> Any:
    if not isinstance(info, Mapping):
        raise PermanentJobError("config.credentials: expected a JSON object")
    if info.get("type") == "service_account":
        # Domain-wide delegation: the service account acts as the mailbox's user.
        return service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            dict(info), scopes=SCOPES, subject=mailbox
        )
    return user_credentials.Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token=info.get("refresh_token"),
        token_uri=info.get("token_uri") or DEFAULT_TOKEN_URI,
        client_id=info.get("client_id"),
        client_secret=info.get("client_secret"),
        scopes=SCOPES,
    )


_TOKENS = _TokenCache()


# The Gmail API -----------------------------------------------------------------------------


class _Gmail:
    """The few Gmail API calls pigeon makes, for one mailbox, on one HTTP client."""

    def __init__(self, box: Mailbox, http: httpx.Client, now: datetime) -> None:
        self.box = box
        self.http = http
        self.now = now  # when a message says nothing of when it was received
        base = str(box.setting("api_base_url") or API_BASE_URL).rstrip("/")
        self.base = f"{base}/gmail/v1/users/{quote(str(box.setting('mailbox')), safe='@')}"

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        token = _TOKENS.token(self.box)
        response = self.http.request(
            method,
            self.base + path,
            params=params,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code == 401:
            _TOKENS.forget(self.box)
        if response.status_code >= 400:
            raise GmailError(response.status_code, _reason(response))
        try:
            found = response.json()
        except ValueError:
            raise GmailError(response.status_code, "the answer is not JSON") from None
        if not isinstance(found, dict):
            raise GmailError(response.status_code, "the answer is not a JSON object")
        return found

    def added_since(self, start: int) -> tuple[list[str], int]:
        """The ids of messages added to INBOX after history id `start`, oldest first, and
        the history id they bring the cursor to. Raises GmailError 404 when `start` is
        older than the history Gmail keeps."""
        ids: list[str] = []
        seen: set[str] = set()
        page: str | None = None
        while True:
            params = {
                "startHistoryId": str(start),
                "historyTypes": "messageAdded",
                "labelId": LABEL,
                "maxResults": str(HISTORY_PAGE),
            }
            if page:
                params["pageToken"] = page
            answer = self.call("GET", "/history", params=params)
            for record in _list(answer.get("history")):
                for added in _list(record.get("messagesAdded")):
                    message_id = _dict(added.get("message")).get("id")
                    if isinstance(message_id, str) and message_id and message_id not in seen:
                        seen.add(message_id)
                        ids.append(message_id)
                record_id = _history_id(record.get("id"))
                if len(ids) >= MAX_MESSAGES_PER_FETCH and record_id is not None:
                    # The rest waits for the next push: the cursor stops at a whole record.
                    return ids, record_id
            page = answer.get("nextPageToken")
            if not isinstance(page, str) or not page:
                return ids, _history_id(answer.get("historyId")) or start

    def current_history_id(self) -> int:
        found = _history_id(self.call("GET", "/profile").get("historyId"))
        if found is None:
            raise GmailError(200, "the profile has no historyId")
        return found

    def recent_ids(self) -> list[str]:
        """INBOX messages of the last day, newest first, up to MAX_RESYNC_MESSAGES."""
        ids: list[str] = []
        page: str | None = None
        while len(ids) < MAX_RESYNC_MESSAGES:
            params = {"q": RESYNC_QUERY, "labelIds": LABEL, "maxResults": str(RESYNC_PAGE)}
            if page:
                params["pageToken"] = page
            answer = self.call("GET", "/messages", params=params)
            for found in _list(answer.get("messages")):
                message_id = found.get("id")
                if isinstance(message_id, str) and message_id and message_id not in ids:
                    ids.append(message_id)
            page = answer.get("nextPageToken")
            if not isinstance(page, str) or not page:
                break
        return ids[:MAX_RESYNC_MESSAGES]

    def messages(self, ids: list[str]) -> list[Fetched]:
        """Each message fetched in full; one deleted since it was listed is skipped."""
        fetched = []
        for message_id in ids:
            try:
                resource = self.call(
                    "GET", f"/messages/{quote(message_id, safe='')}", params={"format": "full"}
                )
            except GmailError as error:
                if error.status != 404:
                    raise
                log.info(
                    "gmail message gone before it was fetched; skipped",
                    extra={
                        "action": "gmail_message_gone",
                        "channel_id": self.box.id,
                        "workspace_id": self.box.workspace_id,
                        "message_id": message_id,
                    },
                )
                continue
            mailbox = str(self.box.setting("mailbox"))
            fetched.append(_fetched(resource, message_id, mailbox, self.now))
        return fetched

    def watch(self, topic: str) -> dict[str, Any]:
        return self.call("POST", "/watch", body={"topicName": topic, "labelIds": [LABEL]})


def _reason(response: httpx.Response) -> str:
    """Gmail's error reason and message, e.g. `failedPrecondition: Mail service not
    enabled`; never the body as a whole."""
    try:
        error = _dict(response.json().get("error"))
    except (ValueError, AttributeError):
        return response.reason_phrase or "error"
    details = _list(error.get("errors"))
    reason = details[0].get("reason") if details else error.get("status")
    message = error.get("message")
    return ": ".join(str(part) for part in (reason, message) if part)[:300] or "error"


def _list(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@contextmanager
def _gmail(svc: Services, box: Mailbox) -> Iterator[_Gmail]:
    with httpx.Client(timeout=TIMEOUT_SECONDS) as http:
        yield _Gmail(box, http, svc.clock.now())


# A message, as pigeon keeps it --------------------------------------------------------------


def _fetched(resource: Mapping[str, Any], message_id: str, mailbox: str, now: datetime) -> Fetched:
    payload = _dict(resource.get("payload"))
    headers = _headers(payload)
    text, html = _bodies(payload)
    if not text and html:
        text = _text_of_html(html)
    _, sender = email.utils.parseaddr(headers.get("from", ""))
    addresses = email.utils.getaddresses([headers.get("to", ""), headers.get("cc", "")])
    return Fetched(
        message_id=str(resource.get("id") or message_id),
        sender=sender or _decoded_header(headers.get("from", "")),
        recipients=tuple(address for _, address in addresses if address),
        subject=_decoded_header(headers.get("subject", "")),
        text=text,
        received_at=_received_at(resource.get("internalDate"), headers.get("date"), now),
        internet_message_id=headers.get("message-id") or None,
        in_reply_to=headers.get("in-reply-to") or None,
        html=html,
        mailbox=mailbox,
    )


def _headers(part: Mapping[str, Any]) -> dict[str, str]:
    """A part's headers by lower-case name; the first of a repeated one."""
    found: dict[str, str] = {}
    for header in _list(part.get("headers")):
        name, value = header.get("name"), header.get("value")
        if isinstance(name, str) and isinstance(value, str):
            found.setdefault(name.lower(), value)
    return found


def _bodies(part: Mapping[str, Any]) -> tuple[str, str | None]:
    """The first text/plain and text/html parts that are not attachments, depth first."""
    text: str | None = None
    html: str | None = None
    stack = [part]
    while stack and (text is None or html is None):
        current = stack.pop(0)
        children = _list(current.get("parts"))
        if children:
            stack = children + stack
            continue
        mime = str(current.get("mimeType", "")).lower()
        if current.get("filename") or mime not in ("text/plain", "text/html"):
            continue
        decoded = _part_text(current)
        if decoded is None:
            continue
        if mime == "text/plain" and text is None:
            text = decoded
        elif mime == "text/html" and html is None:
            html = decoded
    return text or "", html


def _part_text(part: Mapping[str, Any]) -> str | None:
    data = _dict(part.get("body")).get("data")
    if not isinstance(data, str):
        return None  # an `attachmentId` instead: a part too big to come inline
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return None
    header = email.message.Message()
    header["Content-Type"] = _headers(part).get("content-type", "text/plain; charset=utf-8")
    charset = header.get_content_charset() or "utf-8"
    try:
        return raw.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        return raw.decode("utf-8", errors="replace")


def _decoded_header(value: str) -> str:
    """A header's value with its RFC 2047 encoded words decoded."""
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeDecodeError):
        return value


def _received_at(internal_date: Any, date_header: str | None, now: datetime) -> datetime:
    """When Gmail received the message (`internalDate`, ms since the epoch), else its Date
    header, else now."""
    if isinstance(internal_date, str) and internal_date.isdigit():
        return datetime.fromtimestamp(int(internal_date) / 1000, UTC)
    if date_header:
        try:
            parsed = email.utils.parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
    return now


class _HtmlText(HTMLParser):
    BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._hidden += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def _text_of_html(html: str) -> str:
    """The text of an HTML-only message, for what reads text (follow-ups, opt-outs)."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


# Consume-time fetch ------------------------------------------------------------------------


class GmailSource:
    provider = Provider.GMAIL

    def fetch(self, svc: Services, mailbox: Mailbox, pointer: Mapping[str, Any]) -> Fetch:
        """The messages added to INBOX since the stored cursor, and the cursor after them."""
        stored = _cursor(mailbox)
        pushed = _history_id(pointer.get("history_id"))
        if stored is not None and pushed is not None and pushed <= stored:
            return Fetch()  # a late or repeated push: what it names was listed already
        with _gmail(svc, mailbox) as gmail:
            if stored is None:
                return _resync(svc, gmail, None, "no_cursor")
            try:
                ids, reached = gmail.added_since(stored)
            except GmailError as error:
                if error.status != 404:
                    raise
                return _resync(svc, gmail, stored, "history_expired")
            messages = gmail.messages(ids)
        cursor = max(stored, reached)
        return Fetch(messages, _cursor_state(mailbox, cursor))


def _resync(svc: Services, gmail: _Gmail, stored: int | None, reason: str) -> Fetch:
    """Every INBOX message of the last day; the cursor at the mailbox's history id as read
    BEFORE the listing, so that what arrives meanwhile is listed by the next fetch too."""
    box = gmail.box
    log.warning(
        "gmail mailbox resynced",
        extra={
            "action": "gmail_resync",
            "channel_id": box.id,
            "workspace_id": box.workspace_id,
            "reason": reason,
        },
    )
    current = gmail.current_history_id()
    messages = gmail.messages(gmail.recent_ids())
    cursor = _cursor_state(box, max(current, stored or 0))
    resynced = {"resynced_at": _iso(svc.clock.now()), "resync_reason": reason}
    return Fetch(
        messages,
        lambda stored_state: {**cursor(stored_state), **resynced},
    )


def _cursor(box: Mailbox) -> int | None:
    return _cursor_in(box, box.state)


def _cursor_in(box: Mailbox, state: Mapping[str, Any]) -> int | None:
    """The cursor in `state`, if it is of the mailbox configured now: a channel moved to
    another mailbox starts that mailbox's history afresh."""
    mailbox = str(box.setting("mailbox", "")).casefold()
    if str(state.get(CURSOR_MAILBOX, "")).casefold() != mailbox:
        return None
    return _history_id(state.get(CURSOR))


def _cursor_state(box: Mailbox, cursor: int) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """The cursor to store, as a function of the state stored when it is written (under the
    channel's row lock): a fetch that ran beside this one may have moved it further."""
    mailbox = str(box.setting("mailbox", ""))

    def changes(stored: Mapping[str, Any]) -> dict[str, Any]:
        further = _cursor_in(box, stored) or 0
        return {CURSOR: str(max(cursor, further)), CURSOR_MAILBOX: mailbox}

    return changes


SOURCE = GmailSource()


# The watch ---------------------------------------------------------------------------------


def setup_jobs(mailbox: Mailbox) -> list[NewJob]:
    """A new or reconfigured channel: (re)start its watch."""
    return [_watch_job(mailbox)]


def due_upkeep(mailbox: Mailbox, now: datetime) -> list[NewJob]:
    """A watch renewal once a day, or when the watch ends within a day; a failed one after
    an hour. A channel whose watch failed for good (no topic, a topic Gmail refuses) waits
    for its config to change, which enqueues a watch again."""
    state = mailbox.state
    if mailbox.channel.disabled_at is not None or not mailbox.setting("topic"):
        return []
    if state.get("watch_error_permanent"):
        return []
    failed_at = _parse_iso(state.get("watch_failed_at"))
    if failed_at is not None and now - failed_at < RETRY_FAILED_WATCH_AFTER:
        return []
    renewed_at = _parse_iso(state.get("watch_renewed_at"))
    expires_at = _parse_iso(state.get("watch_expiration"))
    due = (
        renewed_at is None
        or expires_at is None
        or now - renewed_at >= RENEW_EVERY
        or expires_at - now <= RENEW_BEFORE
    )
    return [_watch_job(mailbox)] if due else []


def _watch_job(mailbox: Mailbox) -> NewJob:
    return NewJob(
        workspace_id=mailbox.workspace_id,
        kind=WATCH_KIND,
        payload={"channel_id": mailbox.id},
        queue=registry.UPKEEP_QUEUE,
        dedupe_key=f"{WATCH_KIND}:{mailbox.id}",
        channel_id=mailbox.id,
    )


async def _handle_watch(svc: Services, job: Job) -> Skipped | None:
    return await to_thread.run_sync(renew_watch, svc, job, abandon_on_cancel=True)


def renew_watch(svc: Services, job: Job) -> Skipped | None:
    """Call `users.watch` and record its outcome in the channel's state: the expiration,
    the first history cursor, the last error a person should see."""
    from pigeon.services.inbound import open_mailbox

    box = open_mailbox(svc, job.payload.get("channel_id"))
    if box is None or box.workspace_id != job.workspace_id:
        return Skipped("source_unavailable:channel_gone")
    if box.channel.disabled_at is not None:
        return Skipped("source_unavailable:channel_disabled")
    topic = box.setting("topic")
    if not topic:
        reason = "config.topic is not set: name the Pub/Sub topic Gmail should publish to"
        _watch_failed(svc, box, reason, permanent=True)
        raise PermanentJobError(reason)
    try:
        with _gmail(svc, box) as gmail:
            answer = gmail.watch(str(topic))
    except GmailError as error:
        _watch_failed(svc, box, error.message, permanent=error.permanent)
        if error.permanent:
            raise PermanentJobError(error.message) from error
        raise
    except google_errors.RefreshError as error:
        reason = f"the credentials were refused: {error}"[:500]
        _watch_failed(svc, box, reason, permanent=not error.retryable)
        if not error.retryable:
            raise PermanentJobError(reason) from error
        raise
    except Exception as error:
        _watch_failed(svc, box, f"{type(error).__name__}: {error}"[:500], permanent=False)
        raise
    now = svc.clock.now()
    changes: dict[str, Any] = {
        "watch_expiration": _iso(_expiration(answer.get("expiration"))),
        "watch_renewed_at": _iso(now),
        "last_ok_at": _iso(now),
        "last_error": None,
        "watch_failed_at": None,
        "watch_error_permanent": False,
    }
    history_id = _history_id(answer.get("historyId"))

    def with_first_cursor(stored: Mapping[str, Any]) -> dict[str, Any]:
        """The watch's history id starts the cursor only when none is stored."""
        if history_id is None or _cursor_in(box, stored) is not None:
            return changes
        return {**changes, **_cursor_state(box, history_id)(stored)}

    from pigeon.services import mailboxes

    mailboxes.record_outcome(svc, box.id, with_first_cursor)
    log.info(
        "gmail watch renewed",
        extra={
            "action": "gmail_watch_renewed",
            "channel_id": box.id,
            "workspace_id": box.workspace_id,
            "expiration": changes["watch_expiration"],
        },
    )
    return None


def _watch_failed(svc: Services, box: Mailbox, reason: str, *, permanent: bool) -> None:
    from pigeon.services import mailboxes

    log.error(
        "gmail watch failed",
        extra={
            "action": "gmail_watch_failed",
            "channel_id": box.id,
            "workspace_id": box.workspace_id,
            "permanent": permanent,
            "reason": reason,
        },
    )
    if permanent:
        reason += " (fix the channel's config; updating it starts the watch again)"
    mailboxes.record_outcome(
        svc,
        box.id,
        {
            "last_error": reason,
            "watch_failed_at": _iso(svc.clock.now()),
            "watch_error_permanent": permanent,
        },
        audit="gmail.watch_failed" if permanent else None,
    )


def _expiration(value: Any) -> datetime | None:
    """`users.watch`'s expiration: milliseconds since the epoch, as a string."""
    if isinstance(value, int | str) and str(value).isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    return None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _parse_iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


UPKEEP_HANDLERS: dict[str, Handler] = {WATCH_KIND: _handle_watch}
