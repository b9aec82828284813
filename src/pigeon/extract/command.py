"""`pigeon extract`: one message from the command line, or JSON Lines in batch."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from pigeon.clock import SystemClock
from pigeon.extract.protocols import FIRST_YEAR, LAST_YEAR, ExtractRequest
from pigeon.extract.resolve import resolve_phrase
from pigeon.extract.settings import (
    LOCALE_HINT,
    ExtractConfigError,
    ExtractSettings,
    build_extractor,
    normalize_locale,
)
from pigeon.extract.timemath import localize

if TYPE_CHECKING:
    from pigeon.extract.protocols import Extraction, Extractor


def zone_option(name: str) -> ZoneInfo:
    """The zone a `--tz` option names; a usage error naming it when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown time zone {name!r}", param_hint="--tz") from None


def _moment(value: str, zone: ZoneInfo) -> datetime:
    try:
        return _reference(value, zone)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--at") from None


def _reference(value: str, zone: ZoneInfo) -> datetime:
    """An ISO date-time (naive: in `zone`) in the years the API takes too."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO date-time: {value!r}") from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError(f"must fall in the years {FIRST_YEAR} to {LAST_YEAR}")
    return localize(moment, zone) if moment.tzinfo is None else moment


def _text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text: must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text: is not valid Unicode (a lone surrogate)") from None
    return value


def render(result: Extraction) -> dict[str, Any]:
    return {
        "due": result.due.isoformat() if result.due else None,
        "grain": result.grain.label if result.grain is not None else None,
        "ambiguous": result.ambiguous,
        "reason": result.reason.value if result.reason else None,
        "summary": result.summary,
        "action": result.action.value,
        "question": result.question,
        "wants_follow_up": result.wants_follow_up,
    }


def _neutral(text: str, moment: datetime, zone: ZoneInfo, locale: str) -> dict[str, Any]:
    resolved = resolve_phrase(text, moment.astimezone(zone).replace(tzinfo=None), zone, locale)
    if resolved is None:
        return {
            "due": None,
            "grain": None,
            "ambiguous": False,
            "reason": "no_time",
            "summary": "",
            "action": "remind",
        }
    return {
        "due": localize(resolved.start, zone).isoformat(),
        "grain": resolved.grain.label,
        "ambiguous": False,
        "reason": None,
        "summary": "",
        "action": "remind",
        "kind": resolved.kind,
        "open": resolved.open,
    }


@click.command("extract")
@click.argument("text", required=False)
@click.option(
    "--at", "at", help="When the message was received (ISO); naive means --tz. Default: now."
)
@click.option("--tz", "tz", default="UTC", show_default=True, help="The user's IANA time zone.")
@click.option("--locale", default=None, help="Sender's locale, e.g. en_GB (day-first dates).")
@click.option("--batch", is_flag=True, help="Read JSON Lines (text, reference, tz) from stdin.")
@click.option(
    "--neutral", is_flag=True, help="Print the resolver's plain reading, without follow-up policy."
)
def extract(
    text: str | None, at: str | None, tz: str, locale: str | None, batch: bool, neutral: bool
) -> None:
    """Find the follow-up time and summary in TEXT."""
    try:
        settings = ExtractSettings.from_env(os.environ)
    except ExtractConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    extractor = build_extractor(settings)
    default_locale = settings.locale
    if locale is not None:
        default_locale = normalize_locale(locale) or _bad_locale(locale)
    if batch:
        _batch(extractor, default_locale, neutral, sys.stdin)
        return
    if text is None:
        raise click.UsageError("give TEXT, or --batch to read JSON Lines")
    zone = zone_option(tz)
    moment = _moment(at, zone) if at is not None else SystemClock().now().astimezone(zone)
    try:
        text = _text(text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="TEXT") from None
    if neutral:
        click.echo(json.dumps(_neutral(text, moment, zone, default_locale)))
        return
    result = extractor.extract(ExtractRequest(text, moment, zone, default_locale))
    click.echo(json.dumps(render(result), ensure_ascii=False))


def _bad_locale(value: str) -> str:
    raise click.BadParameter(f"{value!r}: expected {LOCALE_HINT}", param_hint="--locale")


def _batch(extractor: Extractor, locale: str, neutral: bool, stdin: TextIO) -> None:
    for number, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        try:
            text, moment, zone, row_locale = _read_row(line, locale)
            if neutral:
                payload = _neutral(text, moment, zone, row_locale)
            else:
                payload = render(extractor.extract(ExtractRequest(text, moment, zone, row_locale)))
        except ValueError as exc:
            payload = {"error": f"line {number}: {exc}"}
        click.echo(json.dumps(payload, ensure_ascii=False))


def _read_row(line: str, default_locale: str) -> tuple[str, datetime, ZoneInfo, str]:
    """One JSON Lines input; a ValueError says what is wrong with it."""
    try:
        row = json.loads(line.removeprefix("\ufeff"))  # a byte-order mark before line 1
    except ValueError:
        raise ValueError("not JSON") from None
    if not isinstance(row, dict):
        raise ValueError("expected a JSON object with text, reference and tz")
    text, reference = row.get("text"), row.get("reference")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text: required, a non-empty string")
    text = _text(text)
    if not isinstance(reference, str):
        raise ValueError("reference: required, an ISO date-time such as 2025-01-15T10:00")
    try:
        zone = ZoneInfo(str(row.get("tz") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"tz: unknown time zone {row.get('tz')!r}") from None
    try:
        moment = _reference(reference, zone)
    except ValueError as error:
        raise ValueError(f"reference: {error}") from None
    locale = default_locale
    if row.get("locale") is not None:
        locale = normalize_locale(str(row["locale"])) or ""
        if not locale:
            raise ValueError(f"locale: expected {LOCALE_HINT}, got {row['locale']!r}")
    return text, moment, zone, locale
