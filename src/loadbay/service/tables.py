"""Use cases of tables: describe them, export their rows."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import IO, Any

from loadbay.schema.model import Table
from loadbay.service.context import Context
from loadbay.store.engine import reading
from loadbay.store.records_sql import iter_records


def describe_table(table: Table) -> dict[str, Any]:
    return {
        "name": table.name,
        "key": list(table.key),
        "description": table.description,
        "columns": [
            {
                "name": c.name,
                "type": c.type.value,
                "required": c.required,
                "unique": c.unique,
                "default": c.default,
                "enum": list(c.enum) or None,
                "min": None if c.min is None else str(c.min),
                "max": None if c.max is None else str(c.max),
                "max_length": c.max_length,
                "precision": c.precision if c.type.value == "decimal" else None,
                "scale": c.scale if c.type.value == "decimal" else None,
                "references": (
                    f"{c.references.table}.{c.references.column}" if c.references else None
                ),
            }
            for c in table.columns
        ],
        "checks": [f"{k.left} {k.op} {k.right}" for k in table.checks],
    }


def list_tables(ctx: Context) -> list[dict[str, Any]]:
    return [describe_table(t) for t in ctx.catalog]


def records(
    ctx: Context,
    table_name: str,
    tenant: str | None = None,
    filters: dict[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    table = ctx.catalog.get(table_name)
    with ctx.engine.connect() as conn, reading(conn).begin():
        yield from iter_records(conn, ctx.catalog, table, tenant or ctx.tenant, filters=filters)


def export_table(
    ctx: Context, table_name: str, out: IO[str], fmt: str = "csv", tenant: str | None = None
) -> int:
    """Write every row so that importing the file again changes nothing; return the count."""
    table = ctx.catalog.get(table_name)
    names = table.column_names
    count = 0
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(names)
        for rec in records(ctx, table_name, tenant):
            writer.writerow([_cell(rec[n]) for n in names])
            count += 1
    else:
        for rec in records(ctx, table_name, tenant):
            out.write(json.dumps({n: rec[n] for n in names}, ensure_ascii=False) + "\n")
            count += 1
    return count


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
