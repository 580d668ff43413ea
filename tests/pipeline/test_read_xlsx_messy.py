"""Workbooks as people save them: the 1904 date system, fractions of seconds, durations,
columns of several types, error cells, tables that do not start in A1. Each written by
a real writer (xlsxwriter and openpyxl)."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
import xlsxwriter
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from loadbay.errors import InvalidOption
from loadbay.pipeline.frames import ROW
from loadbay.pipeline.read import Batch, ReadOptions, read_file

#: a cell: a value, or ("=formula", cached value) for a formula
Rows = list[list[Any]]
Writer = Callable[[Path, Rows, bool], Path]

_FORMATS = {
    date: "yyyy-mm-dd",
    datetime: "yyyy-mm-dd hh:mm:ss.000",
    time: "hh:mm:ss",
    timedelta: "[h]:mm:ss",
}


def by_xlsxwriter(path: Path, rows: Rows, date1904: bool = False) -> Path:
    book = xlsxwriter.Workbook(str(path), {"date_1904": date1904})
    formats = {t: book.add_format({"num_format": f}) for t, f in _FORMATS.items()}
    sheet = book.add_worksheet("Data")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, tuple):
                sheet.write_formula(r, c, value[0], None, value[1])
            elif isinstance(value, date | time | timedelta):
                sheet.write_datetime(r, c, value, formats[type(value)])
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    return path


def by_openpyxl(path: Path, rows: Rows, date1904: bool = False) -> Path:
    book = openpyxl.Workbook()
    if date1904:
        book.epoch = CALENDAR_MAC_1904
    sheet = book.active
    assert sheet is not None
    sheet.title = "Data"
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is None:
                continue
            if isinstance(value, tuple):  # openpyxl keeps no cached value: the error itself
                value = value[1]
            cell = sheet.cell(row=r, column=c, value=value)
            if type(value) in _FORMATS:
                cell.number_format = _FORMATS[type(value)]
    book.save(path)
    return path


WRITERS: dict[str, Writer] = {"xlsxwriter": by_xlsxwriter, "openpyxl": by_openpyxl}


@pytest.fixture(params=list(WRITERS))
def write(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Path]:
    writer = WRITERS[request.param]

    def made(rows: Rows, date1904: bool = False, name: str = "d.xlsx") -> Path:
        return writer(tmp_path / name, rows, date1904)

    return made


def batches(path: Path, **options: object) -> list[Batch]:
    return list(read_file(path, ReadOptions(**options)))  # type: ignore[arg-type]


def read(path: Path, **options: object) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    got = batches(path, **options)
    frame = pl.concat([b.frame for b in got])
    return frame, pl.concat([b.errors for b in got]), [w for b in got for w in b.warnings]


TEMPORAL: Rows = [
    ["day", "stamp", "at"],
    [date(2024, 1, 31), datetime(2024, 1, 31, 10, 0, 0), time(10, 30)],
    [date(1904, 1, 2), datetime(1999, 12, 31, 23, 59, 59), time(0, 0, 1)],
    [date(2030, 6, 15), datetime(2024, 2, 29, 12, 0), time(23, 59, 59)],
]
TEMPORAL_TEXT = [
    (1, "2024-01-31", "2024-01-31 10:00:00", "10:30:00"),
    (2, "1904-01-02", "1999-12-31 23:59:59", "00:00:01"),
    (3, "2030-06-15", "2024-02-29 12:00:00", "23:59:59"),
]


@pytest.mark.parametrize("date1904", [False, True])
def test_dates_in_both_date_systems(write: Callable[..., Path], date1904: bool) -> None:
    frame, errors, _ = read(write(TEMPORAL, date1904))
    assert frame.rows() == TEMPORAL_TEXT
    assert errors.height == 0


def _rewrite_workbook(path: Path, change: Callable[[bytes], bytes]) -> Path:
    """The workbook with its workbook.xml changed (the other parts as they were)."""
    out = path.with_name("rewritten.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, change(data) if item.filename == "xl/workbook.xml" else data)
    return out


_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"


def _in_alternate_content(data: bytes) -> bytes:
    """workbookPr (with date1904) moved into an mc:AlternateContent choice, under a
    prefix of its own; the plain one keeps its other attributes only."""
    found = re.search(rb"<workbookPr\b[^>]*/>", data)
    assert found is not None and b"date1904" in found[0], data
    plain = re.sub(rb'\s*date1904="[^"]*"', b"", found[0])
    wrapped = (
        f'<mc:AlternateContent xmlns:mc="{_MC}"><mc:Choice Requires="x15">'
        '<x15:workbookPr xmlns:x15="http://schemas.microsoft.com/office/spreadsheetml/'
        '2010/11/main" date1904="1"/></mc:Choice></mc:AlternateContent>'
    ).encode()
    return data.replace(found[0], wrapped + plain)


def _prefixed(data: bytes) -> bytes:
    """Every element of workbook.xml under an ``x:`` prefix (as .NET's Open XML SDK
    writes), date1904 written ``true``."""
    data = data.replace(b"<workbook xmlns=", b"<x:workbook xmlns:x=")
    data = re.sub(rb"<(/?)(?![?!])(?!x:)([A-Za-z]+[ />])", rb"<\1x:\2", data)
    return data.replace(b'date1904="1"', b'date1904="true"')


@pytest.mark.parametrize("change", [_in_alternate_content, _prefixed])
def test_1904_flag_wherever_it_is_written(
    write: Callable[..., Path], change: Callable[[bytes], bytes]
) -> None:
    path = _rewrite_workbook(write(TEMPORAL, True), change)
    with zipfile.ZipFile(path) as book:
        assert b'<workbookPr date1904="1"' not in book.read("xl/workbook.xml")
    frame, _, _ = read(path)
    assert frame.rows() == TEMPORAL_TEXT


def test_fractions_of_seconds_are_kept(write: Callable[..., Path]) -> None:
    rows: Rows = [
        ["stamp", "at"],
        [datetime(2024, 1, 31, 10, 0, 0, 250000), time(0, 0, 1, 500000)],
        [datetime(2024, 1, 31, 10, 0, 1), time(12, 0)],
        [datetime(2024, 2, 1, 0, 0, 0, 1000), time(0, 0, 0, 5000)],
    ]
    frame, _, _ = read(write(rows, True))
    assert frame.rows() == [
        (1, "2024-01-31 10:00:00.250", "00:00:01.500"),
        (2, "2024-01-31 10:00:01", "12:00:00"),
        (3, "2024-02-01 00:00:00.001", "00:00:00.005"),
    ]


@pytest.mark.parametrize("date1904", [False, True])
def test_durations(write: Callable[..., Path], date1904: bool) -> None:
    rows: Rows = [
        ["took"],
        [timedelta(hours=27, minutes=5)],
        [timedelta(minutes=5)],
        [timedelta(days=3, seconds=1, milliseconds=500)],
    ]
    frame, _, _ = read(write(rows, date1904))
    assert frame["took"].to_list() == ["27:05:00", "0:05:00", "72:00:01.500"]


@pytest.mark.parametrize("date1904", [False, True])
def test_a_column_of_several_types_is_read_cell_by_cell(
    write: Callable[..., Path], date1904: bool
) -> None:
    rows: Rows = [
        ["value", "n"],
        [date(2024, 1, 31), 1],
        [timedelta(hours=27, minutes=5), 2],
        [12.5, 3],
        ["text", 4],
        [datetime(2024, 1, 31, 10, 0, 0, 250000), 5],
        [time(10, 30), 6],
        [True, 7],
        ["00123", 8],
        [7, 9],
        [0.1, 10],
    ]
    frame, errors, _ = read(write(rows, date1904))
    assert frame["value"].to_list() == [
        "2024-01-31",
        "27:05:00",
        "12.5",
        "text",
        "2024-01-31 10:00:00.250",
        "10:30:00",
        "true",
        "00123",
        "7",
        "0.1",
    ]
    assert frame["n"].to_list() == [str(i) for i in range(1, 11)]
    assert errors.height == 0


ERRORS: Rows = [
    ["name", "ratio", "lookup"],
    ["a", ("=1/0", "#DIV/0!"), 1],
    ["b", 0.5, ("=NA()", "#N/A")],
    ["c", ('=1+"x"', "#VALUE!"), ("=#REF!", "#REF!")],
    ["d", 2, 3],
]


def test_error_cells_are_row_errors_naming_the_cell(write: Callable[..., Path]) -> None:
    frame, errors, _ = read(write(ERRORS))
    assert frame.rows() == [(4, "d", "2", "3")]  # a row with an error cell is not read
    assert errors.select("row", "column", "code", "value").rows() == [
        (1, "ratio", "cell_error", "#DIV/0!"),
        (2, "lookup", "cell_error", "#N/A"),
        (3, "ratio", "cell_error", "#VALUE!"),
        (3, "lookup", "cell_error", "#REF!"),
    ]
    assert errors["message"][0] == "cell B2 holds the Excel error #DIV/0!: it has no value"


def test_error_cells_below_a_title_and_after_an_empty_column(write: Callable[..., Path]) -> None:
    rows: Rows = [
        [None, "Sales 2024"],
        [None, None],
        [None, "name", "ratio"],
        [None, "a", 1],
        [None, "b", ("=1/0", "#DIV/0!")],
    ]
    frame, errors, warnings = read(write(rows))
    assert frame.rows() == [(1, "a", "1")]
    assert errors.select("row", "column", "value").rows() == [(2, "ratio", "#DIV/0!")]
    assert errors["message"][0].startswith("cell C5 ")
    assert warnings == [
        "d.xlsx: the header is row 3 of sheet 'Data'; the 1 filled row(s) above it were "
        "skipped (choose another with --header-row)"
    ]


def test_error_cells_across_batches(write: Callable[..., Path]) -> None:
    rows: Rows = [["n", "v"]]
    rows += [[i, ("=1/0", "#DIV/0!") if i % 3 == 0 else i] for i in range(1, 11)]
    got = batches(write(rows), batch_size=3)
    assert [b.errors["row"].to_list() for b in got] == [[3], [6], [9]]
    assert [b.frame[ROW].to_list() for b in got] == [[1, 2, 4], [5, 7, 8], [10]]


def test_title_and_notes_above_the_table(write: Callable[..., Path]) -> None:
    rows: Rows = [
        ["Quarterly report"],
        ["Generated on", "2024-01-31"],
        [],
        ["id", "name", "email", "amount"],
        [1, "Ann", "ann@x.org", 10],
        [2, "Bob", None, 20],
        [3, "Cy", "cy@x.org", None],
    ]
    frame, _, warnings = read(write(rows))
    assert frame.columns == [ROW, "id", "name", "email", "amount"]
    assert frame.rows() == [
        (1, "1", "Ann", "ann@x.org", "10"),
        (2, "2", "Bob", None, "20"),
        (3, "3", "Cy", "cy@x.org", None),
    ]
    assert len(warnings) == 1 and "the header is row 4 of sheet 'Data'" in warnings[0]


def test_empty_first_column_and_blank_rows_above(write: Callable[..., Path]) -> None:
    rows: Rows = [[], [], [None, "id", "name"], [None, 1, "a"], [None, 2, "b"]]
    frame, _, warnings = read(write(rows))
    assert frame.rows() == [(1, "1", "a"), (2, "2", "b")]
    assert frame.columns == [ROW, "id", "name"]
    assert warnings == []  # only blank rows were above the header


def test_a_header_with_a_blank_name_is_still_the_header(write: Callable[..., Path]) -> None:
    rows: Rows = [["id", None, "name", "city"], [1, "x", "a", "b"], [2, "y", "c", "d"]]
    frame, _, warnings = read(write(rows))
    assert frame.columns == [ROW, "id", "column_2", "name", "city"]
    assert frame.height == 2 and warnings == []


def test_header_row_chooses(write: Callable[..., Path]) -> None:
    rows: Rows = [["a", "b"], ["x", "y"], ["1", "2"]]
    path = write(rows)
    frame, _, warnings = read(path, header_row=2)
    assert frame.columns == [ROW, "x", "y"] and frame.rows() == [(1, "1", "2")]
    assert warnings == []  # the user chose it
    with pytest.raises(InvalidOption, match="row 4 of sheet 'Data' is empty"):
        read(path, header_row=4)


def test_header_row_typed_below_a_title(write: Callable[..., Path]) -> None:
    rows: Rows = [[None, None], ["Report", None], ["day", "n"], [date(2024, 1, 2), 1.5]]
    frame, _, _ = read(write(rows), header_row=3)
    assert frame.rows() == [(1, "2024-01-02", "1.5")]


def test_no_header(write: Callable[..., Path]) -> None:
    rows: Rows = [[1, "a"], [2, "b"]]
    frame, _, _ = read(write(rows), header=False)
    assert frame.columns == [ROW, "column_1", "column_2"]
    assert frame.rows() == [(1, "1", "a"), (2, "2", "b")]


def test_sheet_and_header_row_together(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.append(["x"])
    second = book.create_sheet("Second")
    second.append(["Title"])
    second.append(["id", "name"])
    second.append([1, "a"])
    book.save(tmp_path / "d.xlsx")
    frame, _, _ = read(tmp_path / "d.xlsx", sheet="Second", header_row=2)
    assert frame.rows() == [(1, "1", "a")]


def test_error_cells_of_cells_without_a_reference(write: Callable[..., Path]) -> None:
    """Cells without an ``r`` attribute (some writers leave it out) follow the one before:
    error cells are still placed right (cell by cell)."""
    rows: Rows = [[None, "name", "ratio"], [None, "a", ("=1/0", "#DIV/0!")], [None, "b", 2]]
    path = write(rows)
    out = path.with_name("loose.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'(<c[^>]*?) r="[A-Z]+\d+"', rb"\1", data)
                assert b'<c r="' not in data
            dst.writestr(item, data)
    frame, errors, _ = read(out)
    assert frame.rows() == [(2, "b", "2")]
    assert errors.select("row", "column", "value").rows() == [(1, "ratio", "#DIV/0!")]


def test_an_error_cell_in_the_header_is_warned(write: Callable[..., Path]) -> None:
    rows: Rows = [["id", ("=#REF!", "#REF!")], [1, "a"]]
    frame, errors, warnings = read(write(rows))
    assert frame.columns == [ROW, "id", "column_2"] and errors.height == 0
    assert warnings == [
        "d.xlsx: header cell B1 holds the Excel error #REF!; its column is named 'column_2'"
    ]


def test_error_cells_of_the_sheet_read(tmp_path: Path) -> None:
    book = xlsxwriter.Workbook(str(tmp_path / "d.xlsx"))
    first = book.add_worksheet("First")
    first.write_row(0, 0, ["a", "b"])
    first.write_formula(1, 0, "=1/0", None, "#DIV/0!")
    second = book.add_worksheet("Second")
    second.write_row(0, 0, ["x", "y"])
    second.write_row(1, 0, [1, 2])
    second.write_formula(2, 1, "=NA()", None, "#N/A")
    book.close()
    frame, errors, _ = read(tmp_path / "d.xlsx", sheet="Second")
    assert frame.rows() == [(1, "1", "2")]
    assert errors.select("row", "column", "value").rows() == [(2, "y", "#N/A")]
    frame, errors, _ = read(tmp_path / "d.xlsx")
    assert frame.height == 0 and errors.select("row", "column").rows() == [(1, "a")]


def test_skip_lines_in_a_sheet(write: Callable[..., Path]) -> None:
    rows: Rows = [["Report"], ["id", "name", "city"], [], ["a", "b"], [1, "x"]]
    frame, _, warnings = read(write(rows), skip_lines=2)
    assert frame.columns == [ROW, "a", "b"] and frame.rows() == [(1, "1", "x")]
    assert warnings == []  # the user said where the table starts
    frame, _, _ = read(write(rows), skip_lines=3, header=False)
    assert frame.rows() == [(1, "a", "b"), (2, "1", "x")]
    with pytest.raises(InvalidOption, match="skip_lines 5"):
        read(write(rows), skip_lines=5)


def test_columns_of_a_wider_title_are_no_columns(write: Callable[..., Path]) -> None:
    rows: Rows = [["Made by", "the", "export", "tool", "v2"], ["a", "b", None], [1, None, 3]]
    frame, _, _ = read(write(rows), header_row=2)
    assert frame.columns == [ROW, "a", "b", "column_3"]  # a blank name over a value stays
    assert frame.rows() == [(1, "1", None, "3")]


def test_a_broken_style_sheet_is_no_crash(tmp_path: Path) -> None:
    rows: Rows = [["v"], [timedelta(hours=1)], ["text"]]  # a mixed column: styles are read
    path = by_xlsxwriter(tmp_path / "d.xlsx", rows)
    out = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/styles.xml":
                data = re.sub(rb'numFmtId="(\d+)"', rb'numFmtId="x\1"', data)
            dst.writestr(item, data)
    frame, _, _ = read(out)
    assert frame["v"].to_list()[1] == "text"
