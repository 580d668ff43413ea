"""Staging rows into SQLite: every row kept once, in order; stage and plan tables on
PostgreSQL: an import's own, or kept by the connection for its small imports."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from loadbay.config import Settings
from loadbay.pipeline.frames import Mode
from loadbay.schema import load_catalog
from loadbay.service.context import open_context
from loadbay.store.dialect import dialect_of
from loadbay.store.engine import make_engine
from loadbay.store.plan_sql import Plan, PlanSpec, build_plan
from loadbay.store.staging import (
    REUSES,
    append_frame,
    create_stage,
    insert_sqlite,
    is_reused,
    release_tables,
    reused_plan_base,
    reused_stage_name,
)
from loadbay.store.write_sql import create_plan_table


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


def test_an_imports_own_stage_is_unlogged_on_postgres(pg_url: str) -> None:
    """No WAL for a big stage."""
    catalog = load_catalog(None)
    engine = make_engine(pg_url)
    try:
        with engine.begin() as conn:
            create_stage(conn, "stage_t", catalog, catalog.get("companies"), ["name"])
            kind = conn.exec_driver_sql(
                "SELECT relpersistence FROM pg_class WHERE oid = 'stage_t'::regclass"
            ).scalar_one()
    finally:
        engine.dispose()
    assert kind == "u"


def _relation(conn: sa.Connection, name: str) -> tuple[int, str] | None:
    found = conn.exec_driver_sql(
        "SELECT oid, relpersistence FROM pg_class WHERE oid = to_regclass(%(n)s)",
        {"n": f"pg_temp.{name}"},
    ).one_or_none()
    return None if found is None else (int(found[0]), str(found[1]))


def test_a_kept_stage_is_made_once_per_connection_and_emptied(pg_url: str) -> None:
    """A small import's stage: temporary, with every column of its table whatever the
    import maps, made by the first import on the connection and only emptied after it
    (no catalog rows written), emptied again before each use (rows a failed run left do
    not come back), and dropped every ``REUSES`` uses (nothing vacuums it)."""
    catalog = load_catalog(None)
    table = catalog.get("companies")
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn, engine.connect() as other:
            with conn.begin():
                dialect = dialect_of(conn)
            name = reused_stage_name(dialect, catalog, table, 0)
            assert is_reused(name) and name == reused_stage_name(dialect, catalog, table, 0)
            assert name != reused_stage_name(dialect, catalog, table, 1)
            with conn.begin():
                create_stage(conn, name, catalog, table, ["name"])
                made = _relation(conn, name)
                assert made is not None and made[1] == "t"  # temporary
                columns = conn.exec_driver_sql(f'SELECT * FROM "{name}" LIMIT 0').keys()
                assert set(columns) >= {"_seq", "_src", "_row", "_ref"} | {
                    c.name for c in table.columns
                }
                append_frame(conn, name, _stage_rows(3))
            with conn.begin():  # a run that stopped before releasing left its rows
                create_stage(conn, name, catalog, table, ["name", "due_days"])
                assert _relation(conn, name) == made  # the same table
                assert conn.exec_driver_sql(f'SELECT COUNT(*) FROM "{name}"').scalar() == 0
                append_frame(conn, name, _stage_rows(2))
            with conn.begin():
                release_tables(conn, [name, reused_plan_base(0) + "_never_built"])
                assert _relation(conn, name) == made
                assert conn.exec_driver_sql(f'SELECT COUNT(*) FROM "{name}"').scalar() == 0
            for _ in range(REUSES - 2):
                with conn.begin():
                    create_stage(conn, name, catalog, table, ["name"])
                    release_tables(conn, [name])
                    assert _relation(conn, name) == made
            with conn.begin():
                release_tables(conn, [name])
                assert _relation(conn, name) is None  # dropped: the next use makes it again
            with conn.begin():
                create_stage(conn, name, catalog, table, ["name"])
                assert _relation(conn, name) is not None
            with other.begin():  # temporary: no other connection sees it
                assert _relation(other, name) is None
    finally:
        engine.dispose()


def _stage_rows(count: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "_seq": list(range(1, count + 1)),
            "_src": [0] * count,
            "_row": list(range(1, count + 1)),
            "_ref": [None] * count,
            "name": [f"c{i}" for i in range(count)],
        },
        schema_overrides={"_ref": pl.String},
    )


def test_a_kept_plan_table_is_named_by_its_query_and_filled_afresh(
    pg_url: str, tmp_path: Path
) -> None:
    """The same query fills the same kept table (made by the first plan, with no rows
    in between, whatever a run that stopped early left in it); another query, another."""
    ctx = open_context(Settings(data_dir=tmp_path, database_url=pg_url))
    catalog, engine = ctx.catalog, ctx.engine
    table = catalog.get("companies")
    try:
        with engine.connect() as conn, conn.begin():
            dialect = dialect_of(conn)
            stage = reused_stage_name(dialect, catalog, table, 0)
            create_stage(conn, stage, catalog, table, ["name"])
            append_frame(conn, stage, _stage_rows(3))

            def plan(columns: tuple[str, ...]) -> Plan:
                spec = PlanSpec(
                    table, catalog, stage, reused_plan_base(0), columns, ("name",), Mode.UPSERT
                )
                return build_plan(spec, dialect, conn)

            first, second, other = plan(("name",)), plan(("name",)), plan(("name", "due_days"))
            assert first.spec.plan == second.spec.plan != other.spec.plan
            assert is_reused(first.spec.plan) and is_reused(other.spec.plan)
            for built in (first, second):  # no release in between
                create_plan_table(conn, built, "default")
                count = f'SELECT COUNT(*) FROM "{built.spec.plan}"'
                assert conn.exec_driver_sql(count).scalar() == 3
            made = _relation(conn, first.spec.plan)
            assert made is not None and made[1] == "t"
            create_plan_table(conn, second, "default", chunked=True)
            create_plan_table(conn, second, "default", chunked=True)  # its index is there
            assert _relation(conn, first.spec.plan) == made
    finally:
        ctx.close()
