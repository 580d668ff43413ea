"""The data tables of a catalog and their change-log shadows: create them, add new columns."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from loadbay.schema.model import Catalog, Column, Table
from loadbay.store.dialect import Dialect, dialect_of, q

SYSTEM_COLUMNS = ("id", "tenant_id", "created_at", "updated_at")


def changes_table(table: str) -> str:
    """The change log of ``table``: before-images of rows an import updated or deleted."""
    return f"loadbay_changes__{table}"


def column_ddl(dialect: Dialect, column: Column) -> str:
    return f"{q(column.name)} {dialect.storage_type(column)}"


def data_tables_current(conn: Connection, catalog: Catalog) -> bool:
    """Whether every data table and change log of ``catalog`` has all its columns (read only)."""
    inspector = inspect(conn)
    existing = set(inspector.get_table_names())
    for table in catalog:
        wanted = {c.name for c in table.columns}
        for name in (table.name, changes_table(table.name)):
            if name not in existing:
                return False
            if not wanted <= {c["name"] for c in inspector.get_columns(name)}:
                return False
    return True


def ensure_tables(conn: Connection, catalog: Catalog) -> None:
    """Create the data tables, their indexes and change logs; add columns a schema gained."""
    dialect = dialect_of(conn)
    existing = set(inspect(conn).get_table_names())
    for table in catalog:
        if table.name in existing:
            _add_missing_columns(conn, dialect, table, table.name)
            _add_missing_columns(conn, dialect, table, changes_table(table.name))
            continue
        _create_data_table(conn, dialect, table)
        _create_changes_table(conn, dialect, table)


def data_indexes(table: Table) -> list[tuple[str, tuple[str, ...], bool]]:
    """The indexes of a data table beside its id: (label, columns after ``tenant_id``,
    unique). The key and unique columns are unique; references are indexed (revert and
    deletes look rows up by them); a keyless table is indexed by tenant."""
    found: list[tuple[str, tuple[str, ...], bool]] = []
    found.append(("key", table.key, True) if table.key else ("tenant", (), False))
    for col in table.columns:
        if col.unique and (col.name,) != table.key:
            found.append((col.name, (col.name,), True))
        elif col.references is not None:
            found.append((col.name, (col.name,), False))
    return found


def indexed_columns(table: Table) -> frozenset[str]:
    """The columns some index of the table holds: writing one rewrites that index's entry."""
    return frozenset(c for _, cols, _ in data_indexes(table) for c in cols)


def _create_data_table(conn: Connection, dialect: Dialect, table: Table) -> None:
    cols = ",\n  ".join(column_ddl(dialect, c) for c in table.columns)
    conn.exec_driver_sql(
        f"CREATE TABLE {q(table.name)} (\n  {dialect.id_column},\n  tenant_id TEXT NOT NULL,\n"
        f"  created_at {dialect.stamp_type} NOT NULL,\n  updated_at {dialect.stamp_type} NOT NULL,"
        f"\n  {cols}\n)"
    )
    for label, index_cols, unique in data_indexes(table):
        names = ", ".join(["tenant_id", *(q(c) for c in index_cols)])
        if not unique and index_cols:  # a reference: its index leaves the tenant out
            names = ", ".join(q(c) for c in index_cols)
        conn.exec_driver_sql(
            f"CREATE {'UNIQUE ' if unique else ''}INDEX {q(table.name + '__' + label)} "
            f"ON {q(table.name)} ({names})"
        )


def _create_changes_table(conn: Connection, dialect: Dialect, table: Table) -> None:
    cols = ",\n  ".join(column_ddl(dialect, c) for c in table.columns)
    name = changes_table(table.name)
    conn.exec_driver_sql(
        f"CREATE TABLE {q(name)} (\n  import_id TEXT NOT NULL,\n  action TEXT NOT NULL,\n"
        f"  id BIGINT NOT NULL,\n  tenant_id TEXT NOT NULL,\n"
        f"  created_at {dialect.stamp_type},\n  updated_at {dialect.stamp_type},\n  {cols}\n)"
    )
    conn.exec_driver_sql(f"CREATE INDEX {q(name + '__import')} ON {q(name)} (import_id)")


def _add_missing_columns(conn: Connection, dialect: Dialect, table: Table, name: str) -> None:
    have = {c["name"] for c in inspect(conn).get_columns(name)}
    for col in table.columns:
        if col.name not in have:
            conn.exec_driver_sql(f"ALTER TABLE {q(name)} ADD COLUMN {column_ddl(dialect, col)}")
