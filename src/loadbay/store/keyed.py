"""Insert a row unless its primary key is taken: ``ON CONFLICT DO NOTHING`` in both dialects."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def insert_if_absent(conn: Connection, table: sa.Table, values: dict[str, Any]) -> bool:
    """Insert ``values``; False (and nothing changed) when a row with that key exists."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**values).on_conflict_do_nothing()
    return bool(conn.execute(stmt).rowcount)
