"""Excel workbooks (.xlsx; .xls and .ods work too), read with fastexcel (calamine).

The first sheet, or ``options.sheet``. The header is the sheet row
``options.header_row`` (or the first filled one below ``options.skip_lines``), else
it is found: the first row about as wide as the table (as many filled cells as the
widest of the first rows, less one in five from three cells up), so a title, notes or
blank rows above a table are skipped, with a warning naming the row taken. Without a
header (``options.header`` False) every row (below ``skip_lines``) is a record and the
columns are ``column_1``…. Blank names become ``column_N``, repeated
ones are kept apart (``base.named_header``). The grid starts at the first filled
column, so an empty first column is no column. Values become text (``xlsx_text``),
column by column where a column holds one type, cell by cell where it mixes dates,
durations, numbers and text. In ``.xlsx`` files, error cells (``#DIV/0!``, ``#N/A``…,
which calamine gives as empty) are row errors ``cell_error`` naming the cell and its
value (``xlsx_cells``): such a row is not read. Fully empty rows are skipped; ``ROW``
is the row's position below the header (without one, the sheet row).

The sheet is loaded whole, once the workbook has been measured (``xlsx_check``): its
parts decompress to at most ``limits.expanded_bytes`` and its grid holds at most
``limits.sheet_cells`` cells, else LimitExceeded. A gzip-compressed workbook is
decompressed into a temporary file first (at most ``limits.expanded_bytes``).
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastexcel
import polars as pl

from loadbay.errors import Code, InvalidOption, RowError, UnreadableFile
from loadbay.pipeline.frames import ROW, empty_errors, errors_frame
from loadbay.pipeline.read.base import (
    Batch,
    ReadOptions,
    empty_frame,
    named_header,
    numbered_names,
)
from loadbay.pipeline.read.limits import Limits, check_columns
from loadbay.pipeline.read.source import GZIP_MAGIC, open_raw
from loadbay.pipeline.read.xlsx_cells import (
    Cells,
    WorkbookFacts,
    elapsed_styles,
    scan_cells,
    workbook_facts,
)
from loadbay.pipeline.read.xlsx_check import check_workbook, column_letters
from loadbay.pipeline.read.xlsx_text import Epoch, column_text, mixed_text

_COPY_BLOCK = 1024 * 1024
#: the rows (from the first filled one) looked at to find the header
_HEADER_WINDOW = 50
#: the rows first counted to find where the table starts
_HEADER_SCAN = 1000


@dataclass
class Sheet:
    """A sheet read: its records, its rows with error cells, what the user should know."""

    frame: pl.DataFrame
    errors: pl.DataFrame = field(default_factory=empty_errors)
    warnings: list[str] = field(default_factory=list)


def read_xlsx(path: Path, options: ReadOptions) -> Iterator[Batch]:
    sheet = load_sheet(path, options)
    frame, errors, size = sheet.frame, sheet.errors, options.batch_size
    if frame.height == 0:
        yield Batch(frame, errors, warnings=sheet.warnings)
        return
    after = 0  # the errors of the rows after the last batch's, up to its own last row
    for start in range(0, frame.height, size):
        part = frame.slice(start, size)
        last = start + size >= frame.height
        upto = errors["row"] > after
        if not last:
            upto &= errors["row"] <= part[ROW][-1]
        warnings = sheet.warnings if start == 0 else []
        yield Batch(part, errors.filter(upto), warnings=warnings)
        after = part[ROW][-1]


def load_sheet(path: Path, options: ReadOptions) -> Sheet:
    source = path.name
    with _workbook(path, options.limits) as book:
        content, marked = _measured(book, options.limits, source)
    archive = zipfile.ZipFile(io.BytesIO(content)) if content[:2] == b"PK" else None
    facts = workbook_facts(archive) if archive is not None else WorkbookFacts(False, [])
    reader = _reader(content, source)
    index = _sheet_index(reader, options.sheet, source)
    title = str(reader.sheet_names[index])
    part = facts.sheets[index] if index < len(facts.sheets) else ""
    cells = Cells()  # error cells: calamine gives them as empty ones
    if archive is not None and part in marked:
        cells = scan_cells(archive, part, set())
    try:
        grid = _load(reader, index, None, dtypes="string")
        if grid.height == 0:
            raise UnreadableFile(f"{source}: the sheet is empty", file=source)
        check_columns(grid.width, options.limits, source)
        header = _header_row(grid, options, cells, source, title) if options.header else None
        chosen = options.header_row is not None or options.skip_lines > 0
        layout = _Layout(grid, header, source, title, chosen, options.skip_lines)
        typed = _typed_loads(reader, index, layout, facts.date1904)
    except fastexcel.FastExcelError as exc:
        what = f"{source}: cannot read the sheet: {exc}"
        raise UnreadableFile(what, file=source) from exc
    if header is not None:
        names, warnings = named_header([v or "" for v in grid.row(header)], source)
    else:
        names, warnings = numbered_names(grid.width), []
    warnings = layout.warnings() + warnings
    text = grid.slice(layout.first)
    if text.height == 0:
        return Sheet(empty_frame(names), warnings=warnings)
    if archive is not None and part and typed.mixed:  # the durations of mixed columns
        styles = elapsed_styles(archive)
        cells = scan_cells(archive, part, styles) if styles else cells
    columns = _columns(text, typed, names, cells, layout, Epoch.of(facts.date1904))
    errors = layout.cell_errors(cells, names)
    columns = layout.kept(columns, errors)
    frame = pl.DataFrame(columns).with_row_index(ROW, offset=1)
    frame = frame.with_columns(pl.col(ROW).cast(pl.Int64))
    if errors:
        frame = frame.filter(~pl.col(ROW).is_in([e.row for e in errors]))
    fields = pl.nth(range(1, len(columns) + 1))  # by position: names may look like regexes
    frame = frame.filter(pl.any_horizontal(fields.is_not_null()))
    warnings += layout.header_errors
    return Sheet(frame, errors_frame(errors) if errors else empty_errors(), warnings)


@dataclass
class _Typed:
    """The records of a sheet with a type per column (``frame``), and for the columns
    that mix types (``mixed``) their loads as numbers and as durations."""

    frame: pl.DataFrame
    mixed: set[int]
    numbers: pl.DataFrame | None = None
    spans: pl.DataFrame | None = None


def _typed_loads(reader: Any, index: int, layout: _Layout, date1904: bool) -> _Typed:
    header, width = layout.header, layout.grid.width
    frame, mixed = _typed(reader, index, header, width)
    loads = _mixed_loads(reader, index, header, mixed)
    if date1904:
        frame = _dated_1904(reader, index, header, frame)
    if frame.width < width:  # calamine leaves out columns empty from the header on
        frame = frame.with_columns(
            pl.lit(None, pl.String).alias(f"__empty_{i}") for i in range(frame.width, width)
        )
    skip = layout.first if header is None else 0  # loads without a header: every row
    numbers, spans = (loads[0].slice(skip), loads[1].slice(skip)) if loads else (None, None)
    return _Typed(frame.slice(skip), mixed, numbers, spans)


def _columns(
    text: pl.DataFrame,
    typed: _Typed,
    names: list[str],
    cells: Cells,
    layout: _Layout,
    epoch: Epoch,
) -> list[pl.Series]:
    """Every column of the records as text (``xlsx_text``); calamine's text alone if its
    typed loads do not have the rows of its text (never seen: no crash if they do)."""
    if typed.frame.height != text.height or any(
        f is not None and f.height != text.height for f in (typed.numbers, typed.spans)
    ):
        empty = pl.DataFrame({str(i): [None] * text.height for i in range(text.width)})
        typed = _Typed(empty.cast(pl.String), set())
    columns = []
    for i, name in enumerate(names):
        if typed.numbers is not None and typed.spans is not None and i in typed.mixed:
            numbers, spans = typed.numbers.get_column(str(i)), typed.spans.get_column(str(i))
            durations = layout.data_rows(cells.styled, i, cells.origin)
            value = mixed_text(text.to_series(i), numbers, spans, durations, epoch)
        else:
            value = column_text(typed.frame.to_series(i), text.to_series(i), epoch)
        columns.append(value.alias(name))
    return columns


@contextmanager
def _workbook(path: Path, limits: Limits) -> Iterator[Path]:
    """The workbook's file: ``path``, or its content in a temporary file when it is
    gzip-compressed (decompressed as a stream, at most ``limits.expanded_bytes``)."""
    with open(path, "rb") as f:
        compressed = f.read(2) == GZIP_MAGIC
    if not compressed:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="loadbay-xlsx-") as folder:
        book = Path(folder) / "workbook"
        with open_raw(path, limits.expanded_bytes) as src, open(book, "wb") as dst:
            shutil.copyfileobj(src, dst, _COPY_BLOCK)
        yield book


def _measured(book: Path, limits: Limits, source: str) -> tuple[bytes, set[str]]:
    """The workbook's bytes, once measured (``check_workbook``), and its parts that hold
    error cells."""
    with open(book, "rb") as f:
        marked = check_workbook(f, limits, source)
        f.seek(0)
        return f.read(), marked


def _reader(content: bytes, source: str) -> Any:
    try:
        return fastexcel.read_excel(content)
    except fastexcel.FastExcelError as exc:
        raise UnreadableFile(
            f"{source}: not a readable Excel workbook ({exc})", file=source
        ) from exc


def _sheet_index(reader: Any, sheet: str | None, source: str) -> int:
    names: list[str] = list(reader.sheet_names)
    if not names:
        raise UnreadableFile(f"{source}: the workbook has no sheets", file=source)
    if sheet is None:
        return 0
    if sheet not in names:
        listed = ", ".join(repr(n) for n in names)
        raise InvalidOption(
            f"{source}: there is no sheet {sheet!r}; the sheets are {listed}", option="sheet"
        )
    return names.index(sheet)


def _load(reader: Any, index: int, header: int | None, **options: Any) -> pl.DataFrame:
    """A load of the sheet whose rows are the sheet's from row 1 (``skip_rows=0``: else
    calamine starts at the first filled row), or the rows below the ``header`` (0-based)."""
    if header is None:
        sheet = reader.load_sheet(index, header_row=None, skip_rows=0, **options)
    else:
        sheet = reader.load_sheet(index, header_row=header, **options)
    frame: pl.DataFrame = sheet.to_polars()
    return frame


def _typed(
    reader: Any, index: int, header: int | None, width: int
) -> tuple[pl.DataFrame, set[int]]:
    """The sheet with a type per column, and the columns that mix types (loaded as text:
    calamine refuses a column of several types, naming it)."""
    mixed: set[int] = set()
    while True:
        dtypes = {i: "string" for i in sorted(mixed)} or None
        try:
            return _load(reader, index, header, schema_sample_rows=None, dtypes=dtypes), mixed
        except fastexcel.UnsupportedColumnTypeCombinationError as exc:
            column = _named_column(reader, index, header, str(exc))
            if column is None or column in mixed:
                column = None
                mixed = set(range(width))  # cannot tell which: every column cell by cell
            else:
                mixed.add(column)


def _named_column(reader: Any, index: int, header: int | None, message: str) -> int | None:
    """The column an error of calamine names (``… for column NAME``)."""
    infos = reader.load_sheet(
        index,
        header_row=header,
        skip_rows=None if header is not None else 0,
        n_rows=0,
        dtypes="string",
    ).available_columns()
    ends = message.rstrip()
    found = [(len(c.name), i) for i, c in enumerate(infos) if ends.endswith(f"column {c.name}")]
    return max(found)[1] if found else None


def _mixed_loads(
    reader: Any, index: int, header: int | None, mixed: set[int]
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """The mixed columns loaded as numbers and as durations (columns named by index)."""
    if not mixed:
        return None
    chosen = sorted(mixed)

    def as_type(dtype: str) -> pl.DataFrame:
        frame = _load(
            reader, index, header, use_columns=chosen, dtypes=dict.fromkeys(chosen, dtype)
        )
        return frame.rename({old: str(i) for old, i in zip(frame.columns, chosen, strict=True)})

    return as_type("float"), as_type("duration")


def _dated_1904(reader: Any, index: int, header: int | None, typed: pl.DataFrame) -> pl.DataFrame:
    """The date-time columns of a 1904 workbook from their serial numbers (day zero
    1904-01-01), whatever calamine took the date system to be."""
    chosen = [i for i, t in enumerate(typed.dtypes) if t == pl.Date or isinstance(t, pl.Datetime)]
    if not chosen:
        return typed
    spans = _load(
        reader, index, header, use_columns=chosen, dtypes=dict.fromkeys(chosen, "duration")
    )
    epoch = Epoch.of(True)
    dated = {typed.columns[i]: epoch.dated(spans.to_series(k)) for k, i in enumerate(chosen)}
    return typed.with_columns(pl.Series(name, values) for name, values in dated.items())


def _header_row(
    grid: pl.DataFrame, options: ReadOptions, cells: Cells, source: str, title: str
) -> int:
    """The header's index in ``grid`` (the sheet's rows from row 1); error cells count
    as filled."""
    if options.header_row is not None:
        row = options.header_row
        if row > grid.height or not _filled(grid.slice(row - 1, 1))[0] + cells.in_row(row):
            raise InvalidOption(
                f"{source}: header_row {row}: row {row} of sheet {title!r} is empty",
                option="header_row",
            )
        return row - 1
    if options.skip_lines:  # the first filled row below them, as in a CSV file
        counts = _filled(grid.slice(options.skip_lines))
        below = next((i for i, c in enumerate(counts) if c), None)
        if below is None:
            raise InvalidOption(
                f"{source}: skip_lines {options.skip_lines}: sheet {title!r} has no row below",
                option="skip_lines",
            )
        return options.skip_lines + below
    counts = _filled(grid.head(_HEADER_SCAN))
    if not any(counts):  # the table starts further down
        counts = _filled(grid)
    counts = [c + cells.in_row(i) for i, c in enumerate(counts, start=1)]
    return _detect_header(counts)


def _filled(grid: pl.DataFrame) -> list[int]:
    """The filled (not blank) cells of each row."""
    filled = [
        pl.nth(i).str.strip_chars().str.len_chars().fill_null(0) > 0 for i in range(grid.width)
    ]
    return grid.select(pl.sum_horizontal(filled)).to_series().to_list()


def _detect_header(counts: list[int]) -> int:
    """The first row about as wide as the table: as many filled cells as the widest of
    the first rows, less one in five (at least one) from three cells up, so a title or
    notes above the table are no header, and a header with a blank name still is."""
    first = next(i for i, c in enumerate(counts) if c)
    widest = max(counts[first : first + _HEADER_WINDOW])
    least = widest - max(1, widest // 5) if widest >= 3 else widest
    return next(i for i in range(first, len(counts)) if counts[i] >= least)


@dataclass
class _Layout:
    """Where the table is in the sheet's grid: its header's index, its first record."""

    grid: pl.DataFrame
    header: int | None
    source: str
    title: str
    chosen: bool  # the header row was given (or the rows above it)
    skip: int = 0  # the rows above the first record of a sheet without a header
    header_errors: list[str] = field(default_factory=list)  # warnings, by cell_errors

    @property
    def first(self) -> int:
        return self.skip if self.header is None else self.header + 1

    def warnings(self) -> list[str]:
        if self.header is None or self.chosen:
            return []
        above = sum(1 for c in _filled(self.grid.head(self.header)) if c)
        if not above:
            return []
        return [
            f"{self.source}: the header is row {self.header + 1} of sheet {self.title!r}; "
            f"the {above} filled row(s) above it were skipped (choose another with "
            "--header-row)"
        ]

    def _record(self, row: int) -> int | None:
        """The ``ROW`` of a sheet row (1-based), None above the records."""
        index = row - 1 - self.first
        return index + 1 if index >= 0 else None

    def data_rows(
        self, cells: set[tuple[int, int]], column: int, origin: tuple[int, int] | None
    ) -> set[int]:
        """The indexes among the records of ``cells`` in a column of the grid."""
        if origin is None:
            return set()
        found = set()
        for row, col in cells:
            record = self._record(row)
            if record is not None and col - origin[1] == column:
                found.add(record - 1)
        return found

    def kept(self, columns: list[pl.Series], errors: list[RowError]) -> list[pl.Series]:
        """The columns but those of a blank header over empty cells (a title wider than
        the table makes them); without a header, but the empty ones after the last."""
        if self.header is None:
            while len(columns) > 1 and columns[-1].null_count() == columns[-1].len():
                columns = columns[:-1]
            return columns
        erred = {e.column for e in errors}
        blank = [not (v or "").strip() for v in self.grid.row(self.header)]
        return [
            c
            for c, b in zip(columns, blank, strict=True)
            if not b or c.null_count() < c.len() or c.name in erred
        ]

    def cell_errors(self, cells: Cells, names: list[str]) -> list[RowError]:
        if cells.origin is None:
            return []
        errors = []
        for (row, col), value in sorted(cells.errors.items()):
            record, index = self._record(row), col - cells.origin[1]
            ref = f"{column_letters(col)}{row}"
            if self.header is not None and row == self.header + 1 and 0 <= index < len(names):
                self.header_errors.append(
                    f"{self.source}: header cell {ref} holds the Excel error {value}; "
                    f"its column is named {names[index]!r}"
                )
            if record is None or not 0 <= index < len(names):
                continue
            errors.append(
                RowError(
                    row=record,
                    column=names[index],
                    code=Code.CELL_ERROR,
                    message=f"cell {ref} holds the Excel error {value}: it has no value",
                    value=value,
                )
            )
        return errors
