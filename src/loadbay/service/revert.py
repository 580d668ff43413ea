"""Use case: revert a finished import."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from loadbay.errors import InvalidState, RevertConflict
from loadbay.service import states
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


def revert_import(
    ctx: Context, import_id: str, force: bool = False, tenant: str | None = None
) -> dict[str, Any]:
    """Undo an import. Conflicts refuse the revert (nothing changes) unless ``force``.

    The import shows ``reverting`` while it is undone; a refused or failed revert puts it
    back in the state it had, with its data untouched (one transaction)."""
    tenant = tenant or ctx.tenant
    with ctx.engine.connect() as conn:
        record, before = _start_reverting(conn, tenant, import_id)
        try:
            tables = ctx.catalog.dependency_order(record["tables"] or [])
            with table_locks(conn, tenant, tables), conn.begin():
                stamp = stamp_value(conn, record["write_stamp"])
                conflicts = _conflicts(ctx, conn, tables, import_id, tenant, stamp)
                if conflicts and not force:
                    raise RevertConflict(
                        f"{len(conflicts)} rows were changed after import {import_id}; nothing "
                        "was reverted (use force to overwrite them)",
                        conflicts=[c.as_dict() for c in conflicts],
                    )
                totals = _undo(ctx, conn, tables, import_id, tenant, force)
                if not imports_sql.set_state_if(
                    conn,
                    tenant,
                    import_id,
                    [states.REVERTING],
                    states.REVERTED,
                    reverted_at=imports_sql.now(),
                ):
                    raise InvalidState(f"import {import_id} changed state while reverting")
        except BaseException:
            if conn.in_transaction():
                conn.rollback()
            with conn.begin():
                imports_sql.set_state_if(conn, tenant, import_id, [states.REVERTING], before)
            raise
    return {
        "import": imports_sql_view(ctx, import_id, tenant),
        "reverted": totals,
        "conflicts": [c.as_dict() for c in conflicts],
    }


def _start_reverting(conn: Connection, tenant: str, import_id: str) -> tuple[dict[str, Any], str]:
    """Move the import to ``reverting`` (compare-and-set); return it and its state before."""
    with conn.begin():
        record = imports_sql.get_import(conn, tenant, import_id)
        _check_state(record)
        before = record["state"]
        if not imports_sql.set_state_if(conn, tenant, import_id, [before], states.REVERTING):
            raise InvalidState(f"import {import_id} changed state meanwhile")
    return record, before


def _conflicts(
    ctx: Context,
    conn: Connection,
    tables: list[str],
    import_id: str,
    tenant: str,
    stamp: object,
) -> list[RevertConflictRow]:
    found: list[RevertConflictRow] = []
    for name in tables:
        found += find_conflicts(
            conn, ctx.catalog, ctx.catalog.get(name), import_id, tenant, stamp, set(tables)
        )
    return found


def _undo(
    ctx: Context, conn: Connection, tables: list[str], import_id: str, tenant: str, force: bool
) -> dict[str, int]:
    totals = {"deleted": 0, "restored": 0, "reinserted": 0}
    for name in reversed(tables):
        table = ctx.catalog.get(name)
        if force:
            null_references(conn, ctx.catalog, table, import_id, tenant)
            drop_conflicting(conn, table, import_id, tenant)
        for k, v in apply_revert(conn, table, import_id, tenant).items():
            totals[k] += v
    return totals


def imports_sql_view(ctx: Context, import_id: str, tenant: str) -> dict[str, Any]:
    with ctx.engine.begin() as conn:
        return imports_sql.get_import(conn, tenant, import_id)


def _check_state(record: dict[str, Any]) -> None:
    """The states that may be reverted are states.py's; and the import must have written."""
    states.check_move(record["id"], record["state"], states.REVERTED)
    if not record["write_stamp"]:
        raise InvalidState(f"import {record['id']} wrote no rows: there is nothing to revert")
