"""IMAP mailboxes: the login check, and the consume-time fetch of what a pointer names.

An IMAP server pushes nothing to pigeon: the listener (`providers/imap_listener.py`) watches
each mailbox and emits one pointer per new message, `{mailbox, uid, uid_validity,
message_id?}`. The consumer calls `SOURCE.fetch` with it, which:

- connects (a logged-in connection is kept per account for the next fetch; one that fails
  is closed, and a reused one that turns out dead is replaced once);
- EXAMINEs the mailbox (read-only: nothing is ever marked \\Seen), and compares UIDVALIDITY
  with the pointer's: a different one means the UID names another message now, or none
  (`source_unavailable:imap_uidvalidity_changed`);
- UID FETCHes `BODY.PEEK[]` (at most MAX_MESSAGE_BYTES of it) and INTERNALDATE; a UID
  the server no longer has (expunged) is `source_unavailable:imap_uid_missing`;
- parses the message with the stdlib `email` package. Its identity is `imap:<Message-ID>`
  when the message has one (a message copied to two mailboxes is stored once), else
  `imap:<mailbox>/<uid_validity>/<uid>`.

Connection, TLS and login errors are raised: the consumer retries them.

`tls`: true (the default) is implicit TLS (port 993). false connects in the clear (port 143)
and upgrades with STARTTLS when the server offers it; the certificate is verified either way
(against the system's CAs; `SSL_CERT_FILE` names others). A server that offers no STARTTLS
gets the password in the clear: use tls=false only on a trusted network.
"""

from __future__ import annotations

import contextlib
import hashlib
import imaplib
import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.headerregistry import AddressHeader
from email.parser import BytesHeaderParser, BytesParser
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from anyio import to_thread
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from pigeon.domain.channels import ChannelKind
from pigeon.domain.inbound import Fetched, Provider, SourceUnavailable
from pigeon.domain.jobs import NewJob
from pigeon.providers import registry
from pigeon.providers.protocols import Fetch
from pigeon.workers.consumer import PermanentJobError, Skipped

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from email.message import EmailMessage, Message

    from pigeon.domain.jobs import Job
    from pigeon.providers.protocols import Mailbox
    from pigeon.services.context import Services
    from pigeon.workers.consumer import Handler

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30.0  # connect, and each command; IDLE waits apart (see the listener)
MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # more is an attachment pigeon does not keep
MAX_ID_CHARS = 998  # a Message-ID longer than a header line cannot be one
LOGIN_CHECK = "imap.login_check"
# A failed login check is tried again this often; a good one is confirmed once a day.
RECHECK_FAILED = timedelta(minutes=15)
RECHECK_OK = timedelta(days=1)

BODY = b"BODY[]<0>"  # the key imapclient gives a partial `BODY.PEEK[]<0.n>`
MESSAGE_ID_FIELD = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"
MESSAGE_ID_KEY = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"


# The account and its connections -----------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """Where an IMAP channel's mail is, and how to log in."""

    host: str
    port: int
    tls: bool
    username: str
    password: str = field(repr=False)
    mailboxes: tuple[str, ...] = ("INBOX",)

    @classmethod
    def of(cls, mailbox: Mailbox) -> Account:
        return cls.with_defaults(
            host=str(mailbox.setting("host")),
            port=mailbox.setting("port"),
            tls=bool(mailbox.setting("tls", True)),
            username=str(mailbox.setting("username")),
            password=str(mailbox.setting("password")),
            mailboxes=mailbox.setting("mailboxes") or (),
        )

    @classmethod
    def with_defaults(
        cls,
        *,
        host: str,
        port: int | None,
        tls: bool,
        username: str,
        password: str,
        mailboxes: Sequence[str] = (),
    ) -> Account:
        """An account as a channel's config (or the listener's command line) gives it: the
        port by `tls` when not given (993 or 143), INBOX when no mailbox is named."""
        return cls(
            host=host,
            port=int(port or (993 if tls else 143)),
            tls=tls,
            username=username,
            password=password,
            mailboxes=tuple(mailboxes) or ("INBOX",),
        )

    @property
    def key(self) -> tuple[str, int, bool, str, str]:
        """What tells two accounts' connections apart; a changed password makes new ones."""
        digest = hashlib.sha256(self.password.encode()).hexdigest()
        return (self.host, self.port, self.tls, self.username, digest)


def connect(account: Account, *, timeout: float = TIMEOUT_SECONDS) -> IMAPClient:
    """A connection, logged in, whose INTERNALDATEs are aware datetimes."""
    context = ssl.create_default_context()
    client = IMAPClient(
        account.host, account.port, ssl=account.tls, ssl_context=context, timeout=timeout
    )
    try:
        if not account.tls and b"STARTTLS" in client.capabilities():
            client.starttls(context)
        client.login(account.username, account.password)
    except BaseException:
        close(client, polite=False)
        raise
    client.normalise_times = False
    return client


def close(client: IMAPClient, *, polite: bool = True) -> None:
    """Log out (polite) or just drop the socket; never raises."""
    with contextlib.suppress(Exception):
        if polite:
            client.logout()
            return
    with contextlib.suppress(Exception):
        client.shutdown()


# What talking to a server can raise that retrying (or reconnecting) may cure.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused, unreachable, reset, timeouts, TLS (ssl.SSLError is an OSError)
    IMAPClientError,
    imaplib.IMAP4.error,
)


def describe(error: BaseException, account: Account | None = None) -> str:
    """An error as a channel's state and the logs say it: short, and never the password
    (a server may echo what it was sent)."""
    if isinstance(error, LoginError):
        text = f"login refused: {_text(error)}"
    elif isinstance(error, ssl.SSLError):
        text = f"tls failed: {error.reason or error}"
    elif isinstance(error, socket.gaierror):
        text = f"host not found: {error.strerror or error}"
    elif isinstance(error, OSError):
        text = f"connection failed: {error.strerror or error or type(error).__name__}"
    elif isinstance(error, IMAPClientError | imaplib.IMAP4.error):
        text = f"imap error: {_text(error)}"
    else:
        text = f"{type(error).__name__}: {_text(error)}"
    if account is not None and account.password:
        text = text.replace(account.password, "***")
    return text[:500]


def _text(error: BaseException) -> str:
    parts = [a.decode(errors="replace") if isinstance(a, bytes) else str(a) for a in error.args]
    # imapclient words some errors as the repr of the server's bytes: b'[AUTH...] ...'
    parts = [p[2:-1] if p[:2] in ("b'", 'b"') and p[-1:] == p[1] else p for p in parts]
    return " ".join(parts) or type(error).__name__


class Connections:
    """Logged-in connections kept between fetches, per account.

    A connection serves one fetch at a time (IMAPClient is not thread-safe): a fetch takes
    one (or connects), and gives it back when it went well. One unused for
    `max_idle_seconds` is logged out rather than reused: servers drop idle clients.
    """

    def __init__(self, *, per_account: int = 4, max_idle_seconds: float = 60.0) -> None:
        self.per_account = per_account
        self.max_idle_seconds = max_idle_seconds
        self._idle: dict[tuple[str, int, bool, str, str], list[tuple[float, IMAPClient]]] = {}
        self._lock = threading.Lock()

    def take(self, account: Account) -> tuple[IMAPClient, bool]:
        """A connection, and whether it was reused."""
        stale: list[IMAPClient] = []
        found = None
        with self._lock:
            kept = self._idle.get(account.key, [])
            while kept:
                since, client = kept.pop()
                if time.monotonic() - since > self.max_idle_seconds:
                    stale.append(client)
                else:
                    found = client
                    break
        for client in stale:
            close(client, polite=False)
        if found is not None:
            return found, True
        return connect(account), False

    def give(self, account: Account, client: IMAPClient) -> None:
        with self._lock:
            kept = self._idle.setdefault(account.key, [])
            if len(kept) < self.per_account:
                kept.append((time.monotonic(), client))
                return
        close(client)

    def close_all(self) -> None:
        with self._lock:
            kept, self._idle = self._idle, {}
        for clients in kept.values():
            for _, client in clients:
                close(client)


# Pointers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pointer:
    """A message in an IMAP mailbox, as a pointer job names it."""

    mailbox: str
    uid: int
    uid_validity: int
    message_id: str | None = None

    @classmethod
    def of(cls, payload: Mapping[str, Any]) -> Pointer:
        """The pointer of a job's payload; one built wrongly is a bug, never retried."""
        mailbox = payload.get("mailbox")
        message_id = payload.get("message_id")
        if not isinstance(mailbox, str) or not mailbox:
            raise PermanentJobError("imap pointer: mailbox must be a non-empty string")
        if message_id is not None and not isinstance(message_id, str):
            raise PermanentJobError("imap pointer: message_id must be a string")
        return cls(
            mailbox, _positive(payload, "uid"), _positive(payload, "uid_validity"), message_id
        )

    def payload(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "mailbox": self.mailbox,
            "uid": self.uid,
            "uid_validity": self.uid_validity,
        }
        if self.message_id:
            found["message_id"] = self.message_id
        return found


def _positive(payload: Mapping[str, Any], name: str) -> int:
    value = payload.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise PermanentJobError(f"imap pointer: {name} must be a positive integer")
    return value


def message_id_of(header_block: bytes | None) -> str | None:
    """The Message-ID in a `BODY[HEADER.FIELDS (MESSAGE-ID)]` answer, if any."""
    if not header_block:
        return None
    parsed = BytesHeaderParser(policy=policy.default).parsebytes(header_block)
    return _message_id(parsed)


def _message_id(message: Message) -> str | None:
    value = _header(message, "Message-ID").strip()
    return value if 0 < len(value) <= MAX_ID_CHARS else None


# The consume-time fetch ---------------------------------------------------------------------


class Source:
    provider = Provider.IMAP

    def __init__(self) -> None:
        self.connections = Connections()

    def fetch(self, svc: Services, mailbox: Mailbox, pointer: Mapping[str, Any]) -> Fetch:
        wanted = Pointer.of(pointer)
        account = Account.of(mailbox)
        if not watches(account.mailboxes, wanted.mailbox):
            # The channel's `mailboxes` bound what pigeon reads, whoever sent the pointer.
            raise SourceUnavailable("imap_mailbox_not_watched")
        while True:
            client, reused = self.connections.take(account)
            try:
                fetched = fetch_message(client, wanted, svc.clock.now())
            except SourceUnavailable:
                self.connections.give(account, client)  # the connection is fine
                raise
            except CONNECTION_ERRORS:
                close(client, polite=False)
                if reused:
                    continue  # it died while kept: once more on a new one
                raise
            except BaseException:
                close(client, polite=False)
                raise
            self.connections.give(account, client)
            return Fetch([fetched])


def watches(mailboxes: Sequence[str], name: str) -> bool:
    """Whether `name` is one of `mailboxes`; INBOX is case-insensitive (RFC 3501 5.1)."""
    if name.upper() == "INBOX":
        return any(m.upper() == "INBOX" for m in mailboxes)
    return name in mailboxes


def fetch_message(client: IMAPClient, pointer: Pointer, now: datetime) -> Fetched:
    """The message `pointer` names, read-only; `now` stands for a missing INTERNALDATE."""
    try:
        selected = client.select_folder(pointer.mailbox, readonly=True)
    except IMAPClientError as error:
        if "NONEXISTENT" in str(error) or "doesn't exist" in str(error):
            raise SourceUnavailable("imap_mailbox_missing") from None
        raise
    if int(selected.get(b"UIDVALIDITY", 0)) != pointer.uid_validity:
        raise SourceUnavailable("imap_uidvalidity_changed")
    found = client.fetch([pointer.uid], [f"BODY.PEEK[]<0.{MAX_MESSAGE_BYTES}>", "INTERNALDATE"])
    data = found.get(pointer.uid)
    if not data or BODY not in data:
        raise SourceUnavailable("imap_uid_missing")
    return parse_message(data[BODY], pointer, data.get(b"INTERNALDATE") or now)


def parse_message(raw: bytes, pointer: Pointer, internal_date: datetime) -> Fetched:
    """What pigeon keeps of a message: addresses, subject, its text (or, when it has only
    HTML, the HTML and a crude text of it)."""
    message: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)
    header_id = _message_id(message)
    text = _part_text(message, "plain")
    html = _part_text(message, "html")
    if text is None and html is not None:
        text = html_to_text(html)
    # INTERNALDATE is when the server received it; a naive one (never seen) is taken as UTC.
    if internal_date.tzinfo is None:
        internal_date = internal_date.replace(tzinfo=UTC)
    return Fetched(
        message_id=header_id or f"{pointer.mailbox}/{pointer.uid_validity}/{pointer.uid}",
        sender=next(iter(_addresses(message, "From")), ""),
        recipients=(*_addresses(message, "To"), *_addresses(message, "Cc")),
        subject=_header(message, "Subject"),
        text=text or "",
        received_at=internal_date.astimezone(UTC),
        internet_message_id=header_id,
        in_reply_to=_header(message, "In-Reply-To").strip() or None,
        html=html,
        mailbox=pointer.mailbox,
    )


def _header(message: Message, name: str) -> str:
    """A header as text; one the parser chokes on is given raw."""
    try:
        value = message.get(name)
        return "" if value is None else str(value)
    except Exception:  # email's header parser has raised on malformed input before
        raw = next((v for k, v in message.raw_items() if k.lower() == name.lower()), "")
        return str(raw)


def _addresses(message: Message, name: str) -> list[str]:
    with contextlib.suppress(Exception):  # a malformed address list: kept as it is written
        value = message.get(name)
        if isinstance(value, AddressHeader):
            return [a.addr_spec for a in value.addresses if a.addr_spec]
    raw = _header(message, name).strip()
    return [raw] if raw else []


def _part_text(message: EmailMessage, subtype: str) -> str | None:
    try:
        part = message.get_body(preferencelist=(subtype,))
    except Exception:
        return None
    if part is None or part.get_content_subtype() != subtype:
        return None
    try:
        content = part.get_content()
        return content if isinstance(content, str) else None
    except (LookupError, UnicodeError, ValueError, AssertionError):
        raw = part.get_payload(decode=True)  # an unknown or lying charset
        return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else None


class _TextOf(HTMLParser):
    BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})
    SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Crudely: the text of the tags, a line per block, no scripts or styles."""
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


SOURCE = Source()


# The login check ---------------------------------------------------------------------------


def setup_jobs(mailbox: Mailbox) -> list[NewJob]:
    """A login check, which records in the channel's state whether pigeon can log in, what
    the server offers (IDLE or not) and each mailbox's UIDVALIDITY and UIDNEXT."""
    return [
        NewJob(
            workspace_id=mailbox.workspace_id,
            kind=LOGIN_CHECK,
            queue=registry.UPKEEP_QUEUE,
            payload={"channel_id": mailbox.id},
            dedupe_key=f"{LOGIN_CHECK}:{mailbox.id}",
            channel_id=mailbox.id,
        )
    ]


def due_upkeep(mailbox: Mailbox, now: datetime) -> list[NewJob]:
    """A login check when none is recorded (its setup job was lost), when the last one
    failed RECHECK_FAILED ago, or succeeded RECHECK_OK ago."""
    login = mailbox.state.get("login")
    if not isinstance(login, dict) or not isinstance(login.get("checked_at"), str):
        return setup_jobs(mailbox)
    checked = datetime.fromisoformat(login["checked_at"])
    if now - checked >= (RECHECK_OK if login.get("ok") else RECHECK_FAILED):
        return setup_jobs(mailbox)
    return []


def login_outcome(account: Account, now: datetime) -> dict[str, Any]:
    """Log in and look at each mailbox, read-only; an error is recorded, not raised."""
    outcome: dict[str, Any] = {"checked_at": now.isoformat(), "ok": False}
    try:
        client = connect(account)
    except CONNECTION_ERRORS as error:
        return {**outcome, "error": describe(error, account)}
    try:
        capabilities = sorted(c.decode(errors="replace") for c in client.capabilities())
        boxes: dict[str, Any] = {}
        for name in account.mailboxes:
            try:
                selected = client.select_folder(name, readonly=True)
            except IMAPClientError as error:
                boxes[name] = {"error": describe(error, account)}
                continue
            boxes[name] = {
                "uid_validity": int(selected.get(b"UIDVALIDITY", 0)),
                "uid_next": int(selected.get(b"UIDNEXT", 0)),
                "exists": int(selected.get(b"EXISTS", 0)),
            }
    except CONNECTION_ERRORS as error:
        return {**outcome, "error": describe(error, account)}
    finally:
        close(client)
    failed = sorted(name for name, box in boxes.items() if "error" in box)
    return {
        **outcome,
        "ok": not failed,
        "error": f"mailboxes not readable: {', '.join(failed)}" if failed else None,
        "capabilities": capabilities,
        "idle": "IDLE" in capabilities,
        "mailboxes": boxes,
    }


def check_login(svc: Services, channel_id: object) -> Skipped | None:
    from pigeon.services import mailboxes
    from pigeon.services.inbound import open_mailbox

    box = open_mailbox(svc, channel_id)
    if box is None or box.channel.kind != ChannelKind.IMAP:
        return Skipped("source_unavailable:channel_gone")
    if box.channel.disabled_at is not None:
        return Skipped("source_unavailable:channel_disabled")
    outcome = login_outcome(Account.of(box), svc.clock.now())
    before = box.state.get("login")
    changed = not isinstance(before, dict) or before.get("ok") != outcome["ok"]
    audit = ("imap_login_ok" if outcome["ok"] else "imap_login_failed") if changed else None
    mailboxes.record_outcome(svc, box.id, {"login": outcome}, audit=audit)
    log.log(
        logging.INFO if outcome["ok"] else logging.WARNING,
        "imap login checked",
        extra={
            "action": "imap_login_checked",
            "channel_id": box.id,
            "workspace_id": box.workspace_id,
            "ok": outcome["ok"],
            "error": outcome.get("error"),
        },
    )
    return None


async def _login_check(svc: Services, job: Job) -> Skipped | None:
    channel_id = job.payload.get("channel_id")
    return await to_thread.run_sync(check_login, svc, channel_id, abandon_on_cancel=True)


UPKEEP_HANDLERS: dict[str, Handler] = {LOGIN_CHECK: _login_check}
