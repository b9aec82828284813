"""Command line: parse, build the container, call one service, render.

Commands act directly on the database named by PIGEON_DATABASE_URL, in the workspace given
by --workspace (default: the only or first workspace). Human output by default; --json for
scripts.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from pigeon import bootstrap, log
from pigeon.api.v1.render import device_out, event_out, key_out, message_out
from pigeon.config import Settings, load_settings
from pigeon.domain.accounts import Scope
from pigeon.errors import PigeonError
from pigeon.services import admin, messages
from pigeon.services.context import Principal
from pigeon.store import accounts as account_store
from pigeon.store.messages import MessageFilter

JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
WORKSPACE = click.option("--workspace", "workspace_id", help="Workspace id (default: the first).")


def _settings() -> Settings:
    try:
        return load_settings()
    except ValueError as error:
        raise click.ClickException(f"configuration: {error}") from None


@contextmanager
def _container() -> Iterator[bootstrap.Container]:
    container = bootstrap.build(_settings(), pool_size=2)
    try:
        yield container
    except PigeonError as error:
        raise click.ClickException(error.message) from None
    finally:
        container.close()


def _principal(container: bootstrap.Container, workspace_id: str | None) -> Principal:
    if workspace_id is None:
        with container.db.transaction(readonly=True) as uow:
            first = account_store.first_workspace(uow)
        if first is None:
            raise click.ClickException(
                "no workspace yet: run `pigeon serve` once; its first start creates one"
            )
        workspace_id = first.id
    return Principal(workspace_id, "cli", frozenset({Scope.ADMIN}))


def _emit(as_json: bool, data: Any, human: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(data, default=str, indent=2))
    else:
        human()


class _Commands(click.Group):
    """Imports a heavy subcommand only when it runs, so that every other `pigeon` command (and
    the tests that start many) does not pay for it at start."""

    LAZY = {"extract": "pigeon.extract.command:extract"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY and cmd_name not in self.commands:
            module, _, attribute = self.LAZY[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands)
@click.version_option(package_name="pigeon")
def main() -> None:
    """pigeon: reliable outbound messaging and follow-ups."""


@main.command()
@JSON
def migrate_cmd(as_json: bool) -> None:
    """Apply database migrations."""
    from pigeon.store import migrate

    settings = _settings()
    migrate.upgrade(settings.database_url)
    revision = migrate.current_revision(settings.database_url)
    _emit(as_json, {"revision": revision}, lambda: click.echo(f"database at revision {revision}"))


migrate_cmd.name = "migrate"


SHUTDOWN_GRACE_SECONDS = 10


def _server_class() -> type[Any]:
    import uvicorn

    class Server(uvicorn.Server):
        """Tells the app that shutdown began, before waiting for open responses: event
        streams and waiting claims end then, instead of holding SIGTERM up indefinitely."""

        def __init__(self, config: uvicorn.Config, *, closing: asyncio.Event) -> None:
            super().__init__(config)
            self._closing = closing

        async def shutdown(self, sockets: list[Any] | None = None) -> None:
            self._closing.set()
            await super().shutdown(sockets=sockets)

    return Server


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
    import uvicorn

    from pigeon.api.app import create_app
    from pigeon.store import migrate

    settings = _settings()
    log.setup(settings.log_level)
    migrate.upgrade(settings.database_url)
    container = bootstrap.build(settings)
    first = admin.first_run(container.services)
    if first.operator_token:
        click.echo(f"Operator token (shown once): {first.operator_token}")
    if first.workspace:
        ws = first.workspace
        click.echo(f"Created workspace {ws.workspace.name!r} ({ws.workspace.id})")
        click.echo(f"Admin API key (shown once): {ws.api_key}")
    host = host or settings.host
    port = settings.port if port is None else port
    app = create_app(container, run_workers=not no_workers)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,  # a backstop; see _Server
    )
    server = _server_class()(config, closing=app.state.closing)

    async def _announce_then_serve() -> None:
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        if server.started:
            bound = server.servers[0].sockets[0].getsockname()
            click.echo(f"pigeon listening on http://{bound[0]}:{bound[1]}", err=False)
            sys.stdout.flush()
        await serving

    try:
        asyncio.run(_announce_then_serve())
    finally:
        container.close()


@main.command()
@click.option("--once", is_flag=True, help="Run one pass and exit (for tests and cron).")
def worker(once: bool) -> None:
    """Run the workers (release due messages, expire leases, send push channels)."""
    from pigeon.workers import supervisor
    from pigeon.workers.scheduler import Scheduler
    from pigeon.workers.sender import SenderWorker

    settings = _settings()
    log.setup(settings.log_level)
    with _container() as container:
        if once:
            released = Scheduler(container.services, container.bus).tick()
            sender = SenderWorker(container.services, container.bus, container.senders)
            sent = asyncio.run(sender.run_once())
            click.echo(f"released {released} messages, sent {sent} through push channels")
            return

        async def _run() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await container.bus.start()
            try:
                await supervisor.run_workers(container, stop)
            finally:
                await container.bus.stop()

        asyncio.run(_run())


def _parse_at(value: str | None, timezone: str) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "expected ISO 8601, e.g. 2030-01-01T09:00", param_hint="--at"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(timezone))  # naive means the workspace's zone
    return when


@main.command()
@click.option("--to", "recipient", required=True, help="E.164 phone number or email.")
@click.option("--body", required=True, help="Message text.")
@click.option("--at", "at", default=None, help="When (ISO 8601; naive = workspace zone).")
@click.option("--channel", "channel_id", default=None, help="Channel id (default channel).")
@click.option("--device", "device_id", default=None, help="Device id to send through.")
@WORKSPACE
@JSON
def send(
    recipient: str,
    body: str,
    at: str | None,
    channel_id: str | None,
    device_id: str | None,
    workspace_id: str | None,
    as_json: bool,
) -> None:
    """Schedule a message."""
    with _container() as container:
        who = _principal(container, workspace_id)
        workspace = admin.get_workspace(container.services, who.workspace_id)
        request = messages.NewMessage(
            recipient=recipient,
            body=body,
            scheduled_for=_parse_at(at, workspace.timezone),
            channel_id=channel_id,
            device_id=device_id,
        )
        created = messages.create(container.services, who, request, message_out)
        data = created.body
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
    with _container() as container:
        who = _principal(container, workspace_id)
        svc = container.services
        if message_id:
            found = messages.get(svc, who, message_id)
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
        counts = messages.count_by_status(svc, who)
        recent = messages.list_(svc, who, MessageFilter(), limit=limit)
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
    with _container() as container:
        who = _principal(container, workspace_id)
        created = admin.create_device(container.services, who, name=name, channel_id=channel_id)
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
    with _container() as container:
        who = _principal(container, workspace_id)
        data = [device_out(d) for d in admin.list_devices(container.services, who)]

        def human() -> None:
            for d in data:
                state = (
                    "revoked" if d["revoked_at"] else f"last seen {d['last_seen_at'] or 'never'}"
                )
                click.echo(f"{d['id']}  {d['name']:<20} {d['prefix']}…  {state}")

        _emit(as_json, data, human)


@devices.command("revoke")
@click.argument("device_id")
@WORKSPACE
@JSON
def devices_revoke(device_id: str, workspace_id: str | None, as_json: bool) -> None:
    """Revoke a device's token."""
    with _container() as container:
        admin.revoke_device(container.services, _principal(container, workspace_id), device_id)
        data = {"id": device_id, "revoked": True}
        _emit(as_json, data, lambda: click.echo(f"revoked device {device_id}"))


@main.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    default=["send"],
    show_default=True,
    type=click.Choice([s.value for s in Scope]),
    help="Repeat for several.",
)
@WORKSPACE
@JSON
def keys_create(
    name: str, scopes: tuple[str, ...], workspace_id: str | None, as_json: bool
) -> None:
    """Create an API key; prints it once."""
    with _container() as container:
        who = _principal(container, workspace_id)
        created = admin.create_key(
            container.services, who, name=name, scopes=admin.parse_scopes(list(scopes))
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
    with _container() as container:
        data = [
            key_out(k)
            for k in admin.list_keys(container.services, _principal(container, workspace_id))
        ]

        def human() -> None:
            for k in data:
                state = "revoked" if k["revoked_at"] else "active"
                click.echo(
                    f"{k['id']}  {k['name']:<20} {k['prefix']}…  "
                    f"{' '.join(k['scopes']):<10} {state}"
                )

        _emit(as_json, data, human)


@keys.command("revoke")
@click.argument("key_id")
@WORKSPACE
@JSON
def keys_revoke(key_id: str, workspace_id: str | None, as_json: bool) -> None:
    """Revoke an API key."""
    with _container() as container:
        admin.revoke_key(container.services, _principal(container, workspace_id), key_id)
        data = {"id": key_id, "revoked": True}
        _emit(as_json, data, lambda: click.echo(f"revoked key {key_id}"))
