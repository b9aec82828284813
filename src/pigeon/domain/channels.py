"""Channels: the ways pigeon sends. Pull channels are served by devices that claim work."""

from __future__ import annotations

from enum import StrEnum


class ChannelKind(StrEnum):
    GATEWAY = "gateway"  # pull: devices (a Mac signed into iMessage) claim work
    CONSOLE = "console"  # push: prints messages; for development
    WHATSAPP = "whatsapp"
    SMTP = "smtp"
    TWILIO = "twilio"


PULL_KINDS = frozenset({ChannelKind.GATEWAY})


class LeaseExpiryPolicy(StrEnum):
    """What happens to a claimed message whose lease runs out without a report."""

    UNKNOWN = "unknown"  # the send may have happened: a person decides
    RETRY = "retry"  # back to queued; for channels where a duplicate is harmless
