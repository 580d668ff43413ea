"""Planners of the string-like and boolean types: text, boolean, enum, email, currency."""

from __future__ import annotations

import polars as pl

from loadbay.errors import Code
from loadbay.pipeline.validate.base import Cell, Plan, invalid, length_rule
from loadbay.schema.currencies import CURRENCY_CODES

TRUE_WORDS = ("true", "yes", "1", "y", "t")
FALSE_WORDS = ("false", "no", "0", "n", "f")
_BOOLEANS = {word: True for word in TRUE_WORDS} | {word: False for word in FALSE_WORDS}

_LABEL = r"[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?"
_ATOM = r"[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+"
#: local@domain.tld: no spaces, no empty or dotted-at-the-edge parts, a TLD of two or more
#: letters (or punycode); the lengths (64 before the @, 254 in all) are checked apart, as
#: counted repetitions make the regex many times slower
EMAIL_PATTERN = rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+(?:\p{{L}}{{2,}}|[xX][nN]--[a-zA-Z0-9-]+)$"
EMAIL_MAX = 254
EMAIL_LOCAL_MAX = 64


def plan_text(cell: Cell) -> Plan:
    return Plan(value=cell.text, rules=length_rule(cell))


def plan_boolean(cell: Cell) -> Plan:
    value = cell.text.str.to_lowercase().replace_strict(
        _BOOLEANS, default=None, return_dtype=pl.Boolean
    )
    accepted = ", ".join(f"{t}/{f}" for t, f in zip(TRUE_WORDS, FALSE_WORDS, strict=True))
    why = f"is not a yes/no value (accepted, in any case: {accepted})"
    return Plan(value=value, rules=(invalid(cell, Code.INVALID_BOOLEAN, why),))


def plan_enum(cell: Cell) -> Plan:
    allowed = cell.spec.enum
    lower = cell.text.str.to_lowercase()
    if all(choice == choice.lower() for choice in allowed):
        value: pl.Expr = pl.when(lower.is_in(allowed)).then(lower)  # cheaper, same result
    else:
        folded: dict[str, str] = {}
        for choice in allowed:
            folded.setdefault(choice.lower(), choice)
        value = lower.replace_strict(folded, default=None, return_dtype=pl.String)
        if len(folded) < len(allowed):  # values differing only in case: an exact match wins
            value = pl.when(cell.text.is_in(allowed)).then(cell.text).otherwise(value)
    why = "is not one of the allowed values: " + ", ".join(allowed)
    return Plan(value=value, rules=(invalid(cell, Code.INVALID_ENUM, why),))


def plan_email(cell: Cell) -> Plan:
    text = cell.text
    ok = (
        text.str.contains(EMAIL_PATTERN)
        & (text.str.len_chars() <= EMAIL_MAX)
        & (text.str.find("@", literal=True) <= EMAIL_LOCAL_MAX)
    )
    value = pl.when(ok).then(text.str.to_lowercase())
    why = "is not a valid email address (expected name@example.com, without spaces)"
    return Plan(value=value, rules=(invalid(cell, Code.INVALID_EMAIL, why), *length_rule(cell)))


def plan_currency(cell: Cell) -> Plan:
    upper = cell.text.str.to_uppercase()
    value = pl.when(upper.is_in(sorted(CURRENCY_CODES))).then(upper)
    why = "is not an ISO 4217 currency code (such as EUR, USD, GBP)"
    return Plan(value=value, rules=(invalid(cell, Code.INVALID_CURRENCY, why),))
