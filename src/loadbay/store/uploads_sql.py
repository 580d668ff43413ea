"""Named queries on uploads; every one is scoped to a tenant."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loadbay.errors import NotFound
from loadbay.store import system

#: built once: the values are the parameters
_INSERT_UPLOAD = sa.insert(system.uploads)


def insert_upload(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(_INSERT_UPLOAD, system.known_values(system.uploads, values))


def get_upload(conn: Connection, tenant: str, upload_id: str) -> dict[str, Any]:
    u = system.uploads
    row = (
        conn.execute(sa.select(u).where(u.c.id == upload_id, u.c.tenant_id == tenant))
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFound(f"no upload {upload_id!r}")
    return dict(row)
