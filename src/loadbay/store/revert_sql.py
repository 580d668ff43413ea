"""Reverting an import from its change log, set-based.

Rows the import created are deleted; rows it updated get their before-image back; rows
it deleted are inserted again with their old id. A row written since by anything else
(its ``loadbay_updated_at`` is no longer the import's write stamp, it is gone, or its key is
taken again) is a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.engine import Connection

from loadbay.schema.model import Catalog, Table
from loadbay.store import system
from loadbay.store.columns import ACTION, CREATED, DATA_COLUMNS, ID, IMPORT, TENANT, UPDATED
from loadbay.store.data import changes_table
from loadbay.store.dialect import q, text_literal
from loadbay.store.system import IMPORT_NUMBER_SQL


@dataclass(frozen=True)
class RevertConflictRow:
    table: str
    id: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "id": self.id, "reason": self.reason}


def _created(alias: str = "r") -> str:
    return (
        f"SELECT {alias}.record_id FROM loadbay_results {alias} "
        f"WHERE {alias}.import_number = {IMPORT_NUMBER_SQL} "
        f"AND {alias}.table_name = :tname AND {alias}.outcome = 'created'"
    )


def find_conflicts(
    conn: Connection,
    catalog: Catalog,
    table: Table,
    import_id: str,
    tenant: str,
    stamp: object,
    reverted_tables: set[str],
) -> list[RevertConflictRow]:
    t, c = q(table.name), q(changes_table(table.name))
    params = {"imp": import_id, "tname": table.name, "tenant": tenant, "stamp": stamp}
    found: list[RevertConflictRow] = []
    queries = [
        (
            f"SELECT t.{ID} FROM {t} t WHERE t.{TENANT} = :tenant AND t.{ID} IN ({_created()}) "
            f"AND t.{UPDATED} <> :stamp",
            "created by the import, changed since",
        ),
        (
            f"SELECT c.{ID} FROM {c} c LEFT JOIN {t} t ON t.{ID} = c.{ID} WHERE c.{IMPORT} = :imp "
            f"AND c.{ACTION} = 'update' AND (t.{ID} IS NULL OR t.{UPDATED} <> :stamp)",
            "updated by the import, changed or deleted since",
        ),
    ]
    if table.key:
        on = " AND ".join(f"t.{q(k)} = c.{q(k)}" for k in table.key)
        queries.append(
            (
                f"SELECT c.{ID} FROM {c} c JOIN {t} t ON t.{TENANT} = c.{TENANT} AND ({on} "
                f"OR t.{ID} = c.{ID}) WHERE c.{IMPORT} = :imp AND c.{ACTION} = 'delete'",
                "deleted by the import, its key is used again since",
            )
        )
    for sql, reason in queries:
        found += [
            RevertConflictRow(table.name, int(row[0]), reason)
            for row in conn.execute(text(sql), params)
        ]
    found += _referenced(conn, catalog, table, params, reverted_tables)
    return found


def _referenced(
    conn: Connection,
    catalog: Catalog,
    table: Table,
    params: dict[str, Any],
    reverted_tables: set[str],
) -> list[RevertConflictRow]:
    """Rows created by the import that other rows (not being reverted) now point at."""
    found: list[RevertConflictRow] = []
    for other in catalog:
        for col in other.references:
            assert col.references is not None
            if col.references.table != table.name:
                continue
            spared = ""
            if other.name in reverted_tables:
                spared = (
                    f" AND o.{ID} NOT IN (SELECT r2.record_id FROM loadbay_results r2 WHERE "
                    f"r2.import_number = {IMPORT_NUMBER_SQL} "
                    f"AND r2.table_name = {text_literal(other.name)} AND r2.outcome = 'created')"
                )
            sql = (
                f"SELECT DISTINCT o.{q(col.name)} FROM {q(other.name)} o WHERE o.{TENANT} = "
                f":tenant AND o.{q(col.name)} IN ({_created()}){spared}"
            )
            found += [
                RevertConflictRow(
                    table.name,
                    int(row[0]),
                    f"created by the import, referenced since by {other.name}.{col.name}",
                )
                for row in conn.execute(text(sql), params)
            ]
    return found


def apply_revert(conn: Connection, table: Table, import_id: str, tenant: str) -> dict[str, int]:
    """Undo the import on ``table``."""
    t, c = q(table.name), q(changes_table(table.name))
    params = {"imp": import_id, "tname": table.name, "tenant": tenant}
    cols = [col.name for col in table.columns]
    names = ", ".join(q(n) for n in cols)
    bookkeeping = ", ".join(DATA_COLUMNS)
    deleted = conn.execute(
        text(f"DELETE FROM {t} WHERE {TENANT} = :tenant AND {ID} IN ({_created()})"), params
    ).rowcount
    sets = ", ".join(f"{q(n)} = c.{q(n)}" for n in [*cols, CREATED, UPDATED])
    restored = conn.execute(
        text(
            f"UPDATE {t} AS t SET {sets} FROM {c} c WHERE c.{IMPORT} = :imp AND "
            f"c.{ACTION} = 'update' AND t.{ID} = c.{ID} AND t.{TENANT} = :tenant"
        ),
        params,
    ).rowcount
    reinserted = conn.execute(
        text(
            f"INSERT INTO {t} ({bookkeeping}, {names}) SELECT {bookkeeping}, {names} FROM {c} "
            f"WHERE {IMPORT} = :imp AND {ACTION} = 'delete'"
        ),
        params,
    ).rowcount
    return {"deleted": deleted, "restored": restored, "reinserted": reinserted}


def drop_conflicting(conn: Connection, table: Table, import_id: str, tenant: str) -> None:
    """With force: make room for re-inserted rows whose key was taken again since."""
    if not table.key:
        return
    t, c = q(table.name), q(changes_table(table.name))
    on = " AND ".join(f"t.{q(k)} = c.{q(k)}" for k in table.key)
    conn.execute(
        text(
            f"DELETE FROM {t} WHERE {ID} IN (SELECT t.{ID} FROM {t} t JOIN {c} c ON "
            f"t.{TENANT} = c.{TENANT} AND ({on} OR t.{ID} = c.{ID}) "
            f"WHERE c.{IMPORT} = :imp AND c.{ACTION} = 'delete') AND {TENANT} = :tenant"
        ),
        {"imp": import_id, "tenant": tenant},
    )


def null_references(
    conn: Connection, catalog: Catalog, table: Table, import_id: str, tenant: str
) -> None:
    """With force: rows pointing at rows the revert deletes lose that reference."""
    for other in catalog:
        for col in other.references:
            assert col.references is not None
            if col.references.table == table.name:
                conn.execute(
                    text(
                        f"UPDATE {q(other.name)} SET {q(col.name)} = NULL "
                        f"WHERE {TENANT} = :tenant AND {q(col.name)} IN ({_created()})"
                    ),
                    {"imp": import_id, "tname": table.name, "tenant": tenant},
                )


def reverting_imports(conn: Connection) -> list[tuple[str, str, list[str]]]:
    """(tenant, id, tables) of every import of every tenant in state ``reverting``."""
    i = system.imports
    query = sa.select(i.c.tenant_id, i.c.id, i.c.tables).where(i.c.state == "reverting")
    return [(str(t), str(n), list(tables or [])) for t, n, tables in conn.execute(query)]
