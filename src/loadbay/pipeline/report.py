"""Report: the error file — the failed rows as they were in the file, plus an ``error`` column.

Fix the cells, import the file again. Cells that a spreadsheet would run as a formula
(starting with ``=`` ``+`` ``-`` ``@``, tab or carriage return) are neutralised with a
leading apostrophe.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from loadbay.pipeline.frames import REF, ROW
from loadbay.pipeline.read import read_file

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str | None) -> str:
    if cell is None:
        return ""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def describe(errors: Iterable[dict[str, Any]]) -> str:
    return "; ".join(
        f"{e['column']}: {e['message']}" if e.get("column") else str(e["message"]) for e in errors
    )


def write_error_report(sources: Sequence[Any], failed: Iterable[dict[str, Any]], out: Path) -> int:
    """Write the report to ``out``; return the number of rows written."""
    wanted: dict[tuple[int, int], list[tuple[str, str]]] = {}
    for result in failed:
        key = (int(result["src"]), int(result["row"]))
        wanted.setdefault(key, []).append((result["table_name"], describe(result["errors"])))
    tables = {t for items in wanted.values() for t, _ in items}
    multi = len(tables) > 1
    written = 0
    header: list[str] | None = None
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for src, (path, options) in enumerate(sources):
            for batch in read_file(path, options):
                rows = _picked(batch.frame, batch.table, src, wanted)
                broken = _picked_broken(batch.errors, batch.table, src, wanted)
                if header is None:
                    header = [c for c in batch.frame.columns if c not in (ROW, REF)]
                    writer.writerow([*(["table"] if multi else []), *header, "error"])
                for table, cells, error in [*rows, *broken]:
                    lead = [table] if multi else []
                    writer.writerow([neutralise(c) for c in [*lead, *cells, error]])
                    written += 1
    return written


def _picked(
    frame: pl.DataFrame,
    table: str | None,
    src: int,
    wanted: dict[tuple[int, int], list[tuple[str, str]]],
) -> list[tuple[str, list[str | None], str]]:
    picked = []
    columns = [c for c in frame.columns if c not in (ROW, REF)]
    rows = frame.filter(pl.col(ROW).is_in([r for s, r in wanted if s == src]))
    for record in rows.iter_rows(named=True):
        for found_table, error in wanted.get((src, int(record[ROW])), []):
            if table is None or table == found_table:
                picked.append((found_table, [record[c] for c in columns], error))
    return picked


def _picked_broken(
    errors: pl.DataFrame,
    table: str | None,
    src: int,
    wanted: dict[tuple[int, int], list[tuple[str, str]]],
) -> list[tuple[str, list[str | None], str]]:
    """Rows the reader could not split into fields: the raw text goes into the error."""
    picked: list[tuple[str, list[str | None], str]] = []
    for row, message, value in errors.select("row", "message", "value").iter_rows():
        for found_table, _ in wanted.get((src, int(row)), []):
            if table is None or table == found_table:
                picked.append((found_table, [], f"{message}: {value}"))
    return picked
