"""Where an import keeps its staging and plan tables while it runs.

PostgreSQL: unlogged staging tables in the database itself and temporary plan tables,
dropped at the end (cheap there).
SQLite: two database files of the import's own beside the main one, with their rollback
journal in memory and no fsync (copies that can always be made again from the import's
files), deleted as files at the end: no WAL copy of a million staged rows, and no DROP of
big tables (SQLite frees their pages one by one). The journal is what lets a transaction
that wrote plan tables roll back (a dry run, a strict import whose rows failed): without
one, SQLite cannot undo the pages it has already spilled from its cache, and the file is
left torn. It costs little: pages past the file's size when the transaction began (a new
plan table's) are never journaled. The plan tables go in ``<db>.<import>.scratch``, attached to the
import's connection as ``scratch``. The stage tables go in ``<db>.<import>.stage``, written
by ADBC's bulk ingest while the import ingests (``stage_file``; another libsqlite, which
must never have the file open together with the connection: ``store/sqlite_ingest.py``),
then attached as ``stage`` for the plan to read. An interrupted import keeps its files, so
a resumed run finds its staged rows again. SQLite in memory: all in the connection's
database, as on PostgreSQL.

The service owns every transaction. SQLite attaches and detaches a file only outside a
transaction, so the functions that do (``attach_scratch``, ``stage_file``,
``Scratch.detach``) are session operations (``store/session.py``): the runner calls them by
name between its transactions, and they raise ``TransactionOpen`` rather than end one.
The PostgreSQL tables are dropped in the caller's transaction (``Scratch.leftovers`` names
those a run leaves).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from loadbay.store.dialect import dialect_of
from loadbay.store.session import outside_transaction
from loadbay.store.sqlite_ingest import SCHEMA as STAGE
from loadbay.store.sqlite_ingest import StageWriter
from loadbay.store.staging import is_reused, release_tables


@dataclass
class Scratch:
    prefix: str  # "" or "scratch."
    path: Path | None = None  # the SQLite file of the plan tables
    dropped: bool = False  # PostgreSQL: dropped with the import's end (set once committed)
    stage_path: Path | None = None  # the SQLite file of the stage tables

    def drop_with(self, conn: Connection, names: list[str]) -> None:
        """PostgreSQL: drop the tables in the caller's transaction (the one that finishes
        the import: no transaction of their own; the caller sets ``dropped`` once it is
        committed). SQLite: nothing yet (``detach``)."""
        if self.path is None:
            release_tables(conn, names)

    def leftovers(self, stages: list[str], plans: list[str], finished: bool) -> list[str]:
        """The tables of a run that is over, for the caller to drop in a transaction of
        its own (``staging.release_tables``): on PostgreSQL the plans (temporary, built
        again by a run that goes on) in any case, and so do the rows of the stages the
        connection keeps (a run that goes on stages them again): the pooled connection
        outlives the run; the import's own stages once it is finished. None when they
        went with the import's end (``drop_with``), nor on SQLite with a file (its files
        go whole: ``detach``)."""
        if self.path is not None or self.dropped:
            return []
        kept = [name for name in stages if is_reused(name)]
        return stages + plans if finished else kept + plans

    def detach(self, conn: Connection, finished: bool) -> None:
        """SQLite with a file: detach the import's files from ``conn`` (a session
        operation, outside any transaction) and, once the import is finished, delete
        them. ``conn`` may be another connection than the run's (whose was lost): there
        is nothing to detach from it."""
        if self.path is None:
            return
        raw = outside_transaction(conn, "Scratch.detach")
        _detach(raw, "scratch")
        _detach(raw, STAGE)
        if finished:
            self.remove_files()

    def remove_files(self) -> None:
        """SQLite: delete the import's files (detached, or their connection closed)."""
        for path in (self.path, self.stage_path):
            if path is not None:
                path.unlink(missing_ok=True)


def attach_scratch(conn: Connection, import_id: str) -> Scratch:
    """Attach the import's scratch file, new (a run builds its plans again; one that an
    interrupted run left may be torn), and its stage file if an earlier run left one (a
    resumed run plans from the rows staged then). A session operation: outside any
    transaction (SQLite attaches only there), until ``Scratch.detach``."""
    path = _import_file(conn, import_id, "scratch")
    if path is None:
        return Scratch("")
    raw = outside_transaction(conn, "attach_scratch")
    _detach(raw, "scratch")  # left attached by a run that could not detach them
    _detach(raw, STAGE)
    path.unlink(missing_ok=True)
    _attach(raw, path, "scratch")
    stage = _import_file(conn, import_id, "stage")
    if stage is not None and stage.exists():
        _attach(raw, stage, STAGE)
    return Scratch("scratch.", path, stage_path=stage)


@contextmanager
def stage_file(conn: Connection, import_id: str) -> Iterator[StageWriter | None]:
    """SQLite with a database file: the writer of the import's stage file for the block
    (None elsewhere: the stage tables go through ``conn``), and the file attached to
    ``conn`` as ``stage`` once the block is over and the writer closed. A session context
    manager that owns ``conn``'s ``stage`` attachment: enter and leave it outside any
    transaction. A file an interrupted ingest left is detached and removed first (its
    rows are staged again); while the block runs ``conn`` must not open the file
    (``store/sqlite_ingest.py``); a block that raises leaves it closed, not attached."""
    path = _import_file(conn, import_id, "stage")
    if path is None:
        yield None
        return
    _detach(outside_transaction(conn, "stage_file"), STAGE)
    path.unlink(missing_ok=True)
    writer = StageWriter(path)
    try:
        yield writer
    finally:
        writer.close()
    _attach(outside_transaction(conn, "stage_file"), path, STAGE)


def _attach(raw: Any, path: Path, name: str) -> None:
    """Attach ``path`` as ``name``: its rollback journal in memory, no fsync."""
    raw.execute(f"ATTACH DATABASE ? AS {name}", (str(path),))
    raw.execute(f"PRAGMA {name}.journal_mode=MEMORY")
    raw.execute(f"PRAGMA {name}.synchronous=OFF")


def _detach(raw: Any, name: str) -> None:
    if any(row[1] == name for row in raw.execute("PRAGMA database_list")):
        raw.execute(f"DETACH DATABASE {name}")


def _import_file(conn: Connection, import_id: str, kind: str) -> Path | None:
    """``<db file>.<import>.<kind>`` beside a SQLite database file; None elsewhere."""
    safe = "".join(ch for ch in import_id if ch.isalnum() or ch == "_")
    return dialect_of(conn).side_file(conn.engine.url, f".{safe}.{kind}")
