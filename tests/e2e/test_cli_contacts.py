"""`pigeon contacts import` and `list` in subprocesses, on a real SQLite file: every row
checked before any is written, bad rows named by their line and column, --skip-invalid,
files with and without a byte order mark, and imports that add to contacts and remove
nothing a file does not name."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from pigeon import bootstrap
from pigeon.bus.memory import MemoryBus
from pigeon.config import Settings
from pigeon.services import admin
from tests.e2e.conftest import Pigeon

pytestmark = pytest.mark.e2e

T = TypeVar("T")
LONDON = "+442079460958"
BOM = "\ufeff"

# Line 1 is the header; the quoted note of line 3 runs on to line 4.
GOOD = """External_ID,Name,PHONE,email,Tags,plan,note,Timezone
crm-1,Ann Lee,020 7946 0958,Ann.Lee@Example.ORG,vip; london,pro,,
crm-2,Bob,+1 617 555 0123,,,free,"two
lines",
,Cy,,cy@example.org,,,,Asia/Tokyo
"""

# Notes run over several lines: a row is named by the line it starts on.
BAD = """external_id,name,phone,email,note
ok-1,Ann,+44 20 7946 0958,,
ok-2,Bob,+44 20,,
ok-3,Cy,,cy@example.org,"two
lines"
ok-4,Dee,,not-an-email,"three
long
lines"
ok-5,Eve,+44 20 7946 0959,,,extra
"""


def together(*calls: Callable[[], T]) -> list[T]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [future.result() for future in [pool.submit(call) for call in calls]]


@pytest.fixture
def ready(pigeon: Pigeon, sqlite_file_url: str) -> Pigeon:
    """A migrated database with a workspace, as `pigeon serve` leaves it."""
    pigeon.cli("migrate")
    services = bootstrap.build(Settings(database_url=sqlite_file_url), bus=MemoryBus())
    try:
        admin.create_workspace(services, name="acme", timezone="UTC", actor="test")
    finally:
        services.close()
    return pigeon


def write(path: Path, text: str, *, bom: bool = False) -> str:
    path.write_text((BOM if bom else "") + text, encoding="utf-8")
    return str(path)


def listed(pigeon: Pigeon, *args: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = pigeon.cli_json("contacts", "list", *args)
    return found


def test_an_import_creates_contacts_then_updates_them(ready: Pigeon, tmp_path: Path) -> None:
    good = write(tmp_path / "good.csv", GOOD, bom=True)
    first = ready.cli("contacts", "import", good, "--default-region", "gb", "--tag", "spring")
    assert first.stdout.strip() == "good.csv: created 3, updated 0, unchanged 0, skipped 0"
    assert first.stderr == ""  # no progress bar drawn into a pipe
    contacts = {c["name"]: c for c in listed(ready)}
    assert list(contacts) == ["Cy", "Bob", "Ann Lee"]  # newest first
    ann = contacts["Ann Lee"]
    assert ann["external_id"] == "crm-1"
    assert [(h["kind"], h["value"], h["primary"]) for h in ann["handles"]] == [
        ("phone", LONDON, True),
        ("email", "ann.lee@example.org", True),
    ]
    assert ann["tags"] == ["vip", "london", "spring"]
    assert ann["attributes"] == {"plan": "pro"}  # empty cells give nothing
    assert (ann["timezone"], ann["timezone_source"]) == ("Europe/London", "phone")
    assert contacts["Bob"]["attributes"] == {"plan": "free", "note": "two\nlines"}
    assert contacts["Bob"]["timezone"] == "America/New_York"
    assert (contacts["Cy"]["timezone"], contacts["Cy"]["timezone_source"]) == (
        "Asia/Tokyo",
        "given",
    )

    # The same file again changes nothing; a changed one updates by external id or handle.
    again = ready.cli_json("contacts", "import", good, "--default-region", "GB", "--tag", "spring")
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert again["errors"] == [] and again["skipped"] == 0
    changed = GOOD.replace("Ann Lee", "Ann Lee-Smith").replace(",Cy,", ",Cyril,")
    no_bom = write(tmp_path / "changed.csv", changed)
    updated = ready.cli("contacts", "import", no_bom, "--default-region", "GB")
    # Bob's row gives nothing new; tags are added to, so Ann keeps `spring`.
    assert updated.stdout.strip() == "changed.csv: created 0, updated 2, unchanged 1, skipped 0"
    now = {c["external_id"]: (c["name"], c["tags"]) for c in listed(ready)}
    assert now == {
        "crm-1": ("Ann Lee-Smith", ["vip", "london", "spring"]),
        "crm-2": ("Bob", ["spring"]),
        None: ("Cyril", ["spring"]),  # found by its email
    }
    assert [c["name"] for c in listed(ready, "--tag", "vip")] == ["Ann Lee-Smith"]


def test_a_file_with_bad_rows_imports_nothing_and_names_each(ready: Pigeon, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.csv", BAD)
    refused, as_json = together(
        lambda: ready.cli("contacts", "import", bad, check=False),
        lambda: ready.cli("contacts", "import", bad, "--json", check=False),
    )
    assert refused.returncode == 1 and as_json.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr.splitlines() == [
        "line 3: phone: '+44 20' is not a valid phone number",
        "line 6: email: 'not-an-email' is not an email address",
        "line 9: has 6 cells; the first line names 5 columns",
        "nothing imported: 3 of 5 rows are bad (fix them, or --skip-invalid to import the others)",
    ]
    report = __import__("json").loads(as_json.stdout)
    assert (report["created"], report["skipped"]) == (0, 3)
    assert [(e["line"], e["column"]) for e in report["errors"]] == [
        (3, "phone"),
        (6, "email"),
        (9, ""),
    ]
    assert listed(ready) == []


def test_skip_invalid_imports_the_good_rows_and_reports_the_bad(
    ready: Pigeon, tmp_path: Path
) -> None:
    bad = write(tmp_path / "bad.csv", BAD, bom=True)
    done = ready.cli("contacts", "import", bad, "--skip-invalid")
    assert done.returncode == 0
    assert done.stdout.strip() == "bad.csv: created 2, updated 0, unchanged 0, skipped 3"
    assert done.stderr.splitlines() == [
        "line 3: phone: '+44 20' is not a valid phone number",
        "line 6: email: 'not-an-email' is not an email address",
        "line 9: has 6 cells; the first line names 5 columns",
    ]
    assert sorted(c["external_id"] for c in listed(ready)) == ["ok-1", "ok-3"]


def test_files_that_cannot_be_read_are_refused_whole(ready: Pigeon, tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("name\nJosé\n".encode("latin-1"))
    header = write(tmp_path / "header.csv", "name,Favourite colour\nAnn,red\n")
    empty = write(tmp_path / "empty.csv", "")
    region = write(tmp_path / "ok.csv", "name\nAnn\n")
    not_utf8, bad_header, nothing, bad_region = together(
        lambda: ready.cli("contacts", "import", str(latin1), "--skip-invalid", check=False),
        lambda: ready.cli("contacts", "import", header, "--skip-invalid", check=False),
        lambda: ready.cli("contacts", "import", empty, check=False),
        lambda: ready.cli("contacts", "import", region, "--default-region", "XX", check=False),
    )
    assert not_utf8.returncode == 1 and "line 2 is not UTF-8" in not_utf8.stderr
    assert bad_header.returncode == 1
    assert "'Favourite colour'" in bad_header.stderr and "'Favourite_colour'" in bad_header.stderr
    assert nothing.returncode == 1 and "first line must name the columns" in nothing.stderr
    assert bad_region.returncode == 2 and "--default-region" in bad_region.stderr
    for run in (not_utf8, bad_header, nothing, bad_region):
        assert "Traceback" not in run.stderr
    assert listed(ready) == []


CLIENTS = """external_id,name,phone,email,plan,renews_on,city,tags
c01,Ann Lee,+44 20 7946 0958,ann@example.org,pro,2030-02-01,London,clients
c02,Bob Jones,+1 617 555 0123,bob@example.org,silver,2030-03-01,Boston,clients
,Frank Green,+1 212 555 0103,frank@example.org,free,,New York,
"""

# A later file: fewer columns, empty cells, and one contact on two lines.
UPDATES = """external_id,name,phone,email,plan,tags
c02,Robert Jones,,,gold,
,Frank G,+12125550103,,,
c01,,,ann.lee@work.example,,vip
c01,,+44 7911 123456,,team,
"""


def test_a_reimport_adds_to_contacts_and_removes_nothing_the_file_lacks(
    ready: Pigeon, tmp_path: Path
) -> None:
    first = ready.cli_json("contacts", "import", write(tmp_path / "clients.csv", CLIENTS))
    assert first["created"] == 3
    before = {c["name"]: c for c in listed(ready)}
    done = ready.cli_json("contacts", "import", write(tmp_path / "updates.csv", UPDATES))
    assert (done["created"], done["updated"], done["unchanged"]) == (0, 4, 0), done
    now = {c["external_id"] or c["name"]: c for c in listed(ready)}

    robert = now["c02"]  # the file has no renews_on or city column: both stay
    assert robert["name"] == "Robert Jones"
    assert robert["attributes"] == {"plan": "gold", "renews_on": "2030-03-01", "city": "Boston"}
    assert robert["handles"] == before["Bob Jones"]["handles"]
    assert robert["tags"] == ["clients"]

    frank = now["Frank G"]  # matched by phone; its empty email cell keeps his email
    assert frank["id"] == before["Frank Green"]["id"]
    assert [h["value"] for h in frank["handles"]] == ["+12125550103", "frank@example.org"]
    assert frank["attributes"] == {"plan": "free", "city": "New York"}

    ann = now["c01"]  # two lines of one file: both apply, in order
    assert ann["name"] == "Ann Lee"
    assert [(h["value"], h["primary"]) for h in ann["handles"]] == [
        (LONDON, True),
        ("ann@example.org", True),
        ("ann.lee@work.example", False),
        ("+447911123456", False),
    ]
    assert ann["tags"] == ["clients", "vip"]
    assert ann["attributes"] == {"plan": "team", "renews_on": "2030-02-01", "city": "London"}

    again = ready.cli_json("contacts", "import", str(tmp_path / "updates.csv"))
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 4)


def test_a_phone_number_with_letters_is_named_not_imported(ready: Pigeon, tmp_path: Path) -> None:
    typo = write(tmp_path / "typo.csv", "name,phone,whatsapp\nAnn,+44 77OO 9OO 123,\n")
    refused = ready.cli("contacts", "import", typo, check=False)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0] == (
        "line 2: phone: '+44 77OO 9OO 123' contains letters: a phone number has digits only"
    )
    assert listed(ready) == []
