"""Throughput of the CSV reader on a 1,000,000-row, 10-column file.

The measurement runs only when asked for (it writes ~90 MB and its number depends on
the machine)::

    LOADBAY_BENCH=1 .venv/bin/pytest -s tests/pipeline/test_read_throughput.py

The file writer itself is checked on every run, on a small file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import polars as pl
import pytest

from loadbay.pipeline.frames import ROW
from loadbay.pipeline.read import ReadOptions, read_file


def write_csv(path: Path, rows: int, ragged_every: int = 0) -> Path:
    """``rows`` realistic records of 10 fields: quoted commas, empties, non-ASCII."""
    i = pl.int_range(0, rows, dtype=pl.Int64, eager=True)
    frame = pl.select(
        i.alias("id"),
        pl.format("Café Müller {}", i % 997).alias("name"),
        pl.format("user{}@example.com", i).alias("email"),
        pl.format("{}.{}", i % 100_000, i % 90 + 10).alias("amount"),
        pl.lit("2024-01-31").alias("date"),
        pl.when(i % 7 == 0).then(pl.lit("")).otherwise(pl.lit("Köln")).alias("city"),
        pl.when(i % 3 == 0).then(pl.lit("note, with comma")).alias("note"),
        (i * 7).alias("count"),
        pl.lit("true").alias("flag"),
        pl.format("C-{}", i % 13).alias("code"),
    )
    frame.write_csv(path)
    if ragged_every:
        lines = path.read_text().splitlines(keepends=True)
        for n in range(ragged_every, len(lines), ragged_every):
            lines[n] = lines[n].rstrip("\n") + ",surplus\n"
        path.write_text("".join(lines))
    return path


def read_all(path: Path) -> tuple[int, int]:
    rows = errors = 0
    for batch in read_file(path, ReadOptions()):
        rows += batch.frame.height
        errors += batch.errors.height
    return rows, errors


def test_the_file_is_what_the_measurement_needs(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "small.csv", 3_000, ragged_every=1_000)
    batches = list(read_file(path, ReadOptions()))
    frame = pl.concat([b.frame for b in batches])
    assert frame.width == 11 and frame.height == 2_997
    assert frame.row(0) == (1, "0", "Café Müller 0", "user0@example.com", "0.10",
                            "2024-01-31", None, "note, with comma", "0", "true", "C-0")  # fmt: skip
    assert pl.concat([b.errors for b in batches])["row"].to_list() == [1_000, 2_000, 3_000]
    assert frame[ROW].is_sorted()


@pytest.mark.skipif(not os.environ.get("LOADBAY_BENCH"), reason="set LOADBAY_BENCH=1 to measure")
@pytest.mark.parametrize("ragged_every", [0, 100])
def test_throughput_of_a_million_rows(tmp_path: Path, ragged_every: int) -> None:
    rows = int(os.environ.get("LOADBAY_BENCH_ROWS", "1000000"))
    path = write_csv(tmp_path / "big.csv", rows, ragged_every)
    took = []
    for _ in range(5):
        started = time.perf_counter()
        read, errors = read_all(path)
        took.append(time.perf_counter() - started)
    took.sort()
    assert read + errors == rows
    label = f"1 row in {ragged_every} ragged" if ragged_every else "no ragged rows"
    print(
        f"\nread CSV ({label}): {rows:,} rows x 10 fields, {path.stat().st_size / 2**20:.0f} MiB: "
        f"best {took[0]:.3f}s ({rows / took[0]:,.0f} rows/s), "
        f"median {took[2]:.3f}s ({rows / took[2]:,.0f} rows/s)"
    )
    # speed is measured and printed, never asserted (the benchmarks compare it to targets)
