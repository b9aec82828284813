"""The agent's composition root: settings in, a running Agent out (and `doctor`'s checks).

Everything the agent is made of is built here, once: the driver, the journal, the server
(on pigeon.client), inbound sync when chat.db is to be read.
"""

from __future__ import annotations

import sqlite3
import sys
from typing import TYPE_CHECKING

from pigeon.gateway.agent import Agent
from pigeon.gateway.clientserver import ClientServer
from pigeon.gateway.drivers import build_driver
from pigeon.gateway.inbound import InboundSync
from pigeon.gateway.journal import Journal, JournalInUse

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pigeon.errors import ConfigError
    from pigeon.gateway.doctor import Check
    from pigeon.gateway.settings import AgentSettings


class StartError(Exception):
    """The agent cannot start (its journal cannot be opened)."""


async def build(settings: AgentSettings) -> Agent:
    try:
        journal = Journal(settings.journal)
    except JournalInUse as error:
        raise StartError(str(error)) from None
    except (OSError, sqlite3.Error) as error:
        raise StartError(f"cannot open the journal {settings.journal}: {error}") from None
    driver = build_driver(
        settings.driver,
        osascript=settings.osascript,
        sms_fallback=settings.sms_fallback,
        command=settings.command,
        timeout=settings.send_timeout,
        stream=sys.stdout,
    )
    server = ClientServer(settings.url, settings.token, poll_seconds=settings.poll_seconds)
    inbound = (
        InboundSync(settings.chat_db, journal, server) if settings.chat_db is not None else None
    )
    return Agent(settings, server, driver, journal, inbound)


async def close(agent: Agent) -> None:
    await agent.server.aclose()
    if agent.inbound is not None:
        agent.inbound.close()
    agent.journal.close()


def diagnose(overrides: Mapping[str, str]) -> list[Check]:
    """doctor's checks, each independent of the others' outcome."""
    import asyncio

    from pigeon.errors import ConfigError
    from pigeon.gateway import doctor
    from pigeon.gateway.settings import load

    try:
        settings = load(overrides=overrides)
    except ConfigError as error:
        return [doctor.Check("configuration", False, str(error), fix=_config_fix(error))]
    checks = [
        doctor.Check("configuration", True, f"{settings.driver} driver, {settings.url}"),
        _check_journal(settings),
    ]
    if settings.driver == "messages":
        checks.append(doctor.check_automation(settings.osascript))
    if settings.chat_db is not None:  # inbound sync reads it
        checks.append(doctor.check_full_disk_access(settings.chat_db))

    def heartbeat() -> object:
        async def beat() -> None:
            server = ClientServer(settings.url, settings.token, poll_seconds=0, retries=0)
            try:
                await server.heartbeat()
            finally:
                await server.aclose()

        return asyncio.run(beat())

    checks.append(doctor.check_server(heartbeat))
    return checks


def _config_fix(error: ConfigError) -> str:
    return f"set {error.variable} (see `pigeon gateway --help`)"


def _check_journal(settings: AgentSettings) -> Check:
    from pigeon.gateway import doctor

    try:
        Journal(settings.journal).close()
    except JournalInUse as error:
        return doctor.Check("journal", True, f"{settings.journal}: {error}")
    except (OSError, sqlite3.Error) as error:
        return doctor.Check(
            "journal",
            False,
            f"cannot open {settings.journal}: {error}",
            fix="set PIGEON_GATEWAY_JOURNAL to a file in a directory this user can write",
        )
    return doctor.Check("journal", True, str(settings.journal))
