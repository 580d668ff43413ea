"""Planners of the string-like and boolean types: text, boolean, enum, email, currency."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from loadbay.errors import Code
from loadbay.pipeline.validate.base import (
    Cell,
    Plan,
    Rule,
    Shape,
    invalid,
    length_rule,
    matches,
)
from loadbay.schema.currencies import CURRENCY_CODES
from loadbay.schema.model import BOOLEAN_WORDS, FALSE_WORDS, TRUE_WORDS

_LABEL = r"[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?"
_ATOM = r"[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+"
#: local@domain.tld: no spaces, no empty or dotted-at-the-edge parts, a TLD of two or more
#: letters (or punycode); the lengths (64 before the @, 254 in all) are checked apart, as
#: counted repetitions make the regex many times slower
EMAIL_PATTERN = rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+(?:\p{{L}}{{2,}}|[xX][nN]--[a-zA-Z0-9-]+)$"
#: the same, for addresses already as kept (ASCII, no capitals): every address it matches
#: matches EMAIL_PATTERN and is its own lowercase, so most cells need neither the Unicode
#: pattern nor lowercasing
_LOWER_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_LOWER_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
LOWER_EMAIL_PATTERN = (
    rf"^{_LOWER_ATOM}(?:\.{_LOWER_ATOM})*@(?:{_LOWER_LABEL}\.)+(?:[a-z]{{2,}}|xn--[a-z0-9-]+)$"
)
EMAIL_MAX = 254
EMAIL_LOCAL_MAX = 64


def plan_text(cell: Cell) -> Plan:
    return Plan(value=cell.text, rules=(nul_rule(cell), *length_rule(cell)))


def nul_rule(cell: Cell) -> Rule:
    """invalid_character for a NUL: no database keeps one in text (PostgreSQL refuses it)."""
    return Rule(
        Code.INVALID_CHARACTER,
        cell.text.str.contains("\x00", literal=True),
        pl.lit("holds a NUL character (\\x00), which cannot be stored"),
    )


def plan_boolean(cell: Cell) -> Plan:
    value = cell.text.str.to_lowercase().replace_strict(
        BOOLEAN_WORDS, default=None, return_dtype=pl.Boolean
    )
    accepted = ", ".join(f"{t}/{f}" for t, f in zip(TRUE_WORDS, FALSE_WORDS, strict=True))
    why = f"is not a yes/no value (accepted, in any case: {accepted})"
    return Plan(value=value, rules=(invalid(cell, Code.INVALID_BOOLEAN, why),))


def plan_enum(cell: Cell) -> Plan:
    allowed = cell.spec.enum
    hit, lower, steps, shape = _in_any_case(cell, allowed, upper=False)
    if all(choice == choice.lower() for choice in allowed):
        folded: pl.Expr = pl.when(lower.is_in(allowed)).then(lower)  # cheaper, same result
    else:  # an exact match wins over one in another case (values may differ only in case)
        choices: dict[str, str] = {}
        for choice in allowed:
            choices.setdefault(choice.lower(), choice)
        folded = lower.replace_strict(choices, default=None, return_dtype=pl.String)
    why = "is not one of the allowed values: " + ", ".join(allowed)
    return Plan(
        value=pl.when(hit).then(cell.text).otherwise(folded),
        rules=(invalid(cell, Code.INVALID_ENUM, why),),
        steps=steps,
        shape=shape,
    )


def plan_email(cell: Cell) -> Plan:
    text = cell.text
    lower, fits = cell.passes, pl.col(cell.work("fits"))  # lower: already as kept
    # where the whole cell fits in EMAIL_LOCAL_MAX bytes, so do the address and its local
    # part: the (few) longer cells alone are measured
    long = text.str.len_bytes() > EMAIL_LOCAL_MAX
    longer = pl.when(long).then(text)
    measured = (longer.str.len_chars() <= EMAIL_MAX) & (
        longer.str.find("@", literal=True) <= EMAIL_LOCAL_MAX
    )
    steps = (((~long | measured).alias(cell.work("fits")),),)
    other = pl.when(~lower).then(text)  # null where the cell is already as kept
    value = (
        pl.when(lower & fits)
        .then(text)
        .when(other.str.contains(EMAIL_PATTERN) & fits)
        .then(other.str.to_lowercase())
    )
    why = "is not a valid email address (expected name@example.com, without spaces)"
    rules = (invalid(cell, Code.INVALID_EMAIL, why), *length_rule(cell))
    return Plan(value=value, rules=rules, steps=steps, shape=matches(LOWER_EMAIL_PATTERN))


def plan_currency(cell: Cell) -> Plan:
    codes = sorted(CURRENCY_CODES)
    hit, upper, steps, shape = _in_any_case(cell, codes, upper=True)
    why = "is not an ISO 4217 currency code (such as EUR, USD, GBP)"
    return Plan(
        value=pl.when(hit).then(cell.text).when(upper.is_in(codes)).then(upper),
        rules=(invalid(cell, Code.INVALID_CURRENCY, why),),
        steps=steps,
        shape=shape,
    )


def _in_any_case(
    cell: Cell, choices: Sequence[str], upper: bool
) -> tuple[pl.Expr, pl.Expr, tuple[tuple[pl.Expr, ...], ...], Shape | None]:
    """For a cell that is one of ``choices`` in any case: whether it is one as given
    (``hit``), the cell in lower (or upper) case where it is not (null where it is), the
    steps that compute them and the plan's shape test. Most cells are given as kept:
    looking them up costs less than changing the case of a whole batch."""
    cased = pl.col(cell.work("cased"))
    lookup: tuple[tuple[pl.Expr, ...], ...] = ()
    shape: Shape | None = None
    if all(choice and choice == choice.strip() for choice in choices):
        hit, shape = cell.passes, _one_of(choices)
    else:  # a choice with whitespace at an end: no shape test (a cell might strip to it)
        hit = pl.col(cell.work("hit"))
        lookup = ((cell.text.is_in(choices).alias(cell.work("hit")),),)
    rest = pl.when(~hit).then(cell.text).str
    steps = (
        *lookup,
        ((rest.to_uppercase() if upper else rest.to_lowercase()).alias(cell.work("cased")),),
    )
    return hit, cased, steps, shape


def _one_of(choices: Sequence[str]) -> Shape:
    def shape(text: pl.Expr) -> pl.Expr:
        return text.is_in(choices)

    return shape
