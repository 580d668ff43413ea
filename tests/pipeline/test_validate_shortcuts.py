"""The shortcuts of the email, enum and currency checks give what the plain rules give.

Most cells are given as they are kept (a lowercase ASCII address, an enum value, an
upper-case currency code), so validation looks for that first and changes the case of
the other cells only. The plain rule, written out here over whole columns, is the
reference: for any cell, the kept value and whether there is an error must agree.

Likewise, a cell that passes its type's shape test as given is not stripped (it has
nothing to strip): whitespace around any cell changes nothing but the error's value.
"""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from loadbay.pipeline.frames import ROW, Mode
from loadbay.pipeline.validate import ValidateOptions, validate
from loadbay.pipeline.validate.scalar import EMAIL_LOCAL_MAX, EMAIL_MAX, EMAIL_PATTERN
from loadbay.schema.currencies import CURRENCY_CODES
from loadbay.schema.model import Catalog, Column, ColumnType, Table

TABLE = Table(
    name="shortcuts",
    columns=(
        Column("email", ColumnType.EMAIL),
        Column("size", ColumnType.ENUM, enum=("small", "Medium", "LARGE", "large")),
        Column("state", ColumnType.ENUM, enum=("open", "closed")),
        Column("currency", ColumnType.CURRENCY),
    ),
)
CATALOG = Catalog([TABLE])

_EMAIL_PARTS = st.sampled_from(
    ("a", "Z", "é", "É", "İ", "ß", "1", ".", "@", "-", "_", "+", " ", "xn--", "XN--", "b.c")
)
_emails = st.lists(_EMAIL_PARTS, max_size=12).map("".join)
_sizes = st.sampled_from(["small", "SMALL", "Medium", "medium", "LARGE", "large", "Large", "x"])
_states = st.sampled_from(["open", "OPEN", "Open", "closed", "Closed", "opened", " open "])
_currencies = st.sampled_from(["EUR", "eur", "Eur", "usd", "USD", "XXX", "EURO", "€", "ß"])


def _reference(frame: pl.DataFrame) -> pl.DataFrame:
    """The kept value of each cell by the plain rules (null: empty or an error)."""
    text = pl.col("text")
    stripped = frame.with_columns(text=pl.col("value").str.strip_chars().replace("", None)).lazy()
    return stripped.select(
        email=pl.when(
            text.str.contains(EMAIL_PATTERN)
            & (text.str.len_chars() <= EMAIL_MAX)
            & (text.str.find("@", literal=True) <= EMAIL_LOCAL_MAX)
        ).then(text.str.to_lowercase())
    ).collect()


def _validated(column: str, values: list[str]) -> tuple[list[str | None], set[int]]:
    frame = pl.DataFrame(
        {ROW: list(range(1, len(values) + 1)), column: values},
        schema={ROW: pl.Int64, column: pl.String},
    )
    result = validate(frame, TABLE, CATALOG, ValidateOptions(mode=Mode.APPEND))
    kept = dict(zip(result.good[ROW].to_list(), result.good[column].to_list(), strict=True))
    return [kept.get(row) for row in range(1, len(values) + 1)], set(result.errors["row"])


@settings(max_examples=300, deadline=None)
@given(values=st.lists(_emails, min_size=1, max_size=20))
def test_email_shortcut_agrees_with_the_plain_rule(values: list[str]) -> None:
    values += ["x" * (EMAIL_LOCAL_MAX + 1) + "@ab.io", "ab@" + "c" * 70 + ".io"]
    kept, failed = _validated("email", values)
    expected = _reference(pl.DataFrame({"value": values}))["email"].to_list()
    for row, (got, want, given_) in enumerate(zip(kept, expected, values, strict=True), start=1):
        assert got == want, given_
        assert (row in failed) == (want is None and given_.strip() != ""), given_


@settings(max_examples=200, deadline=None)
@given(values=st.lists(_sizes, min_size=1, max_size=10))
def test_enum_with_values_in_several_cases(values: list[str]) -> None:
    allowed = ("small", "Medium", "LARGE", "large")
    folded: dict[str, str] = {}
    for choice in allowed:
        folded.setdefault(choice.lower(), choice)
    kept, _ = _validated("size", values)
    assert kept == [v if v in allowed else folded.get(v.lower()) for v in values]


@settings(max_examples=200, deadline=None)
@given(values=st.lists(_states, min_size=1, max_size=10))
def test_enum_in_lowercase(values: list[str]) -> None:
    kept, _ = _validated("state", values)
    expected = [s if s in ("open", "closed") else None for s in (v.strip().lower() for v in values)]
    assert kept == expected


@settings(max_examples=200, deadline=None)
@given(values=st.lists(_currencies, min_size=1, max_size=10))
def test_currency_in_any_case(values: list[str]) -> None:
    kept, _ = _validated("currency", values)
    assert kept == [v.upper() if v.upper() in CURRENCY_CODES else None for v in values]


SHAPED = Table(
    name="shaped",
    columns=(
        Column("email", ColumnType.EMAIL),
        Column("count", ColumnType.INTEGER),
        Column("amount", ColumnType.DECIMAL, precision=8, scale=2),
        Column("day", ColumnType.DATE),
        Column("at", ColumnType.DATETIME),
        Column("state", ColumnType.ENUM, enum=("open", "closed")),
        Column("padded", ColumnType.ENUM, enum=(" open", "closed ", "")),
        Column("currency", ColumnType.CURRENCY),
        Column("name"),
    ),
)
_CORES = {
    "email": ["a@b.io", "A@B.io", "a@b", "a b@c.io", "x"],
    "count": ["12", "-3", "1.5", "99999999999999999999", "x"],
    "amount": ["1.50", "1.505", "1.500", "1234567.5", "-0.5", ".5", "1,5"],
    "day": ["2024-01-31", "2024-02-30", "2024-1-5", "2024-01-31T00:00:00", "2024-01-31 10:00"],
    "at": ["2024-01-31 10:00", "2024-01-31T10:00:00Z", "2024-01-31", "2024-01-31 25:00"],
    "state": ["open", "OPEN", "closed", "opened"],
    "padded": [" open", "open", "closed ", "closed", "OPEN"],
    "currency": ["EUR", "eur", "XXX", "€"],
    "name": ["Ann", "a  b"],
}
#: whitespace to Python's str.strip and to polars' strip_chars alike
_PADS = st.sampled_from(["", "", " ", "\t", "\n", "\u00a0", "\u2003 ", "\u3000"])


@st.composite
def _padded_rows(draw: st.DrawFn) -> list[dict[str, str]]:
    rows = []
    for _ in range(draw(st.integers(1, 12))):
        row = {}
        for column, cores in _CORES.items():
            core = draw(st.sampled_from([*cores, ""]))
            row[column] = draw(_PADS) + core + draw(_PADS)
        rows.append(row)
    return rows


def _validate_rows(rows: list[dict[str, str]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(_CORES, pl.String)).with_row_index(ROW, 1)
    result = validate(frame.with_columns(pl.col(ROW).cast(pl.Int64)), SHAPED, Catalog([SHAPED]),
                      ValidateOptions(mode=Mode.APPEND))  # fmt: skip
    return result.good, result.errors


@settings(max_examples=150, deadline=None)
@given(rows=_padded_rows())
def test_whitespace_around_cells_changes_only_the_error_value(
    rows: list[dict[str, str]],
) -> None:
    good, errors = _validate_rows(rows)
    stripped = [{column: value.strip() for column, value in row.items()} for row in rows]
    want_good, want_errors = _validate_rows(stripped)
    assert good.equals(want_good)
    assert errors.drop("value").equals(want_errors.drop("value"))
    given_ = [rows[row - 1][column] for row, column in errors.select("row", "column").rows()]
    assert errors["value"].to_list() == given_
