"""Map: file headers → table columns.

Explicit mapping first, then exact names, then normalised names (``First Name`` =
``first_name``), then identifiers (``2024 Sales`` = ``c_2024_sales``, the name an inferred
table gives it: ``read.headers.identifier``), then constants for columns with no file
column. Never a silent guess: unknown file columns are reported (or refused), and a
missing column's error suggests the closest file columns.

The explicit mapping is ``file column → table column``; an empty target (``IGNORE``,
``{"Company": ""}``, ``--map Company=``) leaves that file column out even when it has a
table column's name, and frees that column for another file column.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from loadbay.errors import InvalidOption, MissingColumn, UnknownColumn, option
from loadbay.pipeline.formula import quoted_columns, restored
from loadbay.pipeline.frames import REF, ROW, Mode
from loadbay.pipeline.read.headers import identifier
from loadbay.pipeline.read.headers import normalise as normalise  # (re-exported)
from loadbay.schema.model import RESERVED_PREFIX, Table

#: the target of an explicit mapping that leaves its file column out
IGNORE = ""


def _squash(name: str) -> str:
    return normalise(name).replace("_", "")


@dataclass(frozen=True)
class MappingOptions:
    explicit: Mapping[str, str] = field(default_factory=dict)  # file column → table column
    constants: Mapping[str, str] = field(default_factory=dict)  # table column → value
    strict_columns: bool = False


@dataclass(frozen=True)
class ColumnMap:
    table: str
    sources: dict[str, str]  # table column → file column
    constants: dict[str, str]  # table column → value
    unknown: tuple[str, ...]  # file columns that map to nothing (ignored)
    ignored: tuple[str, ...] = ()  # file columns the mapping leaves out (IGNORE)

    @property
    def columns(self) -> list[str]:
        """The table columns this file gives (from the file or as constants)."""
        return [*self.sources, *(c for c in self.constants if c not in self.sources)]


#: the names loadbay's own fields of a record (``loadbay_id``…) had before their prefix
_OWN_BEFORE = frozenset({"id", "created_at", "updated_at"})


def read_only(header: str, table: Table) -> bool:
    """Is ``header`` a field loadbay sets (``loadbay_id``…), which a record may not? So
    are ``id``, ``created_at`` and ``updated_at``, unless ``table`` has such a column."""
    if header.startswith(RESERVED_PREFIX):
        return True
    return header in _OWN_BEFORE and not table.has_column(header)


def map_columns(headers: Sequence[str], table: Table, options: MappingOptions) -> ColumnMap:
    data_headers = [h for h in headers if h not in (ROW, REF)]
    sources: dict[str, str] = {}
    ignored = _ignored(options.explicit, data_headers)
    for file_col, table_col in options.explicit.items():
        if file_col in ignored:
            continue
        if not table.has_column(table_col):
            raise InvalidOption(
                f"mapping {file_col}={table_col}: table {table.name!r} has no column "
                f"{table_col!r}{_did_you_mean(table_col, table.column_names)}"
            )
        if file_col not in data_headers:
            raise MissingColumn(
                f"mapping {file_col}={table_col}: the file has no column {file_col!r}"
                f"{_did_you_mean(file_col, data_headers)}"
            )
        sources[table_col] = file_col
    taken = set(sources.values()) | set(ignored)
    for matcher in (lambda h: h, normalise, identifier, _squash):
        by_name = {matcher(c): c for c in table.column_names if c not in sources}
        for header in data_headers:
            if header in taken:
                continue
            col = by_name.get(matcher(header))
            if col is not None and col not in sources:
                sources[col] = header
                taken.add(header)
    for col in options.constants:
        if not table.has_column(col):
            raise InvalidOption(
                f"constant {col}=…: table {table.name!r} has no column {col!r}"
                f"{_did_you_mean(col, table.column_names)}"
            )
    unknown = tuple(h for h in data_headers if h not in taken)
    ignored_in_order = tuple(h for h in data_headers if h in ignored)
    if unknown and options.strict_columns:
        raise UnknownColumn(
            f"the file has columns that table {table.name!r} does not have: "
            + ", ".join(repr(u) for u in unknown),
            columns=list(unknown),
        )
    constants = {k: v for k, v in options.constants.items() if k not in sources}
    return ColumnMap(table.name, sources, constants, unknown, ignored_in_order)


def _ignored(explicit: Mapping[str, str], headers: Sequence[str]) -> set[str]:
    """The file columns an explicit mapping leaves out (MissingColumn: not in the file,
    as a misspelt ignore would let the real column in)."""
    found = {f for f, c in explicit.items() if not (c or IGNORE).strip()}
    for file_col in found:
        if file_col not in headers:
            raise MissingColumn(
                f"mapping: ignore {file_col!r}: the file has no column {file_col!r}"
                f"{_did_you_mean(file_col, headers)}"
            )
    return found


def check_required(
    cmap: ColumnMap,
    table: Table,
    mode: Mode,
    match: Sequence[str],
    headers: Sequence[str],
    require_all: bool = False,
) -> None:
    """Refuse a file that lacks a column the mode cannot do without."""
    given = set(cmap.columns)
    needed: list[str] = []
    if mode is not Mode.APPEND:
        needed += [c for c in match if c not in given]
    if mode in (Mode.CREATE, Mode.APPEND, Mode.REPLACE):
        needed += [
            c.name
            for c in table.columns
            if c.required and c.default is None and c.name not in given
        ]
    if require_all:
        needed += [c for c in table.column_names if c not in given]
    needed = list(dict.fromkeys(needed))
    if not needed:
        return
    spare = [h for h in headers if h not in (ROW, REF) and h not in cmap.sources.values()]
    parts = [f"{name!r}{_did_you_mean(name, spare)}" for name in needed]
    why = "every column is required" if require_all else f"mode {mode.value} needs it"
    hint = f"; unmapped file columns: {', '.join(map(repr, spare))}" if spare else ""
    raise MissingColumn(
        f"table {table.name!r}: no file column maps to {', '.join(parts)} ({why}{hint}; "
        f"map one with {option('map')})",
        columns=needed,
    )


def apply_map(frame: pl.DataFrame, cmap: ColumnMap) -> pl.DataFrame:
    """The frame with table column names: mapped file columns, constants, ROW (and REF).

    A cell the error report neutralised (``'=x``) gets its value back (``=x``): every
    format's cells pass here (``formula``)."""
    quoted = quoted_columns(frame, [h for h in cmap.sources.values() if h in frame.columns])
    exprs = [pl.col(ROW)]
    if REF in frame.columns:
        exprs.append(pl.col(REF))
    for col, header in cmap.sources.items():
        if header in frame.columns:
            cell = pl.col(header).cast(pl.String)
            exprs.append((restored(cell) if header in quoted else cell).alias(col))
        else:  # a column absent from this batch (JSON records without that key)
            exprs.append(pl.lit(None, pl.String).alias(col))
    exprs += [pl.lit(value, pl.String).alias(col) for col, value in cmap.constants.items()]
    return frame.select(exprs)


def _did_you_mean(name: str, candidates: Sequence[str]) -> str:
    by_norm: dict[str, str] = {}
    for cand in candidates:
        by_norm.setdefault(normalise(cand), cand)
    close = difflib.get_close_matches(normalise(name), list(by_norm), n=3, cutoff=0.5)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(by_norm[c]) for c in close) + "?)"
