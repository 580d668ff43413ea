"""Records that arrive one by one (JSON, JSON Lines, XML, inline records) into batches.

Cell values become text: ``None``, ``""`` → null; ``True``/``False`` → ``"true"``/
``"false"``; numbers → their text (decimals as written: ``1.50`` stays ``"1.50"``,
never in exponent form); objects and arrays → compact JSON text. A batch has one
column per field seen so far in the file (or table), in first-seen order. A record
whose every value is null (``{}``, ``<row/>``) is kept: here a record is explicit,
unlike the empty rows of CSV and Excel, which are layout and are skipped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import polars as pl

from loadbay.errors import Code, RowError
from loadbay.pipeline.frames import REF, ROW, empty_errors, errors_frame
from loadbay.pipeline.read.base import Batch, clip
from loadbay.pipeline.read.limits import Limits, check_columns

Cell = str | None
_RESERVED = (ROW, REF)


def cell(value: object) -> Cell:
    """The text of one JSON (or Python) value."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, float):
        return decimal_text(Decimal(repr(value))) if math.isfinite(value) else repr(value)
    if isinstance(value, dict | list | tuple):
        return to_json(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def cells_of(record: dict[Any, object]) -> dict[str, Cell]:
    """The text of every value of a record (strings, the common case, inline)."""
    return {
        k if type(k) is str else str(k): (v or None) if type(v) is str else cell(v)
        for k, v in record.items()
    }


def decimal_text(value: Decimal) -> str:
    """Plain notation (``1E+2`` → ``100``) unless that would be absurdly long."""
    exponent = value.as_tuple().exponent
    if not value.is_finite() or not isinstance(exponent, int) or abs(exponent) > 64:
        return str(value)
    return format(value, "f")


def to_json(value: object) -> str:
    """Compact JSON text of a nested value; decimals written as they came."""
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(k), ensure_ascii=False)}:{to_json(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return json.dumps(cell(value))
    return json.dumps(value, ensure_ascii=False)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list | tuple) else f"a {type(value).__name__}"


def invalid(row: int, message: str, raw: str) -> RowError:
    return RowError(
        row=row, column=None, code=Code.INVALID_RECORD, message=message, value=clip(raw)
    )


class RecordBatcher:
    """Collects records into Batches of at most ``batch_size`` rows."""

    def __init__(
        self,
        batch_size: int,
        table: str | None = None,
        refs: bool = False,
        limits: Limits = Limits(),
        source: str = "records",
    ) -> None:
        self.batch_size = batch_size
        self.table = table
        self.refs = refs
        self.limits = limits
        self.source = source
        self.columns: dict[str, None] = {}  # an ordered set
        self._rows: list[int] = []
        self._refs: list[str | None] = []
        self._records: list[dict[str, Cell]] = []
        self._errors: list[RowError] = []
        self._emitted = False

    def add(self, row: int, record: object, raw: str = "", ref: str | None = None) -> Batch | None:
        """Add one record (any JSON value); a full batch when there is one."""
        if not isinstance(record, dict):
            kind = _kind(record)
            label = f"record {ref!r}" if ref is not None else "record"
            message = f"{label} is {kind}, not an object"
            self._errors.append(invalid(row, message, raw or to_json(record)))
        elif ROW in record or REF in record:
            names = ", ".join(k for k in _RESERVED if k in record)
            message = f"field name(s) {names} are reserved"
            self._errors.append(invalid(row, message, raw or to_json(record)))
        else:
            return self.add_cells(row, cells_of(record), ref)
        return self._full()

    def add_cells(self, row: int, cells: dict[str, Cell], ref: str | None = None) -> Batch | None:
        """Add one record whose values are text already."""
        if not cells.keys() <= self.columns.keys():
            self.columns.update(dict.fromkeys(cells))
            where = self.source if self.table is None else f"{self.source}, table {self.table}"
            check_columns(len(self.columns), self.limits, where)
        self._rows.append(row)
        self._refs.append(ref)
        self._records.append(cells)
        return self._full()

    def error(self, error: RowError) -> Batch | None:
        self._errors.append(error)
        return self._full()

    def finish(self, warnings: Sequence[str] = ()) -> Iterator[Batch]:
        """The last batch: what is pending, or one empty batch when nothing was read or
        when there are ``warnings`` (known at the end of the file) to carry."""
        if self._rows or self._errors or not self._emitted or warnings:
            batch = self._batch()
            batch.warnings += warnings
            yield batch

    def _full(self) -> Batch | None:
        if len(self._rows) >= self.batch_size or len(self._errors) >= self.batch_size:
            return self._batch()
        return None

    def _batch(self) -> Batch:
        columns = [pl.Series(ROW, self._rows, dtype=pl.Int64)]
        if self.refs:
            columns.append(pl.Series(REF, self._refs, dtype=pl.String))
        if self._records and self.columns:
            schema = dict.fromkeys(self.columns, pl.String())
            columns += pl.from_dicts(self._records, schema=schema).get_columns()
        else:
            columns += [pl.Series(c, [None] * len(self._rows), pl.String) for c in self.columns]
        frame = pl.DataFrame(columns)
        errors = errors_frame(self._errors) if self._errors else empty_errors()
        batch = Batch(frame, errors, self.table)
        self._rows, self._refs, self._records, self._errors = [], [], [], []
        self._emitted = True
        return batch
