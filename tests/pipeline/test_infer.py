"""Infer: the table a file calls for, in one pass of bounded memory; every inferred
column validates every cell of its file (the same rules as validate)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadbay.errors import InvalidOption
from loadbay.pipeline.frames import ROW, Mode
from loadbay.pipeline.infer import FileToInfer, infer_tables, table_name_of
from loadbay.pipeline.read import ReadOptions
from loadbay.pipeline.validate import ValidateOptions, validate
from loadbay.schema.loader import parse_table, table_spec
from loadbay.schema.model import Catalog, Column, ColumnType, Table

CSV = (
    "Code,Qty,Price,Ok,Day,At,Mail,Cur,Zip,Free\n"
    "A1,1,1.5,y,2024-01-31,2024-01-31 10:00,a@x.io,EUR,0123,x\n"
    "A2,-20,30,N,2024-2-1,2024-02-01T11:00:00+01:00,B@Y.org,USD,9999,\n"
    "A3,300,.25,TRUE,2024-02-29,2024-02-29,c@z.de,JPY,1234,3 apples\n"
)


def _write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def _one(path: Path, batch_size: int = 100_000, **kw: str | None) -> Table:
    (found,) = infer_tables(
        [FileToInfer(path, path.name, ReadOptions(batch_size=batch_size))], kw.get("key")
    )
    return found.table


def test_each_type_and_its_options(tmp_path: Path) -> None:
    table = _one(_write(tmp_path, "things.csv", CSV))
    kinds = {c.name: (c.type, c.required) for c in table.columns}
    assert kinds == {
        "code": (ColumnType.TEXT, True),
        "qty": (ColumnType.INTEGER, True),
        "price": (ColumnType.DECIMAL, True),
        "ok": (ColumnType.BOOLEAN, True),
        "day": (ColumnType.DATE, True),
        "at": (ColumnType.DATETIME, True),
        "mail": (ColumnType.EMAIL, True),
        "cur": (ColumnType.CURRENCY, True),
        "zip": (ColumnType.TEXT, True),  # 0123: a leading zero stays text
        "free": (ColumnType.TEXT, False),
    }
    price = table.column("price")
    assert (price.precision, price.scale) == (18, 2)
    assert table.column("day").format is None  # the built-in forms read it
    assert table.key == ("code",)
    assert table.name == "things"


def test_batches_give_the_same_table_as_one_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "things.csv", CSV)
    assert _one(path, batch_size=1) == _one(path)


def test_a_key_is_unique_in_the_whole_file_not_in_each_batch(tmp_path: Path) -> None:
    path = _write(tmp_path, "k.csv", "a,b\n1,x\n2,y\n1,z\n")
    assert _one(path, batch_size=1).key == ("b",)
    assert _one(path, batch_size=1, key="a").key == ("a",)  # given: kept
    with pytest.raises(InvalidOption, match="no such column"):
        _one(path, key="nope")


def test_wide_decimals_and_numbers_past_64_bits(tmp_path: Path) -> None:
    path = _write(tmp_path, "n.csv", "big,wide\n99999999999999999999,1234567890123456789012.5\n")
    table = _one(path)
    assert table.column("big").type is ColumnType.DECIMAL
    assert (table.column("big").precision, table.column("big").scale) == (20, 0)
    wide = table.column("wide")
    assert (wide.type, wide.precision, wide.scale) == (ColumnType.DECIMAL, 23, 1)


def test_day_first_dates_and_their_formats(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "d.csv",
        "eu,us,dotted,stamp\n31/01/2024,01/31/2024,31.01.2024,31/01/2024 17:05\n"
        "1/2/2024,2/1/2024,01.02.2024,01/02/2024 08:00\n",
    )
    table = _one(path)
    assert (table.column("eu").type, table.column("eu").format) == (ColumnType.DATE, "%d/%m/%Y")
    assert table.column("us").format == "%m/%d/%Y"
    assert table.column("dotted").format == "%d.%m.%Y"
    stamp = table.column("stamp")
    assert (stamp.type, stamp.format) == (ColumnType.DATETIME, "%d/%m/%Y %H:%M")


def test_headers_become_identifiers_and_the_mapping_says_so(tmp_path: Path) -> None:
    path = _write(tmp_path, "Sales 2024.csv", "First Name,2024 Total,first_name\na,1,b\n")
    (found,) = infer_tables([FileToInfer(path, path.name)])
    assert found.table.name == "sales_2024"
    assert found.table.column_names == ["first_name", "c_2024_total", "first_name_2"]
    assert found.mapping == {
        "First Name": "first_name",
        "2024 Total": "c_2024_total",
        "first_name": "first_name_2",
    }


def test_json_fields_that_come_late_are_not_required(tmp_path: Path) -> None:
    lines = [{"id": 1, "a": "x"}, {"id": 2, "a": "y", "late": "2024-01-01"}]
    path = _write(tmp_path, "j.jsonl", "".join(json.dumps(r) + "\n" for r in lines))
    table = _one(path, batch_size=1)
    assert table.column("late").required is False
    assert table.column("late").type is ColumnType.DATE
    assert table.column("a").required is True


def test_an_empty_column_is_text_and_a_file_of_headers_has_no_key(tmp_path: Path) -> None:
    table = _one(_write(tmp_path, "e.csv", "a,b\n"))
    assert [(c.type, c.required) for c in table.columns] == [(ColumnType.TEXT, False)] * 2
    assert table.key == ()


def test_table_names_of_files() -> None:
    assert table_name_of("People List.csv.gz") == "people_list"
    assert table_name_of("2024.xlsx") == "c_2024"


def test_the_definition_round_trips_through_its_spec(tmp_path: Path) -> None:
    table = _one(_write(tmp_path, "things.csv", CSV))
    assert parse_table(json.loads(json.dumps(table_spec(table)))) == table


def test_a_column_format_is_read_by_validate() -> None:
    table = Table(
        "t",
        (Column("d", ColumnType.DATE, format="%d/%m/%Y"), Column("s", ColumnType.DATETIME)),
    )
    frame = pl.DataFrame(
        {ROW: [1, 2, 3], "d": ["31/12/2024", "2024-12-31", "12/31/2024"], "s": [None] * 3},
        schema_overrides={"s": pl.String},
    )
    checked = validate(frame, table, Catalog([table]), ValidateOptions(mode=Mode.APPEND))
    assert checked.good.get_column("d").cast(pl.String).to_list() == ["2024-12-31"] * 2
    assert checked.errors.get_column("message").to_list() == [
        "'12/31/2024' is not a valid date (accepted: yyyy-MM-dd, %d/%m/%Y)"
    ]


_CELLS = st.one_of(
    st.from_regex(r"\A[+-]?[0-9]{1,25}(\.[0-9]{1,12})?\Z"),
    st.sampled_from(["yes", "No", "", " ", "2024-02-30", "31/12/1999", "a@b.co", "EUR", "x"]),
    st.dates().map(lambda d: d.strftime("%d/%m/%Y")),
    st.datetimes().map(lambda d: d.isoformat(sep=" ")),
    st.text(st.characters(blacklist_characters="\x00"), max_size=5),  # NUL: never valid
)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(_CELLS, min_size=2, max_size=2), min_size=1, max_size=8))
def test_every_inferred_column_validates_its_own_cells(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]]
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    frame = pl.DataFrame(rows, schema=["a", "b"], orient="row")
    path = folder / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in frame.to_dicts()), encoding="utf-8")
    table = _one(path, batch_size=5)
    data = frame.with_columns(pl.int_range(1, frame.height + 1).alias(ROW))
    checked = validate(data, table, Catalog([table]), ValidateOptions(mode=Mode.APPEND))
    assert checked.failed_rows == 0, (table, checked.errors.to_dicts())
