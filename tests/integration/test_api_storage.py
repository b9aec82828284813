"""When the database cannot be reached, every surface answers 503 with Retry-After, in its own
envelope, so that a sender retries (DESIGN: accepted means durable); never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pigeon import bootstrap
from pigeon.bus.memory import MemoryBus
from pigeon.config import Settings
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
            "/v1/workspaces", json={"name": "x"}, headers=bearer("not-the-operator-token")
        ),
    }
    for surface, response in attempts.items():
        assert response.status_code == 503, (surface, response.text)
        assert response.headers["retry-after"] == "1", surface
    assert attempts["v1"].headers["content-type"] == "application/problem+json"
    assert attempts["seed000"].json()["success"] is False
    assert "detail" in attempts["seed002"].json()


def test_health_says_unavailable_when_the_schema_is_missing(tmp_path: Path) -> None:
    container = bootstrap.build(
        Settings(database_url=f"sqlite:///{tmp_path}/empty.db", operator_token=OPERATOR_TOKEN),
        bus=MemoryBus(),
        pool_size=1,
    )
    try:
        with serve_in_process(container) as api:
            write = api.post("/v1/workspaces", json={"name": "x"}, headers=bearer(OPERATOR_TOKEN))
            assert write.status_code == 503  # no tables: nothing can be served
            assert api.get("/v1/health").status_code == 503
    finally:
        container.close()
