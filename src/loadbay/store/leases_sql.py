"""Named queries on worker leases: who runs an import, until when, and cancel requests.

A lease is renewed by its worker while it lives. On PostgreSQL the lease table is in the
database itself; on SQLite it is in a database file of its own beside the main one, so a
heartbeat never waits behind an import's long write transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import Connection, make_url

from loadbay.store import system
from loadbay.store.engine import dialect_for_url, make_engine, normalise_url
from loadbay.store.keyed import insert_if_absent

L = system.leases
# the statements a run sends, built once (building one costs SQLAlchemy ~0.1 ms)
_GET = sa.select(L).where(L.c.import_id == sa.bindparam("w_id"))
_MINE = (L.c.import_id == sa.bindparam("w_id"), L.c.locked_by == sa.bindparam("w_by"))
_RENEW = sa.update(L).where(*_MINE).values(lease_until=sa.bindparam("until"))
_RELEASE = sa.delete(L).where(*_MINE)


def make_lease_engine(database_url: str) -> Engine:
    """The engine that holds the lease table (the service creates the table if missing:
    ``migrations.ensure_lease_table`` in a transaction of its own)."""
    url = make_url(normalise_url(database_url))
    path = dialect_for_url(database_url).side_file(url, ".leases")
    if path is not None:
        engine = make_engine(url.set(database=str(path)).render_as_string(hide_password=False))
    else:
        engine = make_engine(database_url)
    return engine


def acquire(
    conn: Connection, import_id: str, tenant: str, worker: str, now: datetime, until: datetime
) -> dict[str, Any] | None:
    """Take the lease when nobody holds it or its holder stopped renewing it; the lease
    taken, or None."""
    values = {
        "import_id": import_id,
        "tenant_id": tenant,
        "locked_by": worker,
        "lease_until": until,
        "attempts": 1,
        "cancel_requested": False,
        "last_error": None,
    }
    if insert_if_absent(conn, L, values):
        return values
    taken = conn.execute(
        sa.update(L)
        .where(L.c.import_id == import_id, sa.or_(L.c.locked_by.is_(None), L.c.lease_until < now))
        .values(locked_by=worker, lease_until=until, attempts=L.c.attempts + 1)
    )
    return get_lease(conn, import_id) if taken.rowcount else None


def renew(conn: Connection, import_id: str, worker: str, until: datetime) -> dict[str, Any] | None:
    """Extend a lease still held by ``worker``; None when it was lost."""
    done = conn.execute(_RENEW, {"w_id": import_id, "w_by": worker, "until": until})
    if not done.rowcount:
        return None
    return get_lease(conn, import_id)


def get_lease(conn: Connection, import_id: str) -> dict[str, Any] | None:
    row = conn.execute(_GET, {"w_id": import_id}).mappings().one_or_none()
    return None if row is None else dict(row)


def release(conn: Connection, import_id: str, worker: str) -> None:
    conn.execute(_RELEASE, {"w_id": import_id, "w_by": worker})


def delete_lease(conn: Connection, import_id: str) -> None:
    conn.execute(sa.delete(L).where(L.c.import_id == import_id))


def expired(conn: Connection, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(L).where(L.c.lease_until < now).order_by(L.c.lease_until).limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def free_expired(conn: Connection, import_id: str, now: datetime, until: datetime) -> bool:
    """Free an expired lease for the next worker (one reaper wins); True if this one did."""
    done = conn.execute(
        sa.update(L)
        .where(L.c.import_id == import_id, L.c.lease_until < now)
        .values(locked_by=None, lease_until=until)
    )
    return bool(done.rowcount)


def request_cancel(conn: Connection, import_id: str) -> bool:
    done = conn.execute(
        sa.update(L).where(L.c.import_id == import_id).values(cancel_requested=True)
    )
    return bool(done.rowcount)


def _held_by(prefix: str) -> sa.ColumnElement[bool]:
    return L.c.locked_by.startswith(prefix, autoescape=True)


def expire_held(conn: Connection, prefix: str, now: datetime, reason: str) -> int:
    """Expire at once the leases of a worker process that died (``prefix``: its name up to
    the thread), noting why; how many."""
    done = conn.execute(
        sa.update(L)
        .where(_held_by(prefix))
        .values(lease_until=now - timedelta(seconds=1), last_error=reason)
    )
    return int(done.rowcount)


def hand_back(conn: Connection, prefix: str, now: datetime) -> int:
    """Give back the leases of a worker process that stops when asked to: free at once for
    the next worker, and this attempt not counted; how many."""
    done = conn.execute(
        sa.update(L)
        .where(_held_by(prefix))
        .values(
            locked_by=None,
            lease_until=now - timedelta(seconds=1),
            attempts=sa.case((L.c.attempts > 0, L.c.attempts - 1), else_=0),
        )
    )
    return int(done.rowcount)
