"""doctor's checks: each says what is wrong and what to do, and never raises."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import pytest

from pigeon.gateway import doctor
from pigeon.gateway.doctor import Check
from tests.unit.gateway.test_messages_driver import NOT_AUTHORIZED, answer, standin_osascript


def chat_db(path: Path, *, table: str = "message") -> Path:
    connection = sqlite3.connect(path)
    connection.execute(f"create table {table} (rowid integer primary key, text text)")
    connection.execute(f"insert into {table} (text) values ('hi')")
    connection.commit()
    connection.close()
    return path


def test_a_readable_chat_db_passes(tmp_path: Path) -> None:
    folder = tmp_path / "Library Messages"  # a space, as in real paths: the URI must quote it
    folder.mkdir()
    path = chat_db(folder / "chat.db")
    check = doctor.check_full_disk_access(path)
    assert check.ok, check.detail
    assert check.fix is None


def test_the_check_never_writes_messages_database(tmp_path: Path) -> None:
    path = chat_db(tmp_path / "chat.db")
    before = path.read_bytes()
    doctor.check_full_disk_access(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chat.db"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_chat_db_asks_for_full_disk_access(tmp_path: Path) -> None:
    path = chat_db(tmp_path / "chat.db")
    path.chmod(0)
    try:
        check = doctor.check_full_disk_access(path)
    finally:
        path.chmod(0o600)
    assert not check.ok
    assert check.fix is not None and "Full Disk Access" in check.fix


@pytest.mark.parametrize("refusal", ["authorization denied", "unable to open database file"])
def test_what_macos_says_without_full_disk_access_asks_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusal: str
) -> None:
    # TCC cannot be reproduced off a Mac: SQLite is made to answer as it does there.
    path = chat_db(tmp_path / "chat.db")

    def refuse(*args: object, **kwargs: object) -> sqlite3.Connection:
        raise sqlite3.OperationalError(refusal)

    monkeypatch.setattr(doctor.sqlite3, "connect", refuse)
    check = doctor.check_full_disk_access(path)
    assert not check.ok
    assert refusal in check.detail
    assert check.fix is not None
    assert "Privacy & Security → Full Disk Access" in check.fix
    assert sys.executable in check.fix


def test_a_missing_chat_db_says_messages_has_none(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    check = doctor.check_full_disk_access(path)
    assert not check.ok
    assert check.detail == f"Messages has no database at {path}"
    assert not path.exists()  # read-only: the check did not create it


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    check = doctor.check_full_disk_access(tmp_path)
    assert not check.ok
    assert "directory" in check.detail


def test_another_database_is_not_messages(tmp_path: Path) -> None:
    check = doctor.check_full_disk_access(chat_db(tmp_path / "other.db", table="notes"))
    assert not check.ok
    assert "not Messages' database" in check.detail
    assert check.fix is not None and "PIGEON_CHAT_DB" in check.fix


def test_a_file_that_is_not_sqlite_is_not_messages(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    path.write_bytes(b"plain text, not a database" * 100)
    check = doctor.check_full_disk_access(path)
    assert not check.ok
    assert "not Messages' database" in check.detail


def test_the_server_check_passes_when_the_heartbeat_does() -> None:
    assert doctor.check_server(lambda: None).ok


def test_an_unreachable_server_points_at_the_url() -> None:
    def heartbeat() -> object:
        raise ConnectionRefusedError("connection refused: http://127.0.0.1:9")

    check = doctor.check_server(heartbeat)
    assert not check.ok
    assert "connection refused" in check.detail
    assert check.fix is not None and "PIGEON_URL" in check.fix
    assert "revoked" not in check.fix


class Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status


@pytest.mark.parametrize(
    "error",
    [Refused(401, "invalid credentials"), RuntimeError("401 Unauthorized")],
    ids=["status-attribute", "in-the-text"],
)
def test_a_refused_token_says_it_was_revoked_or_mistyped(error: Exception) -> None:
    def heartbeat() -> object:
        raise error

    check = doctor.check_server(heartbeat)
    assert not check.ok
    assert check.fix is not None
    assert "revoked or mistyped" in check.fix and "PIGEON_DEVICE_TOKEN" in check.fix


def test_automation_off_a_mac_says_so(tmp_path: Path) -> None:
    check = doctor.check_automation(str(tmp_path / "osascript"))
    assert not check.ok
    assert "osascript not found" in check.detail
    assert check.fix is not None and "console" in check.fix


def test_automation_granted_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    program, _ = standin_osascript(tmp_path, monkeypatch)
    assert doctor.check_automation(program, timeout=5).ok


def test_automation_refused_says_where_to_grant_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program, _ = standin_osascript(tmp_path, monkeypatch)
    answer(monkeypatch, probe=(1, NOT_AUTHORIZED))
    check = doctor.check_automation(program, timeout=5)
    assert not check.ok
    assert check.fix is not None and "Privacy & Security → Automation" in check.fix


def test_no_imessage_account_says_to_sign_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program, _ = standin_osascript(tmp_path, monkeypatch)
    answer(
        monkeypatch, probe=(1, "Can\u2019t get account 1 whose service type = iMessage. (-1719)")
    )
    check = doctor.check_automation(program, timeout=5)
    assert not check.ok
    assert check.fix is not None and "sign in to iMessage" in check.fix
    assert "Automation" not in check.fix


def test_render_gives_a_line_per_check_and_indents_fixes() -> None:
    text = doctor.render(
        [
            Check("configuration", True, "console driver"),
            Check("server", False, "no heartbeat: refused", fix="check PIGEON_URL"),
        ]
    )
    assert text.splitlines() == [
        "ok    configuration: console driver",
        "FAIL  server: no heartbeat: refused",
        "      fix: check PIGEON_URL",
        "1 of 2 checks failed",
    ]
    assert doctor.render([Check("server", True, "answered")]).endswith("all checks passed")
