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
from typing import TYPE_CHECKING, NoReturn

from pigeon.domain.accounts import ApiKey, Device, Scope, grants
from pigeon.domain.ids import hash_secret
from pigeon.errors import AuthError, PermissionDenied
from pigeon.services.context import Principal, Services
from pigeon.store import accounts

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pigeon.store.database import UnitOfWork


def operator(svc: Services, token: str | None) -> str:
    """Accept the configured operator token or one stored at first start; returns the actor."""
    if not token:
        raise AuthError("an operator token is required")
    configured = svc.settings.operator_token
    if configured is not None and hmac.compare_digest(hash_secret(token), hash_secret(configured)):
        return "operator"
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
    if not token:
        raise AuthError("an API key is required (Authorization: Bearer <key>)")
    digest = hash_secret(token)
    key = svc.credentials.keys.get(digest)
    if key is None:
        with svc.db.transaction(readonly=True) as uow:
            key = accounts.api_key_by_hash(uow, digest)
        if key is None or key.revoked_at is not None:
            raise AuthError("invalid or revoked API key")
        svc.credentials.keys.put(digest, key)
    return _principal(key, needed)


def device(svc: Services, token: str | None) -> Device:
    if not token:
        raise AuthError("a device token is required (Authorization: Bearer <token>)")
    digest = hash_secret(token)
    found = svc.credentials.devices.get(digest)
    if found is None:
        with svc.db.transaction(readonly=True) as uow:
            found = accounts.device_by_hash(uow, digest)
        if found is None or found.revoked_at is not None:
            raise AuthError("invalid or revoked device token")
        svc.credentials.devices.put(digest, found)
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
