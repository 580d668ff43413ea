"""Reading a data table's rows — all of them streamed, a page at a time (keyset on id), or
by id — with references shown, and filtered, by their natural key (a person's ``company``
is the company's name), and every value as the same plain value on both databases."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from loadbay.errors import InvalidOption, UnknownExpand
from loadbay.schema.model import BOOLEAN_WORDS, Catalog, Column, ColumnType, Table
from loadbay.store.columns import ID, TENANT
from loadbay.store.dialect import dialect_of, q
from loadbay.times import iso_z, utc_naive

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _value_column(catalog: Catalog, col: Column) -> Column:
    if col.references is None:
        return col
    return catalog.get(col.references.table).column(col.references.column)


def expansions(table: Table, names: Sequence[str]) -> tuple[Column, ...]:
    """The reference columns of ``table`` that ``names`` ask to expand (``?expand=``);
    UnknownExpand (400) naming the ones it has, for any other name."""
    allowed = [c.name for c in table.references]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        has = ", ".join(allowed) if allowed else "none: it references no table"
        raise UnknownExpand(
            f"expand: {unknown[0]!r} is not a reference of {table.name} (it can expand: {has})",
            allowed=allowed,
        )
    return tuple(table.column(n) for n in dict.fromkeys(names))


def _select(
    catalog: Catalog, table: Table, expand: Sequence[Column] = ()
) -> tuple[str, dict[str, str]]:
    """``SELECT … FROM … JOIN …`` and the expression that shows each column; after them,
    the stored id of each reference column to ``expand``."""
    shown: dict[str, str] = {}
    joins = []
    for n, col in enumerate(table.columns):
        if col.references is None:
            shown[col.name] = f"t.{q(col.name)}"
            continue
        alias = f"r{n}"
        on = f"{alias}.{ID} = t.{q(col.name)}"
        joins.append(f"LEFT JOIN {q(col.references.table)} {alias} ON {on}")
        shown[col.name] = f"{alias}.{q(col.references.column)}"
    cols = ", ".join([f"t.{ID}", *shown.values(), *(f"t.{q(c.name)}" for c in expand)])
    return f"SELECT {cols} FROM {q(table.name)} t {' '.join(joins)}", shown


def _record(catalog: Catalog, table: Table, row: Sequence[Any]) -> dict[str, Any]:
    record: dict[str, Any] = {ID: row[0]}
    for col, value in zip(table.columns, row[1 : 1 + len(table.columns)], strict=True):
        record[col.name] = plain_value(_value_column(catalog, col), value)
    return record


def _rows(
    conn: Connection,
    catalog: Catalog,
    table: Table,
    sql: Any,
    params: dict[str, Any],
    expand: Sequence[Column] = (),
) -> list[dict[str, Any]]:
    """The records of ``sql`` (a ``_select``), each reference to ``expand`` holding the
    referenced record: one IN query per expanded column, for all the rows together."""
    rows = conn.execute(sql, params).all()
    records = [_record(catalog, table, row) for row in rows]
    for n, col in enumerate(expand, start=1 + len(table.columns)):
        assert col.references is not None
        ids = sorted({int(row[n]) for row in rows if row[n] is not None})
        target = catalog.get(col.references.table)
        found = records_by_ids(conn, catalog, target, params["tenant"], ids)
        for record, row in zip(records, rows, strict=True):
            record[col.name] = None if row[n] is None else found.get(int(row[n]))
    return records


def _where(
    conn: Connection,
    catalog: Catalog,
    table: Table,
    tenant: str,
    shown: dict[str, str],
    filters: dict[str, str] | None,
) -> tuple[list[str], dict[str, Any]]:
    """The tenant and column-equality conditions (references by natural key)."""
    where = [f"t.{TENANT} = :tenant"]
    params: dict[str, Any] = {"tenant": tenant}
    for n, (name, raw) in enumerate((filters or {}).items()):
        if not table.has_column(name):
            raise InvalidOption(f"{table.name} has no column {name!r} to filter on")
        col = _value_column(catalog, table.column(name))
        where.append(f"{shown[name]} = :f{n}")
        params[f"f{n}"] = filter_value(conn, col, raw)
    return where, params


def iter_records(
    conn: Connection,
    catalog: Catalog,
    table: Table,
    tenant: str,
    batch: int = 10_000,
    filters: dict[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every row of ``table`` for ``tenant`` in id order, values as plain JSON-able values."""
    select, shown = _select(catalog, table)
    where, params = _where(conn, catalog, table, tenant, shown, filters)
    sql = text(f"{select} WHERE {' AND '.join(where)} ORDER BY t.{ID}")
    for row in conn.execute(sql, params, execution_options={"yield_per": batch}):
        yield _record(catalog, table, row)


def page_records(
    conn: Connection,
    catalog: Catalog,
    table: Table,
    tenant: str,
    limit: int,
    after_id: int | None = None,
    filters: dict[str, str] | None = None,
    expand: Sequence[Column] = (),
) -> list[dict[str, Any]]:
    """Up to ``limit`` + 1 rows in id order after ``after_id`` (the extra one tells more);
    the references to ``expand`` (``expansions``) as the records they name."""
    select, shown = _select(catalog, table, expand)
    where, params = _where(conn, catalog, table, tenant, shown, filters)
    params["limit"] = limit + 1
    if after_id is not None:
        where.append(f"t.{ID} > :after")
        params["after"] = after_id
    sql = f"{select} WHERE {' AND '.join(where)} ORDER BY t.{ID} LIMIT :limit"
    return _rows(conn, catalog, table, text(sql), params, expand)


def count_records(
    conn: Connection,
    catalog: Catalog,
    table: Table,
    tenant: str,
    filters: dict[str, str] | None = None,
) -> int:
    """How many rows of ``table`` for ``tenant`` the filters of ``page_records`` keep."""
    select, shown = _select(catalog, table)
    where, params = _where(conn, catalog, table, tenant, shown, filters)
    sql = f"SELECT count(*) FROM ({select} WHERE {' AND '.join(where)}) counted"
    return int(conn.execute(text(sql), params).scalar_one())


def records_by_ids(
    conn: Connection,
    catalog: Catalog,
    table: Table,
    tenant: str,
    ids: Sequence[int],
    expand: Sequence[Column] = (),
) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    select, _ = _select(catalog, table, expand)
    sql = text(f"{select} WHERE t.{TENANT} = :tenant AND t.{ID} IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    rows = _rows(conn, catalog, table, sql, {"tenant": tenant, "ids": list(ids)}, expand)
    return {int(r[ID]): r for r in rows}


def filter_value(conn: Connection, col: Column, raw: str) -> object:
    """A filter's text as the value the column stores; InvalidOption when it cannot be."""
    bind = dialect_of(conn).bind_value
    try:
        if col.type is ColumnType.INTEGER:
            return int64(int(raw))
        if col.type is ColumnType.BOOLEAN:
            return _boolean(raw)
        if col.type is ColumnType.DECIMAL:
            return bind(Decimal(raw), col.scale)
        if col.type is ColumnType.DATE:
            return bind(date.fromisoformat(raw))
        if col.type is ColumnType.DATETIME:
            # stored as UTC, without a zone
            return bind(utc_naive(datetime.fromisoformat(raw)))
    except (ValueError, InvalidOperation):
        raise InvalidOption(f"filter {col.name}={raw!r}: not a valid {col.type.value}") from None
    return raw


def int64(value: int) -> int:
    """``value`` when a 64-bit integer column can hold it; ValueError otherwise."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{value} does not fit in 64 bits")
    return value


def _boolean(raw: str) -> bool:
    found = BOOLEAN_WORDS.get(raw.strip().lower())
    if found is None:
        raise ValueError(raw)
    return found


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
        return iso_z(moment)
    return value
