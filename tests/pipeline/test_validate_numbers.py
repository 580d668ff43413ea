"""validate(): integer and decimal cells, exactly (no float on the way)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadbay.pipeline.frames import ROW
from loadbay.pipeline.validate import Validated, ValidateOptions, validate
from loadbay.schema.model import Catalog, Column, ColumnType, Table

I64_MIN, I64_MAX = -(2**63), 2**63 - 1

NUMBERS = Table(
    name="numbers",
    key=("code",),
    columns=(
        Column("code"),
        Column("count", ColumnType.INTEGER),
        Column("age", ColumnType.INTEGER, min=Decimal(0), max=Decimal(130)),
        Column("odd_bounds", ColumnType.INTEGER, min=Decimal("0.5"), max=Decimal("9.9")),
        Column("amount", ColumnType.DECIMAL, precision=14, scale=2),
        Column(
            "rate", ColumnType.DECIMAL, precision=5, scale=3, min=Decimal("-1"), max=Decimal("1")
        ),
        Column("whole", ColumnType.DECIMAL, precision=4, scale=0),
        Column("fraction", ColumnType.DECIMAL, precision=2, scale=2),
        Column("wide", ColumnType.DECIMAL, precision=38, scale=10),
        Column("fine_min", ColumnType.DECIMAL, precision=10, scale=2, min=Decimal("-0.005")),
        Column("huge_max", ColumnType.DECIMAL, precision=10, scale=2, max=Decimal("1E+40")),
    ),
)
CATALOG = Catalog([NUMBERS])


def run(column: str, values: list[Any], **options: Any) -> Validated:
    frame = pl.DataFrame(
        {ROW: list(range(1, len(values) + 1)), column: values},
        schema={ROW: pl.Int64, column: pl.String},
    )
    return validate(frame, NUMBERS, CATALOG, ValidateOptions(**options))


def accepted(result: Validated, column: str) -> list[Any]:
    assert result.errors.is_empty(), result.errors.to_dicts()
    return result.good[column].to_list()


def messages(result: Validated) -> list[tuple[str, str]]:
    return [(r["code"], r["message"]) for r in result.errors.iter_rows(named=True)]


# --- integer -------------------------------------------------------------------------------


def test_integers() -> None:
    result = run("count", ["0", "42", "-7", "+3", "007", " 12 ", str(I64_MAX), str(I64_MIN), None])
    assert accepted(result, "count") == [0, 42, -7, 3, 7, 12, I64_MAX, I64_MIN, None]
    assert result.good.schema["count"] == pl.Int64


@pytest.mark.parametrize(
    "value", ["1.0", "1e3", "1,000", "1 000", "1_000", "0x10", "--1", "+", "-", "one", "١٢", "½"]
)
def test_anything_but_sign_and_digits_is_invalid_integer(value: str) -> None:
    assert messages(run("count", [value])) == [
        (
            "invalid_integer",
            f"'{value}' is not a whole number (digits only, with an optional sign)",
        )
    ]


def test_integers_beyond_64_bits_are_invalid_integer() -> None:
    result = run("count", [str(I64_MAX + 1), str(I64_MIN - 1)])
    assert [m[0] for m in messages(result)] == ["invalid_integer"] * 2
    assert "too large for a whole number (64-bit)" in messages(result)[0][1]


def test_integer_bounds() -> None:
    result = run("age", ["-1", "0", "130", "131"])
    assert result.good["age"].to_list() == [0, 130]
    assert messages(result) == [
        ("too_small", "'-1' is less than the minimum of 0"),
        ("too_large", "'131' is more than the maximum of 130"),
    ]


def test_integer_bounds_that_are_not_whole_numbers() -> None:
    result = run("odd_bounds", ["0", "1", "9", "10"])
    assert result.good["odd_bounds"].to_list() == [1, 9]
    assert [m[0] for m in messages(result)] == ["too_small", "too_large"]
    assert messages(result)[0][1] == "'0' is less than the minimum of 0.5"


# --- decimal: accepted forms ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("1234.5", "1234.50"),
        ("-0.5", "-0.50"),
        ("007", "7.00"),
        ("+3", "3.00"),
        ("0", "0.00"),
        ("-0", "0.00"),
        ("-0.00", "0.00"),
        (".5", "0.50"),
        ("-.25", "-0.25"),
        ("1.10", "1.10"),
        ("1.2000000", "1.20"),
        ("000000000000000000000000000000000000000000001.5", "1.50"),
        ("12345678901.23", "12345678901.23"),
        ("999999999999.99", "999999999999.99"),
        ("-999999999999.99", "-999999999999.99"),
    ],
)
def test_decimal_canonical_text(value: str, canonical: str) -> None:
    result = run("amount", [value])
    assert accepted(result, "amount") == [canonical]
    assert result.good.schema["amount"] == pl.String


def test_decimal_of_scale_zero() -> None:
    assert accepted(run("whole", ["12", "12.0", "-9999", "0.000"]), "whole") == [
        "12",
        "12",
        "-9999",
        "0",
    ]


def test_decimal_with_no_digits_before_the_point() -> None:
    assert accepted(run("fraction", ["0.99", ".5", "-0.01"]), "fraction") == [
        "0.99",
        "0.50",
        "-0.01",
    ]
    assert [m[0] for m in messages(run("fraction", ["1"]))] == ["invalid_decimal"]


def test_decimal_of_38_digits() -> None:
    largest = "9" * 28 + "." + "9" * 10
    assert accepted(run("wide", [largest, "-" + largest, "0.0000000001"]), "wide") == [
        largest,
        "-" + largest,
        "0.0000000001",
    ]
    result = run("wide", ["1" + "0" * 28])
    assert messages(result) == [
        (
            "invalid_decimal",
            f"'{'1' + '0' * 28}' has too many digits before the decimal point (29, at most 28)",
        )
    ]


# --- decimal: refused forms ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["1e3", "1E-2", "5.", ".", "+", "-", "1.2.3", "1,5", "1,000.50", "1 000", "12a", "--1"]
)
def test_not_a_decimal(value: str) -> None:
    assert messages(run("amount", [value])) == [
        (
            "invalid_decimal",
            f"'{value}' is not a decimal number "
            "(use '.' for the decimals and no thousands separators, as in 1234.56)",
        )
    ]


def test_too_many_decimals_is_an_error_not_a_rounding() -> None:
    assert messages(run("amount", ["1.234", "0.001", "1.2301"])) == [
        ("invalid_decimal", "'1.234' has too many decimal places (3, at most 2)"),
        ("invalid_decimal", "'0.001' has too many decimal places (3, at most 2)"),
        ("invalid_decimal", "'1.2301' has too many decimal places (4, at most 2)"),
    ]


def test_too_many_digits_before_the_point() -> None:
    assert messages(run("amount", ["1000000000000", "-0001000000000000.5"])) == [
        (
            "invalid_decimal",
            "'1000000000000' has too many digits before the decimal point (13, at most 12)",
        ),
        (
            "invalid_decimal",
            "'-0001000000000000.5' has too many digits before the decimal point (13, at most 12)",
        ),
    ]


def test_decimal_bounds_are_compared_exactly() -> None:
    result = run("rate", ["-1", "-1.000", "-1.001", "1", "1.001", "0.999"])
    assert result.good["rate"].to_list() == ["-1.000", "-1.000", "1.000", "0.999"]
    assert messages(result) == [
        ("too_small", "'-1.001' is less than the minimum of -1"),
        ("too_large", "'1.001' is more than the maximum of 1"),
    ]


def test_a_bound_finer_than_the_scale() -> None:
    # -0.01 < -0.005 <= 0.00
    result = run("fine_min", ["0.00", "-0.01"])
    assert result.good["fine_min"].to_list() == ["0.00"]
    assert messages(result) == [("too_small", "'-0.01' is less than the minimum of -0.005")]


def test_a_bound_beyond_the_precision() -> None:
    assert accepted(run("huge_max", ["99999999.99"]), "huge_max") == ["99999999.99"]


# --- decimal comma ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("1.234,56", "1234.56"),
        ("1234,5", "1234.50"),
        ("-1.234.567,8", "-1234567.80"),
        ("12", "12.00"),
        ("1.234", "1234.00"),
        (",5", "0.50"),
        ("+0,10", "0.10"),
    ],
)
def test_decimal_comma(value: str, canonical: str) -> None:
    assert accepted(run("amount", [value], decimal_comma=True), "amount") == [canonical]


@pytest.mark.parametrize("value", ["1.5", "1234.56", "1,234.56", "12.34.567", "1.23,4.5", "1,"])
def test_decimal_comma_refuses_dots_not_grouping_thousands(value: str) -> None:
    assert messages(run("amount", [value], decimal_comma=True)) == [
        (
            "invalid_decimal",
            f"'{value}' is not a decimal number (use ',' for the decimals and '.' only "
            "between groups of three digits, as in 1.234,56)",
        )
    ]


def test_decimal_comma_counts_digits_of_the_value() -> None:
    assert messages(run("amount", ["1.234,567"], decimal_comma=True)) == [
        ("invalid_decimal", "'1.234,567' has too many decimal places (3, at most 2)")
    ]


def test_decimal_comma_leaves_integers_alone() -> None:
    assert messages(run("count", ["1.234"], decimal_comma=True))[0][0] == "invalid_integer"


# --- properties ------------------------------------------------------------------------------


@given(st.lists(st.integers(min_value=I64_MIN, max_value=I64_MAX), min_size=1, max_size=50))
@settings(max_examples=200, deadline=None)
def test_integers_round_trip(values: list[int]) -> None:
    assert accepted(run("count", [str(v) for v in values]), "count") == values


def _render(value: Decimal, style: int) -> str:
    """``value`` written in one of several ways a file may hold it."""
    text = format(value, "f")
    if style == 1:
        return "+" + text if value >= 0 else text
    if style == 2:
        return text + ("0" if "." in text else ".000")
    if style == 3:
        return ("-" if text.startswith("-") else "") + "000" + text.lstrip("-")
    return text


def _canonical(value: Decimal, scale: int) -> str:
    text = format(value.quantize(Decimal(1).scaleb(-scale)), "f")
    return "0" + text[2:] if text.startswith("-0") and not value else text


@st.composite
def decimals(draw: st.DrawFn, precision: int, scale: int) -> Decimal:
    digits = draw(st.integers(min_value=-(10**precision) + 1, max_value=10**precision - 1))
    return Decimal(f"{digits}E-{scale}")  # exact (scaleb would round to 28 digits)


@given(
    st.lists(st.tuples(decimals(14, 2), st.integers(0, 3)), min_size=1, max_size=50),
)
@settings(max_examples=200, deadline=None)
def test_decimals_round_trip(values: list[tuple[Decimal, int]]) -> None:
    result = run("amount", [_render(v, style) for v, style in values])
    assert accepted(result, "amount") == [_canonical(v, 2) for v, _ in values]
    # and the canonical text means the same number
    assert [Decimal(t) for t in result.good["amount"]] == [v for v, _ in values]


@given(st.lists(decimals(38, 10), min_size=1, max_size=50))
@settings(max_examples=200, deadline=None)
def test_decimals_of_38_digits_round_trip(values: list[Decimal]) -> None:
    result = run("wide", [format(v, "f") for v in values])
    assert [Decimal(t) for t in accepted(result, "wide")] == values


@given(st.lists(decimals(14, 2), min_size=1, max_size=50))
@settings(max_examples=100, deadline=None)
def test_decimals_with_a_decimal_comma_round_trip(values: list[Decimal]) -> None:
    rendered = [
        format(v, ",.2f").replace(",", " ").replace(".", ",").replace(" ", ".") for v in values
    ]
    result = run("amount", rendered, decimal_comma=True)
    assert accepted(result, "amount") == [_canonical(v, 2) for v in values]
