"""The agent's settings: a slip is refused naming its variable, and defaults that matter."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from pigeon.errors import ConfigError
from pigeon.gateway.settings import load

BASE = {"PIGEON_DEVICE_TOKEN": "pgn_dev_a", "PIGEON_GATEWAY_DRIVER": "console", "HOME": "/h"}


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"POLL_SECONDS": "120"}, "POLL_SECONDS"),  # the server waits 60 s at most
        ({"PIGEON_GATEWAY_BATCH": "2.7"}, "PIGEON_GATEWAY_BATCH"),
        ({"PIGEON_GATEWAY_BATCH": "0"}, "PIGEON_GATEWAY_BATCH"),
        ({"PIGEON_DEVICE_TOKEN": " "}, "PIGEON_DEVICE_TOKEN"),
        ({"API_BASE_URL": "ftp://x"}, "API_BASE_URL"),
        ({"PIGEON_GATEWAY_DRIVER": "command"}, "PIGEON_GATEWAY_COMMAND"),
        ({"PIGEON_GATEWAY_INBOUND": "maybe"}, "PIGEON_GATEWAY_INBOUND"),
    ],
)
def test_bad_values_name_their_variable(values: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load(env={**BASE, **values})
    assert refused.value.variable == variable


@pytest.mark.skipif(platform.system() == "Darwin", reason="the messages driver is macOS's default")
def test_off_a_mac_the_driver_must_be_chosen() -> None:
    """console reports every message sent: it is never picked silently."""
    with pytest.raises(ConfigError) as refused:
        load(env={"PIGEON_DEVICE_TOKEN": "pgn_dev_a"})
    assert refused.value.variable == "PIGEON_GATEWAY_DRIVER"


def test_the_journal_belongs_to_the_device_not_the_host() -> None:
    one = load(env={**BASE, "GATEWAY_ID": "mbp.local"})
    renamed = load(env={**BASE, "GATEWAY_ID": "mbp.lan"})
    other = load(env={**BASE, "PIGEON_DEVICE_TOKEN": "pgn_dev_b"})
    assert one.journal == renamed.journal != other.journal
    assert "pgn_dev" not in str(one.journal)  # the token itself is not in a file name


def test_seed_002_names_work_and_pigeons_own_win() -> None:
    seed = load(env={**BASE, "API_BASE_URL": "http://mac:8000/", "POLL_SECONDS": "2"})
    assert (seed.url, seed.poll_seconds) == ("http://mac:8000", 2.0)
    both = load(env={**BASE, "API_BASE_URL": "http://a", "PIGEON_URL": "http://b"})
    assert both.url == "http://b"


def test_a_second_agent_cannot_open_a_journal_in_use(tmp_path: Path) -> None:
    from pigeon.gateway.journal import Journal, JournalInUse

    first = Journal(tmp_path / "j.db")
    with pytest.raises(JournalInUse):
        Journal(tmp_path / "j.db")
    first.close()
    Journal(tmp_path / "j.db").close()  # free again once the first has gone
