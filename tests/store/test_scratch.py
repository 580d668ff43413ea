"""An import's scratch and stage files on SQLite: who has them open when, and their end."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Connection

from loadbay.store.engine import make_engine
from loadbay.store.scratch import attach_scratch, attach_stage, open_stage

IMPORT = "imp_0123abcd"


def attached(conn: Connection) -> list[str]:
    return [row[1] for row in conn.exec_driver_sql("PRAGMA database_list")]


def test_without_a_database_file_there_are_no_files(tmp_path: Path) -> None:
    engine = make_engine("sqlite://")
    with engine.connect() as conn:
        scratch = attach_scratch(conn, IMPORT)
        assert scratch.prefix == "" and scratch.path is None and scratch.stage_path is None
        assert open_stage(conn, IMPORT) is None
        scratch.release(conn, [], [], finished=True)
    engine.dispose()
    assert list(tmp_path.iterdir()) == []


def test_the_stage_file_is_open_by_one_library_at_a_time(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'loadbay.db'}")
    with engine.connect() as conn:
        scratch = attach_scratch(conn, IMPORT)
        assert scratch.path == tmp_path / f"loadbay.db.{IMPORT}.scratch"
        assert scratch.stage_path == tmp_path / f"loadbay.db.{IMPORT}.stage"
        assert attached(conn) == ["main", "scratch"]  # no stage file yet
        writer = open_stage(conn, IMPORT)
        assert writer is not None and writer.path == scratch.stage_path
        try:
            writer.execute("CREATE TABLE stage.t (a INTEGER)")
            writer.execute("INSERT INTO stage.t VALUES (1), (2)")
            assert "stage" not in attached(conn)  # while the writer has it
        finally:
            writer.close()
        attach_stage(conn, writer.path)
        assert attached(conn) == ["main", "scratch", "stage"]
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM stage.t").scalar_one() == 2
        assert conn.exec_driver_sql("PRAGMA stage.journal_mode").scalar_one() == "memory"
        scratch.release(conn, ["stage.t"], [], finished=False)  # interrupted: files kept
        assert attached(conn) == ["main"]
    assert scratch.stage_path.exists() and scratch.path.exists()

    with engine.connect() as conn:  # a resumed run finds the staged rows
        scratch = attach_scratch(conn, IMPORT)
        assert attached(conn) == ["main", "scratch", "stage"]
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM stage.t").scalar_one() == 2
        scratch.release(conn, ["stage.t"], [], finished=True)
        assert attached(conn) == ["main"]
    assert not scratch.stage_path.exists() and not scratch.path.exists()
    engine.dispose()


def test_an_ingest_again_starts_from_an_empty_stage_file(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'loadbay.db'}")
    stale = tmp_path / f"loadbay.db.{IMPORT}.stage"
    with engine.connect() as conn:
        writer = open_stage(conn, IMPORT)
        assert writer is not None
        writer.execute("CREATE TABLE stage.t (a INTEGER)")
        writer.close()
    with engine.connect() as conn:
        scratch = attach_scratch(conn, IMPORT)  # attaches the stale file
        assert "stage" in attached(conn)
        writer = open_stage(conn, IMPORT)  # detaches and removes it first
        assert writer is not None and writer.path == stale
        assert "stage" not in attached(conn)
        writer.execute("CREATE TABLE stage.t (a INTEGER)")  # no "already exists"
        writer.close()
        attach_stage(conn, stale)
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM stage.t").scalar_one() == 0
        scratch.release(conn, ["stage.t"], [], finished=True)
    engine.dispose()
    assert not stale.exists()
