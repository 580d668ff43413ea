"""Report: the error file — the failed rows as they were in the file, plus an ``error`` column.

Fix the cells, import the file again. A cell that a spreadsheet would run as a formula
(starting with ``=`` ``+`` ``-`` ``@``, tab or carriage return, but not a number such as
``-5``) is neutralised with a leading apostrophe, which loadbay takes off again when it
reads the file (``formula``): the fixed report imports with the original values. A cell
is written as loadbay read it, so the report of a report's rows neutralises only once.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from loadbay.pipeline.formula import neutralised, restored
from loadbay.pipeline.frames import REF, ROW
from loadbay.pipeline.read import read_file

#: the columns of the wanted rows' frame: which table failed the row, and why
_TABLE, _ERROR = "__table__", "__error__"


def describe(errors: Iterable[dict[str, Any]]) -> str:
    return "; ".join(
        f"{e['column']}: {e['message']}" if e.get("column") else str(e["message"]) for e in errors
    )


def write_error_report(sources: Sequence[Any], failed: Iterable[dict[str, Any]], out: Path) -> int:
    """Write the report to ``out``; return the number of rows written."""
    wanted: dict[int, list[tuple[int, str, str]]] = {}
    for result in failed:
        entry = (int(result["row"]), str(result["table_name"]), describe(result["errors"]))
        wanted.setdefault(int(result["src"]), []).append(entry)
    multi = len({t for items in wanted.values() for _, t, _ in items}) > 1
    written = 0
    header: list[str] | None = None
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for src, (path, options) in enumerate(sources):
            want = _wanted(wanted.get(src, []))
            for batch in read_file(path, options):
                if header is None:
                    header = [c for c in batch.frame.columns if c not in (ROW, REF)]
                    writer.writerow([*(["table"] if multi else []), *header, "error"])
                if want.is_empty():
                    continue
                broken = _picked_broken(batch.errors, want, header)
                for rows in (_picked(batch.frame, want), broken):
                    rows = rows.filter(_of_table(batch.table)).drop(ROW)
                    if not multi:
                        rows = rows.drop(_TABLE)
                    cells = rows.select(
                        neutralised(restored(pl.col(c).cast(pl.String))) for c in rows.columns
                    )
                    writer.writerows(cells.iter_rows())
                    written += cells.height
    return written


def _wanted(entries: list[tuple[int, str, str]]) -> pl.DataFrame:
    """One row per failed (row, table) of a file, in the order they were found."""
    return pl.DataFrame(
        entries,
        schema={ROW: pl.Int64(), _TABLE: pl.String(), _ERROR: pl.String()},
        orient="row",
    )


def _of_table(table: str | None) -> pl.Expr:
    """A batch of one table's section of a file takes only that table's failures."""
    return pl.lit(True) if table is None else pl.col(_TABLE) == table


def _picked(frame: pl.DataFrame, want: pl.DataFrame) -> pl.DataFrame:
    """The wanted rows: ROW, the table, the file's cells, the error."""
    fields = [c for c in frame.columns if c not in (ROW, REF)]
    joined = frame.join(want, on=ROW, how="inner", maintain_order="left_right")
    return joined.select(ROW, _TABLE, *fields, _ERROR)


def _picked_broken(errors: pl.DataFrame, want: pl.DataFrame, header: list[str]) -> pl.DataFrame:
    """Rows the reader could not split into fields: empty cells, the raw text in the error
    (a row with several, such as a workbook row with two error cells, is one row)."""
    raw = errors.select(
        pl.col("row").cast(pl.Int64).alias(ROW),
        pl.coalesce(pl.concat_str("message", pl.lit(": "), "value"), "message").alias("raw"),
    )
    raw = raw.group_by(ROW, maintain_order=True).agg(pl.col("raw").str.join("; "))
    joined = raw.join(want, on=ROW, how="inner", maintain_order="left_right")
    empty = [pl.lit(None, pl.String).alias(c) for c in header]
    return joined.select(ROW, _TABLE, *empty, pl.col("raw").alias(_ERROR))
