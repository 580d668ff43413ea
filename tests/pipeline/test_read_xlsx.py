"""Excel workbooks: values as text, sheets, empty rows, headers."""

from __future__ import annotations

import gzip
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import xlsxwriter

from loadbay.errors import InvalidOption, UnreadableFile
from loadbay.pipeline.frames import ROW
from loadbay.pipeline.read import Batch, ReadOptions, headers, read_file


def batches(path: Path, **options: object) -> list[Batch]:
    return list(read_file(path, ReadOptions(**options)))  # type: ignore[arg-type]


def read(path: Path, **options: object) -> pl.DataFrame:
    return pl.concat([b.frame for b in batches(path, **options)])


def workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    """A workbook with one sheet per entry; None leaves a cell empty."""
    book = xlsxwriter.Workbook(str(path))
    formats = {
        date: book.add_format({"num_format": "yyyy-mm-dd"}),
        datetime: book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        time: book.add_format({"num_format": "hh:mm:ss"}),
    }
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, date | time):
                    sheet.write_datetime(r, c, value, formats[type(value)])
                elif value is not None:
                    sheet.write(r, c, value)
    book.close()
    return path


def test_values_become_text(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "d.xlsx",
        {
            "Data": [
                ["id", "price", "day", "stamp", "at", "ok", "name", "big"],
                [12, 1.5, date(2024, 1, 31), datetime(2024, 1, 31, 10, 0), time(10, 30),
                 True, "  Café ", 1e20],
                [13, 0.1, date(2024, 2, 1), datetime(2024, 2, 1, 0, 0), None,
                 False, "x", 123456789.123],
            ]
        },
    )  # fmt: skip
    frame = read(path)
    assert frame.columns == [ROW, "id", "price", "day", "stamp", "at", "ok", "name", "big"]
    assert frame.schema == pl.Schema(
        {c: pl.Int64 if c == ROW else pl.String for c in frame.columns}
    )
    assert frame.rows() == [
        (1, "12", "1.5", "2024-01-31", "2024-01-31 10:00:00", "10:30:00", "true", "  Café ",
         "100000000000000000000"),
        (2, "13", "0.1", "2024-02-01", "2024-02-01 00:00:00", None, "false", "x",
         "123456789.123"),
    ]  # fmt: skip


def test_floats_keep_excel_precision(tmp_path: Path) -> None:
    values = [0.1 + 0.2, 1 / 3, 1e-7, -2.5, 3.14159265358979, 19.99]
    path = workbook(tmp_path / "d.xlsx", {"S": [["v"], *[[v] for v in values]]})
    assert read(path)["v"].to_list() == [
        "0.3",
        "0.333333333333333",
        "0.0000001",
        "-2.5",
        "3.14159265358979",
        "19.99",
    ]


def test_mixed_column_keeps_text_and_numbers(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["n", "d"],
        *[[i, date(2024, 1, i)] for i in range(1, 4)],
        ["N/A", "never"],
    ]
    frame = read(workbook(tmp_path / "d.xlsx", {"S": rows}))
    assert frame["n"].to_list() == ["1", "2", "3", "N/A"]
    assert frame["d"].to_list() == ["2024-01-01", "2024-01-02", "2024-01-03", "never"]


def test_empty_rows_are_skipped_and_rows_keep_their_position(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["a", "b"],
        ["x", 1],
        [None, None],
        [None, None],
        ["y", None],
        [None, 2],
    ]
    frame = read(workbook(tmp_path / "d.xlsx", {"S": rows}))
    assert frame.rows() == [(1, "x", "1"), (4, "y", None), (5, None, "2")]


def test_named_sheet(tmp_path: Path) -> None:
    path = workbook(tmp_path / "d.xlsx", {"First": [["a"], [1]], "Second": [["b"], ["two"]]})
    assert read(path).rows() == [(1, "1")]
    assert read(path, sheet="Second").rows() == [(1, "two")]


def test_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = workbook(tmp_path / "d.xlsx", {"First": [["a"]], "Second": [["b"]]})
    with pytest.raises(InvalidOption, match=r"'Nope'.*'First', 'Second'"):
        read(path, sheet="Nope")


def test_header_only_gives_one_empty_batch(tmp_path: Path) -> None:
    got = batches(workbook(tmp_path / "d.xlsx", {"S": [["a", "b"]]}))
    assert len(got) == 1 and got[0].frame.columns == [ROW, "a", "b"] and got[0].frame.height == 0


def test_empty_sheet_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="empty"):
        read(workbook(tmp_path / "d.xlsx", {"S": []}))


def test_header_names(tmp_path: Path) -> None:
    path = workbook(tmp_path / "d.xlsx", {"S": [["a", None, 2024], ["x", "y", "z"]]})
    assert headers(path) == ["a", "column_2", "2024"]
    dupes = workbook(tmp_path / "e.xlsx", {"S": [["a", "a"], [1, 2]]})
    got = batches(dupes)
    assert got[0].frame.columns == [ROW, "a", "a_2"]
    assert any("a_2" in w for w in got[0].warnings)


def test_batches(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["n"], *[[i] for i in range(1, 8)]]
    got = batches(workbook(tmp_path / "d.xlsx", {"S": rows}), batch_size=3)
    assert [b.frame[ROW].to_list() for b in got] == [[1, 2, 3], [4, 5, 6], [7]]


def test_gzip_xlsx(tmp_path: Path) -> None:
    plain = workbook(tmp_path / "d.xlsx", {"S": [["a"], ["x"]]})
    packed = tmp_path / "d.xlsx.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert read(packed).rows() == [(1, "x")]


def test_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "d.xlsx"
    path.write_bytes(b"PK\x03\x04 this is no zip at all")
    with pytest.raises(UnreadableFile, match=r"d\.xlsx"):
        read(path)
