"""Excel workbooks (.xlsx; .xls and .ods work too), read with fastexcel (calamine).

The first sheet, or ``options.sheet``. The first non-empty row of the sheet is the
header (blank names become ``column_N``; repeated names make the file unreadable).
Values become text: integral numbers without ``.0`` (``12``), other numbers with
Excel's 15 significant digits (``0.1``, not ``0.1000000000000000055``); dates as
``2024-01-31``, date-times as ``2024-01-31 10:00:00`` (a column whose every date-time
is at midnight is taken as a date column), times of day as ``10:30:00``; booleans as
``true``/``false``. Fully empty rows are skipped; ``ROW`` is the row's position
below the header, empty rows counted, so ``ROW + 1`` is the sheet's row number when
the table starts in row 1. The sheet is loaded whole, once the workbook has been
measured (``xlsx_check``): its parts decompress to at most ``limits.expanded_bytes``
and its grid holds at most ``limits.sheet_cells`` cells, else LimitExceeded. A
gzip-compressed workbook is decompressed into a temporary file first (at most
``limits.expanded_bytes``), then measured.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastexcel
import polars as pl

from loadbay.errors import InvalidOption, UnreadableFile
from loadbay.pipeline.frames import ROW
from loadbay.pipeline.read.base import Batch, ReadOptions, empty_frame, header_names
from loadbay.pipeline.read.limits import Limits, check_columns
from loadbay.pipeline.read.source import GZIP_MAGIC, open_raw
from loadbay.pipeline.read.xlsx_check import check_workbook

_EXCEL_EPOCH = ("1899-12-30", "1899-12-31")  # the date part of a time of day
_COPY_BLOCK = 1024 * 1024


def read_xlsx(path: Path, options: ReadOptions) -> Iterator[Batch]:
    frame = load_sheet(path, options)
    size = options.batch_size
    if frame.height == 0:
        yield Batch(frame)
    for start in range(0, frame.height, size):
        yield Batch(frame.slice(start, size))


def load_sheet(path: Path, options: ReadOptions) -> pl.DataFrame:
    with _workbook(path, options.limits) as book:
        reader = _open(book, options.limits, path.name)
        sheet = _sheet_index(reader, options.sheet, path.name)
        try:  # the header is the first row of the text: no load of its own
            text = reader.load_sheet(sheet, header_row=None, dtypes="string").to_polars()
            if text.height == 0:
                raise UnreadableFile(f"{path.name}: the sheet is empty", file=path.name)
            check_columns(text.width, options.limits, path.name)
            names = header_names([v or "" for v in text.row(0)], path.name)
            typed = reader.load_sheet(sheet, schema_sample_rows=None).to_polars()
        except fastexcel.FastExcelError as exc:
            what = f"{path.name}: cannot read the sheet: {exc}"
            raise UnreadableFile(what, file=path.name) from exc
    text = text.slice(1)
    if text.height == 0:
        return empty_frame(names)
    columns = [_column(typed.to_series(i), text.to_series(i)).alias(n) for i, n in enumerate(names)]
    frame = pl.DataFrame(columns).with_row_index(ROW, offset=1)
    frame = frame.with_columns(pl.col(ROW).cast(pl.Int64))
    fields = pl.nth(range(1, len(names) + 1))  # by position: names may look like regexes
    return frame.filter(pl.any_horizontal(fields.is_not_null()))


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


def _open(book: Path, limits: Limits, source: str) -> Any:
    """A fastexcel reader of the workbook, once it is measured (``check_workbook``)."""
    with open(book, "rb") as f:
        check_workbook(f, limits, source)
        f.seek(0)
        content = f.read()
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


def _column(typed: pl.Series, text: pl.Series) -> pl.Series:
    """One column as text: the typed value where the type held, else calamine's text."""
    converted = _typed_text(typed)
    fallback = _clean_text(text.cast(pl.String))
    return pl.select(pl.coalesce(converted, fallback)).to_series()


def _typed_text(col: pl.Series) -> pl.Series:
    dtype = col.dtype
    if dtype == pl.Float64:
        return _number_text(col)
    if dtype == pl.Boolean:
        return col.cast(pl.String)
    if dtype == pl.Date:
        return col.dt.strftime("%Y-%m-%d")
    if isinstance(dtype, pl.Datetime):
        return _datetime_text(col)
    return pl.Series(col.name, [None] * len(col), dtype=pl.String)


def _number_text(col: pl.Series) -> pl.Series:
    integral = (col == col.floor()) & (col.abs() < 1e15)
    as_int = pl.select(pl.when(integral).then(col.cast(pl.Int64, strict=False))).to_series()
    other = col.filter(~integral.fill_null(True))
    texts = {v: _float_text(v) for v in other.to_list()}
    fraction = col.replace_strict(texts, default=None, return_dtype=pl.String) if texts else None
    result = as_int.cast(pl.String)
    return result if fraction is None else pl.select(pl.coalesce(result, fraction)).to_series()


def _float_text(value: float) -> str:
    """A float as Excel shows it: at most 15 significant digits, never in E notation."""
    text = format(Decimal(f"{value:.15g}"), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _datetime_text(col: pl.Series) -> pl.Series:
    is_time = col.dt.strftime("%Y-%m-%d").is_in(list(_EXCEL_EPOCH))
    dates = col.filter(~is_time.fill_null(True))
    midnight = dates.len() > 0 and bool((dates.dt.strftime("%H:%M:%S") == "00:00:00").all())
    fmt = "%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S"
    frame = pl.DataFrame({"v": col, "t": is_time})
    expr = (
        pl.when(pl.col("t"))
        .then(pl.col("v").dt.strftime("%H:%M:%S"))
        .otherwise(pl.col("v").dt.strftime(fmt))
    )
    return frame.select(expr).to_series()


def _clean_text(col: pl.Series) -> pl.Series:
    """calamine's text: empty → null, ``… 00:00:00`` → date, ``1899-12-31 hh:mm`` → time."""
    return pl.select(
        pl.when(col == "")
        .then(None)
        .otherwise(
            col.str.replace(r"^(\d{4}-\d{2}-\d{2}) 00:00:00$", "$1").str.replace(
                r"^1899-12-3[01] (\d{2}:\d{2}:\d{2})$", "$1"
            )
        )
    ).to_series()
