"""Named queries on uploads; every one is scoped to a tenant."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loadbay.store import system

#: built once: the values are the parameters
_INSERT_UPLOAD = sa.insert(system.uploads)


def insert_upload(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(_INSERT_UPLOAD, system.known_values(system.uploads, values))


def get_upload(conn: Connection, tenant: str, upload_id: str) -> dict[str, Any]:
    return system.tenant_row(conn, system.uploads, tenant, upload_id, "upload")
