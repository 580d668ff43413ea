"""Insert a row unless its primary key is taken: the dialect's ``ON CONFLICT DO NOTHING``."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loadbay.store.dialect import Dialect, dialect_of
from loadbay.store.system import known_values


def insert_if_absent(conn: Connection, table: sa.Table, values: dict[str, Any]) -> bool:
    """Insert ``values``; False (and nothing changed) when a row with that key exists.

    Told by the key the insert returns, not by its row count: psycopg reports -1 for
    ``ON CONFLICT DO NOTHING``, which counted every conflict as an insert."""
    stmt = _statement(dialect_of(conn), table)
    return conn.execute(stmt, known_values(table, values)).first() is not None


@lru_cache(maxsize=64)
def _statement(dialect: Dialect, table: sa.Table) -> sa.Insert:
    """The statement, built once: its values are the parameters of each call."""
    return dialect.insert_unless_taken(table)
