"""Drivers: how the agent sends (`messages`: Messages.app through osascript; `console`;
`command`: a program of your own)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pigeon.gateway.drivers.command import CommandDriver
from pigeon.gateway.drivers.console import ConsoleDriver
from pigeon.gateway.drivers.messages import MessagesDriver

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO

    from pigeon.gateway.drivers.protocols import Driver

NAMES = ("messages", "console", "command")


def build_driver(
    name: str,
    *,
    osascript: str,
    sms_fallback: bool,
    command: Sequence[str] | None,
    timeout: float,
    stream: TextIO | None = None,
) -> Driver:
    """The driver called `name`; `ValueError` for an unknown one or a command without a
    program."""
    if name == "messages":
        return MessagesDriver(osascript, sms_fallback=sms_fallback, timeout=timeout)
    if name == "console":
        return ConsoleDriver(stream)
    if name == "command":
        if not command or not command[0]:
            raise ValueError(
                "the command driver needs a program to run (set PIGEON_GATEWAY_COMMAND)"
            )
        return CommandDriver(command, timeout=timeout)
    raise ValueError(f"unknown driver {name!r}: choose one of {', '.join(NAMES)}")
