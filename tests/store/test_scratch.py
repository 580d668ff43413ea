"""An import's scratch and stage files on SQLite: who has them open when, and their end.

Attaching and detaching are session operations the runner calls between its
transactions: they never end one of the caller's."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Connection

from loadbay.store.engine import make_engine
from loadbay.store.scratch import Scratch, attach_scratch, stage_file
from loadbay.store.session import TransactionOpen

IMPORT = "imp_0123abcd"


def attached(conn: Connection) -> list[str]:
    """The databases attached to ``conn`` (asked on the driver's connection: no
    transaction begun)."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    return [row[1] for row in raw.execute("PRAGMA database_list")]


def test_without_a_database_file_there_are_no_files(tmp_path: Path) -> None:
    engine = make_engine("sqlite://")
    with engine.connect() as conn:
        scratch = attach_scratch(conn, IMPORT)
        assert scratch.prefix == "" and scratch.path is None and scratch.stage_path is None
        with stage_file(conn, IMPORT) as writer:
            assert writer is None
        assert scratch.leftovers(["s"], ["p"], finished=True) == ["s", "p"]
        scratch.detach(conn, finished=True)
    engine.dispose()
    assert list(tmp_path.iterdir()) == []


def test_the_stage_file_is_open_by_one_library_at_a_time(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'loadbay.db'}")
    with engine.connect() as conn:
        scratch = attach_scratch(conn, IMPORT)
        assert scratch.path == tmp_path / f"loadbay.db.{IMPORT}.scratch"
        assert scratch.stage_path == tmp_path / f"loadbay.db.{IMPORT}.stage"
        assert attached(conn) == ["main", "scratch"]  # no stage file yet
        with stage_file(conn, IMPORT) as writer:
            assert writer is not None and writer.path == scratch.stage_path
            writer.execute("CREATE TABLE stage.t (a INTEGER)")
            writer.execute("INSERT INTO stage.t VALUES (1), (2)")
            assert "stage" not in attached(conn)  # while the writer has it
        assert attached(conn) == ["main", "scratch", "stage"]
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM stage.t").scalar_one() == 2
        assert conn.exec_driver_sql("PRAGMA stage.journal_mode").scalar_one() == "memory"
        conn.rollback()
        assert scratch.leftovers(["stage.t"], ["scratch.p"], finished=True) == []  # files
        scratch.detach(conn, finished=False)  # interrupted: files kept
        assert attached(conn) == ["main"]
    assert scratch.stage_path.exists() and scratch.path.exists()

    with engine.connect() as conn:  # a resumed run finds the staged rows
        scratch = attach_scratch(conn, IMPORT)
        assert attached(conn) == ["main", "scratch", "stage"]
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM stage.t").scalar_one() == 2
        conn.rollback()
        scratch.detach(conn, finished=True)
        assert attached(conn) == ["main"]
    assert not scratch.stage_path.exists() and not scratch.path.exists()
    engine.dispose()


def test_an_ingest_again_starts_from_an_empty_stage_file(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'loadbay.db'}")
    stale = tmp_path / f"loadbay.db.{IMPORT}.stage"
    with engine.connect() as conn, stage_file(conn, IMPORT) as writer:
        assert writer is not None
        writer.execute("CREATE TABLE stage.t (a INTEGER)")
    with engine.connect() as conn:
        scratch = attach_scratch(conn, IMPORT)  # attaches the stale file
        assert "stage" in attached(conn)
        with stage_file(conn, IMPORT) as writer:  # detaches and removes it first
            assert writer is not None and writer.path == stale
            assert "stage" not in attached(conn)
            writer.execute("CREATE TABLE stage.t (a INTEGER)")  # no "already exists"
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM stage.t").scalar_one() == 0
        conn.rollback()
        scratch.detach(conn, finished=True)
    engine.dispose()
    assert not stale.exists()


def test_a_failed_ingest_leaves_its_stage_file_closed_and_unattached(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'loadbay.db'}")
    with engine.connect() as conn:
        with pytest.raises(ZeroDivisionError), stage_file(conn, IMPORT) as writer:
            assert writer is not None
            writer.execute("CREATE TABLE stage.t (a INTEGER)")
            raise ZeroDivisionError
        assert "stage" not in attached(conn)
        assert writer._closed
    engine.dispose()


def test_attaching_and_detaching_never_end_the_callers_transaction(tmp_path: Path) -> None:
    """SQLite attaches only outside a transaction: a session operation called in one
    refuses, and what the caller had not finished is still its to commit or roll back."""
    engine = make_engine(f"sqlite:///{tmp_path / 'loadbay.db'}")
    with engine.connect() as conn:
        with conn.begin():
            conn.exec_driver_sql("CREATE TABLE t (a INTEGER)")
        trans = conn.begin()
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        with pytest.raises(TransactionOpen):
            attach_scratch(conn, IMPORT)
        with pytest.raises(TransactionOpen), stage_file(conn, IMPORT):
            pass
        assert trans.is_active and attached(conn) == ["main"]
        trans.commit()
        scratch = attach_scratch(conn, IMPORT)
        trans = conn.begin()
        with pytest.raises(TransactionOpen):
            scratch.detach(conn, finished=True)
        assert trans.is_active and "scratch" in attached(conn)
        trans.rollback()
        scratch.detach(conn, finished=True)
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM t").scalar_one() == 1
    engine.dispose()


def test_the_tables_a_postgresql_run_leaves() -> None:
    """The plans always; the stages a connection keeps always (emptied); the import's own
    stages once it is finished; nothing once they went with the import's end."""
    scratch = Scratch("")
    kept, own = "loadbay_reused_stage_0_ab", "loadbay_stage_imp_0"
    assert scratch.leftovers([kept, own], ["plan"], finished=False) == [kept, "plan"]
    assert scratch.leftovers([kept, own], ["plan"], finished=True) == [kept, own, "plan"]
    scratch.dropped = True
    assert scratch.leftovers([kept, own], ["plan"], finished=True) == []
