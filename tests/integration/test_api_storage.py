"""When the database cannot be reached, every surface answers 503 with Retry-After, in its own
envelope, so that a sender retries (DESIGN: accepted means durable); never a 500."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from pigeon import bootstrap
from pigeon.bus.memory import MemoryBus
from pigeon.config import Settings
from tests.conftest import POSTGRES_URL, service_missing
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    PHONE,
    InProcessClient,
    bearer,
    serve_in_process,
)

SOME_TOKEN = bearer("pgn_admin_whatever")


@pytest.fixture(
    params=[
        pytest.param("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", id="postgres-down"),
        pytest.param("sqlite:///{tmp}/missing/dir/pigeon.db", id="sqlite-unopenable"),
    ]
)
def unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[InProcessClient]:
    url = request.param.format(tmp=tmp_path)
    container = bootstrap.build(
        Settings(database_url=url, operator_token=OPERATOR_TOKEN), bus=MemoryBus(), pool_size=1
    )
    try:
        with serve_in_process(container) as client:
            yield client
    finally:
        container.close()


def test_health_says_unavailable(unreachable: InProcessClient) -> None:
    for path in ("/v1/health", "/api/health/"):
        response = unreachable.get(path)
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"


def test_writes_answer_503_with_retry_after(unreachable: InProcessClient) -> None:
    attempts = {
        "v1": unreachable.post(
            "/v1/messages", json={"recipient": PHONE, "body": "hi"}, headers=SOME_TOKEN
        ),
        "seed002": unreachable.post(
            "/api/messages/", json={"to_handle": PHONE, "body": "hi"}, headers=SOME_TOKEN
        ),
        "seed000": unreachable.post(
            "/admin/send-queue/enqueue",
            json={
                "batchItemId": "b",
                "deviceId": "01900000-0000-7000-8000-000000000000",
                "toHandle": PHONE,
                "body": "hi",
            },
            headers=SOME_TOKEN,
        ),
        "gateway": unreachable.post("/v1/gateway/claim", json={}, headers=SOME_TOKEN),
        "operator": unreachable.post(
            "/v1/workspaces", json={"name": "x"}, headers=bearer(OPERATOR_TOKEN)
        ),
    }
    for surface, response in attempts.items():
        assert response.status_code == 503, (surface, response.text)
        assert response.headers["retry-after"] == "1", surface
    assert attempts["v1"].headers["content-type"] == "application/problem+json"
    assert attempts["seed000"].json()["success"] is False
    assert "detail" in attempts["seed002"].json()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that exists but was never migrated."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/empty.db"
        return
    name = f"pigeon_empty_{uuid.uuid4().hex[:10]}"
    try:
        admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        service_missing("PostgreSQL", error)
    try:
        yield sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_a_database_without_the_schema_is_unavailable(empty_database: str) -> None:
    container = bootstrap.build(
        Settings(database_url=empty_database, operator_token=OPERATOR_TOKEN),
        bus=MemoryBus(),
        pool_size=1,
    )
    try:
        with serve_in_process(container) as api:
            write = api.post("/v1/workspaces", json={"name": "x"}, headers=bearer(OPERATOR_TOKEN))
            assert write.status_code == 503  # no tables: nothing can be served
            assert "migrate" in write.json()["detail"] or "no such table" in write.json()["detail"]
            health = api.get("/v1/health")
            assert health.status_code == 503
            assert health.json()["status"] == "unavailable"
    finally:
        container.close()
