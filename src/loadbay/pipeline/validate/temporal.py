"""Planners of date (pl.Date) and datetime (naive pl.Datetime("us") in UTC).

Built-in forms come first, then the user's ``date_formats``. The built-in forms
are read by one regular expression (anything it lets through is rebuilt as
``yyyy-MM-dd HH:mm:ss.f`` and parsed strictly, so an impossible date such as
2024-02-30 is an error, never a guess); an offset or ``Z`` moves the value to UTC.
A user format is read with polars' strptime (chrono), exactly, and a result before
the year 1000 is refused (``"5/1/24"`` read with ``%Y`` would be the year 24).
"""

from __future__ import annotations

import polars as pl

from loadbay.errors import Code
from loadbay.pipeline.validate.base import Cell, Plan, Rule, invalid, matches, shown

#: the date alone: the fast path of date columns
ISO_DATE_PATTERN = r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$"
#: yyyy-MM-dd, then optionally [T or space]HH:mm[:ss[.f up to 6]] and Z or ±hh[[:]mm]
DATETIME_PATTERN = (
    r"^(?<date>[0-9]{4}-[0-9]{1,2}-[0-9]{1,2})"
    r"(?:[Tt ](?<hour>[01][0-9]|2[0-3]):(?<minute>[0-5][0-9])"
    r"(?::(?<second>[0-5][0-9])(?:[.,](?<fraction>[0-9]{1,6}))?)?"
    r"(?<zone>[Zz]|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)?)?$"
)
DATE_FORMS = "yyyy-MM-dd"
DATETIME_FORMS = (
    "yyyy-MM-dd, yyyy-MM-dd HH:mm[:ss[.ffffff]] (T or a space between), with Z or ±hh:mm"
)
#: strftime directives that carry a zone: polars then returns the value in UTC
_ZONE_DIRECTIVES = ("%z", "%:z", "%::z", "%#z")
_EARLIEST_YEAR = 1000
# Every parse passes cache=False: polars' cache of parsed strings costs twice the parse
# itself on a batch of dates, and gives the same values.


def _formats(cell: Cell) -> tuple[str, ...]:
    """The user formats of a cell: its column's own (``Column.format``), then the import's."""
    own = cell.spec.format
    if own is None:
        return cell.options.date_formats
    return (own, *(f for f in cell.options.date_formats if f != own))


def _accepted(cell: Cell, forms: str) -> str:
    return ", ".join((forms, *_formats(cell)))


def _parts(text: pl.Expr, matched: pl.Expr | None = None) -> pl.Expr:
    """The fields of the built-in forms (a struct; null fields where ``text`` is not one);
    ``matched``: where it is one, if known.

    Matching first is much cheaper than capturing: the capture runs on the matches only.
    """
    if matched is None:
        matched = text.str.contains(DATETIME_PATTERN)
    return pl.when(matched).then(text).str.extract_groups(DATETIME_PATTERN)


def _from_parts(parts: pl.Expr, to_utc: bool) -> pl.Expr:
    """The datetime the built-in regex found (null if none, or if impossible)."""

    def field(name: str) -> pl.Expr:
        return parts.struct.field(name)

    local = pl.concat_str(
        field("date"),
        pl.lit(" "),
        field("hour").fill_null("00"),
        pl.lit(":"),
        field("minute").fill_null("00"),
        pl.lit(":"),
        field("second").fill_null("00"),
        pl.lit("."),
        field("fraction").fill_null("0"),
    ).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", strict=False, cache=False)
    if not to_utc:
        return local
    zone = field("zone").str.replace(":", "", literal=True)
    sign = pl.when(zone.str.starts_with("-")).then(pl.lit(-1)).otherwise(pl.lit(1))
    hours = zone.str.slice(1, 2).cast(pl.Int64, strict=False).fill_null(0)
    minutes = zone.str.slice(3, 2).cast(pl.Int64, strict=False).fill_null(0)
    return local - pl.duration(minutes=sign * (hours * 60 + minutes))


def _user_formats(text: pl.Expr, formats: tuple[str, ...]) -> list[pl.Expr]:
    """``text`` read with each user format, as naive datetimes (UTC for zoned formats)."""
    parsed: list[pl.Expr] = []
    for fmt in formats:
        value = text.str.strptime(pl.Datetime("us"), fmt, strict=False, cache=False)
        if any(directive in fmt for directive in _ZONE_DIRECTIVES):
            value = value.dt.replace_time_zone(None)
        parsed.append(pl.when(value.dt.year() >= _EARLIEST_YEAR).then(value))
    return parsed


def builtin_datetime_of(text: pl.Expr) -> pl.Expr:
    """What a datetime column makes of the (stripped) cells ``text`` by the built-in forms
    alone (null: none reads it). For inferring a column's type (``pipeline.infer``): one
    expression, where a plan computes the same in steps."""
    return _from_parts(_parts(text), to_utc=True)


def builtin_date_of(text: pl.Expr) -> pl.Expr:
    """What a date column makes of ``text`` by the built-in forms alone (null: none)."""
    iso = pl.when(text.str.contains(ISO_DATE_PATTERN)).then(
        text.str.to_date("%Y-%m-%d", strict=False, cache=False)
    )
    moment = _from_parts(_parts(text), to_utc=False)
    return pl.coalesce(iso, pl.when(moment.dt.time() == pl.time()).then(moment.dt.date()))


def format_reads(text: pl.Expr, fmt: str, date: bool) -> pl.Expr:
    """Where the user format ``fmt`` reads ``text`` as a date (a time of 00:00) or as a
    datetime, as a plan would."""
    (value,) = _user_formats(text, (fmt,))
    if date:
        return (value.dt.time() == pl.time()).fill_null(False)
    return value.is_not_null()


def date_format_problem(fmt: str) -> str | None:
    """Why ``fmt`` cannot be a user date format (None: it can): a ``%`` that ends it, or
    one polars refuses where the plans use it (with the built-in forms' naive values)."""
    if "%" not in fmt or fmt.replace("%%", "").endswith("%"):
        return "it is not a strftime format (e.g. %d/%m/%Y)"
    probe = pl.DataFrame({"t": ["2024-01-02", "2024-01-02T03:04:05+01:00"]})
    naive = pl.lit(None, pl.Datetime("us"))
    try:
        probe.select(pl.coalesce(naive, *_user_formats(pl.col("t"), (fmt,))))
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        return str(exc).strip().splitlines()[0]
    return None


def plan_datetime(cell: Cell) -> Plan:
    parts, builtin = pl.col(cell.work("parts")), pl.col(cell.work("builtin"))
    rest = pl.when(builtin.is_null()).then(cell.text)
    steps = (
        (_parts(cell.text, cell.passes).alias(cell.work("parts")),),
        (_from_parts(parts, to_utc=True).alias(cell.work("builtin")),),
    )
    value = pl.coalesce(builtin, *_user_formats(rest, _formats(cell)))
    why = f"is not a valid date and time (accepted: {_accepted(cell, DATETIME_FORMS)})"
    rules = (invalid(cell, Code.INVALID_DATETIME, why),)
    return Plan(value=value, rules=rules, steps=steps, shape=matches(DATETIME_PATTERN))


def plan_date(cell: Cell) -> Plan:
    text = cell.text
    iso, parts = pl.col(cell.work("iso")), pl.col(cell.work("parts"))
    builtin, moment = pl.col(cell.work("builtin")), pl.col(cell.work("moment"))
    rest = pl.when(iso.is_null() & builtin.is_null()).then(text)
    steps = (
        (
            pl.when(cell.passes)
            .then(text.str.to_date("%Y-%m-%d", strict=False, cache=False))
            .alias(cell.work("iso")),
        ),
        (_parts(pl.when(iso.is_null()).then(text)).alias(cell.work("parts")),),
        (_from_parts(parts, to_utc=False).alias(cell.work("builtin")),),
        (pl.coalesce(builtin, *_user_formats(rest, _formats(cell))).alias(cell.work("moment")),),
    )
    at_midnight = pl.when(moment.dt.time() == pl.time()).then(moment.dt.date())
    accepted = _accepted(cell, DATE_FORMS)
    rules = (
        Rule(
            Code.INVALID_DATE,
            text.is_not_null() & cell.typed.is_null() & moment.is_not_null(),
            pl.concat_str(
                shown(text),
                pl.lit(f" has a time of day, but a date is expected (accepted: {accepted})"),
            ),
        ),
        invalid(cell, Code.INVALID_DATE, f"is not a valid date (accepted: {accepted})"),
    )
    shape = matches(ISO_DATE_PATTERN)
    return Plan(value=pl.coalesce(iso, at_midnight), rules=rules, steps=steps, shape=shape)
