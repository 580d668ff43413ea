"""Versioned migrations: a new database, a database of the release before them (with rows),
the data tables following the catalog, and processes that start together."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from loadbay.config import Settings
from loadbay.errors import InvalidSchema, StoreError
from loadbay.schema import Catalog, Column, Table
from loadbay.schema.builtin import BUILTIN_TABLES
from loadbay.service import imports as import_service
from loadbay.service.context import migrate, open_context
from loadbay.service.revert import revert_import
from loadbay.store import imports_sql, migrations, system
from loadbay.store.engine import make_engine
from loadbay.store.migrations import LATEST, STEPS
from tests.conftest import pg_schema
from tests.service.helpers import by_key, errors, results, run, write
from tests.store.baseline_db import create_baseline, fill_baseline

BUILTIN = Catalog(BUILTIN_TABLES)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    made = make_engine(db_url)
    yield made
    made.dispose()


def _version_rows(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [
            int(v)
            for v in conn.scalars(
                sa.select(system.migrations.c.version).order_by(system.migrations.c.version)
            )
        ]


def _shape(engine: Engine) -> dict[str, Any]:
    """Every table of the database: its columns (name, nullable), its primary key and its
    indexes."""
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        found: dict[str, Any] = {}
        for name in inspector.get_table_names():
            if name == system.migrations.name:
                continue
            columns = {(c["name"], c["nullable"]) for c in inspector.get_columns(name)}
            indexes = {
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(name)
            }
            key = inspector.get_pk_constraint(name)
            primary = (tuple(key["constrained_columns"]), key.get("name"))
            found[name] = (columns, primary, indexes)
        return found


def test_steps_are_numbered_one_by_one() -> None:
    assert [s.version for s in STEPS] == list(range(1, len(STEPS) + 1))
    assert len(STEPS) == LATEST


def test_a_new_database_is_made_at_the_latest_version(engine: Engine) -> None:
    done = migrations.upgrade(engine, BUILTIN)
    assert done[0] == f"created loadbay's tables at version {LATEST}"
    assert "created table companies" in done
    assert _version_rows(engine) == [LATEST]
    assert migrations.upgrade(engine, BUILTIN) == []  # a second run finds nothing to do
    with engine.connect() as conn:
        assert migrations.is_current(conn, BUILTIN)


def test_a_baseline_database_is_upgraded_to_the_shape_of_a_new_one(
    db_url: str, tmp_path: Path
) -> None:
    """A column added to system.py without its step (or a step that differs from the
    table) fails here: the upgraded database must be exactly a new one."""
    old = make_engine(db_url)
    with pg_schema() if "postgresql" in db_url else _sqlite(tmp_path) as new_url:
        new = make_engine(new_url)
        try:
            with old.begin() as conn:
                create_baseline(conn)
            done = migrations.upgrade(old, BUILTIN)
            assert done[0].startswith("applied step 1:")
            assert _version_rows(old) == [s.version for s in STEPS]
            migrations.upgrade(new, BUILTIN)
            assert _shape(old) == _shape(new)
        finally:
            new.dispose()
            old.dispose()


class _sqlite:
    def __init__(self, tmp_path: Path) -> None:
        self.url = f"sqlite:///{tmp_path / 'new.db'}"

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *_: object) -> None:
        return None


def test_a_baseline_database_keeps_its_rows_and_works(settings: Settings, tmp_path: Path) -> None:
    """Rows of the release before migrations: its imports, results, errors, data rows and
    change log are all there after the upgrade, and the app imports, updates and reverts
    on them (a revert of an import the old release made included)."""
    engine = make_engine(settings.effective_database_url)
    try:
        with engine.begin() as conn:
            create_baseline(conn)
            fill_baseline(conn)
    finally:
        engine.dispose()
    ctx = open_context(settings)  # migrates
    try:
        listed = import_service.list_imports(ctx)
        assert {i.id for i in listed} == {
            "imp_aaaaaaaaaaaaaaaa",
            "imp_bbbbbbbbbbbbbbbb",
        }
        assert errors(ctx, "imp_bbbbbbbbbbbbbbbb") == [(2, "due_days", "invalid_integer")]
        assert [r["outcome"] for r in results(ctx, "imp_aaaaaaaaaaaaaaaa")] == [
            "created",
            "created",
        ]
        with ctx.engine.connect() as conn:  # numbered in the order they were created
            first = imports_sql.number_of(conn, "imp_aaaaaaaaaaaaaaaa")
            assert imports_sql.number_of(conn, "imp_bbbbbbbbbbbbbbbb") == first + 1
        companies = by_key(ctx, "companies", "name")
        assert {n: r["due_days"] for n, r in companies.items()} == {"Acme": 30, "Globex": 15}
        # the old release's change log is read by the new revert
        revert_import(ctx, "imp_bbbbbbbbbbbbbbbb")
        assert by_key(ctx, "companies", "name")["Globex"]["due_days"] == 14
        # an import (an update and a create), then its revert
        change = run(
            ctx, write(tmp_path, "c.csv", "name,due_days\nAcme,99\nInitech,7\n"), table="companies"
        )
        assert change.counts.updated == 1 and change.counts.created == 1
        created = by_key(ctx, "companies", "name")["Initech"]
        assert created["loadbay_id"] > 2  # the ids go on after the old rows
        revert_import(ctx, change.id)
        after = by_key(ctx, "companies", "name")
        assert {n: r["due_days"] for n, r in after.items()} == {"Acme": 30, "Globex": 14}
        # the old import A created both rows, untouched since: its revert deletes them
        revert_import(ctx, "imp_aaaaaaaaaaaaaaaa")
        assert by_key(ctx, "companies", "name") == {}
    finally:
        ctx.close()


def test_two_processes_migrate_at_once(db_url: str) -> None:
    """Two engines (as two processes) upgrade the same baseline database together: one
    applies each step, the other waits for the lock and finds it done."""
    setup = make_engine(db_url)
    with setup.begin() as conn:
        create_baseline(conn)
        fill_baseline(conn)
    setup.dispose()
    engines = [make_engine(db_url) for _ in range(2)]
    done: list[list[str]] = []
    failed: list[BaseException] = []
    start = threading.Barrier(2)

    def go(engine: Engine) -> None:
        try:
            start.wait()
            done.append(migrations.upgrade(engine, BUILTIN))
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=go, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert failed == []
        applied = [line for lines in done for line in lines if line.startswith("applied")]
        assert len(applied) == len(STEPS)  # each step once, by one or the other
        assert _version_rows(engines[0]) == [s.version for s in STEPS]
    finally:
        for e in engines:
            e.dispose()


def test_a_database_of_a_newer_loadbay_is_refused(engine: Engine) -> None:
    migrations.upgrade(engine, BUILTIN)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(system.migrations).values(
                version=LATEST + 1, name="later", applied_at=sa.func.now()
            )
        )
    with pytest.raises(StoreError, match=f"schema version {LATEST + 1}, made by a newer loadbay"):
        migrations.upgrade(engine, BUILTIN)


def _custom(*columns: Column, key: tuple[str, ...] = ("code",)) -> Catalog:
    return Catalog([Table(name="items", key=key, columns=(Column("code"), *columns))])


def _indexes(engine: Engine, table: str) -> dict[str, tuple[tuple[str, ...], bool]]:
    with engine.connect() as conn:
        return {
            str(i["name"]): (tuple(str(c) for c in i["column_names"]), bool(i["unique"]))
            for i in sa.inspect(conn).get_indexes(table)
        }


def test_data_tables_follow_the_schema(engine: Engine) -> None:
    """A new column is added (to the table and its change log); a column newly unique
    gets its index, one no longer unique loses it; a new key replaces the old index."""
    migrations.upgrade(engine, _custom(Column("sku")))
    done = migrations.upgrade(engine, _custom(Column("sku", unique=True), Column("size")))
    assert set(done) == {
        "added column items.size",
        "added column loadbay_changes__items.size",
        "created index items__sku",
    }
    assert _indexes(engine, "items")["items__sku"][1] is True
    with engine.connect() as conn:
        assert migrations.is_current(conn, _custom(Column("sku", unique=True), Column("size")))
        assert not migrations.is_current(conn, _custom(Column("sku"), Column("size")))
    done = migrations.upgrade(engine, _custom(Column("sku"), Column("size"), key=("code", "size")))
    assert set(done) == {
        "dropped index items__sku",
        "dropped index items__key",
        "created index items__key",
    }
    assert "items__sku" not in _indexes(engine, "items")
    key_columns = _indexes(engine, "items")["items__key"][0]
    assert key_columns[-2:] == ("code", "size")


def test_a_column_made_unique_over_duplicates_is_refused(engine: Engine) -> None:
    migrations.upgrade(engine, _custom(Column("sku")))
    with engine.begin() as conn:
        for code in ("a", "b"):
            conn.execute(
                sa.text(
                    "INSERT INTO items (loadbay_tenant_id, loadbay_created_at, "
                    "loadbay_updated_at, code, sku) VALUES ('t', :s, :s, :c, 'same')"
                ),
                {"s": "2026-12-01 10:00:00", "c": code},
            )
    with pytest.raises(InvalidSchema, match="table 'items': sku cannot be made unique"):
        migrations.upgrade(engine, _custom(Column("sku", unique=True)))
    assert "items__sku" not in _indexes(engine, "items")  # nothing half done


def test_loadbay_migrate_runs_once(settings: Settings) -> None:
    assert migrate(settings)[0] == f"created loadbay's tables at version {LATEST}"
    assert migrate(settings) == []


# ---- kept from before versioning: earlier releases, and the read-only check ----------
def test_a_database_older_than_the_baseline_gains_what_it_lacked(engine: Engine) -> None:
    """Before templates: step 1 adds the table and imports.template_id, as the baseline
    release did at every start."""
    with engine.begin() as conn:
        create_baseline(conn)
        conn.exec_driver_sql("DROP TABLE loadbay_templates")
        conn.exec_driver_sql("ALTER TABLE loadbay_imports DROP COLUMN template_id")
        conn.exec_driver_sql("ALTER TABLE loadbay_imports DROP COLUMN warnings")
    migrations.upgrade(engine, BUILTIN)
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        names = {c["name"] for c in inspector.get_columns("loadbay_imports")}
        assert {"template_id", "warnings"} <= names
        assert "loadbay_templates" in inspector.get_table_names()


def test_a_data_table_that_lost_a_column_gets_it_back(settings: Settings) -> None:
    open_context(settings).close()
    engine = make_engine(settings.effective_database_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE loadbay_changes__projects DROP COLUMN notes")
        open_context(settings).close()
        with engine.connect() as conn:
            names = {c["name"] for c in sa.inspect(conn).get_columns("loadbay_changes__projects")}
        assert "notes" in names
    finally:
        engine.dispose()


def test_opening_a_current_database_takes_no_write_lock(tmp_path: Path) -> None:
    """`loadbay imports show` beside a running SQLite import must not queue behind its chunks."""
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'lb.db'}")
    open_context(settings).close()
    writer = sqlite3.connect(tmp_path / "lb.db", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # as an import's chunk holds it
        ctx = open_context(settings)  # would wait out the busy timeout, then fail, if it wrote
        ctx.close()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
