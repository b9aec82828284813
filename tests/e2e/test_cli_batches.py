"""`pigeon batch` in subprocesses on a real SQLite file: create from a template file,
preview, start, watch to the end (lines, not a bar, into a pipe), and the errors a person
makes on the way."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import Pigeon
from tests.e2e.test_cli_contacts import ready, write  # noqa: F401 (a fixture)

pytestmark = pytest.mark.e2e

PEOPLE = """name,phone,plan,tags
Ann Lee,+44 20 7946 0958,gold,clients
Bob Ray,+1 617 555 0123,,clients
"""


def test_a_batch_from_the_command_line(ready: Pigeon, tmp_path: Path) -> None:  # noqa: F811
    ready.cli("contacts", "import", write(tmp_path / "people.csv", PEOPLE))
    template = tmp_path / "renewal.liquid"
    template.write_text("Hi {{ name | first_name }}, your {{ plan }} plan renews soon.\n")
    made = ready.cli_json(
        "batch", "create", "--name", "March", "--tag", "clients",
        "--template-file", str(template), "--channel", _console(ready),
    )  # fmt: skip
    assert made["status"] == "draft"

    preview = ready.cli("batch", "preview", made["id"]).stdout
    assert "audience 2: 1 to send, 1 skipped" in preview
    assert "skipped, render_error: 1" in preview
    assert "Bob Ray: render_error (undefined variable 'plan'" in preview
    assert "--- to +442079460958\nHi Ann, your gold plan renews soon.\n" in preview + "\n"

    started = ready.cli_json("batch", "start", made["id"])
    assert started["progress"]["items"]["queued"] == 1
    ready.cli("worker", "--once")  # the console channel sends it
    watched = ready.cli("batch", "status", made["id"], "--watch").stdout
    assert watched.strip().endswith(
        "completed (every item is sent, failed or skipped)  sent 1, skipped 1"
    )


def test_what_a_person_gets_wrong_is_named(ready: Pigeon, tmp_path: Path) -> None:  # noqa: F811
    both = ready.cli(
        "batch", "create", "--name", "x", "--tag", "t", "--template", "hi",
        "--template-file", str(write(tmp_path / "t.liquid", "hi")), check=False,
    )  # fmt: skip
    assert both.returncode == 2 and "not both" in both.stderr
    when = ready.cli(
        "batch", "create", "--name", "x", "--tag", "t", "--template", "hi",
        "--send-at", "tomorrow", check=False,
    )  # fmt: skip
    assert when.returncode == 2 and "--send-at" in when.stderr
    broken = ready.cli("batch", "create", "--name", "x", "--tag", "t", "--template", "{{ x ",
                       check=False)  # fmt: skip
    assert broken.returncode == 1 and "template" in broken.stderr
    unknown = ready.cli("batch", "start", "00000000-0000-4000-8000-000000000000", check=False)
    assert unknown.returncode == 1 and "no such batch" in unknown.stderr


def _console(pigeon: Pigeon) -> str:
    from pigeon import bootstrap
    from pigeon.bus.memory import MemoryBus
    from pigeon.config import Settings
    from pigeon.services import admin
    from pigeon.services.context import Principal

    services = bootstrap.build(Settings(database_url=pigeon.env["PIGEON_DATABASE_URL"]),
                               bus=MemoryBus())  # fmt: skip
    try:
        workspace = admin.first_workspace(services)
        assert workspace is not None
        who = Principal(workspace.id, "test", frozenset({"admin"}))
        channel_id: str = next(
            c.id for c in admin.list_channels(services, who) if c.kind == "console"
        )
    finally:
        services.close()
    return channel_id
