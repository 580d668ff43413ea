"""Insert-if-absent tells a new row from one whose key is taken, on both databases.

On PostgreSQL the driver reports no row count for ``INSERT … ON CONFLICT DO NOTHING``
(-1): a claim that trusted it took every lease and every idempotency key twice.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from loadbay.service.context import Context
from loadbay.service.leases import open_leases
from loadbay.store import system
from loadbay.store.keyed import insert_if_absent

NOW = datetime(2026, 12, 3)


def test_the_second_insert_of_a_key_is_refused(ctx: Context) -> None:
    with ctx.engine.begin() as conn:
        first = insert_if_absent(conn, system.tenants, {"id": "acme", "created_at": NOW})
        second = insert_if_absent(conn, system.tenants, {"id": "acme", "created_at": NOW})
        count = conn.execute(
            sa.select(sa.func.count()).where(system.tenants.c.id == "acme")
        ).scalar_one()
    assert (first, second, count) == (True, False, 1)


def test_a_held_lease_is_not_taken_by_another_worker(ctx: Context) -> None:
    leases = open_leases(ctx.settings)
    try:
        held = leases.acquire("imp_1", ctx.tenant, "worker-a")
        other = leases.acquire("imp_1", ctx.tenant, "worker-b")
        stored = leases.get("imp_1")
    finally:
        leases.close()
    assert held is not None and held["locked_by"] == "worker-a"
    assert other is None
    assert stored is not None and stored["locked_by"] == "worker-a"
