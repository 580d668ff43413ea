"""Use case: revert a finished import."""

from __future__ import annotations

from typing import Any

from loadbay.errors import InvalidState, RevertConflict
from loadbay.service.context import Context
from loadbay.service.runner import stamp_value
from loadbay.store import imports_sql
from loadbay.store.locks import table_locks
from loadbay.store.revert_sql import (
    RevertConflictRow,
    apply_revert,
    drop_conflicting,
    find_conflicts,
    null_references,
)

REVERTIBLE = ("succeeded", "partially_succeeded", "cancelled")


def revert_import(
    ctx: Context, import_id: str, force: bool = False, tenant: str | None = None
) -> dict[str, Any]:
    """Undo an import. Conflicts refuse the revert (nothing changes) unless ``force``."""
    tenant = tenant or ctx.tenant
    with ctx.engine.connect() as conn:
        with conn.begin():
            record = imports_sql.get_import(conn, tenant, import_id)
        _check_state(record)
        tables = ctx.catalog.dependency_order(record["tables"] or [])
        with table_locks(conn, tenant, tables), conn.begin():
            record = imports_sql.get_import(conn, tenant, import_id)
            _check_state(record)
            stamp = stamp_value(conn, record["write_stamp"])
            conflicts: list[RevertConflictRow] = []
            for name in tables:
                conflicts += find_conflicts(
                    conn,
                    ctx.catalog,
                    ctx.catalog.get(name),
                    import_id,
                    tenant,
                    stamp,
                    set(tables),
                )
            if conflicts and not force:
                raise RevertConflict(
                    f"{len(conflicts)} rows were changed after import {import_id}; nothing was "
                    "reverted (use force to overwrite them)",
                    conflicts=[c.as_dict() for c in conflicts],
                )
            totals = {"deleted": 0, "restored": 0, "reinserted": 0}
            for name in reversed(tables):
                table = ctx.catalog.get(name)
                if force:
                    null_references(conn, ctx.catalog, table, import_id, tenant)
                    drop_conflicting(conn, table, import_id, tenant)
                for k, v in apply_revert(conn, table, import_id, tenant).items():
                    totals[k] += v
            imports_sql.update_import(
                conn, tenant, import_id, state="reverted", reverted_at=imports_sql.now()
            )
    return {
        "import": imports_sql_view(ctx, import_id, tenant),
        "reverted": totals,
        "conflicts": [c.as_dict() for c in conflicts],
    }


def imports_sql_view(ctx: Context, import_id: str, tenant: str) -> dict[str, Any]:
    with ctx.engine.begin() as conn:
        return imports_sql.get_import(conn, tenant, import_id)


def _check_state(record: dict[str, Any]) -> None:
    state = record["state"]
    if state == "reverted":
        raise InvalidState(f"import {record['id']} was reverted already")
    if state not in REVERTIBLE or not record["write_stamp"]:
        raise InvalidState(
            f"import {record['id']} is {state!r}: only a succeeded or partially succeeded "
            "import (or a cancelled one that wrote rows) can be reverted"
        )
