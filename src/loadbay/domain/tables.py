"""Tables as loadbay shows them, and the tables a tenant defines as they are stored.

``TableInfo`` (with its ``ColumnInfo``) is what a table is to a client: built once from
the catalog's ``schema.model.Table`` (``TableInfo.of``), passed through the service
(``service/tables``, ``service/pages.table_info``) and rendered by the API, the command
line and the web pages with ``table_view``, the one JSON form of a table.

``CustomTable`` is a row of ``loadbay_custom_tables``: one table a tenant defined, its
definition as a schema file writes it; built once in ``store/tables_sql``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from loadbay.schema.model import Column, ColumnType, Table


@dataclass(frozen=True)
class ColumnInfo:
    """A column: its type and rules (``min``/``max`` as decimal texts; ``precision`` and
    ``scale`` only for a decimal; ``references`` as ``table.column``)."""

    name: str
    type: str
    required: bool
    unique: bool
    default: str | None
    enum: tuple[str, ...] | None
    min: str | None
    max: str | None
    max_length: int | None
    precision: int | None
    scale: int | None
    references: str | None
    format: str | None
    description: str | None

    @classmethod
    def of(cls, column: Column) -> ColumnInfo:
        decimal = column.type is ColumnType.DECIMAL
        ref = column.references
        return cls(
            name=column.name,
            type=column.type.value,
            required=column.required,
            unique=column.unique,
            default=column.default,
            enum=tuple(column.enum) or None,
            min=None if column.min is None else str(column.min),
            max=None if column.max is None else str(column.max),
            max_length=column.max_length,
            precision=column.precision if decimal else None,
            scale=column.scale if decimal else None,
            references=f"{ref.table}.{ref.column}" if ref else None,
            format=column.format,
            description=column.description or None,
        )


@dataclass(frozen=True)
class TableInfo:
    """A table a tenant sees: built in, the schema file's, or its own."""

    name: str
    key: tuple[str, ...]
    description: str | None
    columns: tuple[ColumnInfo, ...]
    checks: tuple[str, ...]

    @classmethod
    def of(cls, table: Table) -> TableInfo:
        return cls(
            name=table.name,
            key=tuple(table.key),
            description=table.description,
            columns=tuple(ColumnInfo.of(c) for c in table.columns),
            checks=tuple(f"{k.left} {k.op} {k.right}" for k in table.checks),
        )


def column_view(column: ColumnInfo) -> dict[str, object]:
    return {
        "name": column.name,
        "type": column.type,
        "required": column.required,
        "unique": column.unique,
        "default": column.default,
        "enum": None if column.enum is None else list(column.enum),
        "min": column.min,
        "max": column.max,
        "max_length": column.max_length,
        "precision": column.precision,
        "scale": column.scale,
        "references": column.references,
        "format": column.format,
        "description": column.description,
    }


def table_view(info: TableInfo) -> dict[str, object]:
    """The table as the API answers it (``api.schemas.TableInfo``)."""
    return {
        "name": info.name,
        "key": list(info.key),
        "description": info.description,
        "columns": [column_view(c) for c in info.columns],
        "checks": list(info.checks),
    }


@dataclass(frozen=True)
class CustomTable:
    """A table a tenant defined (a row of ``loadbay_custom_tables``); ``definition`` as a
    schema file writes the table (``schema.loader.table_spec``). Times are naive UTC."""

    name: str
    tenant_id: str
    definition: Mapping[str, object]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> CustomTable:
        definition = row["definition"]
        if not isinstance(definition, Mapping):
            raise TypeError(f"a table's definition is a JSON object, not {definition!r}")
        created, updated = row["created_at"], row["updated_at"]
        if not isinstance(created, datetime) or not isinstance(updated, datetime):
            raise TypeError(f"the times of table {row['name']!r} are not datetimes")
        return cls(
            name=str(row["name"]),
            tenant_id=str(row["tenant_id"]),
            definition={str(k): v for k, v in definition.items()},
            created_at=created,
            updated_at=updated,
        )
