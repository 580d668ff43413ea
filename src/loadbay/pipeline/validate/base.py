"""The pieces every column planner shares: options, the cell being planned, rules, plans."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

import polars as pl

from loadbay.errors import Code
from loadbay.pipeline.frames import EmptyPolicy, Mode
from loadbay.schema.model import Column

#: values longer than this are shortened in messages (the error's ``value`` keeps them whole)
SHOWN_CHARS = 60
#: the largest number of 38 digits: bounds are clamped to it (it fits Int128 and Decimal(38))
_LARGEST = 10**38 - 1


@dataclass(frozen=True)
class ValidateOptions:
    """How to read the cells of one import."""

    mode: Mode = Mode.UPSERT
    empty: EmptyPolicy = EmptyPolicy.KEEP
    #: extra strftime-style formats (e.g. ``"%d/%m/%Y"``), tried after the built-in ones
    date_formats: tuple[str, ...] = ()
    #: read ``"1.234,56"`` as 1234.56: ``,`` is the decimal mark, ``.`` groups thousands
    decimal_comma: bool = False
    #: the columns rows are matched on; ``()`` means the table's key
    match: tuple[str, ...] = ()


@dataclass
class Validated:
    """The outcome of validating one batch."""

    #: rows without any error: ROW, REF (if given) and one typed column per mapped column
    good: pl.DataFrame
    #: every error of every bad cell, in ERROR_SCHEMA, ordered by row then column
    errors: pl.DataFrame
    #: number of rows with at least one error
    failed_rows: int
    #: the bad rows' references that could still be checked: ROW and one typed column per
    #: mapped reference column, null where that cell itself failed (``ingest`` looks them
    #: up, so that a bad cell hides no unknown reference of its row)
    rejected: pl.DataFrame | None = None


@dataclass(frozen=True)
class Rule:
    """One way a cell can be wrong.

    ``failed`` is evaluated over the whole batch (null counts as "not failed"), and
    may use the plan's helper columns. ``message`` is evaluated only on the rows where
    the rule failed, and may use only the cell as given, ``Cell.text`` and ``Cell.typed``
    (the helper columns are not kept).
    """

    code: Code
    failed: pl.Expr
    message: pl.Expr


#: a test over a column of cells (see ``Plan.shape``)
Shape = Callable[[pl.Expr], pl.Expr]


def matches(pattern: str) -> Shape:
    """The test that a cell matches ``pattern`` (a regular expression)."""

    def shape(text: pl.Expr) -> pl.Expr:
        return text.str.contains(pattern)

    return shape


@dataclass(frozen=True)
class Plan:
    """How to type and check one column.

    ``steps`` are helper columns computed in order (step i of every column
    together), all from the stripped cell; ``value`` is the typed value,
    null when the cell is empty or invalid; ``rules`` are checked in order
    and the first failing one is the cell's error.

    ``shape``, when given, tests that a cell is well formed; only a cell without
    whitespace at either end can pass it (an empty one never does). It is run on the
    cells as given first: those that pass need no stripping (most cells, and stripping
    costs as much as the test), and the others are stripped and tested again. Its
    result over the stripped cells is ``Cell.passes``, for the steps to use.
    """

    value: pl.Expr
    rules: tuple[Rule, ...] = ()
    steps: tuple[tuple[pl.Expr, ...], ...] = ()
    shape: Shape | None = None


@dataclass(frozen=True)
class Cell:
    """The column being planned, and names for its working columns."""

    #: the column of the frame (and of the table)
    name: str
    #: the column whose type and rules apply: the column itself, or the one it references
    spec: Column
    options: ValidateOptions

    def work(self, what: str) -> str:
        """The name of a working column (table columns never start with ``__``)."""
        return f"__{self.name}:{what}"

    @property
    def given(self) -> pl.Expr:
        """The cell as given."""
        return pl.col(self.name).cast(pl.String)

    @property
    def text(self) -> pl.Expr:
        """The stripped cell, null when it was empty."""
        return pl.col(self.work("text"))

    @property
    def bare(self) -> pl.Expr:
        """The cell as given passes the plan's shape test (so it needs no stripping)."""
        return pl.col(self.work("bare"))

    @property
    def passes(self) -> pl.Expr:
        """The stripped cell passes the plan's shape test (null when it is empty)."""
        return pl.col(self.work("passes"))

    @property
    def typed(self) -> pl.Expr:
        """The typed value (available to rules and messages, not to steps)."""
        return pl.col(self.work("typed"))


def shown(text: pl.Expr) -> pl.Expr:
    """``text`` quoted for a message, shortened when it is long."""
    short = (
        pl.when(text.str.len_chars() > SHOWN_CHARS)
        .then(pl.concat_str(text.str.slice(0, SHOWN_CHARS - 1), pl.lit("…")))
        .otherwise(text)
    )
    return pl.concat_str(pl.lit("'"), short, pl.lit("'"))


def invalid(cell: Cell, code: Code, why: str) -> Rule:
    """The cell has text but no typed value: ``'<text>' <why>``."""
    return Rule(
        code,
        cell.text.is_not_null() & cell.typed.is_null(),
        pl.concat_str(shown(cell.text), pl.lit(" " + why)),
    )


def scaled_bound(bound: Decimal, scale: int, rounding: str) -> int:
    """``bound`` * 10**scale as an integer, rounded the safe way, clamped to 38 digits."""
    with localcontext() as exact:
        exact.prec = 100
        value = int(bound.scaleb(scale).to_integral_value(rounding=rounding))
    return max(-_LARGEST, min(_LARGEST, value))


def _bound_literal(scaled: int, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Decimal):
        return pl.lit(Decimal(f"{scaled}E-{dtype.scale}"), dtype=dtype)
    return pl.lit(scaled, dtype=dtype)


def bound_rules(cell: Cell, value: pl.Expr, dtype: pl.DataType) -> tuple[Rule, ...]:
    """too_small / too_large, compared exactly: ``value`` is Int128 or a Decimal of ``dtype``."""
    scale = dtype.scale if isinstance(dtype, pl.Decimal) else 0
    rules: list[Rule] = []
    low, high = cell.spec.min, cell.spec.max
    if low is not None:
        least = _bound_literal(scaled_bound(low, scale, ROUND_CEILING), dtype)
        rules.append(
            Rule(
                Code.TOO_SMALL,
                value < least,
                pl.concat_str(shown(cell.text), pl.lit(f" is less than the minimum of {low:f}")),
            )
        )
    if high is not None:
        most = _bound_literal(scaled_bound(high, scale, ROUND_FLOOR), dtype)
        rules.append(
            Rule(
                Code.TOO_LARGE,
                value > most,
                pl.concat_str(shown(cell.text), pl.lit(f" is more than the maximum of {high:f}")),
            )
        )
    return tuple(rules)


def length_rule(cell: Cell) -> tuple[Rule, ...]:
    """too_long when the column has a max_length."""
    limit = cell.spec.max_length
    if limit is None:
        return ()
    length = cell.typed.str.len_chars()
    return (
        Rule(
            Code.TOO_LONG,
            length > limit,
            pl.format("is {} characters long, at most {} allowed", length, pl.lit(limit)),
        ),
    )
