"""An older database gains the columns a newer loadbay needs, data kept."""

from __future__ import annotations

import sqlalchemy as sa

from loadbay.store.engine import make_engine
from loadbay.store.system import create_system_tables


def test_missing_system_columns_are_added(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            create_system_tables(conn)
            conn.exec_driver_sql("ALTER TABLE loadbay_imports DROP COLUMN warnings")
        with engine.begin() as conn:
            create_system_tables(conn)
            names = {c["name"] for c in sa.inspect(conn).get_columns("loadbay_imports")}
        assert "warnings" in names
    finally:
        engine.dispose()
