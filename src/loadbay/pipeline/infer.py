"""Infer: files in, the table definitions that would import them (``loadbay tables infer``).

One pass over the readers' batches (``read_file``, the same reader an import uses), each
batch summarised by one vectorised query per column family and forgotten: what is kept
between batches is, per column, whether each candidate type still fits every cell seen,
the widest decimal, the number of empty cells, and for at most ``KEY_CANDIDATES`` columns
that may be the key, an 8-byte hash of each value (uniqueness needs the whole column).

A candidate type fits a cell exactly when validating the cell as that type passes: the
same patterns and parsers as ``pipeline.validate`` (stricter where a guess would lose data:
``007`` stays text, a currency must be an upper-case ISO code). Types are tried in this
order: integer, decimal (scale: the most decimals found; precision: at least 18, room for
the widest number), boolean, date, datetime (each first in the built-in ISO forms, then in
``DATE_FORMATS``/``DATETIME_FORMATS``: the column keeps the first format that reads all its
cells), email, currency, else text. A column is ``required`` when no cell is empty in any
file; the key is the given column, else the first whose values are unique (ignoring case)
and never empty. Column names are the headers made identifiers (``headers.identifier``,
repeats kept apart by ``headers.dedupe``); ``Inferred.mapping`` says which header became
which column where they differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from loadbay.errors import InvalidOption, InvalidSchema
from loadbay.pipeline.frames import REF, ROW
from loadbay.pipeline.read import ReadOptions, read_file
from loadbay.pipeline.read.headers import dedupe, identifier
from loadbay.pipeline.validate.numeric import DECIMAL_PATTERN, INTEGER_PATTERN
from loadbay.pipeline.validate.scalar import (
    EMAIL_LOCAL_MAX,
    EMAIL_MAX,
    EMAIL_PATTERN,
)
from loadbay.pipeline.validate.temporal import (
    builtin_date_of,
    builtin_datetime_of,
    format_reads,
)
from loadbay.schema.currencies import CURRENCY_CODES
from loadbay.schema.model import (
    FALSE_WORDS,
    MAX_TABLE_COLUMNS,
    RESERVED,
    TRUE_WORDS,
    Column,
    ColumnType,
    Table,
)

#: day-first before month-first: when both read every cell, the first is kept (and the
#: column's description says the other would read it too)
DATE_FORMATS = (
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d.%m.%y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
)
DATETIME_FORMATS = tuple(
    f"{date} {time}"
    for date in ("%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d")
    for time in ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p")
)
#: how many columns are followed as possible keys (each costs 8 bytes a row)
KEY_CANDIDATES = 3
#: the least precision an inferred decimal gets (the schema's default)
MIN_PRECISION = 18
_MAX_PRECISION = 38
_AS_WRITTEN = pl.QueryOptFlags.none()
#: columns summarised by one query: polars plans a query of thousands of expressions in
#: far more time than it takes to run it in parts
_COLUMNS_PER_QUERY = 64
_LEADING_ZERO = r"^[+-]?0[0-9]"
_BOOLEAN_WORDS = [*TRUE_WORDS, *FALSE_WORDS]
_CURRENCIES = sorted(CURRENCY_CODES)
#: the candidate types, in the order they are preferred
_ORDER = (
    ColumnType.INTEGER,
    ColumnType.DECIMAL,
    ColumnType.BOOLEAN,
    ColumnType.DATE,
    ColumnType.DATETIME,
    ColumnType.EMAIL,
    ColumnType.CURRENCY,
)


@dataclass(frozen=True)
class FileToInfer:
    """A file to read: its path, its name as the user knows it, how to read it, and the
    table it is for (None: named by the file, or by its sections)."""

    path: Path
    name: str
    options: ReadOptions = field(default_factory=ReadOptions)
    table: str | None = None


@dataclass(frozen=True)
class Inferred:
    """A table inferred from files: the definition, which header became which column
    (where they differ), the rows read, and what the user should know."""

    table: Table
    mapping: dict[str, str]
    rows: int
    notes: tuple[str, ...] = ()


def _text(name: str) -> pl.Expr:
    """The cell as validation sees it: stripped, null when empty."""
    text = pl.col(name).str.strip_chars()
    return pl.when(text.str.len_bytes() > 0).then(text)


def _fits(text: pl.Expr, ok: pl.Expr) -> pl.Expr:
    return (text.is_null() | ok).all()


@dataclass
class _Column:
    """What is known of one column after the batches so far."""

    name: str
    header: str
    rows: int = 0
    empty: int = 0
    types: set[ColumnType] = field(default_factory=lambda: set(_ORDER))
    scale: int = 0
    whole: int = 0
    #: the date (datetime) formats still reading every cell; None: the built-in forms
    dates: list[str | None] = field(default_factory=lambda: [None, *DATE_FORMATS])
    datetimes: list[str | None] = field(default_factory=lambda: [None, *DATETIME_FORMATS])
    #: the hashes of its values while it may be the key (None: it cannot)
    hashes: list[pl.Series] | None = field(default_factory=list)

    def prepare(self, i: int) -> list[pl.Expr]:
        """The columns the checks read, computed once: the cell as validation sees it
        (``~t{i}``), and whether the built-in forms read it as a date or datetime."""
        text = _text(self.header).alias(f"~t{i}")
        found = [text]
        if ColumnType.DATE in self.types:
            found.append(builtin_date_of(text).is_not_null().alias(f"~d{i}"))
        if ColumnType.DATETIME in self.types:
            found.append(builtin_datetime_of(text).is_not_null().alias(f"~dt{i}"))
        return found

    def checks(self, i: int) -> list[pl.Expr]:
        """The aggregates of one batch for this column (named ``{i}:…``), over the columns
        of ``prepare``."""
        text = pl.col(f"~t{i}")
        found = [text.is_null().sum().alias(f"{i}:empty")]
        alive = self.types
        if ColumnType.INTEGER in alive:
            ok = (
                text.str.contains(INTEGER_PATTERN)
                & ~text.str.contains(_LEADING_ZERO)
                & text.cast(pl.Int64, strict=False).is_not_null()
            )
            found.append(_fits(text, ok).alias(f"{i}:integer"))
        if ColumnType.DECIMAL in alive:
            ok = text.str.contains(DECIMAL_PATTERN) & ~text.str.contains(_LEADING_ZERO)
            found += [
                _fits(text, ok).alias(f"{i}:decimal"),
                text.str.extract(r"\.([0-9]+)$").str.len_chars().max().alias(f"{i}:scale"),
                text.str.extract(r"^[+-]?0*([0-9]*)").str.len_chars().max().alias(f"{i}:whole"),
            ]
        if ColumnType.BOOLEAN in alive:
            ok = text.str.to_lowercase().is_in(_BOOLEAN_WORDS)
            found.append(_fits(text, ok).alias(f"{i}:boolean"))
        if ColumnType.EMAIL in alive:
            ok = (
                text.str.contains(EMAIL_PATTERN)
                & (text.str.len_chars() <= EMAIL_MAX)
                & (text.str.find("@", literal=True) <= EMAIL_LOCAL_MAX)
            )
            found.append(_fits(text, ok).alias(f"{i}:email"))
        if ColumnType.CURRENCY in alive:
            found.append(_fits(text, text.is_in(_CURRENCIES)).alias(f"{i}:currency"))
        for kind, formats in ((ColumnType.DATE, self.dates), (ColumnType.DATETIME, self.datetimes)):
            if kind not in alive:
                continue
            date = kind is ColumnType.DATE
            builtin = pl.col(f"~d{i}" if date else f"~dt{i}")
            for n, fmt in enumerate(formats):
                ok = builtin if fmt is None else builtin | format_reads(text, fmt, date)
                found.append(_fits(text, ok).alias(f"{i}:{kind.value}:{n}"))
        return found

    def update(self, i: int, row: dict[str, Any], rows: int) -> None:
        """Take in the aggregates of one batch of ``rows`` rows."""
        self.rows += rows
        self.empty += int(row[f"{i}:empty"] or 0)
        for kind in (ColumnType.INTEGER, ColumnType.BOOLEAN, ColumnType.EMAIL):
            if kind in self.types and not row[f"{i}:{kind.value}"]:
                self.types.discard(kind)
        if ColumnType.CURRENCY in self.types and not row[f"{i}:currency"]:
            self.types.discard(ColumnType.CURRENCY)
        if ColumnType.DECIMAL in self.types:
            self.scale = max(self.scale, int(row[f"{i}:scale"] or 0))
            self.whole = max(self.whole, int(row[f"{i}:whole"] or 0))
            if not row[f"{i}:decimal"] or self.whole + self.scale > _MAX_PRECISION:
                self.types.discard(ColumnType.DECIMAL)
        if ColumnType.DATE in self.types:
            self.dates = [f for n, f in enumerate(self.dates) if row[f"{i}:date:{n}"]]
            if not self.dates:
                self.types.discard(ColumnType.DATE)
        if ColumnType.DATETIME in self.types:
            self.datetimes = [f for n, f in enumerate(self.datetimes) if row[f"{i}:datetime:{n}"]]
            if not self.datetimes:
                self.types.discard(ColumnType.DATETIME)

    def column(self, required: bool) -> Column:
        """The column these batches call for."""
        seen = self.rows > self.empty
        kind = next((t for t in _ORDER if t in self.types), ColumnType.TEXT) if seen else None
        fmt: str | None = None
        description = ""
        if kind is ColumnType.DATE or kind is ColumnType.DATETIME:
            formats = self.dates if kind is ColumnType.DATE else self.datetimes
            fmt = formats[0]
            if fmt is not None and len(formats) > 1 and formats[1] is not None:
                description = f"the values read as {fmt} and as {formats[1]}: check which"
        if kind is ColumnType.DECIMAL:
            precision = min(_MAX_PRECISION, max(MIN_PRECISION, self.whole + self.scale))
            return Column(
                self.name,
                kind,
                required=required,
                precision=precision,
                scale=self.scale,
            )
        return Column(
            self.name,
            kind or ColumnType.TEXT,
            required=required,
            format=fmt,
            description=description,
        )


class _TableGuess:
    """The columns of one table being inferred, from one or more files."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows = 0
        self.columns: dict[str, _Column] = {}  # by header
        self.notes: list[str] = []
        self._keys_chosen = False

    def _add_headers(self, headers: Sequence[str]) -> None:
        new = [h for h in headers if h not in self.columns]
        if not new:
            return
        if len(self.columns) + len(new) > MAX_TABLE_COLUMNS:
            raise InvalidSchema(
                f"the file has {len(self.columns) + len(new):,} columns: a table has at most "
                f"{MAX_TABLE_COLUMNS:,}"
            )
        reserved = sorted(RESERVED)
        names = [c.name for c in self.columns.values()]
        made, _ = dedupe([*reserved, *names, *(identifier(h) for h in new)])
        for header, name in zip(new, made[len(reserved) + len(names) :], strict=True):
            self.columns[header] = _Column(name, header, hashes=None if self.rows else [])

    def add(self, frame: pl.DataFrame) -> None:
        headers = [c for c in frame.columns if c not in (ROW, REF)]
        self._add_headers(headers)
        if frame.height == 0:
            return
        present = [self.columns[h] for h in headers]
        row: dict[str, Any] = {}
        for start in range(0, len(present), _COLUMNS_PER_QUERY):
            part = range(start, min(start + _COLUMNS_PER_QUERY, len(present)))
            prepared = [e for i in part for e in present[i].prepare(i)]
            checks = [e for i in part for e in present[i].checks(i)]
            query = frame.lazy().select(prepared).select(checks)
            row.update(query.collect(optimizations=_AS_WRITTEN).row(0, named=True))
        for i, col in enumerate(present):
            col.update(i, row, frame.height)
        for col in self.columns.values():
            if col.header not in headers and col.hashes is not None:
                col.hashes = None  # a batch without it: empty there
        self._track_keys(frame, present)
        self.rows += frame.height

    def _track_keys(self, frame: pl.DataFrame, present: list[_Column]) -> None:
        tracked = [c for c in present if c.hashes is not None]
        if not tracked:
            return
        hashed = frame.select(
            _text(c.header).str.to_lowercase().hash(seed=0).alias(str(i))
            for i, c in enumerate(tracked)
        )
        for i, col in enumerate(tracked):
            values = hashed.get_column(str(i))
            assert col.hashes is not None
            if col.empty or values.null_count() or values.n_unique() < len(values):
                col.hashes = None
            else:
                col.hashes.append(values)
        if not self._keys_chosen:  # after the first batch: follow the first few only
            self._keys_chosen = True
            alive = [c for c in self.columns.values() if c.hashes is not None]
            for col in alive[KEY_CANDIDATES:]:
                col.hashes = None

    def _suggested_key(self) -> str | None:
        for col in self.columns.values():
            if col.hashes is None or col.rows < self.rows or not col.hashes or col.empty:
                continue
            values = pl.concat(col.hashes)
            if values.n_unique() == len(values):
                return col.name
            col.hashes = None
        return None

    def _given_key(self, key: str) -> str:
        by_name = {c.name: c for c in self.columns.values()}
        col = self.columns.get(key) or by_name.get(key) or by_name.get(identifier(key))
        if col is None:
            raise InvalidOption(
                f"--key {key!r}: the file has no such column (columns: "
                f"{', '.join(c.header for c in self.columns.values())})",
                option="key",
            )
        if col.empty or col.rows < self.rows:
            raise InvalidOption(
                f"--key {key!r}: {col.empty or self.rows - col.rows} rows have no value in it; "
                "a key needs a value in every row",
                option="key",
            )
        return col.name

    def result(self, key: str | None) -> Inferred:
        chosen = self._given_key(key) if key else self._suggested_key()
        columns = tuple(
            c.column(required=self.rows > 0 and c.rows == self.rows and c.empty == 0)
            for c in self.columns.values()
        )
        if not columns:
            raise InvalidOption(f"{self.name}: the file has no columns to make a table of")
        mapping = {c.header: c.name for c in self.columns.values() if c.header != c.name}
        notes = list(self.notes)
        if chosen is None and self.rows:
            notes.append(
                f"table {self.name!r}: no column is unique and never empty, so it has no "
                "key (rows can only be appended; --key chooses one)"
            )
        return Inferred(
            table=Table(self.name, columns, key=(chosen,) if chosen else ()),
            mapping=mapping,
            rows=self.rows,
            notes=tuple(notes),
        )


def table_name_of(name: str) -> str:
    """The table a file is named after: ``People List.csv.gz`` → ``people_list``."""
    return identifier(Path(name).name.split(".")[0].lower())


def infer_tables(files: Iterable[FileToInfer], key: str | None = None) -> list[Inferred]:
    """The tables ``files`` would fill (one per table name, in the order first met),
    read once each. Raises what reading raises (UnreadableFile, LimitExceeded…)."""
    guesses: dict[str, _TableGuess] = {}
    for item in files:
        for batch in read_file(item.path, item.options):
            name = batch.table or item.table or table_name_of(item.name)
            guess = guesses.setdefault(name, _TableGuess(name))
            guess.add(batch.frame)
    for guess in guesses.values():  # a table whose columns some file lacks: not required
        for col in guess.columns.values():
            if col.rows < guess.rows and col.hashes is not None:
                col.hashes = None
    return [g.result(key) for g in guesses.values()]
