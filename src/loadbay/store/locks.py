"""Table locks: two imports into the same table of the same tenant never interleave.

PostgreSQL: a session advisory lock per (schema, tenant, table) on the import's connection
(advisory locks are database-wide: installs in other schemas of the database must not wait).
SQLite: an exclusive ``flock`` on a file beside the database, per (tenant, table).
Both are released when the holder ends, even when its process dies.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection


def lock_key(namespace: str, tenant: str, table: str) -> int:
    name = f"loadbay:{namespace}:{tenant}:{table}"
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def table_locks(conn: Connection, tenant: str, tables: Sequence[str]) -> Iterator[None]:
    """Hold the locks of ``tables`` (taken in sorted order, so no two imports deadlock)."""
    names = sorted(set(tables))
    if conn.dialect.name == "postgresql":
        schema = _schema(conn)
        with _advisory(conn, [lock_key(schema, tenant, t) for t in names]):
            yield
        return
    database = conn.engine.url.database
    if not database or database == ":memory:":
        yield
        return
    folder = Path(database).with_name(Path(database).name + ".locks")
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        for name in names:
            stack.enter_context(_file_lock(folder / f"{_safe(tenant)}.{name}.lock"))
        yield


def _safe(text_: str) -> str:
    return hashlib.sha256(text_.encode()).hexdigest()[:16]


def _schema(conn: Connection) -> str:
    """The connection's schema, asked once per connection (its search path is set when it
    connects)."""
    info = conn.connection.info
    if "loadbay_schema" not in info:
        info["loadbay_schema"] = str(conn.execute(text("SELECT current_schema()")).scalar_one())
        conn.commit()
    return str(info["loadbay_schema"])


@contextmanager
def _advisory(conn: Connection, keys: list[int]) -> Iterator[None]:
    if conn.in_transaction():
        conn.commit()
    _outside_transaction(conn, [f"SELECT pg_advisory_lock({key})" for key in keys])
    try:
        yield
    finally:
        if conn.in_transaction():
            conn.rollback()
        _outside_transaction(conn, [f"SELECT pg_advisory_unlock({k})" for k in reversed(keys)])


def _outside_transaction(conn: Connection, statements: list[str]) -> None:
    """Statements sent on their own, in autocommit: a session lock needs no transaction,
    and a ``BEGIN`` and a ``COMMIT`` around it would be two round trips more each time."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    raw.autocommit = True
    cur = raw.cursor()
    try:
        for statement in statements:
            cur.execute(statement)
    finally:
        cur.close()
        raw.autocommit = False


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
