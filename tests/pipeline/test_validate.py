"""validate(): the frame it returns, the error frame, and the rules for empty cells.

The rules of each column type are in test_validate_types, test_validate_numbers and
test_validate_temporal.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadbay.errors import Code, InvalidInput, InvalidOption, InvalidSchema
from loadbay.pipeline.frames import ERROR_SCHEMA, REF, ROW, EmptyPolicy, Mode
from loadbay.pipeline.validate import Validated, ValidateOptions, validate
from loadbay.schema.builtin import BUILTIN_TABLES, PEOPLE, PROJECTS
from loadbay.schema.model import Catalog, Table

CATALOG = Catalog(BUILTIN_TABLES)


def run(table: Table, columns: dict[str, list[Any]], **options: Any) -> Validated:
    """Validate ``columns`` (rows numbered 1, 2, … unless ROW is given)."""
    height = len(next(iter(columns.values())))
    data = {ROW: list(range(1, height + 1)), **columns}
    frame = pl.DataFrame(data, schema_overrides={ROW: pl.Int64})
    return validate(frame, table, CATALOG, ValidateOptions(**options))


def codes(result: Validated) -> list[tuple[int, str, str]]:
    return [(r["row"], r["column"], r["code"]) for r in result.errors.iter_rows(named=True)]


def project(**overrides: list[Any]) -> dict[str, list[Any]]:
    """One good projects row per list entry, with ``overrides``."""
    height = len(next(iter(overrides.values()))) if overrides else 1
    base: dict[str, list[Any]] = {
        "external_id": [f"P{i}" for i in range(height)],
        "name": ["Apollo"] * height,
        "customer": ["Acme"] * height,
        "contact": ["ann@example.com"] * height,
        "status": ["active"] * height,
        "budget": ["100"] * height,
        "currency": ["EUR"] * height,
        "start_date": ["2024-01-05"] * height,
    }
    return base | overrides


# --- the good frame ----------------------------------------------------------------------


def test_good_rows_are_typed_with_the_exact_dtypes() -> None:
    result = run(
        PROJECTS,
        project(
            status=[" Active "],
            budget=["1234.5"],
            currency=["eur"],
            start_date=["2024-01-05"],
            end_date=["2024-02-29"],
            contact=["Ann@Example.COM"],
        ),
    )
    assert result.errors.is_empty() and result.failed_rows == 0
    assert result.good.schema == pl.Schema(
        {
            ROW: pl.Int64(),
            "external_id": pl.String(),
            "name": pl.String(),
            "customer": pl.String(),
            "contact": pl.String(),
            "status": pl.String(),
            "budget": pl.String(),
            "currency": pl.String(),
            "start_date": pl.Date(),
            "end_date": pl.Date(),
        }
    )
    row = result.good.row(0, named=True)
    assert row["status"] == "active"
    assert row["budget"] == "1234.50"
    assert row["currency"] == "EUR"
    assert row["contact"] == "ann@example.com"


def test_cells_are_stripped_and_blank_cells_are_null() -> None:
    result = run(PROJECTS, project(name=["  Apollo \t"], customer=["   "], budget=[""]))
    row = result.good.row(0, named=True)
    assert row["name"] == "Apollo"
    assert row["customer"] is None
    assert row["budget"] is None


def test_unicode_whitespace_is_stripped_too() -> None:
    result = run(PROJECTS, project(name=["\u00a0Apollo\u2003"]))
    assert result.good["name"].to_list() == ["Apollo"]


def test_row_numbers_and_refs_are_carried_through() -> None:
    frame = pl.DataFrame(
        {
            ROW: [7, 11, 42],
            REF: ["a", "b", "c"],
            "external_id": ["P1", "P2", "P3"],
            "budget": ["1", "x", "3"],
        },
        schema_overrides={ROW: pl.Int64},
    )
    result = validate(frame, PROJECTS, CATALOG, ValidateOptions())
    assert result.good.columns == [ROW, REF, "external_id", "budget"]
    assert result.good[ROW].to_list() == [7, 42]
    assert result.good[REF].to_list() == ["a", "c"]
    assert codes(result) == [(11, "budget", "invalid_decimal")]


def test_rows_with_any_error_are_left_out_of_good() -> None:
    result = run(PROJECTS, project(budget=["1", "-5", "3", "x"]))
    assert result.good["external_id"].to_list() == ["P0", "P2"]
    assert result.failed_rows == 2


def test_only_the_mapped_columns_come_back() -> None:
    result = run(PROJECTS, {"external_id": ["P1"], "notes": ["n"]})
    assert result.good.columns == [ROW, "external_id", "notes"]


def test_a_frame_of_no_rows() -> None:
    frame = pl.DataFrame(
        {ROW: [], "external_id": [], "budget": []},
        schema={ROW: pl.Int64, "external_id": pl.String, "budget": pl.String},
    )
    result = validate(frame, PROJECTS, CATALOG, ValidateOptions())
    assert result.good.height == 0 and result.failed_rows == 0
    assert result.good.schema["budget"] == pl.String
    assert result.errors.schema == pl.Schema(ERROR_SCHEMA)


def test_a_frame_of_row_numbers_only() -> None:
    frame = pl.DataFrame({ROW: [1, 2]}, schema={ROW: pl.Int64})
    result = validate(frame, PROJECTS, CATALOG, ValidateOptions())
    assert result.good[ROW].to_list() == [1, 2]


def test_cells_that_are_not_strings_are_read_as_their_text() -> None:
    frame = pl.DataFrame({ROW: [1], "external_id": ["P1"], "budget": [12]})
    result = validate(frame, PROJECTS, CATALOG, ValidateOptions())
    assert result.good["budget"].to_list() == ["12.00"]


# --- the error frame ---------------------------------------------------------------------


def test_error_frame_shape() -> None:
    result = run(PROJECTS, project(budget=["12,5"]))
    assert result.errors.schema == pl.Schema(ERROR_SCHEMA)
    assert result.errors.row(0, named=True) == {
        "row": 1,
        "column": "budget",
        "code": "invalid_decimal",
        "message": "'12,5' is not a decimal number "
        "(use '.' for the decimals and no thousands separators, as in 1234.56)",
        "value": "12,5",
    }


def test_no_errors_is_an_empty_frame_of_the_error_schema() -> None:
    result = run(PROJECTS, project())
    assert result.errors.is_empty()
    assert result.errors.schema == pl.Schema(ERROR_SCHEMA)


def test_every_bad_cell_of_a_row_is_reported() -> None:
    result = run(
        PROJECTS,
        project(
            name=[""],
            contact=["not an email"],
            status=["finished"],
            budget=["-1"],
            currency=["EURO"],
            start_date=["2024-02-30"],
        ),
        mode=Mode.CREATE,
    )
    assert codes(result) == [
        (1, "name", "required"),
        (1, "contact", "invalid_email"),
        (1, "status", "invalid_enum"),
        (1, "budget", "too_small"),
        (1, "currency", "invalid_currency"),
        (1, "start_date", "invalid_date"),
    ]
    assert result.failed_rows == 1
    assert result.good.is_empty()


def test_errors_are_ordered_by_row_then_column() -> None:
    frame = pl.DataFrame(
        {
            ROW: [30, 10, 20],
            "external_id": ["P1", "P2", "P3"],
            "budget": ["x", "y", "1"],
            "currency": ["zz", "EUR", "yy"],
        },
        schema_overrides={ROW: pl.Int64},
    )
    result = validate(frame, PROJECTS, CATALOG, ValidateOptions())
    assert codes(result) == [
        (10, "budget", "invalid_decimal"),
        (20, "currency", "invalid_currency"),
        (30, "budget", "invalid_decimal"),
        (30, "currency", "invalid_currency"),
    ]
    assert result.failed_rows == 3


def test_the_error_value_is_the_cell_as_given() -> None:
    result = run(PROJECTS, project(currency=["  euro "], name=["   "]), mode=Mode.CREATE)
    values = {r["column"]: r["value"] for r in result.errors.iter_rows(named=True)}
    assert values == {"currency": "  euro ", "name": "   "}


def test_long_values_are_shortened_in_messages_only() -> None:
    long = "x" * 500
    result = run(PROJECTS, project(budget=[long]))
    error = result.errors.row(0, named=True)
    assert error["value"] == long
    assert error["message"].startswith("'" + "x" * 59 + "…'")


def test_every_code_is_a_catalogue_code() -> None:
    result = run(
        PROJECTS,
        project(external_id=[""], budget=["1e3"], start_date=["tomorrow"]),
        mode=Mode.CREATE,
    )
    assert set(result.errors["code"]) <= {code.value for code in Code}


# --- empty cells: required and missing_key -------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "empty", "reported"),
    [
        (Mode.CREATE, EmptyPolicy.KEEP, True),
        (Mode.APPEND, EmptyPolicy.KEEP, True),
        (Mode.REPLACE, EmptyPolicy.KEEP, True),
        (Mode.UPDATE, EmptyPolicy.KEEP, False),
        (Mode.UPSERT, EmptyPolicy.KEEP, False),
        (Mode.UPDATE, EmptyPolicy.CLEAR, True),
        (Mode.UPSERT, EmptyPolicy.CLEAR, True),
        (Mode.DELETE, EmptyPolicy.KEEP, False),
        (Mode.DELETE, EmptyPolicy.CLEAR, False),
    ],
)
def test_an_empty_required_cell_per_mode_and_empty_policy(
    mode: Mode, empty: EmptyPolicy, reported: bool
) -> None:
    result = run(PROJECTS, project(name=[" "]), mode=mode, empty=empty)
    if reported:
        assert codes(result) == [(1, "name", "required")]
        assert result.errors["message"].to_list() == ["is required"]
    else:
        assert result.errors.is_empty()
        assert result.good["name"].to_list() == [None]


def test_an_empty_optional_cell_is_fine_in_every_mode() -> None:
    for mode in Mode:
        result = run(PROJECTS, project(notes=[""]), mode=mode, empty=EmptyPolicy.CLEAR)
        assert result.errors.is_empty(), mode


@pytest.mark.parametrize("mode", [m for m in Mode if m is not Mode.APPEND])
def test_an_empty_match_cell_is_missing_key(mode: Mode) -> None:
    result = run(PROJECTS, project(external_id=["", "P2"]), mode=mode)
    assert codes(result) == [(1, "external_id", "missing_key")]
    assert result.errors["message"].to_list() == ["is empty, but rows are matched on external_id"]


def test_append_does_not_match_rows_so_an_empty_key_is_only_required() -> None:
    result = run(PROJECTS, project(external_id=[""]), mode=Mode.APPEND)
    assert codes(result) == [(1, "external_id", "required")]


def test_append_with_an_optional_match_column_accepts_it_empty() -> None:
    result = run(PEOPLE, {"email": ["a@b.co"], "external_id": [""]}, mode=Mode.APPEND)
    assert result.errors.is_empty()


def test_match_columns_given_in_the_options() -> None:
    result = run(
        PEOPLE,
        {"external_id": ["", "X2"], "email": ["a@b.co", ""], "first_name": ["A", "B"]},
        mode=Mode.UPSERT,
        match=("external_id",),
    )
    # the key (email) is not matched on here, and may stay empty in an upsert that keeps
    assert codes(result) == [(1, "external_id", "missing_key")]


def test_match_columns_given_in_the_options_in_create_mode() -> None:
    result = run(
        PEOPLE,
        {"external_id": ["", "X2"], "email": ["a@b.co", ""]},
        mode=Mode.CREATE,
        match=("external_id",),
    )
    assert codes(result) == [(1, "external_id", "missing_key"), (2, "email", "required")]


def test_a_cell_is_reported_once_even_when_required_and_matched_on() -> None:
    result = run(PROJECTS, project(external_id=[""]), mode=Mode.CREATE)
    assert codes(result) == [(1, "external_id", "missing_key")]


def test_matching_on_a_column_that_is_not_unique_is_refused() -> None:
    with pytest.raises(InvalidInput, match="name"):
        run(PROJECTS, project(), match=("name",))


# --- references ----------------------------------------------------------------------------


def test_a_reference_is_checked_and_normalised_by_the_referenced_column() -> None:
    result = run(
        PROJECTS,
        project(contact=["Ann@Example.COM", "ann at example", ""], customer=[" Acme ", "", "B"]),
    )
    assert codes(result) == [(2, "contact", "invalid_email")]
    assert result.good["contact"].to_list() == ["ann@example.com", None]
    assert result.good["customer"].to_list() == ["Acme", "B"]


def test_a_reference_takes_required_from_its_own_column() -> None:
    # people.email is required, projects.owner (which references it) is not
    result = run(PROJECTS, project(owner=[""]), mode=Mode.CREATE)
    assert result.errors.is_empty()


# --- bad calls -----------------------------------------------------------------------------


def test_a_frame_without_row_numbers_is_a_bug_of_the_caller() -> None:
    frame = pl.DataFrame({"external_id": ["P1"]})
    with pytest.raises(ValueError, match=ROW):
        validate(frame, PROJECTS, CATALOG, ValidateOptions())


def test_a_column_the_table_does_not_have_is_a_bug_of_the_caller() -> None:
    with pytest.raises(InvalidSchema, match="colour"):
        run(PROJECTS, {"external_id": ["P1"], "colour": ["red"]})


def test_a_date_format_without_directives_is_an_invalid_option() -> None:
    with pytest.raises(InvalidOption, match="dd/mm/yyyy"):
        run(PROJECTS, project(), date_formats=("dd/mm/yyyy",))


# --- whatever the cells hold -----------------------------------------------------------------

CELLS = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["", " ", "1", "-1.5", "2024-02-29", "2024-02-30", "EUR", "a@b.co", "ACTIVE"]),
)


@given(st.lists(st.tuples(CELLS, CELLS, CELLS, CELLS, CELLS), min_size=1, max_size=30))
@settings(max_examples=150, deadline=None)
def test_every_row_is_either_good_or_reported(rows: list[tuple[str | None, ...]]) -> None:
    names = ["external_id", "budget", "start_date", "currency", "status"]
    columns = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    result = run(PROJECTS, columns, mode=Mode.CREATE)
    reported = set(result.errors["row"])
    assert result.failed_rows == len(reported)
    assert result.good.height + result.failed_rows == len(rows)
    assert reported.isdisjoint(result.good[ROW])
    assert result.errors.filter(pl.col("message").is_null()).is_empty()
    assert result.errors.select(pl.struct("row", "column").is_unique().all()).item()
