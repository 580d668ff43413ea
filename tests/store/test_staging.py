"""Staging rows into SQLite: every row kept once, in order; stage tables on PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from loadbay.schema import load_catalog
from loadbay.store.engine import make_engine
from loadbay.store.staging import create_stage, insert_sqlite


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


@pytest.mark.parametrize(("logged", "persistence"), [(False, "u"), (True, "p")])
def test_a_small_imports_stage_is_logged_on_postgres(
    pg_url: str, logged: bool, persistence: str
) -> None:
    """Unlogged by default (no WAL for big stages); logged when asked (small imports: the
    unlogged table's synced init fork costs more than their WAL)."""
    catalog = load_catalog(None)
    engine = make_engine(pg_url)
    try:
        with engine.begin() as conn:
            create_stage(conn, "stage_t", catalog, catalog.get("companies"), ["name"], logged)
            kind = conn.exec_driver_sql(
                "SELECT relpersistence FROM pg_class WHERE oid = 'stage_t'::regclass"
            ).scalar_one()
    finally:
        engine.dispose()
    assert kind == persistence
