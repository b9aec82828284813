"""Outreach message templates: Liquid, strict and sandboxed.

A batch compiles its template once and renders it once per recipient. A template reads only
what it is given: there is no loader (`include` and `render` do not exist), no clock but the
`now` passed in, and loops, ranges, the values filters make and the output are all bounded,
so no template can exhaust the worker rendering it. A name the template reads that the
context lacks is an error, not an empty string, unless `default` supplies one.

Filters beyond standard Liquid: `first_name`, `last_name`, and `local_date` (also under the
name `date`), which shows a moment in the recipient's zone.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from liquid import Environment, RenderContext, StrictDefaultUndefined, is_undefined, soft_str
from liquid.builtin.expressions.primitive import RangeLiteral
from liquid.exceptions import (
    ContextDepthError,
    FilterArgumentError,
    LiquidError,
    LocalNamespaceLimitError,
    LoopIterationLimitError,
    OutputStreamLimitError,
    ResourceLimitError,
    UndefinedError,
)
from liquid.filter import with_context

from pigeon.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from zoneinfo import ZoneInfo

    from liquid import BoundTemplate
    from liquid.token import Token

MAX_OUTPUT = 10_000  # characters of one rendered message
MAX_SOURCE = 50_000  # characters of a template
MAX_ITERATIONS = 10_000  # loop iterations of one render, nested loops multiplied
MAX_VALUE = 100_000  # characters of any one value a filter makes
DEFAULT_DATE_FORMAT = "%Y-%m-%d %H:%M"


class RenderProblem(Exception):
    """A template could not be rendered for one recipient; the message says why, briefly."""


class Template:
    """A compiled template: compile once, render per recipient."""

    __slots__ = ("_bound", "source", "variables")

    def __init__(self, source: str, bound: BoundTemplate, variables: frozenset[str]) -> None:
        self.source = source
        self._bound = bound
        self.variables = variables  # the top-level names it reads, for the preview

    def render(self, context: Mapping[str, Any], *, zone: ZoneInfo, now: datetime) -> str:
        """The message for one recipient; `now` (aware) is shown to the template in `zone`."""
        if now.tzinfo is None:
            raise ValueError(f"now must be an aware datetime, got the naive {now!r}")
        try:
            text = self._bound.render({**context, "now": now.astimezone(zone)})
        except (LiquidError, RecursionError) as error:
            raise RenderProblem(_render_problem(error)) from error
        except (ValueError, ArithmeticError) as error:
            # From Python under a filter, e.g. a number too long to print.
            raise RenderProblem(f"a value cannot be shown: {error}") from error
        if len(text) > MAX_OUTPUT:
            raise RenderProblem(f"the message is longer than {MAX_OUTPUT:,} characters")
        return text


def compile_template(source: str, *, field: str = "template") -> Template:
    """Parse `source`; a template that cannot compile is a ValidationError naming `field`
    with the line and what is wrong there."""
    if not isinstance(source, str):
        raise ValidationError.field(field, "must be text")
    if len(source) > MAX_SOURCE:
        raise ValidationError.field(field, f"is longer than {MAX_SOURCE:,} characters")
    try:
        bound = _ENVIRONMENT.from_string(source)
        analysis = bound.analyze(include_partials=False)
        _bound_ranges(bound)
    except LiquidError as error:
        raise ValidationError.field(field, _where(error) + _parse_problem(error)) from error
    except RecursionError as error:
        raise ValidationError.field(field, "nests too deeply") from error
    for name, spans in analysis.filters.items():
        if name not in _ENVIRONMENT.filters:
            line = source.count("\n", 0, spans[0].index) + 1
            raise ValidationError.field(field, f"line {line}: unknown filter '{name}'")
    return Template(source, bound, frozenset(analysis.globals) - {"now"})


class _Sandbox(Environment):
    loop_iteration_limit = MAX_ITERATIONS
    # Bytes of UTF-8: stops a runaway early; render() counts the characters exactly.
    output_stream_limit = 4 * MAX_OUTPUT
    local_namespace_limit = 8 * MAX_VALUE
    context_depth_limit = 10

    def error(
        self,
        exc: type[LiquidError] | LiquidError,
        msg: str | None = None,
        token: Token | None = None,
    ) -> None:
        # An error at the end of an expression carries no position; the statement around
        # it, which the parser passes here, does.
        if isinstance(exc, LiquidError) and token is not None:
            exc.token = token if exc.token is None or exc.token.start_index < 0 else exc.token
        super().error(exc, msg, token)


class _TooLarge(ResourceLimitError):
    """A filter would make a value longer than MAX_VALUE."""


class _BoundedRange(RangeLiteral):
    """`(a..b)`, refused past MAX_ITERATIONS numbers wherever it is used: a filter such as
    `join` walks a range without the loop limit seeing it."""

    __slots__ = ()

    def _make_range(self, start: Any, stop: Any) -> range:
        made = super()._make_range(start, stop)
        if len(made) > MAX_ITERATIONS:
            raise LoopIterationLimitError("loop iteration limit reached", token=self.token)
        return made


def _bound_ranges(template: BoundTemplate) -> None:
    # Same layout, so each parsed range literal can become a bounded one in place.
    static = RenderContext(template)
    nodes = list(template.nodes)
    while nodes:
        node = nodes.pop()
        nodes.extend(node.children(static, include_partials=False))
        expressions = list(node.expressions())
        while expressions:
            expression = expressions.pop()
            if type(expression) is RangeLiteral:
                expression.__class__ = _BoundedRange
            expressions.extend(expression.children())


def _bounded(name: str, make: Callable[..., Any]) -> Callable[..., Any]:
    """`make`, refusing to produce a string longer than MAX_VALUE. `replace` and `join`
    multiply their input, so they are refused before they build it."""
    estimate = _GROWTH.get(name)

    @functools.wraps(make)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if estimate is not None and estimate(*args) > MAX_VALUE:
            raise _TooLarge(f"{name} would make a value too long", token=None)
        made = make(*args, **kwargs)
        if isinstance(made, str) and len(made) > MAX_VALUE:
            raise _TooLarge(f"{name} made a value too long", token=None)
        # Squaring a number in a loop doubles its digits each time.
        if isinstance(made, int) and made.bit_length() > _MAX_BITS:
            raise _TooLarge(f"{name} made a number too large", token=None)
        return made

    return bounded


def _replace_size(value: object, old: object = "", new: object = "", *_: object) -> int:
    text, old_text = soft_str(value), soft_str(old)
    hits = text.count(old_text) if old_text else len(text) + 1
    return len(text) + hits * len(soft_str(new))


def _join_size(items: object, separator: object = " ", *_: object) -> int:
    count = len(items) if isinstance(items, list | tuple | range) else 0
    return count * len(soft_str(separator))


_MAX_BITS = 1024
_GROWTH: dict[str, Callable[..., int]] = {"replace": _replace_size, "join": _join_size}

# Dropped from either end of a name before taking its first or last word.
_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame"})
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "md", "esq"})


def _words(value: object) -> list[str]:
    words = ("" if value is None else soft_str(value)).split()
    while len(words) > 1 and words[0].rstrip(".").lower() in _HONORIFICS:
        words.pop(0)
    while len(words) > 1 and words[-1].rstrip(".,").lower() in _SUFFIXES:
        words.pop()
    return words


def first_name(value: object) -> str:
    """ "Dana Q. Smith" -> "Dana"; "Dr. Dana Smith" -> "Dana"; "" -> ""."""
    words = _words(value)
    return words[0] if words else ""


def last_name(value: object) -> str:
    """ "Dana Q. Smith" -> "Smith"; "Martin King Jr." -> "King"; a single word has none."""
    words = _words(value)
    return words[-1].rstrip(",") if len(words) > 1 else ""


@with_context
def local_date(
    value: object, format: object = DEFAULT_DATE_FORMAT, *, context: RenderContext
) -> str:
    """`value` shown in the recipient's zone (that of the render's `now`).

    Reads an aware datetime, a naive one (taken as UTC), a date (shown as is), an ISO 8601
    string (naive means UTC, as stored instants are), Unix seconds, or "now"/"today".
    `format` is strftime's, plus `%-d`-style flags that drop a leading zero on any platform.
    """
    now = context.globals["now"]
    assert isinstance(now, datetime)
    moment = _moment(value, now)
    if isinstance(moment, datetime):
        moment = moment.astimezone(now.tzinfo)
    return _strftime(moment, soft_str(format))


def _moment(value: object, now: datetime) -> date:
    if is_undefined(value):
        soft_str(value)  # a strict undefined raises, naming itself
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as error:
            raise FilterArgumentError(f"local_date: {value} is out of range", token=None) from error
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("now", "today"):
            return now
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            return _moment(datetime.fromisoformat(text), now)
        except ValueError:
            pass
    raise FilterArgumentError(f"local_date: cannot read {value!r} as a date", token=None)


_UNPADDED = re.compile(r"%(?:%|-(.))", re.DOTALL)


def _strftime(moment: date, format: str) -> str:
    """strftime, with `%-d` and the like (glibc's, not everyone's) done here."""

    def unpadded(match: re.Match[str]) -> str:
        if match[1] is None:  # "%%", left to strftime
            return match[0]
        return (moment.strftime("%" + match[1]).lstrip("0") or "0").replace("%", "%%")

    return moment.strftime(_UNPADDED.sub(unpadded, format) if "%-" in format else format)


def _environment() -> _Sandbox:
    env = _Sandbox(undefined=StrictDefaultUndefined)
    # Without these, no tag reaches for another template; the default loader is empty too.
    del env.tags["include"], env.tags["render"]
    env.add_filter("first_name", first_name)
    env.add_filter("last_name", last_name)
    env.add_filter("local_date", local_date)
    # The standard `date` reads the real clock for "now": here it is local_date.
    env.add_filter("date", local_date)
    env.filters = {name: _bounded(name, make) for name, make in env.filters.items()}
    return env


_ENVIRONMENT = _environment()

_UNDEFINED = re.compile(r"'?(?P<name>.+?)'? is undefined")


def _where(error: LiquidError) -> str:
    context = error.context()
    # Without a position the parser ran off the end (an unclosed block, say).
    return f"line {context[0]}: " if context else "at the end: "


def _parse_problem(error: LiquidError) -> str:
    message = str(error.message)
    if message in ("unexpected tag 'include'", "unexpected tag 'render'"):
        return "templates cannot include other templates"
    return message


def _render_problem(error: LiquidError | RecursionError) -> str:
    if isinstance(error, UndefinedError):
        match = _UNDEFINED.fullmatch(str(error.message))
        name = match["name"] if match else str(error.message)
        return f"undefined variable '{name}'" + _on_line(error)
    if isinstance(error, LoopIterationLimitError):
        return f"a loop or range runs past {MAX_ITERATIONS:,} iterations" + _on_line(error)
    if isinstance(error, OutputStreamLimitError):
        return f"the message is longer than {MAX_OUTPUT:,} characters"
    if isinstance(error, _TooLarge | LocalNamespaceLimitError):
        return "the template builds a value too large to send"
    if isinstance(error, ContextDepthError | RecursionError):
        return "the template nests too deeply"
    return str(error.message) + _on_line(error)


def _on_line(error: LiquidError) -> str:
    context = error.context()
    return f" (line {context[0]})" if context else ""
