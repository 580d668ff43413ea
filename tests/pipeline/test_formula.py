"""Formula neutralisation: what the report writes, what loadbay reads back."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import pytest

from loadbay.pipeline.formula import neutralised, neutralised_text, quoted_columns, restored
from loadbay.pipeline.frames import ROW
from loadbay.pipeline.map import ColumnMap, apply_map

NUMBERS = ["-5", "+3.5", "-.5", "-1e3", "-1E+3", "-1,5", "-1.234,56", "+0", "-,5", "12"]
FORMULAS = ["=1+2", "+plus", "-dash", "@sum", "\tx", "\rx", "-", "+", "-5-3", "-1e3+A1"]
FORMULAS += ["-e3", "--5", "-5 ", "-0x1F", "-inf", "=-5"]
QUOTED = ["'=x", "''=x", "'-5", "'\tx"]  # a file's own apostrophes in front
PLAIN = ["", "text", "'quoted", "a=b", " -5", "5-3", "'", "''"]


def _apply(expr: pl.Expr, values: Sequence[str | None]) -> list[str | None]:
    return pl.DataFrame({"c": list(values)}, schema={"c": pl.String}).select(expr)["c"].to_list()


def test_numbers_are_left_alone_and_formulas_neutralised() -> None:
    col = neutralised(pl.col("c"))
    assert _apply(col, NUMBERS) == NUMBERS
    assert _apply(col, FORMULAS) == ["'" + v for v in FORMULAS]
    assert _apply(col, QUOTED) == ["'" + v for v in QUOTED]
    assert _apply(col, [*PLAIN, None]) == [*PLAIN, None]


@pytest.mark.parametrize("values", [NUMBERS, FORMULAS, QUOTED, PLAIN])
def test_read_back_gives_the_value_and_a_report_of_a_report_is_the_same(
    values: list[str],
) -> None:
    written = _apply(neutralised(pl.col("c")), values)
    assert _apply(restored(pl.col("c")), written) == values
    again = _apply(neutralised(restored(pl.col("c"))), written)  # the report of its rows
    assert again == written


def test_map_restores_only_columns_with_a_neutralised_cell() -> None:
    frame = pl.DataFrame(
        {ROW: [1, 2], "A": ["'=x", "'-5"], "B": ["'quoted", "=raw"], "C": ["-5", None]}
    )
    assert quoted_columns(frame, ["A", "B", "C"]) == {"A", "B"}
    cmap = ColumnMap("t", {"a": "A", "b": "B", "c": "C"}, {"k": "'=kept"}, ())
    mapped = apply_map(frame, cmap)
    assert mapped.rows() == [
        (1, "=x", "'quoted", "-5", "'=kept"),
        (2, "-5", "=raw", None, "'=kept"),
    ]


@pytest.mark.parametrize("values", [NUMBERS, FORMULAS, QUOTED, PLAIN])
def test_one_text_is_neutralised_as_a_column_is(values: list[str]) -> None:
    """The export writes cell by cell what the report writes column by column."""
    assert [neutralised_text(v) for v in values] == _apply(neutralised(pl.col("c")), values)
    assert neutralised_text("-5\n") == "'-5\n"  # a number is the whole cell
