"""Planners of the number types: integer (Int64) and decimal (exact canonical text).

No float is ever involved. A decimal cell is first checked as text: its shape, and
that no digit other than 0 comes after the ``scale``-th decimal. Only then is it
cast to ``pl.Decimal(38, scale)`` (exact, as nothing needs rounding), checked
against the precision and the bounds as a Decimal, and written back as text with
exactly ``scale`` decimals.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from loadbay.errors import Code
from loadbay.pipeline.validate.base import (
    Cell,
    Plan,
    Rule,
    Shape,
    bound_rules,
    invalid,
    matches,
    shown,
)

INTEGER_PATTERN = r"^[+-]?[0-9]+$"
#: "12", "-0.50", "+3", ".5"; not "5.", "1e3", "1,000", " 1"
DECIMAL_PATTERN = r"^[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)$"
#: with a decimal comma: "." only between groups of three digits, "," before the decimals
COMMA_PATTERN = r"^[+-]?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]*)(?:,[0-9]+)?$"
_MAX_PRECISION = 38


def plan_integer(cell: Cell) -> Plan:
    text = cell.text
    well_formed = cell.passes
    value = pl.when(well_formed).then(text.cast(pl.Int64, strict=False))
    why = "is not a whole number (digits only, with an optional sign)"
    rules = (
        Rule(
            Code.INVALID_INTEGER,
            text.is_not_null() & ~well_formed,
            pl.concat_str(shown(text), pl.lit(" " + why)),
        ),
        invalid(cell, Code.INVALID_INTEGER, "is too large for a whole number (64-bit)"),
        *bound_rules(cell, cell.typed.cast(pl.Int128), pl.Int128()),
    )
    return Plan(value=value, rules=rules, shape=matches(INTEGER_PATTERN))


def _plain(cell: Cell) -> pl.Expr:
    """The cell with "." as the decimal mark and no thousands separators (or null)."""
    if not cell.options.decimal_comma:
        return cell.text
    plain = cell.text.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
    return pl.when(cell.text.str.contains(COMMA_PATTERN)).then(plain)


def _exact_pattern(scale: int) -> str:
    """A decimal that fits ``scale`` as it is: more decimals only if they are zeros."""
    decimals = rf"[0-9]{{1,{scale}}}0*" if scale else "0+"
    return rf"^[+-]?(?:[0-9]+(?:\.{decimals})?|\.{decimals})$"


def plan_decimal(cell: Cell) -> Plan:
    scale, whole = cell.spec.scale, cell.spec.precision - cell.spec.scale
    dtype = pl.Decimal(_MAX_PRECISION, scale)
    plain, exact = pl.col(cell.work("plain")), pl.col(cell.work("exact"))
    number, shaped = pl.col(cell.work("number")), pl.col(cell.work("shaped"))
    fits = pl.col(cell.work("fits"))  # a step: used three times, computed once
    fitting = number.is_not_null()
    if cell.spec.precision < _MAX_PRECISION:  # else the cast itself refuses a 39th digit
        fitting = fitting & (number.abs() < pl.lit(Decimal(10**whole), dtype=dtype))
    shape: Shape | None = matches(_exact_pattern(scale))
    fitting_as_is = cell.passes
    if cell.options.decimal_comma:  # the cell is rewritten before its shape can be tested
        shape, fitting_as_is = None, plain.str.contains(_exact_pattern(scale))
    steps = (
        (_plain(cell).alias(cell.work("plain")),),
        (fitting_as_is.fill_null(False).alias(cell.work("exact")),),
        (
            pl.when(exact).then(plain.cast(dtype, strict=False)).alias(cell.work("number")),
            # the shape of the (few) other cells, for their error
            pl.when(~exact)
            .then(plain)
            .str.contains(DECIMAL_PATTERN)
            .fill_null(False)
            .alias(cell.work("shaped")),
        ),
        (fitting.alias(cell.work("fits")),),
    )
    rules = (
        *_shape_rules(cell, exact | shaped, shaped, fits),
        *bound_rules(cell, pl.when(fits).then(number), dtype),
    )
    value = pl.when(fits).then(number.cast(pl.String))
    return Plan(value=value, rules=rules, steps=steps, shape=shape)


def _shape_rules(
    cell: Cell, well_formed: pl.Expr, excess: pl.Expr, fits: pl.Expr
) -> tuple[Rule, ...]:
    """invalid_decimal: not a number, too many decimals, too many digits before the point."""
    scale, whole = cell.spec.scale, cell.spec.precision - cell.spec.scale
    if cell.options.decimal_comma:
        hint = (
            "use ',' for the decimals and '.' only between groups of three digits, as in 1.234,56"
        )
    else:
        hint = "use '.' for the decimals and no thousands separators, as in 1234.56"
    unsigned = _plain(cell).str.strip_chars_start("+-")
    # counted for the message only, on the bad rows
    decimals = unsigned.str.extract(r"\.([0-9]*)$").str.strip_chars_end("0").str.len_chars()
    digits = unsigned.str.extract(r"^([0-9]*)").str.strip_chars_start("0").str.len_chars()
    text = shown(cell.text)
    return (
        Rule(
            Code.INVALID_DECIMAL,
            cell.text.is_not_null() & ~well_formed,
            pl.concat_str(text, pl.lit(f" is not a decimal number ({hint})")),
        ),
        Rule(
            Code.INVALID_DECIMAL,
            excess,
            pl.format(
                "{} has too many decimal places ({}, at most {})", text, decimals, pl.lit(scale)
            ),
        ),
        Rule(
            Code.INVALID_DECIMAL,
            well_formed & ~fits,
            pl.format(
                "{} has too many digits before the decimal point ({}, at most {})",
                text,
                digits,
                pl.lit(whole),
            ),
        ),
    )
