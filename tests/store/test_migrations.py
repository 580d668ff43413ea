"""An older database gains the columns a newer loadbay needs, data kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from loadbay.config import Settings
from loadbay.service.context import open_context
from loadbay.store.engine import make_engine
from loadbay.store.system import create_system_tables


def test_missing_system_columns_are_added(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            create_system_tables(conn)
            conn.exec_driver_sql("ALTER TABLE loadbay_imports DROP COLUMN warnings")
        with engine.begin() as conn:
            create_system_tables(conn)
            names = {c["name"] for c in sa.inspect(conn).get_columns("loadbay_imports")}
        assert "warnings" in names
    finally:
        engine.dispose()


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


def test_an_older_database_gains_templates(db_url: str) -> None:
    """A database made before templates: the table and imports.template_id are added."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            create_system_tables(conn)
            conn.exec_driver_sql("DROP TABLE loadbay_templates")
            conn.exec_driver_sql("ALTER TABLE loadbay_imports DROP COLUMN template_id")
        with engine.begin() as conn:
            create_system_tables(conn)
            inspector = sa.inspect(conn)
            names = {c["name"] for c in inspector.get_columns("loadbay_imports")}
            assert "template_id" in names
            assert "loadbay_templates" in inspector.get_table_names()
    finally:
        engine.dispose()
