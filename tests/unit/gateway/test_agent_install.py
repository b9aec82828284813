"""`pip install pigeon` alone is the gateway agent and the client: they must run without a
single one of the server's dependencies."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SERVER_ONLY = (
    "sqlalchemy",
    "fastapi",
    "pydantic",
    "psycopg",
    "redis",
    "uvicorn",
    "anthropic",
    "alembic",
    "phonenumbers",
    "dateutil",
    "holidays",
    "cryptography",
)

# Runs `pigeon` with every server-only package refused at import, as on a Mac where only
# `pip install pigeon` ran.
WITHOUT_SERVER = textwrap.dedent(
    f"""
    import importlib.abc, importlib.machinery, importlib.util, sys
    BLOCKED = {SERVER_ONLY!r}

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, Refuse())
    _find_spec = importlib.util.find_spec
    importlib.util.find_spec = lambda name, *a: (
        None if name.split(".")[0] in BLOCKED else _find_spec(name, *a)
    )
    import runpy
    sys.argv = ["pigeon", *sys.argv[1:]]
    try:
        runpy.run_module("pigeon", run_name="__main__")
    finally:
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        assert not loaded, loaded
    """
)


def pigeon_without_server(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_SERVER, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_the_package_alone_depends_on_nothing_of_the_servers() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {
        dep.split("[")[0].split(">")[0].split("=")[0].strip() for dep in project["dependencies"]
    }
    assert not names & set(SERVER_ONLY), names
    server = {
        d.split("[")[0].split(">")[0].split("=")[0]
        for d in project["optional-dependencies"]["server"]
    }
    assert {"sqlalchemy", "fastapi", "psycopg"} <= server


def test_the_agent_runs_without_the_server_installed(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PIGEON_DEVICE_TOKEN": "pgn_dev_x",
        "PIGEON_URL": "http://127.0.0.1:9",  # nothing listens: doctor says so
        "PIGEON_GATEWAY_DRIVER": "console",
        "PYTHONPATH": str(ROOT / "src"),
    }
    helped = pigeon_without_server("gateway", "--help", env=env)
    assert helped.returncode == 0, helped.stderr
    assert "install-launchd" in helped.stdout
    doctor = pigeon_without_server("gateway", "doctor", env=env)
    assert doctor.returncode == 1, doctor.stderr  # the server is unreachable, and it says so
    assert "server" in doctor.stdout.lower()
    assert "Traceback" not in doctor.stderr
    plist = pigeon_without_server("gateway", "install-launchd", "--print", env=env)
    assert plist.returncode == 0, plist.stderr
    assert "pgn_dev_x" in plist.stdout


def test_the_server_commands_say_what_to_install() -> None:
    for command in (["serve"], ["extract", "call Ann tomorrow at 3pm"]):
        answered = pigeon_without_server(*command)
        assert answered.returncode != 0, command
        assert "pip install 'pigeon[server]'" in answered.stderr, command
        assert "Traceback" not in answered.stderr, command
