"""Staging rows into SQLite: every row kept once, in order."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from loadbay.store.staging import insert_sqlite


@pytest.mark.parametrize("height", [1, 49, 50, 51, 137, 12_345])
@pytest.mark.parametrize("width", [3, 70])
def test_every_row_is_staged_once_in_order(tmp_path: Path, height: int, width: int) -> None:
    frame = pl.DataFrame(
        {
            f"c{j}": [f"r{i}c{j}" if (i + j) % 7 else None for i in range(height)]
            for j in range(width)
        }
    ).with_columns(pl.int_range(0, height, dtype=pl.Int64).alias("c0"))
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'stage.db'}")
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE stage ({columns})")
        insert_sqlite(conn, "stage", frame)
    raw = sqlite3.connect(tmp_path / "stage.db")
    stored = raw.execute(f"SELECT {columns} FROM stage ORDER BY rowid").fetchall()
    raw.close()
    assert stored == frame.rows()
