"""Turning bearer secrets into principals. Every check hashes the presented secret and looks
the hash up, so no comparison ever touches a plaintext secret.

A request is authenticated twice, cheaply: before its body is read, against a small cache of
secrets verified lately (a miss reads the database), so an unknown token costs no parsing;
then inside the transaction that does its work (`acting`, and the device checks in
services/gateway), so a key or device revoked a moment ago can do nothing more, whatever any
cache of any process still holds.
"""

from __future__ import annotations

import hmac
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn, TypeVar

from pigeon.domain.accounts import ApiKey, Device, Scope, grants
from pigeon.domain.ids import hash_secret
from pigeon.errors import AuthError, PermissionDenied
from pigeon.services.context import Principal, Services
from pigeon.store import accounts

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pigeon.services.recent import Recent
    from pigeon.store.database import UnitOfWork

T = TypeVar("T", ApiKey, Device)


def operator(svc: Services, token: str | None) -> str:
    """Accept the configured operator token or, when none is configured, the one generated
    at first start; returns the actor. Configuring one retires the generated one."""
    if not token:
        raise AuthError("an operator token is required")
    configured = svc.settings.operator_token
    if configured is not None:
        if hmac.compare_digest(hash_secret(token), hash_secret(configured)):
            return "operator"
        raise AuthError("invalid operator token")
    with svc.db.transaction(readonly=True) as uow:
        if accounts.operator_token_exists(uow, hash_secret(token)):
            return "operator"
    raise AuthError("invalid operator token")


def cached_api_key(svc: Services, token: str | None, needed: Scope) -> Principal | None:
    """The principal of a key verified lately, without touching the database; else None."""
    key = svc.credentials.keys.get(hash_secret(token)) if token else None
    return None if key is None else _principal(key, needed)


def cached_device(svc: Services, token: str | None) -> Device | None:
    return svc.credentials.devices.get(hash_secret(token)) if token else None


def _principal(key: ApiKey, needed: Scope) -> Principal:
    if not grants(key.scopes, needed):
        raise PermissionDenied(f"this key lacks the {needed} scope")
    return Principal(key.workspace_id, f"key:{key.id}", frozenset(key.scopes), key_id=key.id)


def api_key(svc: Services, token: str | None, needed: Scope) -> Principal:
    keys = svc.credentials.keys
    key = _verified(svc, keys, token, accounts.api_key_by_hash, "API key", "<key>")
    return _principal(key, needed)


def device(svc: Services, token: str | None) -> Device:
    devices = svc.credentials.devices
    return _verified(svc, devices, token, accounts.device_by_hash, "device token", "<token>")


def _verified(
    svc: Services,
    recent: Recent[T],
    token: str | None,
    by_hash: Callable[[UnitOfWork, str], T | None],
    what: str,
    placeholder: str,
) -> T:
    """The key or device `token` names: from `recent`, or read and then kept there."""
    if not token:
        article = "an" if what[0] in "AEIOU" else "a"
        raise AuthError(f"{article} {what} is required (Authorization: Bearer {placeholder})")
    digest = hash_secret(token)
    found = recent.get(digest)
    if found is None:
        with svc.db.transaction(readonly=True) as uow:
            found = by_hash(uow, digest)
        if found is None or found.revoked_at is not None:
            raise AuthError(f"invalid or revoked {what}")
        recent.put(digest, found)
    return found


def still_valid(svc: Services, uow: UnitOfWork, who: Principal) -> None:
    """Refuse, inside the caller's transaction, a principal whose key has been revoked.
    (Creating messages folds this check into its first read: store/intake.py.)"""
    if who.key_id is not None and not accounts.api_key_active(uow, who.key_id):
        refuse_revoked(svc, who)


def refuse_revoked(svc: Services, who: Principal) -> NoReturn:
    if who.key_id is not None:
        svc.credentials.forget(who.key_id)
    raise AuthError("invalid or revoked API key")


def check_still_valid(svc: Services, who: Principal) -> None:
    """Refuse a principal whose key has been revoked (a read of its own)."""
    with acting(svc, who, readonly=True):
        pass


@contextmanager
def acting(svc: Services, who: Principal, *, readonly: bool = False) -> Iterator[UnitOfWork]:
    """A unit of work on behalf of `who`, whose key is checked again inside it."""
    with svc.db.transaction(readonly=readonly) as uow:
        still_valid(svc, uow, who)
        yield uow
