"""Workspaces, credentials and channels, on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from pigeon.config import Settings
from pigeon.domain.accounts import Scope
from pigeon.errors import AuthError, NotFound, PermissionDenied, ValidationError
from pigeon.services import admin, auth
from pigeon.services.context import Principal, Services
from pigeon.store.tables import api_keys, audit_events, devices, operator_tokens


def test_first_run_creates_a_workspace_and_operator_token_once(container: Services) -> None:
    svc = container
    first = admin.first_run(svc)
    assert first.workspace is not None and first.operator_token is not None
    assert auth.operator(svc, first.operator_token) == "operator"
    assert auth.api_key(svc, first.workspace.api_key, Scope.ADMIN).workspace_id == (
        first.workspace.workspace.id
    )
    again = admin.first_run(svc)
    assert again.workspace is None and again.operator_token is None


def test_configured_operator_token_is_used_and_none_is_generated(
    container: Services, settings: Settings
) -> None:
    from dataclasses import replace

    svc = replace(container, settings=replace(settings, operator_token="o" * 20))
    assert admin.first_run(svc).operator_token is None
    assert auth.operator(svc, "o" * 20) == "operator"
    with pytest.raises(AuthError):
        auth.operator(svc, "o" * 19)


def test_secrets_are_stored_hashed(container: Services, who: Principal) -> None:
    svc = container
    key = admin.create_key(svc, who, name="ci", scopes=frozenset({Scope.SEND}))
    device = admin.create_device(svc, who, name="mac")
    admin.first_run(svc)
    with container.db.engine.connect() as conn:
        stored = " ".join(
            str(value)
            for table in (api_keys, devices, operator_tokens)
            for row in conn.execute(sa.select(table)).all()
            for value in row
        )
    assert key.secret not in stored and device.secret not in stored
    assert key.item.prefix in stored


def test_scopes_are_enforced(container: Services, who: Principal) -> None:
    svc = container
    reader = admin.create_key(svc, who, name="r", scopes=frozenset({Scope.READ})).secret
    sender = admin.create_key(svc, who, name="s", scopes=frozenset({Scope.SEND})).secret
    assert auth.api_key(svc, reader, Scope.READ)
    assert auth.api_key(svc, sender, Scope.READ)
    with pytest.raises(PermissionDenied):
        auth.api_key(svc, reader, Scope.SEND)
    with pytest.raises(PermissionDenied):
        auth.api_key(svc, sender, Scope.ADMIN)


def test_revoked_credentials_stop_working(container: Services, who: Principal) -> None:
    svc = container
    key = admin.create_key(svc, who, name="k", scopes=frozenset({Scope.SEND}))
    device = admin.create_device(svc, who, name="mac")
    admin.revoke_key(svc, who, key.item.id)
    admin.revoke_device(svc, who, device.item.id)
    with pytest.raises(AuthError):
        auth.api_key(svc, key.secret, Scope.SEND)
    with pytest.raises(AuthError):
        auth.device(svc, device.secret)
    with pytest.raises(NotFound):
        admin.revoke_key(svc, who, key.item.id)


def test_new_workspace_has_gateway_default_and_console(container: Services, who: Principal) -> None:
    channels = admin.list_channels(container, who)
    assert {(c.kind, c.name, c.is_default) for c in channels} == {
        ("gateway", "gateway", True),
        ("console", "console", False),
    }


def test_channel_updates_and_validation(container: Services, who: Principal) -> None:
    svc = container
    sms = admin.create_channel(svc, who, kind="console", name="sms", config={"from": "+1"})
    with pytest.raises(ValidationError) as caught:
        admin.create_channel(svc, who, kind="pigeonpost", name="x", config={})
    assert "kind" in caught.value.errors
    with pytest.raises(ValidationError) as caught:
        admin.create_channel(svc, who, kind="gateway", name="sms", config={})
    assert "name" in caught.value.errors
    updated = admin.update_channel(svc, who, sms.id, is_default=True, name="texts")
    assert updated.is_default and updated.name == "texts"
    assert [c.name for c in admin.list_channels(svc, who) if c.is_default] == ["texts"]
    with pytest.raises(ValidationError):
        admin.update_channel(svc, who, sms.id, disabled=True)
    with pytest.raises(ValidationError) as caught:
        admin.create_device(svc, who, name="mac", channel_id=sms.id)
    assert "channel_id" in caught.value.errors


def test_every_change_is_audited(container: Services, who: Principal) -> None:
    svc = container
    key = admin.create_key(svc, who, name="k", scopes=frozenset({Scope.READ}))
    admin.revoke_key(svc, who, key.item.id)
    device = admin.create_device(svc, who, name="mac")
    admin.revoke_device(svc, who, device.item.id)
    actions = [row["action"] for row in admin.audit_trail(svc, who)]
    assert actions[:4] == ["device_revoked", "device_created", "api_key_revoked", "api_key_created"]
    assert "workspace_created" in actions and "channel_created" in actions
    with container.db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar()


def test_bad_timezone_names_the_field(container: Services) -> None:
    with pytest.raises(ValidationError) as caught:
        admin.create_workspace(container, name="x", timezone="Mars/Base", actor="t")
    assert "timezone" in caught.value.errors


def test_a_channel_kind_without_a_sender_is_refused(container: Services, who: Principal) -> None:
    """Accepted, an smtp channel's messages would wait for ever: nothing sends them yet."""
    for kind in ("smtp", "twilio", "whatsapp"):
        with pytest.raises(ValidationError) as caught:
            admin.create_channel(container, who, kind=kind, name=kind, config={})
        assert "no sender" in caught.value.errors["kind"]
    assert {c.kind for c in admin.list_channels(container, who)} == {"gateway", "console"}
