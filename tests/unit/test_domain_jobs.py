"""Job values, the pointer-only guard, the job machine and mailbox channel configs."""

from __future__ import annotations

import pytest

from pigeon.domain.channels import ChannelKind, split_config
from pigeon.domain.jobs import NewJob, after_failure, check_new
from pigeon.domain.transitions import BATCHES, ITEMS, JOBS, TASKS, BatchStatus, JobStatus
from pigeon.errors import IllegalTransition, ValidationError

J = JobStatus


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"rawMime": "x"}, "payload.rawMime"),
        ({"raw_mime": "x"}, "payload.raw_mime"),
        ({"pointer": {"Body": "x"}}, "payload.pointer.Body"),
        ({"list": [{"uid": 1}, {"attachments": []}]}, "payload.list[1].attachments"),
        ({"when": object()}, "payload.when"),
    ],
)
def test_content_is_refused_with_its_path(payload: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_new(NewJob("w", "k", payload=payload))
    assert list(refused.value.errors) == [field]


def test_pointers_pass_and_depth_is_bounded() -> None:
    check_new(NewJob("w", "k", payload={"mailbox": "INBOX", "uid": 4, "ids": ["a", None, 2.5]}))
    deep: dict[str, object] = {"uid": 1}
    for _ in range(10):
        deep = {"next": deep}
    with pytest.raises(ValidationError):
        check_new(NewJob("w", "k", payload=deep))


@pytest.mark.parametrize(
    ("job", "field"),
    [
        (NewJob("w", ""), "kind"),
        (NewJob("w", "k", queue=""), "queue"),
        (NewJob("w", "k", priority=5000), "priority"),
        (NewJob("w", "k", max_attempts=0), "max_attempts"),
    ],
)
def test_bad_jobs_name_the_field(job: NewJob, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_new(job)
    assert field in refused.value.errors


def test_a_failure_retries_while_attempts_remain() -> None:
    assert after_failure(1, 3, retry=True) == J.READY
    assert after_failure(3, 3, retry=True) == J.DEAD
    assert after_failure(1, 3, retry=False) == J.DEAD


def test_the_job_machine() -> None:
    JOBS.check(J.READY, J.CLAIMED)
    JOBS.check(J.DEAD, J.READY)  # a re-drive
    for finished in (J.DONE, J.SKIPPED):
        assert finished in JOBS.terminal
        with pytest.raises(IllegalTransition, match="job"):
            JOBS.check(finished, J.READY)
    with pytest.raises(IllegalTransition):
        JOBS.check(J.READY, J.DONE)  # only a claim finishes a job
    assert JOBS.sources_of(J.READY) == {J.CLAIMED, J.DEAD}


def test_batch_item_and_task_machines_have_a_row_per_status() -> None:
    for machine in (BATCHES, ITEMS, TASKS):
        assert set(machine.moves) == set(type(next(iter(machine.moves))))
        for targets in machine.moves.values():
            assert targets <= set(machine.moves)
    BATCHES.check(BatchStatus.SENDING, BatchStatus.PAUSED)
    with pytest.raises(IllegalTransition):
        BATCHES.check(BatchStatus.COMPLETED, BatchStatus.SENDING)


def test_mailbox_configs_split_secrets_and_name_bad_keys() -> None:
    public, secret = split_config(
        ChannelKind.IMAP, {"host": "imap.example.org", "username": "ann", "password": "pw"}
    )
    assert public == {
        "host": "imap.example.org",
        "username": "ann",
        "tls": True,
        "mailboxes": ["INBOX"],
    }
    assert secret == {"password": "pw"}
    with pytest.raises(ValidationError) as refused:
        split_config(ChannelKind.IMAP, {"host": "h", "username": "u"})
    assert "config.password" in refused.value.errors
    with pytest.raises(ValidationError) as refused:
        split_config(ChannelKind.MSGRAPH, {"tenant": "t"})
    assert "config.tenant" in refused.value.errors
    with pytest.raises(ValidationError) as refused:
        split_config(ChannelKind.IMAP, {"port": 70000}, partial=True)
    assert "config.port" in refused.value.errors
    with pytest.raises(ValidationError) as refused:
        split_config(ChannelKind.GMAIL, {"credentials": {"type": "service_account"}}, partial=True)
    assert "config.credentials.client_email" in refused.value.errors
