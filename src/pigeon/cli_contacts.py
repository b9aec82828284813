"""`pigeon contacts`: import contacts from CSV, list them.

An import checks every row before it writes any: with a bad row it writes nothing and exits
1, naming each bad row by its line in the file and its column (`line 7: phone: '+44 20' is
not a valid phone number`), unless --skip-invalid, which writes the good rows in one
transaction and still names the bad ones.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pigeon.cli import JSON, WORKSPACE, _emit, _principal, _services

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from pigeon.domain.contacts import NewContact

# Columns with a meaning of their own (any case); every other column is an attribute.
FIELD_COLUMNS = ("external_id", "name", "timezone", "tags")
HANDLE_COLUMNS = ("phone", "email", "imessage", "whatsapp")
SEPARATOR = ";"  # between tags in a cell, and between several handles of one kind
_ROW_FIELD = re.compile(r"^(?:contacts\[(\d+)\]\.)?(.*)$")


@click.group()
def contacts() -> None:
    """Import and list contacts."""


@dataclass
class Row:
    """One data row of the file: its line, what it gives, and which column gave what."""

    line: int
    raw: dict[str, Any]
    columns: dict[str, str] = field(default_factory=dict)  # field name -> column header

    def column_of(self, name: str) -> str:
        """The column a field problem (`handles[1].value`, `attributes.plan`) is about."""
        if name in self.columns:
            return self.columns[name]
        head = name.split(".", 1)[0]
        if head.startswith("handles["):
            return self.columns.get(head, "handles")
        if head.startswith("tags"):
            return "tags"
        if head == "attributes" and "." in name:
            return self.columns.get(name.split(".")[1].split("[")[0], name)
        return self.columns.get(head, head)


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    problem: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.column}: {self.problem}" if self.column else f"{where}{self.problem}"

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "problem": self.problem}


class BadFile(click.ClickException):
    """The file as a whole cannot be read: nothing is imported, whatever the options."""


def read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")  # with or without a byte order mark
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise BadFile(
            f"{path}: line {line} is not UTF-8 text (byte 0x{data[error.start]:02x}); "
            "save the file as UTF-8"
        ) from None


def read_rows(text: str, extra_tags: tuple[str, ...]) -> tuple[list[Row], list[Problem]]:
    """The file's data rows as contact fields, and the rows that cannot even be read so."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise BadFile(f"line 1: {error}") from None
    if header is None or not any(cell.strip() for cell in header):
        raise BadFile("the file is empty: its first line must name the columns")
    columns = _columns(header)
    rows: list[Row] = []
    problems: list[Problem] = []
    line = reader.line_num + 1  # where the next row starts (a quoted cell may span lines)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            # The reader cannot tell where the next row starts: nothing after it is known.
            raise BadFile(f"line {line}: cannot read the file from here on: {error}") from None
        if any(cell.strip() for cell in cells):
            if len(cells) > len(columns):
                problems.append(
                    Problem(
                        line,
                        "",
                        f"has {len(cells)} cells; the first line names {len(columns)} columns",
                    )
                )
            else:
                rows.append(_row(line, columns, cells, extra_tags))
        line = reader.line_num + 1
    return rows, problems


def _columns(header: list[str]) -> list[tuple[str, str]]:
    """(role, header as written) of each column: a field, a handle kind, or an attribute."""
    from pigeon.domain.contacts import attribute_name_problem

    out: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(header, start=1):
        name = cell.strip()
        key = name.lower()
        if not name:
            raise BadFile(f"line 1: column {index} has no name")
        if key in seen:
            raise BadFile(f"line 1: columns {seen[key]} and {index} are both named {name!r}")
        seen[key] = index
        if key in FIELD_COLUMNS or key in HANDLE_COLUMNS:
            out.append((key, name))
        elif problem := attribute_name_problem(name):
            suggestion = re.sub(r"\W+", "_", name).strip("_") or "attribute"
            if suggestion[0].isdigit():
                suggestion = f"_{suggestion}"
            raise BadFile(
                f"line 1: column {name!r} would be an attribute, whose name {problem} "
                f"(rename it, e.g. {suggestion!r})"
            )
        else:
            out.append(("attribute", name))
    return out


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(SEPARATOR) if part.strip()]


def _row(
    line: int, columns: list[tuple[str, str]], cells: list[str], extra_tags: tuple[str, ...]
) -> Row:
    row = Row(line, {})
    handles: list[dict[str, str]] = []
    tags: list[str] = []
    attributes: dict[str, str] = {}
    for (role, header), cell in zip(columns, cells, strict=False):
        value = cell.strip()
        if not value:
            continue  # an empty cell gives nothing
        if role in HANDLE_COLUMNS:
            for part in _split(value):
                row.columns[f"handles[{len(handles)}]"] = header
                handles.append({"kind": role, "value": part})
        elif role == "tags":
            tags.extend(_split(value))
        elif role == "attribute":
            attributes[header] = value
            row.columns[header] = header
        else:
            row.raw[role] = value
            row.columns[role] = header
    if handles:
        row.raw["handles"] = handles
    if tags or extra_tags:
        row.raw["tags"] = [*tags, *(t for t in extra_tags if t not in tags)]
    if attributes:
        row.raw["attributes"] = attributes
    return row


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar on stderr while the import works (none when it is not a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(f"{phase.capitalize()} rows", total=total)
        bar.update(tasks[phase], completed=done, total=total)

    with bar:
        yield update


def _check(
    rows: list[Row], region: str | None, report: Callable[[str, int, int], None]
) -> tuple[list[tuple[Row, NewContact]], list[Problem]]:
    from pigeon.domain.contacts import parse_contact
    from pigeon.errors import ValidationError

    good: list[tuple[Row, NewContact]] = []
    problems: list[Problem] = []
    for done, row in enumerate(rows, start=1):
        try:
            good.append((row, parse_contact(row.raw, region=region)))
        except ValidationError as error:
            problems.extend(Problem(row.line, row.column_of(k), v) for k, v in error.errors.items())
        if done % 500 == 0 or done == len(rows):
            report("checking", done, len(rows))
    return good, problems


@contacts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--default-region",
    metavar="CC",
    default=None,
    help="Read national phone numbers (020 7946 0958) as numbers of this region: GB, US...",
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="TAG",
    help="Tag every contact of the file (repeat for several).",
)
@click.option("--skip-invalid", is_flag=True, help="Import the good rows; report the bad ones.")
@WORKSPACE
@JSON
def import_cmd(
    file: Path,
    default_region: str | None,
    tags: tuple[str, ...],
    skip_invalid: bool,
    workspace_id: str | None,
    as_json: bool,
) -> None:
    """Create or update contacts from a CSV file (UTF-8, with or without a BOM).

    The first line names the columns, in any case: external_id, name, phone, email,
    imessage, whatsapp, tags (separated by ;) and timezone; every other column becomes an
    attribute of that name. A row with an external_id updates the contact that has it; a
    row without one updates the first contact with any of its handles; other rows create
    contacts. Rows of one contact apply in order.

    An update keeps what the row does not give: the row's attributes are set, the
    contact's others kept; its handles and tags are added to the contact's (the contact's
    primary handles stay primary); a name, timezone or external_id replaces the contact's.
    An empty cell gives nothing, so it removes nothing (to remove a handle, a tag or an
    attribute, PATCH /v1/contacts/ID).

    Every row is checked first: with any bad row, nothing is written (unless
    --skip-invalid).
    """
    from pigeon.domain.contacts import check_tag, region_of
    from pigeon.errors import ValidationError
    from pigeon.services import contacts as service

    try:
        region = region_of(default_region, "--default-region")
    except ValidationError as error:
        raise click.BadParameter(
            error.errors["--default-region"], param_hint="--default-region"
        ) from None
    for tag in tags:
        if bad_tag := check_tag(tag):
            raise click.BadParameter(f"{tag!r} {bad_tag}", param_hint="--tag")
    rows, problems = read_rows(read_text(file), tuple(t.strip() for t in tags))
    show_bar = sys.stderr.isatty() and not as_json
    with _progress(show_bar) as report:
        good, bad = _check(rows, region, report)
        problems = sorted([*problems, *bad], key=lambda p: p.line)
        bad_lines = {p.line for p in problems}
        summary: dict[str, Any] = {
            "file": str(file),
            "created": 0,
            "updated": 0,
            "unchanged": 0,
            "skipped": len(bad_lines),
            "errors": [p.as_json() for p in problems],
            "ids": [],
        }
        write = [(row, change) for row, change in good if row.line not in bad_lines]
        total = len(rows) + len(bad_lines - {row.line for row in rows})
        if problems and not skip_invalid:
            _fail(as_json, summary, problems, total)
        with _services() as services:
            who = _principal(services, workspace_id)
            try:
                done = service.upsert_checked(
                    services, who, [change for _row, change in write], progress=report
                )
            except ValidationError as error:  # a check only the database can make
                problems = [_located(write, k, v) for k, v in error.errors.items()]
                summary["errors"] = [p.as_json() for p in problems]
                summary["skipped"] = len(write) + len(bad_lines)
                _fail(as_json, summary, problems, total)
    summary.update(
        created=done.created, updated=done.updated, unchanged=done.unchanged, ids=done.ids
    )
    for skipped in problems:
        click.echo(str(skipped), err=True)
    _emit(
        as_json,
        summary,
        lambda: click.echo(
            f"{file.name}: created {done.created}, updated {done.updated}, "
            f"unchanged {done.unchanged}, skipped {summary['skipped']}"
        ),
    )


def _located(write: list[tuple[Row, NewContact]], name: str, problem: str) -> Problem:
    match = _ROW_FIELD.match(name)
    if match is None or match.group(1) is None:
        return Problem(0, name, problem)
    row = write[int(match.group(1))][0]
    return Problem(row.line, row.column_of(match.group(2)), problem)


def _fail(as_json: bool, summary: Mapping[str, Any], problems: list[Problem], rows: int) -> None:
    lines = len({p.line for p in problems})
    if as_json:
        click.echo(_json(summary))
    else:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(
            f"nothing imported: {lines} of {rows} rows are bad "
            "(fix them, or --skip-invalid to import the others)",
            err=True,
        )
    sys.exit(1)


def _json(data: Any) -> str:
    import json

    return json.dumps(data, default=str, indent=2)


@contacts.command("list")
@click.option("--tag", default=None, help="Only contacts with this tag.")
@click.option(
    "--search", "q", default=None, help="Only contacts with this text in a name or handle."
)
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="How many, newest first.",
)
@WORKSPACE
@JSON
def list_cmd(
    tag: str | None, q: str | None, limit: int, workspace_id: str | None, as_json: bool
) -> None:
    """List contacts, newest first."""
    from pigeon.api.v1.render import contact_out
    from pigeon.services import contacts as service

    with _services() as services:
        who = _principal(services, workspace_id)
        found: list[Any] = []
        cursor = None
        while len(found) < limit:
            want = min(limit - len(found), service.MAX_PAGE)
            page = service.list_(services, who, tag=tag, q=q, limit=want, before=cursor)
            found.extend(page)
            if len(page) < want:
                break
            cursor = page[-1].id
        data = [contact_out(c) for c in found]

    def human() -> None:
        if not data:
            click.echo("no contacts")
        for c in data:
            handles = ", ".join(h["value"] for h in c["handles"] if h["primary"]) or "-"
            tags_text = f"  [{', '.join(c['tags'])}]" if c["tags"] else ""
            click.echo(f"{c['id']}  {c['name'] or '-':<24} {handles}{tags_text}")

    _emit(as_json, data, human)
