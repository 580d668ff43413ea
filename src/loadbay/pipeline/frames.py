"""Names and shapes shared by the stages: the row-number column, the error frame."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from loadbay.errors import RowError

# the choices live apart (no polars there: the command line's options are made of them)
from loadbay.pipeline.choices import EmptyPolicy as EmptyPolicy
from loadbay.pipeline.choices import ErrorHandling as ErrorHandling
from loadbay.pipeline.choices import Mode as Mode

#: 1-based number of the data record in its file (or in its table's section of a file)
ROW = "__row__"
#: the client's reference of a record (keys of a JSON object of objects), when there is one
REF = "__ref__"

ERROR_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.Int64(),
    "column": pl.String(),
    "code": pl.String(),
    "message": pl.String(),
    "value": pl.String(),
}


def empty_errors() -> pl.DataFrame:
    """A new empty errors frame (``clear`` of one made once: 1 µs, where making one from
    the schema costs polars ~60; a batch of a small import asks for several)."""
    return _NO_ERRORS.clear()


_NO_ERRORS = pl.DataFrame(schema=ERROR_SCHEMA)


def errors_frame(errors: Iterable[RowError]) -> pl.DataFrame:
    rows = [(e.row, e.column, e.code, e.message, e.value) for e in errors]
    return pl.DataFrame(rows, schema=ERROR_SCHEMA, orient="row")


def errors_list(
    frame: pl.DataFrame,
    table: str | None = None,
    source: str | None = None,
    limit: int | None = None,
) -> list[RowError]:
    if limit is not None:
        frame = frame.head(limit)
    return [
        RowError(row=r, column=c, code=code, message=m, value=v, table=table, source=source)
        for r, c, code, m, v in frame.select(list(ERROR_SCHEMA)).iter_rows()
    ]
