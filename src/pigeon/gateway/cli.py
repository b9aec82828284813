"""`pigeon gateway`: run the agent, check the Mac it runs on, install it as a LaunchAgent.

Options override the environment variables of the same meaning (see gateway/settings.py),
so a LaunchAgent can carry everything in its environment and a person can try things on
the command line.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click

OPTIONS = {
    "url": "PIGEON_URL",
    "token": "PIGEON_DEVICE_TOKEN",
    "name": "PIGEON_GATEWAY_NAME",
    "driver": "PIGEON_GATEWAY_DRIVER",
    "journal": "PIGEON_GATEWAY_JOURNAL",
    "chat_db": "PIGEON_CHAT_DB",
    "poll_seconds": "PIGEON_POLL_SECONDS",
}


@click.group(invoke_without_command=True)
@click.option("--url", help="The pigeon server [PIGEON_URL, API_BASE_URL].")
@click.option("--token", help="This device's token [PIGEON_DEVICE_TOKEN].")
@click.option("--name", help="A name for the logs [PIGEON_GATEWAY_NAME, GATEWAY_ID].")
@click.option(
    "--driver",
    type=click.Choice(["messages", "console", "command"]),
    help="How to send [PIGEON_GATEWAY_DRIVER; default messages on macOS].",
)
@click.option("--journal", help="The journal's file [PIGEON_GATEWAY_JOURNAL].")
@click.option("--chat-db", help="Messages' database for inbound sync [PIGEON_CHAT_DB].")
@click.option(
    "--poll-seconds", help="How long one claim waits for work, 0-60 [PIGEON_POLL_SECONDS]."
)
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
@click.pass_context
def gateway(
    ctx: click.Context,
    url: str | None,
    token: str | None,
    name: str | None,
    driver: str | None,
    journal: str | None,
    chat_db: str | None,
    poll_seconds: str | None,
    log_level: str,
) -> None:
    """Run the device gateway agent: claim messages from the server, send them (through
    Messages.app with the messages driver), report every result; push what the Mac
    receives. Stops cleanly on SIGTERM or Ctrl-C. Options go before a subcommand
    (`pigeon gateway --url URL doctor`)."""
    from pigeon.log import setup

    setup(log_level.upper())
    given = {
        "url": url,
        "token": token,
        "name": name,
        "driver": driver,
        "journal": journal,
        "chat_db": chat_db,
        "poll_seconds": poll_seconds,
    }
    ctx.obj = {OPTIONS[k]: v for k, v in given.items() if v is not None}
    if ctx.invoked_subcommand is None:
        ctx.invoke(run)


@gateway.command()
@click.pass_obj
def run(overrides: dict[str, str]) -> None:
    """Run the agent (what `pigeon gateway` alone does)."""
    from pigeon.gateway import runner

    settings = _settings(overrides)
    try:
        asyncio.run(_run(runner, settings))
    except runner.StartError as error:
        raise click.ClickException(str(error)) from None


async def _run(runner: Any, settings: Any) -> None:
    agent = await runner.build(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, agent.stop)
    try:
        await agent.run()
    finally:
        await runner.close(agent)


@gateway.command()
@click.pass_obj
def doctor(overrides: dict[str, str]) -> None:
    """Check Messages.app automation, Full Disk Access for chat.db and the server; say
    what to fix. Exits 1 when a check fails."""
    from pigeon.gateway import runner

    checks = runner.diagnose(overrides)
    from pigeon.gateway.doctor import render

    click.echo(render(checks))
    if not all(check.ok for check in checks):
        sys.exit(1)


@gateway.command("install-launchd")
@click.option("--path", "path", type=click.Path(path_type=Path), help="Where to write the plist.")
@click.option("--print", "print_only", is_flag=True, help="Print the plist instead.")
@click.pass_obj
def install_launchd(overrides: dict[str, str], path: Path | None, print_only: bool) -> None:
    """Write a LaunchAgent so the agent starts at login and restarts after a crash. It
    carries the agent's settings (the device token included: the file is made 0600)."""
    from pigeon.gateway import launchd
    from pigeon.gateway.settings import default_state_dir

    settings = _settings(overrides)
    environment = {**settings.environment, **overrides}
    program = [sys.executable, "-m", "pigeon", "gateway", "run"]
    plist = launchd.plist_for(program, environment, default_state_dir() / "logs")
    if print_only:
        click.echo(plist.decode())
        return
    target = path or launchd.default_path()
    launchd.install(target, plist)
    click.echo(f"Wrote {target}")
    click.echo(launchd.next_steps(target))


def _settings(overrides: dict[str, str]) -> Any:
    from pigeon.errors import ConfigError
    from pigeon.gateway.settings import load

    try:
        return load(overrides=overrides)
    except ConfigError as error:
        raise click.ClickException(f"configuration: {error}") from None


logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the agent's
