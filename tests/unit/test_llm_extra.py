"""The model SDKs are an extra (`pigeon[llm]`): the server installs and runs without them.

Every module of pigeon is imported with the SDKs refused, and a server is built and asked
to extract with the rules; a model backend without its SDK is refused at settings load.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LLM_ONLY = ("anthropic",)


def _names(requirements: list[str]) -> set[str]:
    return {r.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip() for r in requirements}


def test_the_sdks_are_the_llm_extra_and_the_dev_setup_installs_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert set(LLM_ONLY) <= _names(extras["llm"])
    for other in ("server", "dev"):
        assert not _names(extras[other]) & set(LLM_ONLY), other
    assert not _names(project["dependencies"]) & set(LLM_ONLY)
    assert ".[server,llm,dev]" in (ROOT / "Makefile").read_text()  # the tests use the SDK


WITHOUT_LLM = textwrap.dedent(
    f"""
    import importlib, pkgutil, sys, tempfile
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    REFUSED = {LLM_ONLY!r}

    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in REFUSED:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, Refuse())

    import pigeon
    skipped = ("pigeon.__main__", "pigeon.store.migrations")
    for module in pkgutil.walk_packages(pigeon.__path__, "pigeon."):
        if not module.name.startswith(skipped):
            importlib.import_module(module.name)

    from pigeon import bootstrap
    from pigeon.api.app import create_app
    from pigeon.config import load_settings
    from pigeon.errors import ConfigError
    from pigeon.extract import ExtractRequest
    from pigeon.store import migrate

    url = f"sqlite:///{{tempfile.mkdtemp()}}/pigeon.db"
    migrate.upgrade(url)
    services = bootstrap.build(load_settings({{"PIGEON_DATABASE_URL": url}}))
    create_app(services, run_workers=False)
    at = datetime(2030, 1, 7, 9, tzinfo=UTC)
    asked = ExtractRequest("remind me tomorrow at 3pm", at, ZoneInfo("UTC"))
    found = services.extractor.extract(asked)
    assert found.due == datetime(2030, 1, 8, 15, tzinfo=UTC), found
    services.close()
    try:
        load_settings({{"PIGEON_EXTRACT_BACKEND": "anthropic", "PIGEON_EXTRACT_API_KEY": "k"}})
    except ConfigError as error:
        print(error)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in REFUSED)
    assert not loaded, loaded
    """
)


def test_the_server_imports_and_runs_without_the_llm_extra() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_LLM],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "PIGEON_EXTRACT_BACKEND: the anthropic backend needs the anthropic SDK, which is not "
        "installed: pip install 'pigeon[llm]'"
    )
