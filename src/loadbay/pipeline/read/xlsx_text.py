"""The cells of a workbook as text: calamine's typed values, or its text where a column
mixes types.

Integral numbers have no ``.0`` (``12``), other numbers Excel's 15 significant digits
(``0.1``, not ``0.1000000000000000055``); dates are ``2024-01-31``, date-times
``2024-01-31 10:00:00`` with their milliseconds when they have some
(``10:00:00.250``; a column whose every date-time is at midnight is a date column),
times of day ``10:30:00``, durations (an elapsed-time format such as ``[h]:mm:ss``)
``27:05:00``; booleans ``true``/``false``. A time of day is a date-time on the day
of the workbook's epoch: 1899-12-30/31, or 1904-01-01 in the 1904 date system.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

import polars as pl

_EPOCH_1900 = ("1899-12-30", "1899-12-31")
_EPOCH_1904 = ("1904-01-01",)
_ZERO_1904 = datetime(1904, 1, 1)
_STAMP = "%Y-%m-%d %H:%M:%S"
_MS_PER_HOUR = 3_600_000


@dataclass(frozen=True)
class Epoch:
    """A workbook's date system: the dates that hold a time of day, and in the 1904
    system its day zero (date-times are taken as day zero plus their serial number:
    calamine misses a ``date1904`` written in an extension element, ``xlsx_cells``
    does not)."""

    dates: tuple[str, ...]
    zero: datetime | None = None

    @staticmethod
    def of(date1904: bool) -> Epoch:
        return Epoch(_EPOCH_1904, _ZERO_1904) if date1904 else Epoch(_EPOCH_1900)

    def dated(self, spans: pl.Series) -> pl.Series:
        """Date-times from serial numbers (as durations) in the 1904 system."""
        assert self.zero is not None
        return pl.DataFrame({"v": spans}).select(pl.lit(self.zero) + pl.col("v")).to_series()


def column_text(typed: pl.Series, text: pl.Series, epoch: Epoch) -> pl.Series:
    """One column as text: the typed value where the type held, else calamine's text."""
    converted = typed_text(typed, epoch)
    fallback = clean_text(text.cast(pl.String), epoch)
    return pl.select(pl.coalesce(converted, fallback)).to_series()


def typed_text(col: pl.Series, epoch: Epoch) -> pl.Series:
    dtype = col.dtype
    if dtype == pl.Float64:
        return number_text(col)
    if dtype == pl.Boolean:
        return col.cast(pl.String)
    if dtype == pl.Date:
        return col.dt.strftime("%Y-%m-%d")
    if isinstance(dtype, pl.Datetime):
        return _datetime_text(col, epoch)
    if isinstance(dtype, pl.Duration):
        return duration_text(col)
    return pl.Series(col.name, [None] * len(col), dtype=pl.String)


def number_text(col: pl.Series) -> pl.Series:
    integral = (col == col.floor()) & (col.abs() < 1e15)
    as_int = pl.select(pl.when(integral).then(col.cast(pl.Int64, strict=False))).to_series()
    other = col.filter(~integral.fill_null(True))
    texts = {v: float_text(v) for v in other.to_list()}
    fraction = col.replace_strict(texts, default=None, return_dtype=pl.String) if texts else None
    result = as_int.cast(pl.String)
    return result if fraction is None else pl.select(pl.coalesce(result, fraction)).to_series()


def float_text(value: float) -> str:
    """A float as Excel shows it: at most 15 significant digits, never in E notation."""
    text = format(Decimal(f"{value:.15g}"), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def shortest_text(value: float) -> str:
    """A float as calamine writes it in a text column (Rust's shortest form, no
    exponent): how a number cell is told from a text cell that reads the same."""
    text = format(Decimal(repr(value)), "f")
    return text[:-2] if text.endswith(".0") else text


def _datetime_text(col: pl.Series, epoch: Epoch) -> pl.Series:
    """Dates (a column all at midnight), date-times, times of day (on the epoch's day),
    with milliseconds only where a value has some."""
    v = pl.col("v")
    frame = pl.DataFrame({"v": col})
    days = [date.fromisoformat(d) for d in epoch.dates]
    flags = frame.select(t=v.dt.date().is_in(days), f=v.dt.nanosecond() != 0)
    is_time, fraction = flags["t"].fill_null(False), bool(flags["f"].any())
    dates = col.filter(~is_time)
    midnight = dates.len() > 0 and bool((dates.dt.time() == time(0)).all())
    milli = "%.3f" if fraction else ""

    def text(fmt: str) -> pl.Expr:
        out = v.dt.strftime(fmt + milli)
        return out.str.replace(r"\.000$", "") if fraction else out

    expr = v.dt.strftime("%Y-%m-%d") if midnight else text(_STAMP)
    if is_time.any():
        expr = pl.when(pl.lit(is_time)).then(text("%H:%M:%S")).otherwise(expr)
    return frame.select(expr).to_series()


def duration_text(col: pl.Series) -> pl.Series:
    """``[h]:mm:ss`` (hours past 24 kept, ``-`` before a negative one, milliseconds
    when there are some): ``27:05:00``, ``-0:30:00``, ``0:00:01.500``."""
    ms = pl.col("v").dt.total_milliseconds()
    size = ms.abs()

    def two(expr: pl.Expr) -> pl.Expr:
        return expr.cast(pl.String).str.zfill(2)

    text = pl.concat_str(
        pl.when(ms < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (size // _MS_PER_HOUR).cast(pl.String),
        pl.lit(":"),
        two(size // 60_000 % 60),
        pl.lit(":"),
        two(size // 1000 % 60),
        pl.when(size % 1000 != 0)
        .then(pl.lit(".") + (size % 1000).cast(pl.String).str.zfill(3))
        .otherwise(pl.lit("")),
    )
    return pl.DataFrame({"v": col}).select(text.alias(col.name)).to_series()


def clean_text(col: pl.Series, epoch: Epoch) -> pl.Series:
    """calamine's text: empty → null, ``… 00:00:00`` → date, a date-time on the epoch's
    day → time of day."""
    days = "|".join(epoch.dates)
    return pl.select(
        pl.when(col == "")
        .then(None)
        .otherwise(
            col.str.replace(r"^(\d{4}-\d{2}-\d{2}) 00:00:00$", "$1").str.replace(
                rf"^(?:{days}) (\d{{2}}:\d{{2}}:\d{{2}}(?:\.\d+)?)$", "$1"
            )
        )
    ).to_series()


def mixed_text(
    text: pl.Series,
    numbers: pl.Series,
    spans: pl.Series,
    durations: set[int],
    epoch: Epoch,
) -> pl.Series:
    """A column whose cells have different types, cell by cell: ``text`` is calamine's
    text of every cell, ``numbers`` and ``spans`` its load as floats and as durations
    (a date-time or duration cell is the only kind with a duration), ``durations`` the
    indexes of the cells whose style is elapsed time."""
    cleaned = clean_text(text.cast(pl.String), epoch).to_list()
    spent = duration_text(spans).to_list() if durations else []
    dated = []  # a cell at midnight is a date, as in calamine's text (clean_text)
    if epoch.zero:
        dated = clean_text(_datetime_text(epoch.dated(spans), epoch), epoch).to_list()
    figures = number_text(numbers).to_list()
    values: list[str | None] = []
    for i, (raw, number, span) in enumerate(
        zip(text.to_list(), numbers.to_list(), spans.to_list(), strict=True)
    ):
        if span is not None and i in durations:
            values.append(spent[i])
        elif span is not None and dated:
            values.append(dated[i])
        elif span is None and number is not None and raw == shortest_text(number):
            values.append(figures[i])
        else:
            values.append(cleaned[i])
    return pl.Series(text.name, values, dtype=pl.String)
