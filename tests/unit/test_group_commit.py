"""Concurrent ingress requests share commits, each gets its own results, a failed commit
fails exactly the requests in it, and a bad job never joins."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from pigeon.domain.jobs import Enqueued, NewJob
from pigeon.errors import StorageUnavailable, ValidationError
from pigeon.services.group_commit import GroupCommit


class SlowDisk:
    def __init__(self, fail: bool = False) -> None:
        self.writes: list[int] = []
        self.fail = fail

    def write(self, new: Sequence[NewJob]) -> list[Enqueued]:
        time.sleep(0.02)  # an fsync
        self.writes.append(len(new))
        if self.fail:
            raise StorageUnavailable("disk gone")
        return [Enqueued(str(job.payload["n"]), True) for job in new]


def _job(n: int) -> NewJob:
    return NewJob("w", "k", payload={"n": n})


def _many(commit: GroupCommit, count: int) -> tuple[dict[int, object], list[threading.Thread]]:
    answers: dict[int, object] = {}

    def request(n: int) -> None:
        try:
            answers[n] = commit.enqueue([_job(n), _job(n + 1000)])
        except Exception as error:
            answers[n] = error

    threads = [threading.Thread(target=request, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return answers, threads


def test_requests_arriving_together_share_commits_and_get_their_own_results() -> None:
    disk = SlowDisk()
    answers, _ = _many(GroupCommit(disk.write), 40)
    assert sum(disk.writes) == 80  # every job written once
    assert len(disk.writes) < 20  # in far fewer commits than requests
    for n, answer in answers.items():
        assert answer == [Enqueued(str(n), True), Enqueued(str(n + 1000), True)]


def test_a_lone_request_is_committed_at_once() -> None:
    disk = SlowDisk()
    started = time.monotonic()
    assert GroupCommit(disk.write).enqueue([_job(1)]) == [Enqueued("1", True)]
    assert time.monotonic() - started < 0.5 and disk.writes == [1]


def test_a_failed_commit_fails_its_requests_and_the_next_ones_still_commit() -> None:
    disk = SlowDisk(fail=True)
    commit = GroupCommit(disk.write)
    answers, _ = _many(commit, 10)
    assert all(isinstance(a, StorageUnavailable) for a in answers.values())
    disk.fail = False
    assert commit.enqueue([_job(7)]) == [Enqueued("7", True)]


def test_a_bad_job_is_refused_before_it_joins() -> None:
    disk = SlowDisk()
    with pytest.raises(ValidationError):
        GroupCommit(disk.write).enqueue([NewJob("w", "k", payload={"body": "content"})])
    assert disk.writes == []
