"""validate(): text, boolean, enum, email and currency cells, and references to them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from loadbay.pipeline.frames import ROW, Mode
from loadbay.pipeline.validate import Validated, ValidateOptions, validate
from loadbay.schema.model import Catalog, Column, ColumnType, Reference, Table

THINGS = Table(
    name="things",
    key=("code",),
    columns=(
        Column("code", required=True),
        Column("label", max_length=10),
        Column("active", ColumnType.BOOLEAN),
        Column("size", ColumnType.ENUM, enum=("small", "Medium", "LARGE")),
        Column("email", ColumnType.EMAIL, unique=True),
        Column("currency", ColumnType.CURRENCY),
        Column("number", ColumnType.INTEGER, unique=True),
        Column("day", ColumnType.DATE, unique=True),
        Column("price", ColumnType.DECIMAL, precision=6, scale=2, unique=True),
    ),
)
LINKS = Table(
    name="links",
    key=("id_text",),
    columns=(
        Column("id_text"),
        Column("by_code", references=Reference("things", "code")),
        Column("by_email", references=Reference("things", "email"), required=True),
        Column("by_number", references=Reference("things", "number")),
        Column("by_day", references=Reference("things", "day")),
        Column("by_price", references=Reference("things", "price")),
        Column("by_link", references=Reference("links", "id_text")),
    ),
)
CATALOG = Catalog([THINGS, LINKS])


def run(column: str, values: list[Any], table: Table = THINGS, **options: Any) -> Validated:
    frame = pl.DataFrame(
        {ROW: list(range(1, len(values) + 1)), column: values},
        schema={ROW: pl.Int64, column: pl.String},
    )
    return validate(frame, table, CATALOG, ValidateOptions(**options))


def accepted(result: Validated, column: str) -> list[Any]:
    assert result.errors.is_empty(), result.errors.to_dicts()
    return result.good[column].to_list()


def messages(result: Validated) -> list[tuple[int, str, str]]:
    return [(r["row"], r["code"], r["message"]) for r in result.errors.iter_rows(named=True)]


# --- text ----------------------------------------------------------------------------------


def test_text_is_kept_as_given_after_stripping() -> None:
    assert accepted(run("label", [" a  b ", "ÄÖü", None]), "label") == ["a  b", "ÄÖü", None]


def test_text_longer_than_max_length_is_too_long() -> None:
    result = run("label", ["x" * 10, "y" * 11, "é" * 10])
    assert messages(result) == [(2, "too_long", "is 11 characters long, at most 10 allowed")]
    assert result.good["label"].to_list() == ["x" * 10, "é" * 10]


def test_max_length_counts_characters_after_stripping() -> None:
    assert accepted(run("label", ["  " + "x" * 10 + "  "]), "label") == ["x" * 10]


def test_max_length_message_of_the_brief() -> None:
    table = Table("notes", key=("body",), columns=(Column("body", max_length=255),))
    catalog = Catalog([table])
    frame = pl.DataFrame({ROW: [1], "body": ["n" * 300]})
    result = validate(frame, table, catalog, ValidateOptions())
    assert result.errors["message"].to_list() == ["is 300 characters long, at most 255 allowed"]
    assert result.errors["code"].to_list() == ["too_long"]


# --- boolean -------------------------------------------------------------------------------

TRUE = ["true", "TRUE", "True", "yes", "YES", "1", "y", "Y", "t", "T"]
FALSE = ["false", "False", "no", "No", "0", "n", "N", "f", "F"]


def test_boolean_words_in_any_case() -> None:
    result = run("active", [*TRUE, *FALSE, None])
    assert accepted(result, "active") == [True] * len(TRUE) + [False] * len(FALSE) + [None]
    assert result.good.schema["active"] == pl.Boolean


@pytest.mark.parametrize("value", ["maybe", "2", "on", "off", "ja", "-1", "truee", "1.0"])
def test_other_words_are_invalid_boolean(value: str) -> None:
    result = run("active", [value])
    assert messages(result) == [
        (
            1,
            "invalid_boolean",
            f"'{value}' is not a yes/no value "
            "(accepted, in any case: true/false, yes/no, 1/0, y/n, t/f)",
        )
    ]


# --- enum ----------------------------------------------------------------------------------


def test_enum_matches_in_any_case_and_gives_the_schema_value() -> None:
    result = run("size", ["SMALL", "medium", "Large", " small ", None])
    assert accepted(result, "size") == ["small", "Medium", "LARGE", "small", None]


def test_other_values_are_invalid_enum_listing_the_allowed_ones() -> None:
    result = run("size", ["huge", "smal"])
    assert messages(result) == [
        (1, "invalid_enum", "'huge' is not one of the allowed values: small, Medium, LARGE"),
        (2, "invalid_enum", "'smal' is not one of the allowed values: small, Medium, LARGE"),
    ]


def test_enum_values_differing_only_in_case_prefer_the_exact_one() -> None:
    table = Table("t", key=("v",), columns=(Column("v", ColumnType.ENUM, enum=("a", "A")),))
    frame = pl.DataFrame({ROW: [1, 2, 3], "v": ["a", "A", "B"]})
    result = validate(frame, table, Catalog([table]), ValidateOptions())
    assert result.good["v"].to_list() == ["a", "A"]
    assert result.errors["code"].to_list() == ["invalid_enum"]


# --- email ---------------------------------------------------------------------------------

GOOD_EMAILS = {
    "ann@example.com": "ann@example.com",
    "Ann.Lee@Example.COM": "ann.lee@example.com",
    "a+tag@mail.example.co.uk": "a+tag@mail.example.co.uk",
    "o'brien@example.ie": "o'brien@example.ie",
    "x_y-z@sub-domain.example.org": "x_y-z@sub-domain.example.org",
    "josé@exämple.de": "josé@exämple.de",
    "user@xn--80ak6aa92e.com": "user@xn--80ak6aa92e.com",
    "user@example.xn--p1ai": "user@example.xn--p1ai",
    "1@2.io": "1@2.io",
}
BAD_EMAILS = [
    "plainaddress",
    "@example.com",
    "ann@",
    "ann@example",
    "ann@@example.com",
    "ann@exa mple.com",
    "ann lee@example.com",
    "ann..lee@example.com",
    ".ann@example.com",
    "ann.@example.com",
    "ann@-example.com",
    "ann@example-.com",
    "ann@example..com",
    "ann@example.c",
    "ann@example.123",
    "ann@[127.0.0.1]",
    "ann<ann@example.com>",
    "a" * 65 + "@example.com",
    "a@" + "b" * 250 + ".com",
]


def test_emails_are_accepted_and_lowercased() -> None:
    result = run("email", list(GOOD_EMAILS))
    assert accepted(result, "email") == list(GOOD_EMAILS.values())


@pytest.mark.parametrize("value", BAD_EMAILS)
def test_invalid_emails(value: str) -> None:
    result = run("email", [value])
    assert result.errors["code"].to_list() == ["invalid_email"]
    assert "is not a valid email address" in result.errors["message"][0]


def test_email_message() -> None:
    assert messages(run("email", ["ann at example"])) == [
        (
            1,
            "invalid_email",
            "'ann at example' is not a valid email address "
            "(expected name@example.com, without spaces)",
        )
    ]


def test_email_local_part_of_64_characters_is_fine() -> None:
    value = "a" * 64 + "@example.com"
    assert accepted(run("email", [value]), "email") == [value]


# --- currency ------------------------------------------------------------------------------


def test_currency_codes_are_uppercased() -> None:
    result = run("currency", ["eur", "Usd", " GBP ", "xau", None])
    assert accepted(result, "currency") == ["EUR", "USD", "GBP", "XAU", None]


@pytest.mark.parametrize("value", ["EURO", "€", "US", "ABC", "eu r", "$"])
def test_other_codes_are_invalid_currency(value: str) -> None:
    result = run("currency", [value])
    assert messages(result) == [
        (
            1,
            "invalid_currency",
            f"'{value}' is not an ISO 4217 currency code (such as EUR, USD, GBP)",
        )
    ]


# --- references ----------------------------------------------------------------------------


def test_reference_to_text_is_the_stripped_text() -> None:
    assert accepted(run("by_code", [" T-1 "], LINKS), "by_code") == ["T-1"]


def test_reference_to_an_email_is_checked_and_lowercased_as_an_email() -> None:
    result = run("by_email", ["Ann@Example.com", "not-an-email"], LINKS)
    assert result.good["by_email"].to_list() == ["ann@example.com"]
    assert result.errors["code"].to_list() == ["invalid_email"]


def test_references_are_text_whatever_the_referenced_type() -> None:
    frame = pl.DataFrame(
        {
            ROW: [1, 2],
            "by_number": ["+007", "12"],
            "by_day": ["2024-01-05", "2024-01-05 00:00"],
            "by_price": ["3.5", "-0"],
        }
    )
    result = validate(frame, LINKS, CATALOG, ValidateOptions())
    assert result.errors.is_empty()
    assert result.good.schema["by_number"] == pl.String
    assert result.good["by_number"].to_list() == ["7", "12"]
    assert result.good["by_day"].to_list() == ["2024-01-05", "2024-01-05"]
    assert result.good["by_price"].to_list() == ["3.50", "0.00"]


def test_references_report_the_referenced_types_errors() -> None:
    frame = pl.DataFrame(
        {ROW: [1], "by_number": ["1.5"], "by_day": ["5/1/2024"], "by_price": ["12345.67"]}
    )
    result = validate(frame, LINKS, CATALOG, ValidateOptions())
    assert result.errors["code"].to_list() == ["invalid_integer", "invalid_date", "invalid_decimal"]


def test_references_use_the_referenced_columns_rules() -> None:
    limited = Table(
        "limited",
        key=("n",),
        columns=(Column("n", ColumnType.INTEGER, min=Decimal(1), max=Decimal(9)),),
    )
    pointing = Table(
        "pointing",
        key=("to",),
        columns=(Column("to", references=Reference("limited", "n")),),
    )
    frame = pl.DataFrame({ROW: [1, 2, 3], "to": ["0", "5", "10"]})
    result = validate(frame, pointing, Catalog([limited, pointing]), ValidateOptions())
    assert result.errors["code"].to_list() == ["too_small", "too_large"]
    assert result.good["to"].to_list() == ["5"]


def test_reference_to_its_own_table() -> None:
    assert accepted(run("by_link", [" L1 "], LINKS), "by_link") == ["L1"]


def test_required_reference_in_create_mode() -> None:
    result = run("by_email", [""], LINKS, mode=Mode.CREATE)
    assert result.errors["code"].to_list() == ["required"]
