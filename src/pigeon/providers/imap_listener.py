"""The IMAP listener: watches every mailbox of the enabled IMAP channels and turns each new
message into a pointer job.

One thread per mailbox keeps a connection open, EXAMINEs the mailbox (read-only) and waits
in IDLE; where the server offers no IDLE (or `Options.use_idle` is off) it polls every
`poll_seconds`. Whenever the mailbox may have changed it catches up: `UID SEARCH UID
<last+1>:*`, then the Message-ID of each new UID (`BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]`:
the header only, never the body, and nothing is marked \\Seen), handed to a `Sink` as
pointers; once the sink has them durably, the cursor (UIDVALIDITY and last UID) moves on.

- A dropped connection (a reset, a BYE, a server restart) is reconnected after a capped
  exponential backoff with jitter; the catch-up after it brings in whatever arrived
  meanwhile, and nothing twice (the cursor only moves after the sink took the pointers).
- A mailbox first watched starts at the UIDNEXT the channel's login check recorded (so mail
  that arrived since the channel was created comes in), else at the current UIDNEXT: mail
  older than the channel is not imported.
- A changed UIDVALIDITY makes the old UIDs meaningless. The listener records the new
  validity and starts from the current UIDNEXT; the mail in between is found by `SEARCH
  SINCE` the day before the newest message it had seen, and emitted again: what was already
  stored is dropped by the consume-time identity (`imap:<Message-ID>`); a message without a
  Message-ID may then be stored twice. It is logged (`imap_uidvalidity_changed`).

Two sinks, so the same watch serves both ways of running it:
- `DirectSink` enqueues through `services.ingress.accept` and keeps the cursors in the
  channel's state (`state.cursors`): the listener inside `pigeon serve` / `pigeon worker`
  (`ListenerWorker`) or `pigeon imap-listen` run beside them with database access.
- `WebhookSink` POSTs `{"pointers": [...]}` to `/webhooks/imap/<channel id>` with the
  channel's shared secret, retrying what failed (a network error, 408, 429, 5xx) with
  backoff, and keeps its cursors in a JSON file (or in memory): `pigeon imap-listen
  --webhook-url URL`, a listener with no access to the database.

A webhook that refuses the pointers for good (a wrong secret or URL: a 4xx) leaves the
cursor where it was: the watch reconnects with backoff and tries again, so nothing is
skipped once the listener is set right. Likewise a cursor write lost to a concurrent write of
the channel's state only makes the next start emit again what the consume-time identity then
drops. Running the listener in several processes at once is safe but wasteful for the same
reason: each emits the same pointers, and each message is stored once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from anyio import to_thread

from pigeon.domain.backoff import Backoff
from pigeon.domain.channels import ChannelKind
from pigeon.domain.inbound import Provider
from pigeon.providers.imap import (
    CONNECTION_ERRORS,
    MESSAGE_ID_FIELD,
    MESSAGE_ID_KEY,
    Account,
    Pointer,
    close,
    connect,
    describe,
    message_id_of,
)
from pigeon.providers.protocols import Mailbox

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from imapclient import IMAPClient

    from pigeon.services.context import Services

log = logging.getLogger(__name__)

FOREVER = 2**31


@dataclass(frozen=True)
class Options:
    use_idle: bool = True  # False: poll even a server that offers IDLE
    poll_seconds: float = 30.0
    # How often a watch waiting in IDLE looks up (to stop); and when it renews its IDLE
    # (RFC 2177: before the server's 29-minute timeout).
    idle_slice_seconds: float = 1.0
    idle_renew_seconds: float = 540.0
    reconnect: Backoff = field(
        default_factory=lambda: Backoff(0.5, 60.0, max_attempts=FOREVER, jitter=0.5)
    )
    batch: int = 200  # UIDs per header fetch, and pointers per hand-over
    # A session that lasted this long before it dropped reconnects at the first delay again.
    healthy_seconds: float = 60.0


# Cursors and targets --------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where a mailbox was left: every UID up to `last_uid` of `uid_validity` was handed
    over. `last_date`: the day (UTC) of the newest of them, for a change of UIDVALIDITY."""

    uid_validity: int
    last_uid: int
    last_date: str | None = None

    def state(self) -> dict[str, Any]:
        return {
            "uid_validity": self.uid_validity,
            "last_uid": self.last_uid,
            "last_date": self.last_date,
        }

    @classmethod
    def of(cls, value: object) -> Cursor | None:
        if not isinstance(value, dict):
            return None
        validity, last = value.get("uid_validity"), value.get("last_uid")
        if not isinstance(validity, int) or not isinstance(last, int):
            return None
        day = value.get("last_date")
        return cls(validity, last, day if isinstance(day, str) else None)


@dataclass(frozen=True)
class Target:
    """A channel to watch."""

    channel_id: str
    account: Account


def wire(pointer: Pointer) -> dict[str, Any]:
    """A pointer as the webhook takes it (the seed listener's camelCase names)."""
    found: dict[str, Any] = {
        "mailbox": pointer.mailbox,
        "uid": pointer.uid,
        "uidValidity": pointer.uid_validity,
    }
    if pointer.message_id:
        found["messageId"] = pointer.message_id
    return found


class Stopped(Exception):
    """The listener is stopping: whatever was being handed over is left for next time."""


class Sink(Protocol):
    def cursors(self, target: Target) -> dict[str, Cursor]:
        """Where each mailbox of `target` was left, by mailbox name."""
        ...

    def emit(self, target: Target, pointers: Sequence[Pointer]) -> None:
        """Hand `pointers` over durably, or raise (the cursor then stays where it was)."""
        ...

    def advance(self, target: Target, mailbox: str, cursor: Cursor) -> None:
        """Keep `cursor` as where `mailbox` was left."""
        ...


# The database sink ------------------------------------------------------------------------------


class DirectSink:
    """Pointers into the job queue (`ingress.accept`), cursors into the channel's state."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self._cursors: dict[str, dict[str, Cursor]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def cursors(self, target: Target) -> dict[str, Cursor]:
        from pigeon.services.inbound import open_mailbox

        box = open_mailbox(self.svc, target.channel_id)
        found: dict[str, Cursor] = {}
        if box is None:
            return found
        kept = box.state.get("cursors")
        login = box.state.get("login")
        checked = login.get("mailboxes") if isinstance(login, dict) else None
        for name in target.account.mailboxes:
            cursor = Cursor.of(kept.get(name)) if isinstance(kept, dict) else None
            seen = checked.get(name) if isinstance(checked, dict) else None
            if cursor is None and isinstance(seen, dict):
                # Where the login check found it when the channel was made.
                validity, uid_next = seen.get("uid_validity"), seen.get("uid_next")
                if isinstance(validity, int) and isinstance(uid_next, int) and uid_next > 0:
                    cursor = Cursor(validity, uid_next - 1)
            if cursor is not None:
                found[name] = cursor
        with self._lock_of(target.channel_id):
            self._cursors.setdefault(target.channel_id, {}).update(found)
        return found

    def emit(self, target: Target, pointers: Sequence[Pointer]) -> None:
        from pigeon.services import ingress

        box = ingress.mailbox(self.svc, target.channel_id, Provider.IMAP)
        ingress.accept(self.svc, box, Provider.IMAP, [p.payload() for p in pointers])

    def advance(self, target: Target, mailbox: str, cursor: Cursor) -> None:
        from pigeon.services import mailboxes

        # One write at a time per channel: each writes every mailbox's cursor.
        with self._lock_of(target.channel_id):
            kept = self._cursors.setdefault(target.channel_id, {})
            kept[mailbox] = cursor
            state = {name: c.state() for name, c in sorted(kept.items())}
            mailboxes.record_outcome(self.svc, target.channel_id, {"cursors": state})

    def _lock_of(self, channel_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(channel_id, threading.Lock())


def direct_targets(svc: Services) -> list[Target]:
    """Every enabled IMAP channel, with its secrets opened."""
    from pigeon.store import accounts

    with svc.db.transaction(readonly=True) as uow:
        channels = accounts.mailbox_channels(uow, [ChannelKind.IMAP.value])
    targets = []
    for channel in channels:
        try:
            box = Mailbox(channel, svc.secrets.open(channel.sealed_secrets))
            targets.append(Target(channel.id, Account.of(box)))
        except Exception:
            log.exception(
                "an imap channel's config cannot be read; not watching it",
                extra={"action": "imap_listener_bad_channel", "channel_id": channel.id},
            )
    return targets


# The webhook sink -------------------------------------------------------------------------------


class WebhookRefused(Exception):
    """The webhook refused the pointers for good (401, 404, 400): retrying cannot help
    until someone fixes the listener's secret or URL; the watch keeps trying, slowly."""


RETRIED_STATUSES = frozenset({408, 425, 429})


class WebhookSink:
    """Pointers to a pigeon's `/webhooks/imap/<channel id>`; cursors in `state_file`."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        state_file: Path | None = None,
        client: httpx.Client | None = None,
        retry: Backoff | None = None,
        attempts: int = 6,
        stop: threading.Event | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.url = url
        self._secret = secret
        self.state_file = state_file
        self.client = client or httpx.Client(timeout=timeout)
        self.retry = retry or Backoff(0.5, 30.0, max_attempts=attempts, jitter=0.5)
        self.stop = stop or threading.Event()
        self._cursors: dict[str, dict[str, dict[str, Any]]] = self._load()
        self._lock = threading.Lock()

    def cursors(self, target: Target) -> dict[str, Cursor]:
        with self._lock:
            kept = self._cursors.get(target.channel_id, {})
            found = {name: Cursor.of(value) for name, value in kept.items()}
        return {name: cursor for name, cursor in found.items() if cursor is not None}

    def emit(self, target: Target, pointers: Sequence[Pointer]) -> None:
        body = {"pointers": [wire(p) for p in pointers]}
        headers = {"Authorization": f"Bearer {self._secret}"}
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                response = self.client.post(self.url, json=body, headers=headers)
            except httpx.HTTPError as error:
                problem = f"{type(error).__name__}: {error}"
            else:
                if response.is_success:
                    return
                if response.status_code < 500 and response.status_code not in RETRIED_STATUSES:
                    raise WebhookRefused(f"{response.status_code}: {response.text[:300]}")
                problem = f"HTTP {response.status_code}"
                retry_after = _seconds(response.headers.get("retry-after"))
            if not self.retry.should_retry(attempt):
                raise ConnectionError(f"the webhook failed {attempt} times; last: {problem}")
            delay = max(self.retry.delay(attempt), min(retry_after or 0.0, self.retry.cap_seconds))
            log.warning(
                "imap webhook failed; retrying",
                extra={
                    "action": "imap_listener_webhook_retry",
                    "channel_id": target.channel_id,
                    "attempt": attempt,
                    "delay": round(delay, 3),
                    "error": problem,
                },
            )
            if self.stop.wait(delay):
                raise Stopped

    def advance(self, target: Target, mailbox: str, cursor: Cursor) -> None:
        with self._lock:
            self._cursors.setdefault(target.channel_id, {})[mailbox] = cursor.state()
            if self.state_file is not None:
                partial = self.state_file.with_name(self.state_file.name + ".tmp")
                partial.write_text(json.dumps(self._cursors, indent=2, sort_keys=True))
                os.replace(partial, self.state_file)

    def close(self) -> None:
        self.client.close()

    def _load(self) -> dict[str, dict[str, dict[str, Any]]]:
        if self.state_file is None or not self.state_file.exists():
            return {}
        found = json.loads(self.state_file.read_text())
        return found if isinstance(found, dict) else {}


def webhook_target(url: str, account: Account) -> Target:
    """The channel a webhook URL names (`.../webhooks/imap/<channel id>`), watched with
    `account`: what `pigeon imap-listen --webhook-url` watches."""
    channel_id = httpx.URL(url).path.rstrip("/").rsplit("/", 1)[-1]
    if not channel_id:
        raise ValueError(f"{url}: expected .../webhooks/imap/<channel id>")
    return Target(channel_id, account)


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None  # an HTTP date: the backoff decides


# One mailbox --------------------------------------------------------------------------------


class ConnectionDropped(ConnectionError):
    """The server closed the connection (BYE, or end of stream)."""


class MailboxWatch:
    """One mailbox of one channel, watched until `stop` is set."""

    def __init__(
        self,
        target: Target,
        mailbox: str,
        sink: Sink,
        options: Options,
        stop: threading.Event,
    ) -> None:
        self.target = target
        self.mailbox = mailbox
        self.sink = sink
        self.options = options
        self.stop = stop
        self.cursor: Cursor | None = None
        self.loaded = False
        # What it did, for logs and tests: pointers handed over, sessions that got in sync,
        # connections lost or refused, and how the last session waited ("idle" or "poll").
        self.emitted = 0
        self.sessions = 0
        self.failures = 0
        self.mode: str | None = None

    # The loop ----------------------------------------------------------------------------

    def run(self) -> None:
        """Connect, catch up, wait for mail; reconnect after a drop. Never raises."""
        failures = 0
        self._log(logging.INFO, "imap_listener_start", "watching an imap mailbox")
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                client = connect(self.target.account)
            except Exception as error:
                failures = self._pause(failures, error, started)
                continue
            try:
                self._session(client)
            except Stopped:
                close(client)
                break
            except Exception as error:
                close(client, polite=False)
                failures = self._pause(failures, error, started)
                continue
            close(client)
        self._log(logging.INFO, "imap_listener_stop", "stopped watching an imap mailbox")

    def once(self) -> int:
        """Connect, catch up, disconnect; returns how many pointers were handed over.
        Errors are raised."""
        before = self.emitted
        client = connect(self.target.account)
        try:
            self.sync(client)
        except BaseException:
            close(client, polite=False)
            raise
        close(client)
        return self.emitted - before

    def _pause(self, failures: int, error: Exception, started: float) -> int:
        if time.monotonic() - started > self.options.healthy_seconds:
            failures = 0
        failures += 1
        self.failures += 1
        delay = self.options.reconnect.delay(failures)
        expected = isinstance(error, (*CONNECTION_ERRORS, WebhookRefused))
        log.warning(
            "imap connection failed or dropped; reconnecting",
            exc_info=None if expected else error,  # a defect: its traceback
            extra={
                "action": "imap_listener_reconnect",
                "channel_id": self.target.channel_id,
                "mailbox": self.mailbox,
                "error": describe(error, self.target.account),
                "attempt": failures,
                "delay": round(delay, 3),
            },
        )
        self.stop.wait(delay)
        return failures

    def _session(self, client: IMAPClient) -> None:
        self.sync(client)
        idle = self.options.use_idle and b"IDLE" in client.capabilities()
        self.mode = "idle" if idle else "poll"
        self.sessions += 1
        self._log(
            logging.INFO, "imap_listener_connected", "imap mailbox in sync; waiting", mode=self.mode
        )
        if idle:
            self._idle(client)
        else:
            self._poll(client)

    def _idle(self, client: IMAPClient) -> None:
        slice_seconds = self.options.idle_slice_seconds
        while not self.stop.is_set():
            client.idle()
            renew_at = time.monotonic() + self.options.idle_renew_seconds
            changed = False
            while not (changed or self.stop.is_set() or time.monotonic() > renew_at):
                began = time.monotonic()
                responses = client.idle_check(timeout=slice_seconds)
                if any(r and r[0] == b"BYE" for r in responses):
                    raise ConnectionDropped("the server said BYE")
                # An empty answer long before the timeout: the stream ended (imapclient
                # swallows the EOF); DONE will find out, and raise.
                ended = not responses and time.monotonic() - began < slice_seconds / 2
                changed = ended or any(len(r) > 1 and r[1] == b"EXISTS" for r in responses)
            client.idle_done()
            if self.stop.is_set():
                return
            self.catch_up(client)

    def _poll(self, client: IMAPClient) -> None:
        while not self.stop.wait(self.options.poll_seconds):
            client.noop()
            self.catch_up(client)

    # Catching up ----------------------------------------------------------------------------

    def sync(self, client: IMAPClient) -> None:
        """EXAMINE the mailbox, settle the cursor with its UIDVALIDITY, then catch up."""
        if not self.loaded:
            self.cursor = self.sink.cursors(self.target).get(self.mailbox)
            self.loaded = True
        selected = client.select_folder(self.mailbox, readonly=True)
        validity = int(selected[b"UIDVALIDITY"])
        cursor = self.cursor
        if cursor is None:
            uid_next = self._uid_next(client, selected)
            self._log(
                logging.INFO,
                "imap_listener_cursor_new",
                "first watch of this mailbox: starting at its UIDNEXT",
                uid_validity=validity,
                uid_next=uid_next,
            )
            self._advance(Cursor(validity, uid_next - 1))
        elif cursor.uid_validity != validity:
            self._renumbered(client, cursor, validity, self._uid_next(client, selected))
        self.catch_up(client)

    def catch_up(self, client: IMAPClient) -> None:
        """Hand over every UID after the cursor's."""
        assert self.cursor is not None
        last = self.cursor.last_uid
        # `n:*` always includes the highest UID, even one below n.
        uids = sorted(u for u in client.search(["UID", f"{last + 1}:*"]) if u > last)
        self._hand_over(client, uids, self.cursor.uid_validity)

    def _renumbered(self, client: IMAPClient, old: Cursor, validity: int, uid_next: int) -> None:
        since = date.fromisoformat(old.last_date) - timedelta(days=1) if old.last_date else None
        self._log(
            logging.WARNING,
            "imap_uidvalidity_changed",
            "the mailbox's UIDVALIDITY changed: its old UIDs mean nothing now",
            old_uid_validity=old.uid_validity,
            uid_validity=validity,
            uid_next=uid_next,
            since=since.isoformat() if since else None,
        )
        self.cursor = Cursor(validity, 0, old.last_date)
        if since is not None:
            found = sorted(u for u in client.search(["SINCE", since]) if u < uid_next)
            self._hand_over(client, found, validity)
        self._advance(Cursor(validity, uid_next - 1, self.cursor.last_date))

    def _hand_over(self, client: IMAPClient, uids: Sequence[int], validity: int) -> None:
        batch = self.options.batch
        for start in range(0, len(uids), batch):
            if self.stop.is_set():
                raise Stopped
            chunk = list(uids[start : start + batch])
            found = client.fetch(chunk, [MESSAGE_ID_FIELD, "INTERNALDATE"])
            pointers = []
            newest = self.cursor.last_date if self.cursor else None
            for uid in chunk:
                data = found.get(uid)
                if data is None:
                    continue  # expunged since the search
                message_id = message_id_of(data.get(MESSAGE_ID_KEY))
                pointers.append(Pointer(self.mailbox, uid, validity, message_id))
                newest = max(filter(None, (newest, _day(data.get(b"INTERNALDATE")))), default=None)
            if pointers:
                self.sink.emit(self.target, pointers)
                self.emitted += len(pointers)
                self._log(
                    logging.INFO,
                    "imap_listener_pointers",
                    "new imap messages handed over",
                    count=len(pointers),
                    uids=[p.uid for p in pointers][:50],
                    uid_validity=validity,
                )
            last = max(chunk[-1], self.cursor.last_uid if self.cursor else 0)
            self._advance(Cursor(validity, last, newest))

    def _advance(self, cursor: Cursor) -> None:
        if cursor != self.cursor:
            self.sink.advance(self.target, self.mailbox, cursor)
        self.cursor = cursor

    def _uid_next(self, client: IMAPClient, selected: Mapping[bytes, Any]) -> int:
        found = selected.get(b"UIDNEXT")
        if found is None:
            status = client.folder_status(self.mailbox, [b"UIDNEXT"])
            found = status[b"UIDNEXT"]
        return int(found)

    def _log(self, level: int, action: str, message: str, **fields: Any) -> None:
        log.log(
            level,
            message,
            extra={
                "action": action,
                "channel_id": self.target.channel_id,
                "mailbox": self.mailbox,
                **fields,
            },
        )


def _day(value: object) -> str | None:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).date().isoformat()
    return None


# Many mailboxes -----------------------------------------------------------------------------


@dataclass
class _Running:
    watch: MailboxWatch
    thread: threading.Thread


class Watches:
    """The running watches, one thread per mailbox of each target."""

    def __init__(self, sink: Sink, options: Options | None = None) -> None:
        self.sink = sink
        self.options = options or Options()
        self._running: dict[tuple[Any, ...], _Running] = {}

    def reconcile(self, targets: Iterable[Target]) -> None:
        """Watch exactly the mailboxes of `targets`: start the new ones, stop those gone
        (a channel disabled or deleted, or its account changed)."""
        wanted = {
            (t.channel_id, name, t.account.key): (t, name)
            for t in targets
            for name in t.account.mailboxes
        }
        for key in [k for k in self._running if k not in wanted]:
            self._running.pop(key).watch.stop.set()
        for key, (target, name) in wanted.items():
            if key in self._running and self._running[key].thread.is_alive():
                continue
            watch = MailboxWatch(target, name, self.sink, self.options, threading.Event())
            thread = threading.Thread(
                target=watch.run, name=f"imap:{target.channel_id}:{name}", daemon=True
            )
            self._running[key] = _Running(watch, thread)
            thread.start()

    @property
    def watches(self) -> list[MailboxWatch]:
        return [running.watch for running in self._running.values()]

    def stop_all(self, timeout: float = 5.0) -> None:
        """Stop every watch, and wait up to `timeout` for their threads (daemons: one stuck
        in a slow connect is left behind)."""
        running, self._running = list(self._running.values()), {}
        for item in running:
            item.watch.stop.set()
        deadline = time.monotonic() + timeout
        for item in running:
            item.thread.join(max(deadline - time.monotonic(), 0.0))
            if item.thread.is_alive():
                log.warning(
                    "an imap watch did not stop in time; leaving it behind",
                    extra={"action": "imap_listener_abandoned", "watch": item.thread.name},
                )


def listen(
    targets: Sequence[Target], sink: Sink, stop: threading.Event, options: Options | None = None
) -> None:
    """Watch `targets` until `stop` is set (blocking): `pigeon imap-listen`."""
    watches = Watches(sink, options)
    try:
        watches.reconcile(targets)
        stop.wait()
    finally:
        watches.stop_all()


def catch_up_once(
    targets: Sequence[Target], sink: Sink, options: Options | None = None
) -> dict[str, int]:
    """Each mailbox of `targets` caught up once (`pigeon imap-listen --once`, from cron):
    pointers handed over, by `<channel id>/<mailbox>`. A mailbox that fails is logged and
    counted as -1; the others go on."""
    done: dict[str, int] = {}
    for target in targets:
        for name in target.account.mailboxes:
            watch = MailboxWatch(target, name, sink, options or Options(), threading.Event())
            try:
                done[f"{target.channel_id}/{name}"] = watch.once()
            except Exception as error:
                watch._log(
                    logging.ERROR,
                    "imap_listener_catch_up_failed",
                    "could not catch up an imap mailbox",
                    error=describe(error, target.account),
                )
                done[f"{target.channel_id}/{name}"] = -1
    return done


def catch_up_direct(svc: Services, options: Options | None = None) -> dict[str, int]:
    """`pigeon imap-listen --once`: every enabled IMAP channel caught up once, into the
    queue."""
    return catch_up_once(direct_targets(svc), DirectSink(svc), options)


def run_webhook(
    url: str,
    secret: str,
    account: Account,
    *,
    stop: threading.Event,
    state_file: Path | None = None,
    options: Options | None = None,
    once: bool = False,
) -> dict[str, int]:
    """`pigeon imap-listen --webhook-url`: watch `account` until `stop` is set, or catch it
    up `once` (then returns what `catch_up_once` does), POSTing the pointers to `url`."""
    sink = WebhookSink(url, secret, state_file=state_file, stop=stop)
    targets = [webhook_target(url, account)]
    try:
        if once:
            return catch_up_once(targets, sink, options)
        listen(targets, sink, stop, options)
        return {}
    finally:
        sink.close()


# In the worker runtime ------------------------------------------------------------------------


class ListenerWorker:
    """The listener as a worker of `pigeon serve` / `pigeon worker`: watches every enabled
    IMAP channel, and every `refresh_seconds` starts or stops watches as channels are
    created, changed, disabled or deleted. `drain` does nothing: a watch waits for mail,
    which no drain should; `pigeon imap-listen --once` catches up on demand."""

    name = "imap_listener"

    def __init__(
        self,
        svc: Services,
        options: Options | None = None,
        *,
        refresh_seconds: float = 30.0,
        sink: Sink | None = None,
    ) -> None:
        self.svc = svc
        self.options = options or Options()
        self.refresh_seconds = refresh_seconds
        self.sink = sink or DirectSink(svc)
        self.watching: Watches | None = None  # while it runs

    async def run(self, stop: asyncio.Event) -> None:
        watches = self.watching = Watches(self.sink, self.options)
        try:
            while not stop.is_set():
                try:
                    targets = await to_thread.run_sync(direct_targets, self.svc)
                except Exception:  # the database is away: the watches run on meanwhile
                    log.exception(
                        "could not list the imap channels; trying again",
                        extra={"action": "imap_listener_refresh_failed"},
                    )
                else:
                    watches.reconcile(targets)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.refresh_seconds)
        finally:
            await to_thread.run_sync(watches.stop_all)

    async def drain(self) -> int:
        return 0
