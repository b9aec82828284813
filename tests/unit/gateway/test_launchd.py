"""The LaunchAgent plist, and its installation (0600: it carries the device token)."""

from __future__ import annotations

import plistlib
import stat
from pathlib import Path

import pytest

from pigeon.gateway import launchd

PROGRAM = ["/opt/py/bin/python3", "-m", "pigeon", "gateway", "run"]
ENV = {"PIGEON_URL": "https://pigeon.example", "PIGEON_DEVICE_TOKEN": "pgn_dev_s3cret"}


def test_the_plist_round_trips(tmp_path: Path) -> None:
    job = plistlib.loads(launchd.plist_for(PROGRAM, ENV, tmp_path / "logs"))
    assert job["Label"] == launchd.LABEL == "dev.pigeon.gateway"
    assert job["ProgramArguments"] == PROGRAM
    assert job["EnvironmentVariables"] == ENV
    assert job["RunAtLoad"] is True
    # Restarted after a crash, left alone after a clean stop.
    assert job["KeepAlive"] == {"SuccessfulExit": False}
    assert job["ThrottleInterval"] == 10
    assert job["ProcessType"] == "Interactive"
    assert Path(job["StandardOutPath"]).parent == tmp_path / "logs"
    assert Path(job["StandardErrorPath"]).parent == tmp_path / "logs"


def test_awkward_values_survive_the_xml(tmp_path: Path) -> None:
    env = {"PIGEON_GATEWAY_COMMAND": "/bin/send --to '<x>' & \"y\""}
    program = ["/path with spaces/python", "-c", "print('<&>')"]
    job = plistlib.loads(launchd.plist_for(program, env, tmp_path))
    assert job["EnvironmentVariables"] == env
    assert job["ProgramArguments"] == program


def test_a_plist_needs_a_program(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="program"):
        launchd.plist_for([], ENV, tmp_path)


def test_install_writes_it_0600_and_makes_the_log_directory(tmp_path: Path) -> None:
    target = tmp_path / "LaunchAgents" / "dev.pigeon.gateway.plist"
    logs = tmp_path / "state" / "logs"
    plist = launchd.plist_for(PROGRAM, ENV, logs)
    launchd.install(target, plist)
    assert target.read_bytes() == plist
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert logs.is_dir()
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp file left


def test_install_replaces_a_readable_file_with_a_private_one(tmp_path: Path) -> None:
    target = tmp_path / "dev.pigeon.gateway.plist"
    target.write_bytes(b"old")
    target.chmod(0o644)
    launchd.install(target, launchd.plist_for(PROGRAM, ENV, tmp_path / "logs"))
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert plistlib.loads(target.read_bytes())["EnvironmentVariables"] == ENV


def test_install_refuses_what_launchd_could_not_read(tmp_path: Path) -> None:
    target = tmp_path / "dev.pigeon.gateway.plist"
    target.write_bytes(launchd.plist_for(PROGRAM, ENV, tmp_path))
    with pytest.raises(plistlib.InvalidFileException):
        launchd.install(target, b"not a plist")
    assert plistlib.loads(target.read_bytes())["Label"] == launchd.LABEL  # untouched
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_the_default_path_is_the_users_launch_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/Users/ada")
    assert launchd.default_path() == Path(
        "/Users/ada/Library/LaunchAgents/dev.pigeon.gateway.plist"
    )


def test_next_steps_name_the_file_and_the_label() -> None:
    steps = launchd.next_steps(Path("/Users/ada lovelace/Library/LaunchAgents/x.plist"))
    assert (
        "launchctl bootstrap gui/$(id -u) '/Users/ada lovelace/Library/LaunchAgents/x.plist'"
        in steps
    )
    assert "launchctl bootout gui/$(id -u)/dev.pigeon.gateway" in steps
