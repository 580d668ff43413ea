"""Throughput of validate() on a batch shaped like the built-in projects table.

The measurement runs only when asked for (it takes a few seconds and its number
depends on the machine)::

    LOADBAY_BENCH=1 .venv/bin/pytest -s tests/pipeline/test_validate_throughput.py

The frame builder itself is checked on every run, on a small batch.
"""

from __future__ import annotations

import os
import time

import polars as pl
import pytest

from loadbay.pipeline.frames import ROW, Mode
from loadbay.pipeline.validate import ValidateOptions, validate
from loadbay.schema.builtin import BUILTIN_TABLES, PROJECTS
from loadbay.schema.model import Catalog

CATALOG = Catalog(BUILTIN_TABLES)
OPTIONS = ValidateOptions(mode=Mode.UPSERT, date_formats=("%d/%m/%Y",))


def _two_digits(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).str.zfill(2)


def projects_frame(rows: int) -> pl.DataFrame:
    """``rows`` realistic string rows of all 12 projects columns, with a few to fix."""
    i = pl.int_range(0, rows, dtype=pl.Int64)
    return pl.select(
        (i + 1).alias(ROW),
        pl.format("PRJ-{}", i).alias("external_id"),
        pl.format("Website relaunch {} for customer {}", i, i % 997).alias("name"),
        pl.format("Customer {} GmbH", i % 997).alias("customer"),
        pl.format("Contact.{}@Example.com", i % 5003).alias("contact"),
        pl.format(" owner{}@example.org", i % 101).alias("owner"),
        pl.lit(pl.Series(["planned", "Active", "on_hold", "done", "cancelled"]))
        .gather(i % 5)
        .alias("status"),
        pl.format("{}.{}", (i * 37) % 1_000_000, _two_digits(i % 100)).alias("budget"),
        pl.lit(pl.Series(["EUR", "usd", "GBP", "chf"])).gather(i % 4).alias("currency"),
        pl.format(
            "20{}-{}-{}", 10 + i % 15, _two_digits(1 + i % 12), _two_digits(1 + i % 28)
        ).alias("start_date"),
        pl.format(
            "{}/{}/20{}", _two_digits(1 + i % 28), _two_digits(1 + i % 12), 26 + i % 10
        ).alias("end_date"),
        pl.format("Phase {} of the rollout, see ticket #{}", i % 7, i).alias("description"),
        pl.when(i % 3 == 0).then(pl.lit("")).otherwise(pl.format("note {}", i)).alias("notes"),
    ).with_columns(
        # one row in a thousand has a bad budget
        pl.when(i % 1000 == 999).then(pl.lit("12,50")).otherwise(pl.col("budget")).alias("budget")
    )


def test_the_projects_frame_is_what_the_measurement_needs() -> None:
    frame = projects_frame(5000)
    assert set(frame.columns) == {ROW, *PROJECTS.column_names}
    result = validate(frame, PROJECTS, CATALOG, OPTIONS)
    assert result.failed_rows == 5
    assert result.errors["code"].unique().to_list() == ["invalid_decimal"]
    assert result.good.height == 4995
    assert result.good["end_date"].null_count() == 0


@pytest.mark.skipif(not os.environ.get("LOADBAY_BENCH"), reason="set LOADBAY_BENCH=1 to measure")
def test_throughput_of_a_million_rows() -> None:
    rows = int(os.environ.get("LOADBAY_BENCH_ROWS", "1000000"))
    frame = projects_frame(rows)
    validate(frame.head(1000), PROJECTS, CATALOG, OPTIONS)  # warm up
    took = []
    for _ in range(7):
        started = time.perf_counter()
        result = validate(frame, PROJECTS, CATALOG, OPTIONS)
        took.append(time.perf_counter() - started)
    took.sort()
    assert result.good.height == rows - rows // 1000
    print(
        f"\nvalidate: {rows:,} rows x {frame.width - 1} columns: "
        f"best {took[0]:.3f}s ({rows / took[0]:,.0f} rows/s), "
        f"median {took[3]:.3f}s ({rows / took[3]:,.0f} rows/s)"
    )
    # speed is measured and printed, never asserted (the benchmarks compare it to targets)
