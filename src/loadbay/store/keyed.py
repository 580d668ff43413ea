"""Insert a row unless its primary key is taken: ``ON CONFLICT DO NOTHING`` in both dialects."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def insert_if_absent(conn: Connection, table: sa.Table, values: dict[str, Any]) -> bool:
    """Insert ``values``; False (and nothing changed) when a row with that key exists.

    Told by the key the insert returns, not by its row count: psycopg reports -1 for
    ``ON CONFLICT DO NOTHING``, which counted every conflict as an insert."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    key = list(table.primary_key.columns)
    stmt = dialect.insert(table).values(**values).on_conflict_do_nothing().returning(*key)
    return conn.execute(stmt).first() is not None
