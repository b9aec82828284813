from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from pigeon.gateway.journal import Journal


@pytest.fixture(autouse=True)
def _close_journals(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every journal a test opened is closed at its end (its lock file with it)."""
    opened: list[Journal] = []
    original = Journal.__init__

    def tracking(self: Journal, path: Path) -> None:
        original(self, path)
        opened.append(self)

    monkeypatch.setattr(Journal, "__init__", tracking)
    yield
    for journal in opened:
        with contextlib.suppress(Exception):
            journal.close()
