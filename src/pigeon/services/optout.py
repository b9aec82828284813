"""Opt-out keywords: a workspace's keyword configuration, and what an inbound message that
is a keyword does.

STOP opts the sender out of the channel the message came in on, START opts them back in,
HELP is answered. Each consent change writes its audit event in the transaction that makes
it. Handling is idempotent: a second STOP changes nothing and is not audited again, and a
HELP handed over twice with the same `inbound_id` is answered once (its reply's
idempotency key).

Mail consumed by services/inbound is NOT handed here: a mailbox channel (Graph, Gmail,
IMAP) sends nothing, so an opt-out of it would suppress nothing, and an email's text
(quotes, signatures) is almost never a bare keyword. Email unsubscription belongs to the
sending side (List-Unsubscribe).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pigeon.domain.accounts import Scope
from pigeon.domain.handles import normalize_handle
from pigeon.domain.optout import DEFAULT, REPLY_META_KEY, SETTING_KEY, Action, Config, classify
from pigeon.errors import ValidationError
from pigeon.services import auth, messages
from pigeon.services.context import Principal
from pigeon.store import accounts, consent, settings

if TYPE_CHECKING:
    from pigeon.domain.optout import Match
    from pigeon.services.context import Services
    from pigeon.store.database import UnitOfWork

log = logging.getLogger(__name__)

# Keyword replies keep their idempotency records apart from the API's keys.
IDEMPOTENCY_SCOPE = "opt_out"


def get_config(svc: Services, who: Principal) -> Config:
    with auth.acting(svc, who, readonly=True) as uow:
        return config_of(uow, who.workspace_id)


def put_config(svc: Services, who: Principal, value: Any) -> Config:
    """Replace the workspace's keyword configuration; every bad field is named."""
    config = Config.from_json(value)
    with auth.acting(svc, who) as uow:
        settings.put(uow, who.workspace_id, SETTING_KEY, config.to_json())
        accounts.audit(
            uow,
            workspace_id=who.workspace_id,
            actor=who.actor,
            action="opt_out_keywords_updated",
            subject_type="workspace",
            subject_id=who.workspace_id,
            at=uow.now,
            detail={"languages": [code for code, _ in config.languages]},
        )
    return config


def config_of(uow: UnitOfWork, workspace_id: str) -> Config:
    """The workspace's configuration; the default when it has set none."""
    stored = settings.get(uow, workspace_id, SETTING_KEY)
    return DEFAULT if stored is None else Config.from_json(stored)


def handle_inbound(
    svc: Services,
    workspace_id: str,
    channel_id: str,
    sender_handle: str,
    text: str,
    *,
    actor: str,
    uow: UnitOfWork | None = None,
    device_id: str | None = None,
    inbound_id: str | None = None,
) -> Match | None:
    """Act on an inbound message if it is a keyword; returns the keyword matched.

    With `uow`, inside the caller's transaction (the one that stores the inbound message);
    otherwise in one of its own. A reply (HELP's answer, a confirmation) goes to the sender
    on the same channel, through `device_id` when given (the device that received the
    message: on iMessage, the same Apple ID answers); `inbound_id` makes it idempotent.
    """
    if uow is None:
        with svc.db.transaction() as own:
            return _handle(
                svc,
                own,
                workspace_id,
                channel_id,
                sender_handle,
                text,
                actor,
                device_id,
                inbound_id,
            )
    return _handle(
        svc, uow, workspace_id, channel_id, sender_handle, text, actor, device_id, inbound_id
    )


def _handle(
    svc: Services,
    uow: UnitOfWork,
    workspace_id: str,
    channel_id: str,
    sender_handle: str,
    text: str,
    actor: str,
    device_id: str | None,
    inbound_id: str | None,
) -> Match | None:
    config = config_of(uow, workspace_id)
    match = classify(text, config)
    if match is None:
        return None
    try:
        handle = normalize_handle(sender_handle, field="from")
    except ValidationError:
        return None  # a short code or a sender name: nothing can be sent to it anyway
    changed = False
    if match.action is Action.STOP:
        changed = consent.opt_out(
            uow, workspace_id, channel_id, handle, source="keyword", keyword=match.keyword
        )
    elif match.action is Action.START:
        changed = consent.opt_in(uow, workspace_id, channel_id, handle)
    if changed:
        accounts.audit(
            uow,
            workspace_id=workspace_id,
            actor=actor,
            action="opted_out" if match.action is Action.STOP else "opted_in",
            subject_type="channel",
            subject_id=channel_id,
            at=uow.now,
            detail={
                "handle": handle,
                "keyword": match.keyword,
                "language": match.language,
                "source": "keyword",
                "inbound_id": inbound_id,
            },
        )
    log.info(
        "opt-out keyword received",
        extra={
            "action": f"keyword_{match.action.value}",
            "workspace_id": workspace_id,
            "channel_id": channel_id,
            "changed": changed,
        },
    )
    language = config.language(match.language)
    reply = language.reply(match.action) if language is not None else None
    # HELP is always answered; a confirmation only when consent changed (a second STOP is
    # not confirmed twice).
    if reply is not None and (match.action is Action.HELP or changed):
        _reply(svc, uow, workspace_id, channel_id, device_id, handle, reply, match, inbound_id)
    return match


def _reply(
    svc: Services,
    uow: UnitOfWork,
    workspace_id: str,
    channel_id: str,
    device_id: str | None,
    handle: str,
    body: str,
    match: Match,
    inbound_id: str | None,
) -> None:
    """Queue `body` to `handle` through the normal creation path, on the same channel.

    The reply carries the `pigeon.keyword_reply` meta key (REPLY_META_KEY), which only
    pigeon can set (services/messages refuses `pigeon.` keys from callers): the release
    gate lets such a message reach an opted-out handle, as Twilio answers HELP and confirms
    STOP whatever the sender's consent. Everything else to that handle stays suppressed.
    """
    who = Principal(workspace_id, f"keyword:{match.action.value}", frozenset({Scope.SEND}))
    request = messages.NewMessage(
        recipient=handle,
        body=body,
        channel_id=channel_id,
        device_id=device_id,
        idempotency_key=f"keyword-reply:{inbound_id}" if inbound_id else None,
    )
    try:
        messages.create_in(
            svc,
            uow,
            who,
            [request],
            scope=IDEMPOTENCY_SCOPE,
            marks={REPLY_META_KEY: match.action.value},
        )
    except ValidationError as error:
        # The channel was disabled, the device revoked, the text is longer than this
        # server's messages may be: the keyword still counts, the reply is not sent.
        # (Nothing was written: creation checks everything before it writes.)
        log.warning(
            "keyword reply not queued",
            extra={
                "action": "keyword_reply_refused",
                "workspace_id": workspace_id,
                "channel_id": channel_id,
                "reason": error.message,
            },
        )
