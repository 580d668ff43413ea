"""Named queries on idempotency keys: a key claimed by the request that runs it, then the
first response to it, kept for a while."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loadbay.store import system
from loadbay.store.keyed import insert_if_absent

#: the status of a key claimed by a request that has not answered yet
IN_FLIGHT = 0


def _this(tenant: str, endpoint: str, key: str) -> tuple[sa.ColumnElement[bool], ...]:
    k = system.idempotency_keys
    return k.c.tenant_id == tenant, k.c.endpoint == endpoint, k.c.key == key


def find_key(
    conn: Connection, tenant: str, endpoint: str, key: str, since: datetime
) -> dict[str, Any] | None:
    k = system.idempotency_keys
    row = (
        conn.execute(sa.select(k).where(*_this(tenant, endpoint, key), k.c.created_at >= since))
        .mappings()
        .one_or_none()
    )
    return None if row is None else dict(row)


def claim_key(conn: Connection, values: dict[str, Any]) -> bool:
    """Claim a key (in flight); False when another request holds it already."""
    return insert_if_absent(conn, system.idempotency_keys, {**values, "status": IN_FLIGHT})


def finish_key(
    conn: Connection, tenant: str, endpoint: str, key: str, status: int, body: dict[str, Any]
) -> None:
    """Keep the response of the request that claimed the key."""
    k = system.idempotency_keys
    conn.execute(sa.update(k).where(*_this(tenant, endpoint, key)).values(status=status, body=body))


def release_key(conn: Connection, tenant: str, endpoint: str, key: str) -> None:
    """Give up a claim whose request failed: the key is free again."""
    k = system.idempotency_keys
    conn.execute(sa.delete(k).where(*_this(tenant, endpoint, key), k.c.status == IN_FLIGHT))


def delete_expired(conn: Connection, before: datetime, abandoned_before: datetime) -> None:
    """Forget the responses kept since before ``before``, and the claims left in flight
    since before ``abandoned_before`` (their process died)."""
    k = system.idempotency_keys
    old = k.c.created_at < before
    abandoned = sa.and_(k.c.status == IN_FLIGHT, k.c.created_at < abandoned_before)
    conn.execute(sa.delete(k).where(sa.or_(old, abandoned)))
