"""Use case: revert a finished import."""

from __future__ import annotations

import logging
from typing import TypedDict

from sqlalchemy.engine import Connection

from loadbay.domain.imports import Checkpoint, Import, RevertingFrom, State
from loadbay.errors import Abandoned, InvalidState, RevertConflict
from loadbay.service import states
from loadbay.service.auth import CLI, Actor
from loadbay.service.context import Context
from loadbay.service.runner import stamp_value
from loadbay.store import imports_sql, revert_sql
from loadbay.store.engine import reading
from loadbay.store.locks import table_locks
from loadbay.store.revert_sql import (
    RevertConflictRow,
    apply_revert,
    drop_conflicting,
    find_conflicts,
    null_references,
)

log = logging.getLogger("loadbay.revert")

#: what a revert did: the import then, the rows deleted, restored and reinserted, and
#: the conflicts it overwrote (forced)
Reverted = TypedDict(
    "Reverted",
    {"import": Import, "reverted": dict[str, int], "conflicts": list[dict[str, object]]},
)


def revert_import(
    ctx: Context,
    import_id: str,
    force: bool = False,
    tenant: str | None = None,
    actor: Actor = CLI,
) -> Reverted:
    """Undo an import. Conflicts refuse the revert (nothing changes) unless ``force``.

    The import shows ``reverting`` while it is undone, with the locks of its tables held
    (so an import found ``reverting`` by one who holds them is the leftover of a revert
    that died: it is taken over); a refused or failed revert puts it back in the state it
    had, with its data untouched (one transaction)."""
    tenant = tenant or ctx.tenant
    with ctx.engine.connect() as conn:
        with reading(conn).begin():
            found = imports_sql.get_import(conn, tenant, import_id)
        _check_state(found)
        tables = ctx.catalog_for(tenant).dependency_order(list(found.tables))
        with table_locks(conn, tenant, tables):
            record, before = _start_reverting(conn, tenant, import_id)
            try:
                with conn.begin():
                    stamp = stamp_value(conn, str(record.write_stamp))
                    conflicts = _conflicts(ctx, conn, tables, import_id, tenant, stamp)
                    if conflicts and not force:
                        raise RevertConflict(
                            f"{len(conflicts)} rows were changed after import {import_id}; "
                            "nothing was reverted (use force to overwrite them)",
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
                        checkpoint=before.checkpoint,
                        **actor.columns("reverted"),
                    ):
                        raise InvalidState(f"import {import_id} changed state while reverting")
            except Abandoned:
                raise  # left reverting, as a process that dies leaves it (reap_reverts)
            except BaseException:
                if conn.in_transaction():
                    conn.rollback()
                with conn.begin():
                    _put_back(conn, tenant, import_id, before)
                raise
    return {
        "import": imports_sql_view(ctx, import_id, tenant),
        "reverted": totals,
        "conflicts": [c.as_dict() for c in conflicts],
    }


def _start_reverting(conn: Connection, tenant: str, import_id: str) -> tuple[Import, RevertingFrom]:
    """Move the import to ``reverting`` (compare-and-set), keeping its state and checkpoint
    before in its checkpoint; return it and those. Called with its tables' locks held: one
    ``reverting`` already is a dead revert's, taken over."""
    with conn.begin():
        record = imports_sql.get_import(conn, tenant, import_id)
        _check_state(record)
        if record.state == states.REVERTING:
            return record, _before(record)
        before = RevertingFrom(record.state, record.checkpoint)
        moved = imports_sql.set_state_if(
            conn,
            tenant,
            import_id,
            [record.state],
            states.REVERTING,
            checkpoint=Checkpoint(reverting_from=before),
        )
        if not moved:
            raise InvalidState(f"import {import_id} changed state meanwhile")
    return record, before


def _before(record: Import) -> RevertingFrom:
    """The state and checkpoint a ``reverting`` import had before (for one left by an
    older version, which kept nothing: its likeliest state)."""
    kept = record.checkpoint.reverting_from if record.checkpoint else None
    if kept:
        return kept
    state: State = (
        states.FAILED
        if record.error_code
        else states.PARTIALLY_SUCCEEDED
        if record.outcome_counts.failed
        else states.SUCCEEDED
    )
    return RevertingFrom(state, None)


def _put_back(conn: Connection, tenant: str, import_id: str, before: RevertingFrom) -> bool:
    return imports_sql.set_state_if(
        conn,
        tenant,
        import_id,
        [states.REVERTING],
        before.state,
        checkpoint=before.checkpoint,
    )


def reap_reverts(ctx: Context) -> list[str]:
    """Put back the imports left ``reverting`` by a revert that died (its transaction was
    rolled back with it; nobody holds its tables' locks) in the state they had, so they
    can be reverted again. The ids put back."""
    done = []
    with ctx.engine.connect() as conn:
        with reading(conn).begin():
            found = revert_sql.reverting_imports(conn)
        for tenant, import_id, tables in found:
            with table_locks(conn, tenant, tables, wait=False) as held:
                if not held:
                    continue  # a revert is at it
                with conn.begin():
                    record = imports_sql.get_import(conn, tenant, import_id)
                    back = record.state == states.REVERTING and _put_back(
                        conn, tenant, import_id, _before(record)
                    )
            if back:
                log.warning("import %s was left reverting by a revert that died", import_id)
                done.append(import_id)
    return done


def _conflicts(
    ctx: Context,
    conn: Connection,
    tables: list[str],
    import_id: str,
    tenant: str,
    stamp: object,
) -> list[RevertConflictRow]:
    found: list[RevertConflictRow] = []
    catalog = ctx.catalog_for(tenant)
    for name in tables:
        found += find_conflicts(
            conn, catalog, catalog.get(name), import_id, tenant, stamp, set(tables)
        )
    return found


def _undo(
    ctx: Context, conn: Connection, tables: list[str], import_id: str, tenant: str, force: bool
) -> dict[str, int]:
    totals = {"deleted": 0, "restored": 0, "reinserted": 0}
    catalog = ctx.catalog_for(tenant)
    for name in reversed(tables):
        table = catalog.get(name)
        if force:
            null_references(conn, catalog, table, import_id, tenant)
            drop_conflicting(conn, table, import_id, tenant)
        for k, v in apply_revert(conn, table, import_id, tenant).items():
            totals[k] += v
    return totals


def imports_sql_view(ctx: Context, import_id: str, tenant: str) -> Import:
    with ctx.engine.begin() as conn:
        return imports_sql.get_import(conn, tenant, import_id)


def _check_state(record: Import) -> None:
    """The states that may be reverted are states.py's; and the import must have written."""
    states.check_move(record.id, record.state, states.REVERTED)
    if not record.write_stamp:
        raise InvalidState(f"import {record.id} wrote no rows: there is nothing to revert")
