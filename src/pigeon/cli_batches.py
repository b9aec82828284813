"""`pigeon batch`: outreach batches from the command line, with a live progress bar.

pigeon batch create --name "March check-in" --template-file msg.liquid --tag clients
pigeon batch preview BATCH
pigeon batch start BATCH --watch
pigeon batch pause|resume|cancel BATCH
pigeon batch status BATCH [--watch]
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pigeon.cli import JSON, WORKSPACE, _emit, _parse_at, _principal, _services

if TYPE_CHECKING:
    from pigeon.services.context import Principal, Services

WATCH = click.option("--watch", is_flag=True, help="Follow the progress until the batch ends.")
BATCH = click.argument("batch_id", metavar="BATCH")


@click.group()
def batch() -> None:
    """Create, preview, start, pause, resume, cancel and watch outreach batches."""


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    found = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint=option)
        found[key] = rest
    return found


@batch.command("create")
@click.option("--name", required=True, help="What to call the batch.")
@click.option("--template", default=None, help="Liquid template text.")
@click.option(
    "--template-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Read the Liquid template from a file.",
)
@click.option("--all", "everyone", is_flag=True, help="Every contact (not with --tag/--contact).")
@click.option("--tag", "tags", multiple=True, help="Contacts with this tag (repeatable).")
@click.option("--all-tags", is_flag=True, help="Contacts with every --tag, not any.")
@click.option("--contact", "contact_ids", multiple=True, help="A contact id (repeatable).")
@click.option("--where", "where", multiple=True, help="Attribute filter NAME=VALUE.")
@click.option("--var", "variables", multiple=True, help="Template variable NAME=VALUE.")
@click.option("--channel", "channel_id", default=None, help="Channel id (default channel).")
@click.option("--send-at", default=None, help="Start at (ISO 8601; naive = workspace zone).")
@click.option("--no-auto-pause", is_flag=True, help="Never pause on a run of failures.")
@WORKSPACE
@JSON
def create(
    name: str,
    template: str | None,
    template_file: Path | None,
    everyone: bool,
    tags: tuple[str, ...],
    all_tags: bool,
    contact_ids: tuple[str, ...],
    where: tuple[str, ...],
    variables: tuple[str, ...],
    channel_id: str | None,
    send_at: str | None,
    no_auto_pause: bool,
    workspace_id: str | None,
    as_json: bool,
) -> None:
    """Create a draft batch (nothing is sent until `start`)."""
    from pigeon.api.v1.render import batch_out
    from pigeon.services import admin, batches

    if template is not None and template_file is not None:
        raise click.UsageError("give --template or --template-file, not both")
    if template is None:
        if template_file is None:
            raise click.UsageError("give --template or --template-file")
        # An editor ends the file with a newline; it is not part of the message.
        template = template_file.read_text("utf-8").removesuffix("\n")
    audience = {
        "all": everyone,
        "tags": list(tags),
        "tags_mode": "all" if all_tags else "any",
        "contact_ids": list(contact_ids),
        "where": _pairs(where, "--where"),
    }
    with _services() as services:
        who = _principal(services, workspace_id)
        zone = admin.get_workspace(services, who).timezone
        new = batches.NewBatch(
            name=name,
            template=template,
            audience=audience,
            channel_id=channel_id,
            variables=_pairs(variables, "--var"),
            send_at=_parse_at(send_at, zone, option="--send-at"),
            **({"auto_pause": None} if no_auto_pause else {}),
        )
        data = batch_out(batches.create(services, who, new), None)
    _emit(as_json, data, lambda: click.echo(f"{data['id']}  draft  {data['name']}"))


@batch.command("preview")
@BATCH
@click.option("--samples", default=3, show_default=True, type=click.IntRange(0, 50))
@WORKSPACE
@JSON
def preview(batch_id: str, samples: int, workspace_id: str | None, as_json: bool) -> None:
    """Dry run over every recipient: who gets what, who is skipped and why, and when."""
    from pigeon.api.v1.render import preview_out
    from pigeon.services import batches

    with _services() as services:
        who = _principal(services, workspace_id)
        data = preview_out(batches.preview(services, who, batch_id, samples=samples))
    _emit(as_json, data, lambda: _print_preview(data))


def _print_preview(data: dict[str, Any]) -> None:
    skipped = data["skipped"]
    click.echo(
        f"audience {data['audience']}: {data['will_send']} to send, {skipped['count']} skipped"
    )
    for reason, count in sorted(skipped["by_reason"].items()):
        click.echo(f"  skipped, {reason}: {count}")
    for item in skipped["items"][:20]:
        detail = f" ({item['detail']})" if item["detail"] else ""
        click.echo(f"    {item['name'] or item['contact_id']}: {item['reason']}{detail}")
    timeline = data["timeline"]
    if data["will_send"]:
        last = timeline["last_at"] or "held until a paused policy is resumed"
        click.echo(f"first at {timeline['first_at']}, last at {last}")
        for reason, count in sorted(timeline["held_by"].items()):
            click.echo(f"  {count} wait for {reason}")
    for sample in data["samples"]:
        click.echo(f"--- to {sample['recipient']}\n{sample['body']}")


def _act(
    action: str, batch_id: str, workspace_id: str | None, as_json: bool, watch: bool = False
) -> None:
    from pigeon.api.v1.render import batch_out
    from pigeon.services import batches

    with _services() as services:
        who = _principal(services, workspace_id)
        found = getattr(batches, action)(services, who, batch_id)
        data = batch_out(found.batch, found.items)
        if watch and not as_json:
            _watch(services, who, batch_id)
            return
    _emit(as_json, data, lambda: click.echo(_line(data)))


def _line(data: dict[str, Any]) -> str:
    progress = data.get("progress") or {}
    items = progress.get("items", {})
    counts = ", ".join(f"{status} {n}" for status, n in items.items() if n)
    reason = f" ({data['status_reason']})" if data.get("status_reason") else ""
    return f"{data['id']}  {data['status']}{reason}  {counts}"


@batch.command("start")
@BATCH
@WATCH
@WORKSPACE
@JSON
def start(batch_id: str, watch: bool, workspace_id: str | None, as_json: bool) -> None:
    """Start sending: every recipient becomes a message, paced by the throttle."""
    _act("start", batch_id, workspace_id, as_json, watch)


@batch.command("pause")
@BATCH
@WORKSPACE
@JSON
def pause(batch_id: str, workspace_id: str | None, as_json: bool) -> None:
    """Hold what has not gone out yet."""
    _act("pause", batch_id, workspace_id, as_json)


@batch.command("resume")
@BATCH
@WATCH
@WORKSPACE
@JSON
def resume(batch_id: str, watch: bool, workspace_id: str | None, as_json: bool) -> None:
    """Carry on sending a paused batch."""
    _act("resume", batch_id, workspace_id, as_json, watch)


@batch.command("cancel")
@BATCH
@WORKSPACE
@JSON
def cancel(batch_id: str, workspace_id: str | None, as_json: bool) -> None:
    """Cancel what has not gone out; those items end skipped."""
    _act("cancel", batch_id, workspace_id, as_json)


@batch.command("status")
@BATCH
@WATCH
@WORKSPACE
@JSON
def status(batch_id: str, watch: bool, workspace_id: str | None, as_json: bool) -> None:
    """Progress: items by status (sent, failed, skipped, waiting)."""
    _act("get", batch_id, workspace_id, as_json, watch)


def _watch(services: Services, who: Principal, batch_id: str, *, every: float = 1.0) -> None:
    """A live bar until the batch completes or is canceled (Ctrl-C leaves it running); a
    line per change when the output is not a terminal."""
    import sys

    if not sys.stdout.isatty():
        _watch_lines(services, who, batch_id, every=every)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from pigeon.domain.transitions import BatchStatus, ItemStatus
    from pigeon.services import batches

    finished = (ItemStatus.SENT, ItemStatus.FAILED, ItemStatus.SKIPPED)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("starting", total=None)
        while True:
            found = batches.get(services, who, batch_id)
            items = found.items
            done = sum(items[s] for s in finished)
            description = (
                f"{found.batch.status}: sent {items[ItemStatus.SENT]}, failed "
                f"{items[ItemStatus.FAILED]}, skipped {items[ItemStatus.SKIPPED]}"
            )
            bar.update(task, total=sum(items.values()), completed=done, description=description)
            if found.batch.status in (BatchStatus.COMPLETED, BatchStatus.CANCELED):
                break
            time.sleep(every)


def _watch_lines(services: Services, who: Principal, batch_id: str, *, every: float) -> None:
    from pigeon.api.v1.render import batch_out
    from pigeon.domain.transitions import BatchStatus
    from pigeon.services import batches

    last = None
    while True:
        found = batches.get(services, who, batch_id)
        line = _line(batch_out(found.batch, found.items))
        if line != last:
            click.echo(line)
            last = line
        if found.batch.status in (BatchStatus.COMPLETED, BatchStatus.CANCELED):
            return
        time.sleep(every)
