"""Command line: parse, build the services, call one service, render.

Commands act directly on the database named by PIGEON_DATABASE_URL, in the workspace given
by --workspace (default: the only or first workspace). Human output by default; --json for
scripts.

Only click is imported at start: each command imports what it uses, so `pigeon --help` and
every small command start in a fraction of the time the server takes to import.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import asyncio

    from pigeon.config import Settings
    from pigeon.domain.jobs import DeadFilter
    from pigeon.services.context import Principal, Services

JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
WORKSPACE = click.option("--workspace", "workspace_id", help="Workspace id (default: the first).")


def _settings() -> Settings:
    from pigeon.config import load_settings

    try:
        return load_settings()
    except ValueError as error:
        raise click.ClickException(f"configuration: {error}") from None


@contextmanager
def _services() -> Iterator[Services]:
    from pigeon import bootstrap
    from pigeon.errors import PigeonError

    services = bootstrap.build(_settings(), pool_size=2)
    try:
        yield services
    except PigeonError as error:
        raise click.ClickException(error.message) from None
    finally:
        services.close()


def _principal(services: Services, workspace_id: str | None) -> Principal:
    from pigeon.domain.accounts import Scope
    from pigeon.services import admin
    from pigeon.services.context import Principal

    if workspace_id is None:
        first = admin.first_workspace(services)
        if first is None:
            raise click.ClickException(
                "no workspace yet: run `pigeon serve` once; its first start creates one"
            )
        workspace_id = first.id
    who = Principal(workspace_id, "cli", frozenset({Scope.ADMIN}))
    admin.get_workspace(services, who)  # an unknown --workspace is an error, not an empty one
    return who


def _until_signalled(work: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `work(stop)` on uvloop until SIGINT or SIGTERM sets `stop`."""
    import asyncio
    import signal

    from pigeon.api.server import run

    async def _run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await work(stop)

    run(_run())


def _emit(as_json: bool, data: Any, human: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(data, default=str, indent=2))
    else:
        human()


class _Commands(click.Group):
    """Imports a heavy subcommand only when it runs, so that every other `pigeon` command (and
    the tests that start many) does not pay for it at start."""

    LAZY = {
        "gateway": "pigeon.gateway.cli:gateway",
        "extract": "pigeon.extract.command:extract",
        "contacts": "pigeon.cli_contacts:contacts",
        "batch": "pigeon.cli_batches:batch",
    }
    # What `pigeon --help` says of them, so that listing them imports nothing.
    LAZY_HELP = {
        "gateway": "Run the device gateway agent (a Mac that sends iMessages); doctor; launchd.",
        "extract": "Find the follow-up time and summary in TEXT.",
        "contacts": "Import and list contacts.",
        "batch": "Create, preview, start, pause, resume, cancel and watch outreach batches.",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.LAZY and name not in self.commands:
                rows.append((name, self.LAZY_HELP[name]))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY and cmd_name not in self.commands:
            _require_server(cmd_name)  # before the import that would fail
            module, _, attribute = self.LAZY[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


# What `pip install pigeon` alone runs; every other command is the server's.
AGENT_COMMANDS = frozenset({"gateway"})


@click.group(cls=_Commands)
@click.version_option(package_name="pigeon")
@click.pass_context
def main(ctx: click.Context) -> None:
    """pigeon: reliable outbound messaging and follow-ups."""
    if ctx.invoked_subcommand is not None:
        _require_server(ctx.invoked_subcommand)


def _require_server(command: str) -> None:
    if command not in AGENT_COMMANDS and not _server_installed():
        raise click.ClickException(
            f"`pigeon {command}` is the server's: install it with "
            "pip install 'pigeon[server]' (`pip install pigeon` alone is the gateway agent "
            "and the Python client)"
        )


def _server_installed() -> bool:
    from importlib.util import find_spec

    needed = ("sqlalchemy", "fastapi", "pydantic", "dateutil", "holidays", "phonenumbers")
    return all(find_spec(name) is not None for name in needed)


@main.command()
@JSON
def migrate_cmd(as_json: bool) -> None:
    """Apply database migrations."""
    from pigeon.errors import PigeonError
    from pigeon.services import schema

    try:
        revision = schema.migrate(_settings().database_url)
    except PigeonError as error:
        raise click.ClickException(error.message) from None
    _emit(as_json, {"revision": revision}, lambda: click.echo(f"database at revision {revision}"))


migrate_cmd.name = "migrate"


@main.command()
@click.option("--host", default=None, help="Interface to listen on (PIGEON_HOST).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port to listen on (PIGEON_PORT; 0: any free port).",
)
@click.option("--no-workers", is_flag=True, help="Serve the API only; run `pigeon worker` apart.")
def serve(host: str | None, port: int | None, no_workers: bool) -> None:
    """Migrate the database, then serve the API (and the workers, unless --no-workers)."""
    from pigeon import log
    from pigeon.api import server
    from pigeon.services import admin, schema

    settings = _settings()
    log.setup(settings.log_level)
    with _services() as services:
        services.bus.check()
        schema.migrate(settings.database_url)
        first = admin.first_run(services)
        if first.operator_token:
            click.echo(f"Operator token (shown once): {first.operator_token}")
        if first.workspace:
            ws = first.workspace
            click.echo(f"Created workspace {ws.workspace.name!r} ({ws.workspace.id})")
            click.echo(f"Admin API key (shown once): {ws.api_key}")

        def announce(url: str) -> None:
            click.echo(f"pigeon listening on {url}")
            sys.stdout.flush()

        server.serve(
            services,
            host=host or settings.host,
            port=settings.port if port is None else port,
            run_workers=not no_workers,
            announce=announce,
        )


@main.command()
@click.option(
    "--once", is_flag=True, help="Do everything that can be done now, then exit (tests, cron)."
)
def worker(once: bool) -> None:
    """Run the workers: release due messages, expire leases, send push channels, run jobs."""
    import asyncio

    from pigeon import log
    from pigeon.workers import supervisor

    settings = _settings()
    log.setup(settings.log_level)
    with _services() as services:
        services.bus.check()
        if once:
            done = asyncio.run(supervisor.drain(services))
            click.echo(
                f"released {done.pop('scheduler')} messages, "
                f"sent {done.pop('sender')} through push channels, "
                f"ran {sum(done.values())} jobs"
            )
            return

        async def _work(stop: asyncio.Event) -> None:
            await services.bus.start()
            try:
                await supervisor.run_workers(services, stop)
            finally:
                await services.bus.stop()

        _until_signalled(_work)


def _parse_at(value: str | None, timezone: str, *, option: str = "--at") -> datetime | None:
    from zoneinfo import ZoneInfo

    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "expected ISO 8601, e.g. 2030-01-01T09:00", param_hint=option
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(timezone))  # naive means the workspace's zone
    return when


def _is_iso(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


@main.command()
@click.option("--to", "recipient", required=True, help="E.164 phone number or email.")
@click.option("--body", required=True, help="Message text.")
@click.option(
    "--at",
    "at",
    default=None,
    help='When: ISO 8601 (naive = workspace zone), or words ("tomorrow 3pm", read now in the '
    "workspace zone).",
)
@click.option(
    "--tz", "tz", default=None, help="IANA zone --at is read in (default: the workspace's)."
)
@click.option(
    "--locale", default=None, help="Locale --at words are read in, e.g. en_GB (day-first dates)."
)
@click.option("--channel", "channel_id", default=None, help="Channel id (default channel).")
@click.option("--device", "device_id", default=None, help="Device id to send through.")
@WORKSPACE
@JSON
def send(
    recipient: str,
    body: str,
    at: str | None,
    tz: str | None,
    locale: str | None,
    channel_id: str | None,
    device_id: str | None,
    workspace_id: str | None,
    as_json: bool,
) -> None:
    """Schedule a message."""
    from pigeon.api.v1.render import message_out
    from pigeon.errors import UnclearTime, ValidationError
    from pigeon.extract.command import zone_option
    from pigeon.services import admin, messages
    from pigeon.services.extraction import SCHEDULE_FIELDS, TimeText

    with _services() as services:
        who = _principal(services, workspace_id)
        workspace = admin.get_workspace(services, who)
        words = at is not None and not _is_iso(at)
        zone = workspace.timezone if tz is None else zone_option(tz).key
        if locale is not None and not words:
            raise click.BadParameter("only for a time in words", param_hint="--locale")
        request = messages.NewMessage(
            recipient=recipient,
            body=body,
            scheduled_for=None if words else _parse_at(at, zone),
            channel_id=channel_id,
            device_id=device_id,
            scheduled_for_text=TimeText(at, tz, locale) if words and at is not None else None,
        )
        try:
            created = messages.create(services, who, request)
        except UnclearTime as unclear:
            # A usage error that asks back: nothing was created.
            asked = f"{at!r}: {unclear.question}"
            if unclear.problem.lower() not in unclear.question.lower():
                asked += f" ({unclear.problem})"
            raise click.BadParameter(asked, param_hint="--at") from None
        except ValidationError as error:
            hints = {
                SCHEDULE_FIELDS.text: "--at",
                SCHEDULE_FIELDS.zone: "--tz",
                SCHEDULE_FIELDS.locale: "--locale",
            }
            for field, hint in hints.items():
                if field in error.errors:
                    raise click.BadParameter(error.errors[field], param_hint=hint) from None
            raise
        data = message_out(created.message)
        _emit(
            as_json,
            data,
            lambda: click.echo(
                f"{data['id']}  {data['status']}  to {data['recipient']} at {data['scheduled_for']}"
            ),
        )


@main.command()
@click.argument("message_id", required=False)
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="How many recent messages.",
)
@WORKSPACE
@JSON
def status(message_id: str | None, limit: int, workspace_id: str | None, as_json: bool) -> None:
    """Show one message with its history, or counts and recent messages."""
    from pigeon.api.v1.render import event_out, message_out
    from pigeon.services import messages

    with _services() as services:
        who = _principal(services, workspace_id)
        if message_id:
            found = messages.get(services, who, message_id)
            data = {**message_out(found.message), "events": [event_out(e) for e in found.events]}

            def human() -> None:
                click.echo(f"{data['id']}  {data['status']}  to {data['recipient']}")
                click.echo(f"  scheduled for {data['scheduled_for']}, attempts {data['attempts']}")
                if data["last_error"]:
                    click.echo(f"  last error: {data['last_error']}")
                for event in data["events"]:
                    click.echo(
                        f"  {event['at']}  {event['from'] or '-':>9} -> "
                        f"{event['to']:<9} by {event['actor']}"
                    )

            _emit(as_json, data, human)
            return
        counts = messages.count_by_status(services, who)
        recent = messages.list_(services, who, messages.MessageFilter(), limit=limit)
        data = {
            "by_status": {k.value: v for k, v in counts.items()},
            "recent": [message_out(m) for m in recent],
        }

        def summary() -> None:
            totals = ", ".join(f"{k}: {v}" for k, v in sorted(data["by_status"].items()))
            click.echo(f"messages: {totals or 'none'}")
            for m in data["recent"]:
                click.echo(f"  {m['id']}  {m['status']:<9} {m['scheduled_for']}  {m['recipient']}")

        _emit(as_json, data, summary)


@main.group()
def devices() -> None:
    """Add, list and revoke gateway devices."""


@devices.command("add")
@click.argument("name")
@click.option("--channel", "channel_id", default=None, help="Gateway channel id.")
@WORKSPACE
@JSON
def devices_add(name: str, channel_id: str | None, workspace_id: str | None, as_json: bool) -> None:
    """Add a device; prints its token once."""
    from pigeon.api.v1.render import device_out
    from pigeon.services import admin

    with _services() as services:
        who = _principal(services, workspace_id)
        created = admin.create_device(services, who, name=name, channel_id=channel_id)
        data = {**device_out(created.item), "token": created.secret}
        _emit(
            as_json,
            data,
            lambda: click.echo(
                f"device {data['id']} ({name})\ntoken (shown once): {data['token']}"
            ),
        )


@devices.command("list")
@WORKSPACE
@JSON
def devices_list(workspace_id: str | None, as_json: bool) -> None:
    """List devices with when each was last seen."""
    from pigeon.api.v1.render import device_out
    from pigeon.services import admin

    with _services() as services:
        who = _principal(services, workspace_id)
        data = [device_out(d) for d in admin.list_devices(services, who)]

        def human() -> None:
            for d in data:
                state = (
                    "revoked" if d["revoked_at"] else f"last seen {d['last_seen_at'] or 'never'}"
                )
                click.echo(f"{d['id']}  {d['name']:<20} {d['prefix']}…  {state}")

        _emit(as_json, data, human)


@devices.command("revoke")
@click.argument("device_id", metavar="DEVICE")
@WORKSPACE
@JSON
def devices_revoke(device_id: str, workspace_id: str | None, as_json: bool) -> None:
    """Revoke a device (its id or its name): its token stops working, its unreported claims
    and the messages pinned to it are settled."""
    from pigeon.api.v1.render import revoked_device_out
    from pigeon.services import admin

    with _services() as services:
        who = _principal(services, workspace_id)
        device_id = admin.find_device(services, who, device_id).id
        revoked = admin.revoke_device(services, who, device_id)
        ended = revoked.claims_ended
        data = revoked_device_out(device_id, revoked)
        _emit(
            as_json,
            data,
            lambda: click.echo(
                f"revoked device {device_id}: {ended.unknown} claims unknown, "
                f"{ended.requeued} requeued, {ended.failed} failed; "
                f"{revoked.pinned_failed} pinned messages failed"
            ),
        )


@main.group()
def keys() -> None:
    """Create, list and revoke API keys."""


SCOPES = ("admin", "send", "read")  # domain.accounts.Scope, without importing it at start


@keys.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    default=["send"],
    show_default=True,
    type=click.Choice(SCOPES),
    help="Repeat for several.",
)
@WORKSPACE
@JSON
def keys_create(
    name: str, scopes: tuple[str, ...], workspace_id: str | None, as_json: bool
) -> None:
    """Create an API key; prints it once."""
    from pigeon.api.v1.render import key_out
    from pigeon.services import admin

    with _services() as services:
        who = _principal(services, workspace_id)
        created = admin.create_key(
            services, who, name=name, scopes=admin.parse_scopes(list(scopes))
        )
        data = {**key_out(created.item), "key": created.secret}
        _emit(
            as_json,
            data,
            lambda: click.echo(
                f"key {data['id']} ({name}, {' '.join(data['scopes'])})\n"
                f"secret (shown once): {data['key']}"
            ),
        )


@keys.command("list")
@WORKSPACE
@JSON
def keys_list(workspace_id: str | None, as_json: bool) -> None:
    """List API keys (prefixes only)."""
    from pigeon.api.v1.render import key_out
    from pigeon.services import admin

    with _services() as services:
        data = [key_out(k) for k in admin.list_keys(services, _principal(services, workspace_id))]

        def human() -> None:
            for k in data:
                state = "revoked" if k["revoked_at"] else "active"
                click.echo(
                    f"{k['id']}  {k['name']:<20} {k['prefix']}…  "
                    f"{' '.join(k['scopes']):<10} {state}"
                )

        _emit(as_json, data, human)


@keys.command("revoke")
@click.argument("key_id", metavar="KEY")
@WORKSPACE
@JSON
def keys_revoke(key_id: str, workspace_id: str | None, as_json: bool) -> None:
    """Revoke an API key (its id or its name)."""
    from pigeon.services import admin

    with _services() as services:
        who = _principal(services, workspace_id)
        key_id = admin.find_key(services, who, key_id).id
        admin.revoke_key(services, who, key_id)
        data = {"id": key_id, "revoked": True}
        _emit(as_json, data, lambda: click.echo(f"revoked key {key_id}"))


@main.group()
def dlq() -> None:
    """List, re-drive and purge dead letters: jobs whose attempts ran out."""


def _dead_filter(job_ids: tuple[str, ...], kind: str | None, everything: bool) -> DeadFilter:
    from pigeon.domain.jobs import DeadFilter

    if not job_ids and kind is None and not everything:
        raise click.UsageError("name JOB ids, or --kind, or --all")
    return DeadFilter(job_ids=job_ids or None, kind=kind)


@dlq.command("list")
@click.option("--kind", default=None, help="Only jobs of this kind.")
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
@WORKSPACE
@JSON
def dlq_list(kind: str | None, limit: int, workspace_id: str | None, as_json: bool) -> None:
    """List dead letters, newest first."""
    from pigeon.api.v1.render import job_out
    from pigeon.services import jobs

    with _services() as services:
        who = _principal(services, workspace_id)
        found = jobs.list_jobs(services, who, status="dead", kind=kind, limit=limit)
        data = [job_out(j) for j in found]

        def human() -> None:
            if not data:
                click.echo("no dead letters")
            for j in data:
                click.echo(
                    f"{j['id']}  {j['kind']:<24} attempts {j['attempts']}/{j['max_attempts']}  "
                    f"{(j['last_error'] or '')[:80]}"
                )

        _emit(as_json, data, human)


@dlq.command("redrive")
@click.argument("job_ids", nargs=-1, metavar="[JOB]...")
@click.option("--kind", default=None, help="Every dead letter of this kind.")
@click.option("--all", "everything", is_flag=True, help="Every dead letter of the workspace.")
@WORKSPACE
@JSON
def dlq_redrive(
    job_ids: tuple[str, ...],
    kind: str | None,
    everything: bool,
    workspace_id: str | None,
    as_json: bool,
) -> None:
    """Put dead letters back on their queue, now, with fresh attempts."""
    from pigeon.services import jobs

    with _services() as services:
        who = _principal(services, workspace_id)
        ids = jobs.redrive(services, who, _dead_filter(job_ids, kind, everything))
        data = {"redriven": len(ids), "job_ids": ids}
        _emit(as_json, data, lambda: click.echo(f"re-drove {len(ids)} jobs"))


@dlq.command("purge")
@click.argument("job_ids", nargs=-1, metavar="[JOB]...")
@click.option("--kind", default=None, help="Every dead letter of this kind.")
@click.option("--all", "everything", is_flag=True, help="Every dead letter of the workspace.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@WORKSPACE
@JSON
def dlq_purge(
    job_ids: tuple[str, ...],
    kind: str | None,
    everything: bool,
    yes: bool,
    workspace_id: str | None,
    as_json: bool,
) -> None:
    """Delete dead letters for good."""
    from pigeon.services import jobs

    where = _dead_filter(job_ids, kind, everything)
    if not yes and not click.confirm("Delete these dead letters for good?", default=False):
        raise click.Abort()
    with _services() as services:
        who = _principal(services, workspace_id)
        ids = jobs.purge(services, who, where)
        data = {"purged": len(ids), "job_ids": ids}
        _emit(as_json, data, lambda: click.echo(f"purged {len(ids)} jobs"))


@main.command("imap-listen")
@click.option(
    "--webhook-url",
    default=None,
    metavar="URL",
    help="POST pointers to this pigeon webhook (.../webhooks/imap/<channel id>) instead of "
    "enqueueing them: a listener without database access.",
)
@click.option("--host", default=None, help="The IMAP server (with --webhook-url).")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Default: 993, or 143 with --no-tls.",
)
@click.option(
    "--tls/--no-tls",
    default=True,
    help="Implicit TLS (default); --no-tls upgrades with STARTTLS where offered.",
)
@click.option("--username", default=None, help="The IMAP user (with --webhook-url).")
@click.option(
    "--password", envvar="PIGEON_IMAP_PASSWORD", default=None, help="Or PIGEON_IMAP_PASSWORD."
)
@click.option(
    "--shared-secret",
    envvar="PIGEON_IMAP_SHARED_SECRET",
    default=None,
    help="The channel's shared_secret; or PIGEON_IMAP_SHARED_SECRET.",
)
@click.option(
    "--mailbox", "mailboxes", multiple=True, help="A mailbox to watch; repeat for more (INBOX)."
)
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --webhook-url: keep the cursors here, so that a restart catches up.",
)
@click.option(
    "--poll-seconds",
    type=click.FloatRange(min=1.0),
    default=30.0,
    show_default=True,
    help="How often to poll a server without IDLE.",
)
@click.option("--no-idle", is_flag=True, help="Poll even where the server offers IDLE.")
@click.option("--once", is_flag=True, help="Catch every mailbox up once, then exit (cron).")
def imap_listen(
    webhook_url: str | None,
    host: str | None,
    port: int | None,
    tls: bool,
    username: str | None,
    password: str | None,
    shared_secret: str | None,
    mailboxes: tuple[str, ...],
    state_file: Path | None,
    poll_seconds: float,
    no_idle: bool,
    once: bool,
) -> None:
    """Watch IMAP mailboxes: each new message becomes a pointer job.

    Without --webhook-url: every enabled IMAP channel of the database, enqueued directly (as
    `pigeon serve` and `pigeon worker` do unless PIGEON_IMAP_LISTENER=off). With it: the one
    account given here, its pointers POSTed to that channel's webhook with its shared secret.
    """
    import signal
    import threading

    from pigeon import log
    from pigeon.providers import imap_listener as listener
    from pigeon.providers.imap import Account

    log.setup(_settings().log_level)
    options = listener.Options(use_idle=not no_idle, poll_seconds=poll_seconds)

    def report(done: dict[str, int]) -> None:
        for name, count in done.items():
            click.echo(f"{name}: " + ("failed (see the log)" if count < 0 else f"{count} new"))
        if any(count < 0 for count in done.values()):
            raise click.exceptions.Exit(1)

    if webhook_url is None:
        with _services() as services:
            if once:
                report(listener.catch_up_direct(services, options))
                return

            _until_signalled(listener.ListenerWorker(services, options).run)
        return

    given = {"--host": host, "--username": username, "--password": password}
    missing = [
        name for name, value in {**given, "--shared-secret": shared_secret}.items() if not value
    ]
    if missing:
        raise click.UsageError(f"--webhook-url needs {', '.join(missing)}")
    if once and state_file is None:
        # Without cursors kept between runs, each run would start at new mail and find none.
        raise click.UsageError("--once with --webhook-url needs --state-file")
    account = Account.with_defaults(
        host=str(host),
        port=port,
        tls=tls,
        username=str(username),
        password=str(password),
        mailboxes=mailboxes,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    report(
        listener.run_webhook(
            webhook_url,
            str(shared_secret),
            account,
            stop=stop,
            state_file=state_file,
            options=options,
            once=once,
        )
    )
