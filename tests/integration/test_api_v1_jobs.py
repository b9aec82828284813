"""/v1/jobs, /v1/dead-letters and /v1/stats: listing, re-drive and purge, audited and scoped
to the workspace; `pigeon dlq` over the same services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from pigeon import cli
from pigeon.config import Settings
from pigeon.domain.jobs import NewJob
from pigeon.services.context import Services
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    InProcessClient,
    Tenant,
    new_key,
    new_tenant,
)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, lease_seconds=60, operator_token=OPERATOR_TOKEN)


def _dead(
    svc: Services, workspace_id: str, kind: str = "inbound.imap", count: int = 1
) -> list[str]:
    new = [
        NewJob(workspace_id, kind, queue="doomed", payload={"uid": n}, max_attempts=1)
        for n in range(count)
    ]
    ids = [e.job_id for e in svc.queue.enqueue(new)]
    for job in svc.queue.claim("doomed", "w", limit=count):
        svc.queue.fail(job.id, job.token, error="HTTP 500 from provider", retry_at=None)
    return ids


def test_jobs_list_filters_and_pages(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    ready = [
        e.job_id
        for e in container.queue.enqueue(
            [
                NewJob(tenant.id, "inbound.gmail", queue="t", payload={"history_id": str(n)})
                for n in range(3)
            ]
        )
    ]
    [dead] = _dead(container, tenant.id)
    body = api.get("/v1/jobs?limit=2", headers=tenant.auth).json()
    assert [j["id"] for j in body["items"]] == [dead, ready[2]]
    rest = api.get(f"/v1/jobs?cursor={body['next_cursor']}", headers=tenant.auth).json()
    assert [j["id"] for j in rest["items"]] == [ready[1], ready[0]] and rest["next_cursor"] is None
    gmail = api.get("/v1/jobs?kind=inbound.gmail&status=ready", headers=tenant.auth).json()
    assert len(gmail["items"]) == 3
    one = api.get(f"/v1/jobs/{dead}", headers=tenant.auth).json()
    assert one["status"] == "dead" and one["attempts"] == 1
    assert one["last_error"] == "HTTP 500 from provider"
    assert one["pointer"] == {"uid": 0}


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=finished", "status"), ("cursor=nope", "cursor"), ("limit=0", "limit")],
)
def test_bad_job_filters_name_the_field(
    api: InProcessClient, tenant: Tenant, query: str, field: str
) -> None:
    response = api.get(f"/v1/jobs?{query}", headers=tenant.auth)
    assert response.status_code == 422
    assert field in response.text


def test_dead_letters_redrive_and_purge_are_audited(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    imap = _dead(container, tenant.id, "inbound.imap", 2)
    [gmail] = _dead(container, tenant.id, "inbound.gmail")
    listed = api.get("/v1/dead-letters", headers=tenant.auth).json()["items"]
    assert {j["id"] for j in listed} == {*imap, gmail}

    redriven = api.post(
        "/v1/dead-letters/redrive", json={"kind": "inbound.gmail"}, headers=tenant.auth
    ).json()
    assert redriven == {"redriven": 1, "job_ids": [gmail]}
    assert api.get(f"/v1/jobs/{gmail}", headers=tenant.auth).json()["status"] == "ready"

    purged = api.post(
        "/v1/dead-letters/purge", json={"job_ids": [imap[0]]}, headers=tenant.auth
    ).json()
    assert purged == {"purged": 1, "job_ids": [imap[0]]}
    assert api.get(f"/v1/jobs/{imap[0]}", headers=tenant.auth).status_code == 404

    trail = api.get("/v1/audit", headers=tenant.auth).json()["items"]
    actions = [e["action"] for e in trail]
    assert "jobs.redriven" in actions and "jobs.purged" in actions


def test_taking_every_dead_letter_needs_all_true(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    ids = _dead(container, tenant.id, count=2)
    refused = api.post("/v1/dead-letters/redrive", json={}, headers=tenant.auth)
    assert refused.status_code == 422 and "all" in refused.text
    taken = api.post("/v1/dead-letters/redrive", json={"all": True}, headers=tenant.auth).json()
    assert sorted(taken["job_ids"]) == sorted(ids)


def test_dead_letters_of_another_workspace_are_out_of_reach(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    other = new_tenant(api, "globex")
    [theirs] = _dead(container, other.id)
    assert api.get(f"/v1/jobs/{theirs}", headers=tenant.auth).status_code == 404
    assert api.get("/v1/dead-letters", headers=tenant.auth).json()["items"] == []
    for action in ("redrive", "purge"):
        done = api.post(
            f"/v1/dead-letters/{action}", json={"job_ids": [theirs]}, headers=tenant.auth
        ).json()
        assert done["job_ids"] == []
    assert api.get(f"/v1/jobs/{theirs}", headers=other.auth).json()["status"] == "dead"


def test_only_admins_redrive(api: InProcessClient, tenant: Tenant, container: Services) -> None:
    _dead(container, tenant.id)
    reader = new_key(api, tenant, "read")
    headers = {"Authorization": f"Bearer {reader}"}
    assert api.get("/v1/dead-letters", headers=headers).status_code == 200
    response = api.post("/v1/dead-letters/redrive", json={"all": True}, headers=headers)
    assert response.status_code == 403


def test_stats_show_queue_depth_and_oldest_age(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    now = container.clock.now()
    container.queue.enqueue(
        [
            NewJob(tenant.id, "inbound.imap", queue="inbound", run_at=now - timedelta(seconds=42)),
            NewJob(tenant.id, "inbound.imap", queue="inbound", run_at=now + timedelta(hours=1)),
        ]
    )
    stats = api.get("/v1/stats", headers=tenant.auth).json()
    inbound = stats["queues"]["inbound"]
    assert (inbound["ready"], inbound["scheduled"]) == (1, 1)
    assert inbound["oldest_ready_seconds"] == pytest.approx(42, abs=1)
    assert stats["messages"]["by_status"]["queued"] == 0
    assert stats["queue_backend"] == "sql"


def test_the_dlq_command_lists_redrives_and_purges(
    container: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pigeon.services import admin

    workspace = admin.create_workspace(container, name="acme", timezone="UTC", actor="t")
    ids = _dead(container, workspace.workspace.id, count=3)
    monkeypatch.setenv("PIGEON_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    listed = runner.invoke(cli.main, ["dlq", "list"])
    assert listed.exit_code == 0, listed.output
    assert all(job_id in listed.output for job_id in ids)
    refused = runner.invoke(cli.main, ["dlq", "redrive"])
    assert refused.exit_code == 2 and "--all" in refused.output
    redriven = runner.invoke(cli.main, ["dlq", "redrive", ids[0], "--json"])
    assert redriven.exit_code == 0 and '"redriven": 1' in redriven.output
    purged = runner.invoke(cli.main, ["dlq", "purge", "--all", "--yes"])
    assert purged.exit_code == 0 and "purged 2 jobs" in purged.output
    assert container.queue.get(workspace.workspace.id, ids[0]) is not None
    assert container.queue.get(workspace.workspace.id, ids[1]) is None
