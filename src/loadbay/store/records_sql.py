"""Reading a data table's rows, references shown by their natural key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from loadbay.schema.model import Catalog, Column, ColumnType, Table
from loadbay.store.dialect import q


def iter_records(
    conn: Connection,
    catalog: Catalog,
    table: Table,
    tenant: str,
    batch: int = 10_000,
    filters: dict[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every row of ``table`` for ``tenant`` in id order, values as plain JSON-able values."""
    cols = ["t.id"]
    joins = []
    for n, col in enumerate(table.columns):
        if col.references is None:
            cols.append(f"t.{q(col.name)}")
        else:
            alias = f"r{n}"
            joins.append(
                f"LEFT JOIN {q(col.references.table)} {alias} ON {alias}.id = t.{q(col.name)}"
            )
            cols.append(f"{alias}.{q(col.references.column)}")
    where = "t.tenant_id = :tenant"
    params: dict[str, Any] = {"tenant": tenant}
    for n, (name, value) in enumerate((filters or {}).items()):
        table.column(name)
        where += f" AND t.{q(name)} = :f{n}"
        params[f"f{n}"] = value
    sql = (
        f"SELECT {', '.join(cols)} FROM {q(table.name)} t {' '.join(joins)} "
        f"WHERE {where} ORDER BY t.id"
    )
    result = conn.execute(text(sql), params, execution_options={"yield_per": batch})
    for row in result:
        record: dict[str, Any] = {"id": row[0]}
        for col, value in zip(table.columns, row[1:], strict=True):
            record[col.name] = plain_value(_value_col(catalog, col), value)
        yield record


def _value_col(catalog: Catalog, col: Column) -> Column:
    if col.references is None:
        return col
    return catalog.get(col.references.table).column(col.references.column)


def plain_value(col: Column, value: Any) -> Any:
    """One stored value as the same text or number on PostgreSQL and SQLite."""
    if value is None:
        return None
    kind = col.type
    if kind is ColumnType.BOOLEAN:
        return bool(value)
    if kind is ColumnType.INTEGER:
        return int(value)
    if kind is ColumnType.DECIMAL:
        return str(Decimal(str(value)).quantize(Decimal(1).scaleb(-col.scale)))
    if kind is ColumnType.DATE:
        return value.isoformat() if isinstance(value, date) else str(value)[:10]
    if kind is ColumnType.DATETIME:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return moment.isoformat(sep="T", timespec="auto")
    return value
