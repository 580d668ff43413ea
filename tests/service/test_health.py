"""Start-up warnings about the database's setup."""

from __future__ import annotations

from loadbay.service.context import Context
from loadbay.service.health import database_warnings


def test_a_postgres_server_without_autovacuum_is_warned_about(ctx: Context) -> None:
    warnings = database_warnings(ctx)
    if ctx.engine.dialect.name != "postgresql":
        assert warnings == []
        return
    with ctx.engine.connect() as conn:
        off = conn.exec_driver_sql("SHOW autovacuum").scalar_one() == "off"
    assert len(warnings) == off
    assert all("autovacuum off" in w and "VACUUM pg_catalog" in w for w in warnings)
