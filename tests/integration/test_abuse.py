"""Abuse limits: free-form JSON bounded in depth and size, credentials checked before a
body is read, batches refused as they stream in, and driver errors translated."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from pigeon.config import Settings
from pigeon.services.context import Services
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    PHONE,
    InProcessClient,
    Tenant,
    problem_fields,
    row_counts,
)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, operator_token=OPERATOR_TOKEN)


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"x": value}
    return value


def test_deeply_nested_meta_is_refused_and_listings_keep_working(
    api: InProcessClient, tenant: Tenant
) -> None:
    deep = api.post(
        "/v1/messages",
        json={"recipient": PHONE, "body": "x", "meta": _nested(300)},
        headers=tenant.auth,
    )
    assert deep.status_code == 422 and problem_fields(deep) == ["meta"]
    assert "nest" in deep.json()["errors"][0]["detail"]
    fine = api.post(
        "/v1/messages",
        json={"recipient": PHONE, "body": "x", "meta": _nested(7)},
        headers=tenant.auth,
    )
    assert fine.status_code == 201, fine.text
    for path in ("/v1/messages", "/api/messages/", f"/v1/messages/{fine.json()['id']}"):
        assert api.get(path, headers=tenant.auth).status_code == 200, path


def test_channel_config_is_bounded_in_depth_and_size(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    before = row_counts(container)
    for config in (_nested(300), {"blob": "x" * 20_000}):
        answer = api.post(
            "/v1/channels",
            json={"kind": "console", "name": "loud", "config": config},
            headers=tenant.auth,
        )
        assert answer.status_code == 422 and problem_fields(answer) == ["config"], answer.text
    assert row_counts(container) == before
    assert api.get("/v1/channels", headers=tenant.auth).status_code == 200


def test_credentials_are_checked_before_the_body_is_read(api: InProcessClient) -> None:
    for path in ("/v1/messages", "/v1/messages/batch", "/v1/gateway/report", "/api/messages/"):
        for headers in ({}, {"Authorization": "Bearer pgn_admin_nobody"}):
            answer = api.post(
                path, content=b'{"not json', headers={**headers, "content-type": "application/json"}
            )
            assert answer.status_code == 401, (path, answer.text)


async def _raw_post(
    app: Any, path: str, headers: dict[str, str], chunks: list[bytes], *, stall: bool
) -> tuple[int, dict[str, Any]]:
    """POST `chunks` to the ASGI app; with `stall`, the body never ends after them."""
    pending = list(chunks)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if pending:
            return {"type": "http.request", "body": pending.pop(0), "more_body": True}
        if stall:
            await asyncio.Event().wait()
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("pigeon.test", 80),
        "state": {},
    }
    await asyncio.wait_for(app(scope, receive, send), 5)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body)


def test_a_batch_over_its_item_limit_is_refused_as_it_streams_in(
    api: InProcessClient, tenant: Tenant
) -> None:
    """1,001 items arrive, then the body stalls: the answer comes without the rest."""
    item = json.dumps({"recipient": PHONE, "body": "hi, {you}: [x]"}).encode()
    chunks = [b'{"items": [' + item]
    chunks += [b"," + item for _ in range(1000)]
    headers = {**tenant.auth, "content-type": "application/json"}
    status, body = api.run(
        lambda: _raw_post(api.app, "/v1/messages/batch", headers, chunks, stall=True)
    )
    assert status == 422
    assert body["errors"] == [{"field": "items", "detail": "at most 1000 items in one request"}]
    under = api.post(
        "/v1/messages/batch",
        json={"items": [{"recipient": PHONE, "body": "x"}] * 1000},
        headers=tenant.auth,
    )
    assert under.status_code == 201, under.text


def test_a_device_refers_to_a_channel_by_a_storable_id(
    api: InProcessClient, tenant: Tenant
) -> None:
    for channel_id in ("abc\u0000def", "x" * 40):
        answer = api.post(
            "/v1/devices", json={"name": "mac", "channel_id": channel_id}, headers=tenant.auth
        )
        assert answer.status_code == 422 and problem_fields(answer) == ["channel_id"], answer.text


def test_text_a_database_cannot_store_is_refused_in_any_field(
    api: InProcessClient, tenant: Tenant
) -> None:
    for body in (
        {"name": "a\u0000b", "scopes": ["read"]},
        {"name": "ok", "scopes": ["read\u0000"]},
    ):
        answer = api.post("/v1/keys", json=body, headers=tenant.auth)
        assert answer.status_code == 422, answer.text
