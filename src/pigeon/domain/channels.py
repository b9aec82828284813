"""Channels: the ways pigeon sends and receives. Pull channels are served by devices that
claim work; push channels by a sender; mailbox channels (Microsoft Graph, Gmail, IMAP) bring
inbound mail in through the job engine."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pigeon.errors import ValidationError


class ChannelKind(StrEnum):
    GATEWAY = "gateway"  # pull: devices (a Mac signed into iMessage) claim work
    CONSOLE = "console"  # push: prints messages; for development
    WHATSAPP = "whatsapp"
    SMTP = "smtp"
    TWILIO = "twilio"
    MSGRAPH = "msgraph"  # inbound: Microsoft 365 mailboxes through Graph change notifications
    GMAIL = "gmail"  # inbound: a Gmail mailbox through Pub/Sub push
    IMAP = "imap"  # inbound: any IMAP mailbox through `pigeon imap-listen`


PULL_KINDS = frozenset({ChannelKind.GATEWAY})
MAILBOX_KINDS = frozenset({ChannelKind.MSGRAPH, ChannelKind.GMAIL, ChannelKind.IMAP})


@dataclass(frozen=True)
class ConfigSpec:
    """The config keys of a channel kind. Secret keys are sealed at rest and never returned;
    `generated` secrets are made by pigeon when not given (a webhook's shared secret)."""

    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    secret: frozenset[str] = frozenset()
    generated: frozenset[str] = frozenset()
    lists: frozenset[str] = frozenset()  # lists of strings
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def known(self) -> frozenset[str]:
        return self.required | self.optional | self.generated


CONFIG_SPECS: dict[ChannelKind, ConfigSpec] = {
    ChannelKind.MSGRAPH: ConfigSpec(
        required=frozenset({"tenant_id", "client_id", "client_secret", "mailboxes"}),
        optional=frozenset({"api_base_url", "login_base_url"}),
        secret=frozenset({"client_secret", "client_state"}),
        generated=frozenset({"client_state"}),
        lists=frozenset({"mailboxes"}),
    ),
    ChannelKind.GMAIL: ConfigSpec(
        required=frozenset({"mailbox", "service_account_email", "credentials"}),
        optional=frozenset({"audience", "api_base_url", "topic"}),
        secret=frozenset({"credentials"}),
    ),
    ChannelKind.IMAP: ConfigSpec(
        required=frozenset({"host", "username", "password"}),
        optional=frozenset({"port", "tls", "mailboxes"}),
        secret=frozenset({"password", "shared_secret"}),
        generated=frozenset({"shared_secret"}),
        lists=frozenset({"mailboxes"}),
        defaults={"tls": True, "mailboxes": ["INBOX"]},
    ),
}

MAX_MAILBOXES = 50
PUBSUB_TOPIC = re.compile(r"projects/[^/\s]+/topics/[^/\s]+")


def split_config(
    kind: ChannelKind, config: dict[str, Any], *, partial: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a mailbox channel's config; return (public part, secret part). `partial`: an
    update, where the keys given replace those stored and the others stay."""
    spec = CONFIG_SPECS[kind]
    unknown = sorted(set(config) - spec.known)
    if unknown:
        raise ValidationError.field(
            f"config.{unknown[0]}", f"unknown key; {kind} takes {', '.join(sorted(spec.known))}"
        )
    if not partial:
        missing = sorted(spec.required - set(config))
        if missing:
            raise ValidationError.field(f"config.{missing[0]}", "required")
        config = {**spec.defaults, **config}
    for key, value in config.items():
        _check_value(kind, key, value, spec)
    public = {k: v for k, v in config.items() if k not in spec.secret}
    secret = {k: v for k, v in config.items() if k in spec.secret}
    return public, secret


def _check_value(kind: ChannelKind, key: str, value: Any, spec: ConfigSpec) -> None:
    name = f"config.{key}"
    if key in spec.lists:
        if (
            not isinstance(value, list)
            or not 1 <= len(value) <= MAX_MAILBOXES
            or not all(isinstance(v, str) and 0 < len(v) <= 320 for v in value)
        ):
            raise ValidationError.field(name, f"expected 1 to {MAX_MAILBOXES} names")
    elif key == "port":
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
            raise ValidationError.field(name, "expected a port number")
    elif key == "tls":
        if not isinstance(value, bool):
            raise ValidationError.field(name, "expected true or false")
    elif key == "credentials":
        _check_google_credentials(value)
    elif not isinstance(value, str) or not value.strip() or len(value) > 2000:
        raise ValidationError.field(name, "expected a non-empty string")
    elif any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValidationError.field(name, "must not contain control characters")
    elif key == "topic" and not PUBSUB_TOPIC.fullmatch(value):
        raise ValidationError.field(name, "expected projects/PROJECT/topics/TOPIC")
    elif key.endswith("_url") and not value.startswith(("https://", "http://")):
        raise ValidationError.field(name, "expected an http(s) URL")
    elif key in {"client_state", "shared_secret"} and len(value) < 16:
        raise ValidationError.field(name, "must be at least 16 characters")
    elif key == "client_state" and len(value) > 128:
        raise ValidationError.field(name, "Graph takes at most 128 characters")


GOOGLE_CREDENTIAL_KEYS = {
    "service_account": ("client_email", "private_key", "token_uri"),
    "authorized_user": ("client_id", "client_secret", "refresh_token"),
}


def _check_google_credentials(value: Any) -> None:
    """A service-account key (with domain-wide delegation) or an OAuth client with a refresh
    token, as Google's JSON files spell them."""
    if not isinstance(value, dict):
        raise ValidationError.field("config.credentials", "expected a JSON object")
    kind = value.get("type")
    if kind not in GOOGLE_CREDENTIAL_KEYS:
        raise ValidationError.field(
            "config.credentials.type", "expected service_account or authorized_user"
        )
    for key in GOOGLE_CREDENTIAL_KEYS[kind]:
        if not isinstance(value.get(key), str) or not value[key]:
            raise ValidationError.field(f"config.credentials.{key}", "required")


class LeaseExpiryPolicy(StrEnum):
    """What happens to a claimed message whose lease runs out without a report."""

    UNKNOWN = "unknown"  # the send may have happened: a person decides
    RETRY = "retry"  # back to queued; for channels where a duplicate is harmless
