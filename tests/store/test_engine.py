"""How loadbay's engines are set up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from loadbay.config import Settings
from loadbay.errors import InvalidOption
from loadbay.service.context import open_context
from loadbay.store import engine as engine_module
from loadbay.store.engine import make_engine, normalise_url, reading
from tests.conftest import PG_URL, pg_schema


def test_postgres_connections_get_the_work_mem_of_the_settings(tmp_path: Path) -> None:
    with pg_schema() as url:
        settings = Settings.from_env(
            {"LOADBAY_DATABASE_URL": url, "LOADBAY_PG_WORK_MEM": "96MB"}, data_dir=tmp_path
        )
        assert settings.pg_work_mem == "96MB"
        ctx = open_context(settings)
        try:
            for _ in range(2):  # a new connection, and one from the pool
                with ctx.engine.connect() as conn:
                    assert conn.exec_driver_sql("SHOW work_mem").scalar_one() == "96MB"
        finally:
            ctx.close()


@pytest.mark.parametrize("value", ["lots", "256", "1TB", "64MB'; DROP TABLE x; --", "0MB"])
def test_a_work_mem_that_is_not_a_size_is_refused_by_name(value: str) -> None:
    with pytest.raises(InvalidOption, match="LOADBAY_PG_WORK_MEM must be a size"):
        make_engine("postgresql://postgres@127.0.0.1:5432/test", value)


def _kill_backends(engine: sa.Engine) -> None:
    """What a server restart does to every pooled connection."""
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    admin = sa.create_engine(normalise_url(PG_URL))
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql("SELECT pg_terminate_backend(%(p)s)", {"p": pid})
    finally:
        admin.dispose()


def test_an_idle_pooled_connection_is_pinged_and_replaced_when_gone(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(pg_url)
    try:
        _kill_backends(engine)
        monkeypatch.setattr(engine_module, "PING_AFTER_SECONDS", 0.0)  # idle long enough
        with engine.connect() as conn:  # pinged, found gone, made again
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
    finally:
        engine.dispose()


def test_a_connection_checked_in_a_moment_ago_is_not_pinged(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No round trip per checkout: a dead connection is found by the statement that
    meets it, which fails, and the pool is made again for the next ones."""
    engine = make_engine(pg_url)
    try:
        _kill_backends(engine)
        monkeypatch.setattr(engine_module, "PING_AFTER_SECONDS", 3600.0)
        with pytest.raises(sa.exc.DBAPIError) as failed, engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        assert failed.value.connection_invalidated
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
    finally:
        engine.dispose()


def test_a_write_after_a_read_on_the_same_sqlite_connection_takes_the_write_lock(
    tmp_path: Path,
) -> None:
    """``reading(conn)`` marks one transaction: SQLAlchemy changes a connection's options
    in place, and a later write that began deferred could not wait for another writer (in
    WAL mode SQLite answers 'database is locked' at once when a deferred transaction that
    has read tries to write after another one committed)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    other = sqlite3.connect(tmp_path / "x.db", timeout=0, isolation_level=None)
    try:
        with engine.connect() as conn:
            with reading(conn).begin():
                conn.exec_driver_sql("SELECT 1")
            with conn.begin():
                conn.exec_driver_sql("SELECT 1")
                # the write lock is held: another writer cannot have it now
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()
        engine.dispose()
