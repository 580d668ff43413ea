"""Making a database engine: PostgreSQL (psycopg 3) or SQLite, tuned for bulk work."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as exc_module
from sqlalchemy.engine import Connection, make_url

from loadbay.errors import InvalidOption
from loadbay.store.dialect import DIALECTS, Dialect, dialect_of

#: SQLite page cache in KiB. 64 MiB with staging in a scratch file (store/scratch.py) and
#: temporary b-trees in files keeps a 1M-row import under 600 MiB RSS, and five imports in
#: one process within 1.15x of each other (the allocator trap of
#: shared/reference/performance.md; see benchmarks/README.md).
SQLITE_CACHE_KIB = 65_536


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` use psycopg 3."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


#: a PostgreSQL memory size, as ``SET work_mem`` takes it
_MEMORY = re.compile(r"^[1-9][0-9]{0,9}(kB|MB|GB)$")


def make_engine(url: str, pg_work_mem: str | None = None) -> Engine:
    """An engine; on PostgreSQL, every connection with ``work_mem`` = ``pg_work_mem``
    (for the server's default, None)."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    engine = create_engine(url, pool_size=5, max_overflow=5)
    _ping_when_idle(engine)
    if pg_work_mem is not None:
        if not _MEMORY.match(pg_work_mem):
            raise InvalidOption(
                f"LOADBAY_PG_WORK_MEM must be a size such as 64MB, 256MB or 1GB, "
                f"not {pg_work_mem!r}"
            )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            with dbapi_conn.cursor() as cur:
                cur.execute(f"SET work_mem = '{pg_work_mem}'")
            dbapi_conn.commit()

    return engine


#: a pooled PostgreSQL connection idle this long is pinged before it is handed out (the
#: server may have restarted meanwhile); one checked in just now is not. SQLAlchemy's
#: ``pool_pre_ping`` pings at every checkout: a round trip each, and a bulk request checks
#: out half a dozen (~2 ms of ~75 here). A server that restarts under load then fails the
#: request that meets the dead connection, and the pool is invalidated for the next ones.
PING_AFTER_SECONDS = 1.0
_IDLE_SINCE = "loadbay_idle_since"


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_AFTER_SECONDS:
            return  # just connected, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:  # gone: so are the others
            raise exc_module.InvalidatePoolError(str(exc)) from exc


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # let SQLAlchemy's begin() emit BEGIN itself, so DDL is transactional too
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cur.execute("PRAGMA temp_store=FILE")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # writers take the write lock at once, so two writers queue instead of deadlocking;
        # readers (execution option ``reading=True``) begin a plain deferred transaction.
        # The option marks that one transaction only: SQLAlchemy sets options on the
        # connection itself, and a later write that began deferred would be refused at
        # once ('database is locked') when another writer committed meanwhile
        reading = conn.get_execution_options().get("reading", False)
        if reading:
            conn.execution_options(reading=False)
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    return engine


def dialect_for_url(url: str) -> Dialect:
    """The dialect of the database ``url`` names (before any engine is made)."""
    backend = make_url(normalise_url(url)).get_backend_name()
    if backend not in DIALECTS:
        raise InvalidOption(f"loadbay runs on PostgreSQL or SQLite, not {backend!r}")
    return DIALECTS[backend]


def reading(conn: Connection) -> Connection:
    """The same connection, its next transaction marked as read-only work (SQLite: no
    write lock taken; the transactions after it are writers again)."""
    return conn.execution_options(reading=True)


def statements_alone(conn: Connection) -> Connection:
    """The same (new) connection for work whose statements each stand alone (one, or a
    few that need no common snapshot and are each atomic): on PostgreSQL in autocommit,
    so that its ``begin()`` sends neither BEGIN nor COMMIT (for one statement, two round
    trips of three); on SQLite as it is (``begin()`` takes the lock the work needs)."""
    level = dialect_of(conn).lone_statement_isolation
    return conn if level is None else conn.execution_options(isolation_level=level)
