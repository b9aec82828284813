"""Turning bearer secrets into principals. Every check hashes the presented secret and looks
the hash up, so no comparison ever touches a plaintext secret."""

from __future__ import annotations

import hmac

from pigeon.domain.accounts import Device, Scope, grants
from pigeon.domain.ids import hash_secret
from pigeon.errors import AuthError, PermissionDenied
from pigeon.services.context import Principal, Services
from pigeon.store import accounts


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


def api_key(svc: Services, token: str | None, needed: Scope) -> Principal:
    if not token:
        raise AuthError("an API key is required (Authorization: Bearer <key>)")
    with svc.db.transaction(readonly=True) as uow:
        key = accounts.api_key_by_hash(uow, hash_secret(token))
    if key is None or key.revoked_at is not None:
        raise AuthError("invalid or revoked API key")
    if not grants(key.scopes, needed):
        raise PermissionDenied(f"this key lacks the {needed} scope")
    return Principal(key.workspace_id, f"key:{key.id}", frozenset(key.scopes))


def device(svc: Services, token: str | None) -> Device:
    if not token:
        raise AuthError("a device token is required (Authorization: Bearer <token>)")
    with svc.db.transaction(readonly=True) as uow:
        found = accounts.device_by_hash(uow, hash_secret(token))
    if found is None or found.revoked_at is not None:
        raise AuthError("invalid or revoked device token")
    return found
