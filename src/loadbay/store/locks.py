"""Table locks: two imports into the same table of the same tenant never interleave.

PostgreSQL: a session advisory lock per (schema, tenant, table) on the import's connection
(advisory locks are database-wide: installs in other schemas of the database must not wait).
SQLite: an exclusive ``flock`` on a file beside the database, per (tenant, table).
Both are released when the holder ends, even when its process dies (or, on PostgreSQL,
when its connection is lost or discarded).

``table_locks`` is a session context manager (``store/session.py``): the locks are held
across the transactions the caller runs in its block, and taken and let go outside any
transaction. It never commits or rolls back the caller's: entered in a transaction it
raises ``TransactionOpen``; a block that ends with a transaction still open (a bug) costs
the connection its session (invalidated: the locks end with it) and raises it too.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loadbay.store import system
from loadbay.store.dialect import dialect_of
from loadbay.store.session import TransactionOpen, outside_transaction


def lock_key(namespace: str, tenant: str, table: str) -> int:
    name = f"loadbay:{namespace}:{tenant}:{table}"
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


#: how often a wait bounded by a timeout tries the locks again (seconds)
_POLL = 0.05


@contextmanager
def table_locks(
    conn: Connection,
    tenant: str,
    tables: Sequence[str],
    wait: bool = True,
    timeout: float | None = None,
) -> Iterator[bool]:
    """Hold the locks of ``tables`` (taken in sorted order, so no two imports deadlock).
    Yields whether they are held: always once taken, or, without ``wait``, False at once
    (holding none) when another holds one of them; with a ``timeout`` (seconds), False
    once that long has passed without them all free at once (tried every ``_POLL``).
    Enter and leave it outside a transaction (see the module's docstring)."""
    outside_transaction(conn, "table_locks")
    if timeout is None or not wait:
        with _table_locks(conn, tenant, tables, wait) as held:
            yield held
        return
    deadline = time.monotonic() + timeout
    while True:
        with _table_locks(conn, tenant, tables, wait=False) as held:
            if held or time.monotonic() >= deadline:
                yield held
                return
        time.sleep(min(_POLL, max(0.0, deadline - time.monotonic())))


@contextmanager
def _table_locks(
    conn: Connection, tenant: str, tables: Sequence[str], wait: bool
) -> Iterator[bool]:
    names = sorted(set(tables))
    dialect = dialect_of(conn)
    if dialect.has_advisory_locks:
        schema = _schema(conn)
        with _advisory(conn, [lock_key(schema, tenant, t) for t in names], wait) as held:
            yield held
        return
    folder = dialect.side_file(conn.engine.url, ".locks")
    if folder is None:  # a database in memory: one process
        yield True
        return
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        for name in names:
            path = folder / f"{_safe(tenant)}.{name}.lock"
            if not stack.enter_context(_file_lock(path, wait)):
                stack.close()  # the ones taken go now
                yield False
                return
        yield True


def _safe(text_: str) -> str:
    return hashlib.sha256(text_.encode()).hexdigest()[:16]


def _schema(conn: Connection) -> str:
    """The connection's schema, asked once per connection (its search path is set when it
    connects), outside any transaction like the locks."""
    info = conn.connection.info
    if "loadbay_schema" not in info:
        info["loadbay_schema"] = str(_outside_transaction(conn, ["SELECT current_schema()"])[0])
    return str(info["loadbay_schema"])


@contextmanager
def _advisory(conn: Connection, keys: list[int], wait: bool) -> Iterator[bool]:
    taken = _take(conn, keys, wait)
    if len(taken) < len(keys):
        _unlock(conn, taken)
        yield False
        return
    try:
        yield True
    except BaseException:
        # the connection may be broken, or its transaction left open by the block's
        # error: then its session, and the locks, end with it
        try:
            _unlock(conn, keys)
        except Exception:
            with contextlib.suppress(Exception):
                conn.invalidate()
        raise
    _unlock(conn, keys)


def _take(conn: Connection, keys: list[int], wait: bool) -> list[int]:
    """The keys locked: all of them, or (without ``wait``) those before one that was not
    free."""
    if wait:
        _outside_transaction(conn, [f"SELECT pg_advisory_lock({key})" for key in keys])
        return keys
    taken = []
    for key in keys:
        if not _outside_transaction(conn, [f"SELECT pg_try_advisory_lock({key})"])[0]:
            break
        taken.append(key)
    return taken


def _unlock(conn: Connection, keys: list[int]) -> None:
    if conn.in_transaction():
        # the locks cannot go without ending the block's transaction, which is not theirs
        # to end: the session goes instead (invalidated), and the locks with it
        conn.invalidate()
        raise TransactionOpen("table_locks: its block left a transaction open")
    if keys:
        _outside_transaction(conn, [f"SELECT pg_advisory_unlock({k})" for k in reversed(keys)])


def _outside_transaction(conn: Connection, statements: list[str]) -> list[object]:
    """Statements sent on their own, in autocommit: a session lock needs no transaction,
    and a ``BEGIN`` and a ``COMMIT`` around it would be two round trips more each time.
    The first value each one returns."""
    raw = outside_transaction(conn, "table_locks")
    raw.autocommit = True
    cur = raw.cursor()
    try:
        values = []
        for statement in statements:
            row = cur.execute(statement).fetchone()
            values.append(None if row is None else row[0])
    except BaseException:
        _after_interrupt(conn, raw, cur)
        raise
    cur.close()
    raw.autocommit = False
    return values


def _after_interrupt(conn: Connection, raw: Any, cur: Any) -> None:
    """Put the connection back in transactions after a statement that raised; one that
    cannot be (an interrupt that landed while the statement ran leaves it busy, and the
    driver then refuses the change) is thrown away, its session's locks ending with it.
    Either way the statement's error, not this one, is what the caller sees."""
    try:
        cur.close()
        raw.autocommit = False
    except Exception:
        with contextlib.suppress(Exception):
            conn.invalidate()


@contextmanager
def _file_lock(path: Path, wait: bool) -> Iterator[bool]:
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def lock_holder(
    conn: Connection, tenant: str, tables: Sequence[str], besides: str
) -> dict[str, Any] | None:
    """The import (``id``, ``state``) that most likely holds a lock of ``tables``: the
    first started of the tenant's other imports running or reverting into one of them
    (locks do not say who holds them; imports waiting for them are running too, but
    started later). None when there is none (a revert's lock being released, say)."""
    i = system.imports
    rows = conn.execute(
        sa.select(i.c.id, i.c.state, i.c.tables)
        .where(
            i.c.tenant_id == tenant,
            i.c.state.in_(["running", "reverting"]),
            i.c.id != besides,
        )
        .order_by(i.c.started_at, i.c.id)
    ).mappings()
    wanted = set(tables)
    for row in rows:
        if wanted & set(row["tables"] or []):
            return {"id": row["id"], "state": row["state"]}
    return None
