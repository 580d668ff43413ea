"""Named queries on idempotency keys: the first response to a key, kept for a while."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loadbay.store import system
from loadbay.store.keyed import insert_if_absent


def find_key(
    conn: Connection, tenant: str, endpoint: str, key: str, since: datetime
) -> dict[str, Any] | None:
    k = system.idempotency_keys
    row = (
        conn.execute(
            sa.select(k).where(
                k.c.tenant_id == tenant,
                k.c.endpoint == endpoint,
                k.c.key == key,
                k.c.created_at >= since,
            )
        )
        .mappings()
        .one_or_none()
    )
    return None if row is None else dict(row)


def save_key(conn: Connection, values: dict[str, Any]) -> bool:
    """Keep a first response; False when another request saved this key first."""
    return insert_if_absent(conn, system.idempotency_keys, values)


def delete_expired(conn: Connection, before: datetime) -> None:
    k = system.idempotency_keys
    conn.execute(sa.delete(k).where(k.c.created_at < before))
