"""Where an import keeps its staging and plan tables while it runs.

PostgreSQL: unlogged staging tables in the database itself and temporary plan tables,
dropped at the end (cheap there).
SQLite: a database file of the import's own beside the main one, attached to the import's
connection as ``scratch`` with no journal and no fsync (a copy that can always be made
again from the file), and deleted as a file at the end: no WAL copy of a million staged
rows, and no DROP of big tables (SQLite frees their pages one by one). An interrupted
import keeps its file, so a resumed run finds its staged rows again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from loadbay.store.staging import drop_tables


@dataclass
class Scratch:
    prefix: str  # "" or "scratch."
    path: Path | None = None  # the SQLite file
    dropped: bool = False

    def drop_with(self, conn: Connection, names: list[str]) -> None:
        """PostgreSQL: drop the tables in the caller's transaction (the one that finishes
        the import: no transaction of their own). SQLite: nothing yet (``release``)."""
        if self.path is None:
            drop_tables(conn, names)
            self.dropped = True

    def release(
        self, conn: Connection, stages: list[str], plans: list[str], finished: bool
    ) -> None:
        """Detach (SQLite) and, once the import is finished, remove what it staged. On
        PostgreSQL the plans (temporary, built again by a run that goes on) go in any
        case: the pooled connection outlives the run."""
        if self.path is None:
            names = stages + plans if finished else plans
            if names and not self.dropped:
                with conn.begin():
                    drop_tables(conn, names)
            return
        if conn.in_transaction():
            conn.rollback()
        _raw(conn).execute("DETACH DATABASE scratch")
        if finished:
            self.path.unlink(missing_ok=True)


def attach_scratch(conn: Connection, import_id: str) -> Scratch:
    if conn.dialect.name != "sqlite":
        return Scratch("")
    database = conn.engine.url.database
    if not database or database == ":memory:":
        return Scratch("")
    safe = "".join(ch for ch in import_id if ch.isalnum() or ch == "_")
    path = Path(database).with_name(f"{Path(database).name}.{safe}.scratch")
    if conn.in_transaction():
        conn.rollback()
    raw = _raw(conn)  # outside any transaction: SQLite attaches only there
    raw.execute("ATTACH DATABASE ? AS scratch", (str(path),))
    raw.execute("PRAGMA scratch.journal_mode=OFF")
    raw.execute("PRAGMA scratch.synchronous=OFF")
    return Scratch("scratch.", path)


def _raw(conn: Connection) -> Any:
    raw = conn.connection.dbapi_connection
    assert raw is not None
    return raw
