"""The data tables of a catalog and their change-log shadows: their DDL, and bringing them
to the catalog (run by ``store/migrations`` only, under its lock)."""

from __future__ import annotations

from sqlalchemy import exc, inspect
from sqlalchemy.engine import Connection

from loadbay.errors import InvalidSchema
from loadbay.schema.model import Catalog, Column, Table
from loadbay.store.columns import ACTION, CREATED, ID, IMPORT, TENANT, UPDATED
from loadbay.store.dialect import Dialect, dialect_of, q


def changes_table(table: str) -> str:
    """The change log of ``table``: before-images of rows an import updated or deleted."""
    return f"loadbay_changes__{table}"


def data_table_names(conn: Connection) -> list[str]:
    """The data tables in the database, whatever the catalog says: those with a change log."""
    names = set(inspect(conn).get_table_names())
    prefix = changes_table("")
    found = (n[len(prefix) :] for n in names if n.startswith(prefix))
    return sorted(n for n in found if n in names)


def column_ddl(dialect: Dialect, column: Column) -> str:
    return f"{q(column.name)} {dialect.storage_type(column)}"


#: an index as the database has it: (its columns, unique)
IndexShape = tuple[tuple[str, ...], bool]


def stored_name(conn: Connection, name: str) -> str:
    """``name`` as the database keeps it (PostgreSQL cuts identifiers at 63 bytes)."""
    return dialect_of(conn).stored_name(name)


def data_indexes(table: Table) -> list[tuple[str, tuple[str, ...], bool]]:
    """The indexes of a data table beside its id: (label, columns after its tenant,
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


def wanted_indexes(table: Table) -> dict[str, IndexShape]:
    """The indexes the catalog wants on ``table``, by name, with their columns."""
    wanted: dict[str, IndexShape] = {}
    for label, index_cols, unique in data_indexes(table):
        names = (TENANT, *index_cols)
        if not unique and index_cols:  # a reference: its index leaves the tenant out
            names = index_cols
        wanted[f"{table.name}__{label}"] = (names, unique)
    return wanted


def indexed_columns(table: Table) -> frozenset[str]:
    """The columns some index of the table holds: writing one rewrites that index's entry."""
    return frozenset(c for _, cols, _ in data_indexes(table) for c in cols)


def data_tables_current(conn: Connection, catalog: Catalog) -> bool:
    """Whether every data table and change log of ``catalog`` has all its columns, and
    each data table the indexes of the catalog (read only)."""
    inspector = inspect(conn)
    existing = set(inspector.get_table_names())
    for table in catalog:
        wanted = {c.name for c in table.columns}
        for name in (table.name, changes_table(table.name)):
            if stored_name(conn, name) not in existing:
                return False
            if not wanted <= {c["name"] for c in inspector.get_columns(name)}:
                return False
        if _index_changes(_indexes_of(conn, table.name), _wanted(conn, table)) != ([], []):
            return False
    return True


def ensure_tables(conn: Connection, catalog: Catalog) -> list[str]:
    """Create the data tables, their indexes and change logs; add the columns a schema
    gained, create the indexes it gained and drop those it lost; what was done."""
    dialect = dialect_of(conn)
    existing = set(inspect(conn).get_table_names())
    done: list[str] = []
    for table in catalog:
        if table.name not in existing:
            _create_data_table(conn, dialect, table)
            _create_changes_table(conn, dialect, table)
            done.append(f"created table {table.name}")
            continue
        for name in (table.name, changes_table(table.name)):
            for col in _add_missing_columns(conn, dialect, table, name):
                done.append(f"added column {name}.{col}")
        done.extend(_follow_indexes(conn, table))
    return done


def _create_data_table(conn: Connection, dialect: Dialect, table: Table) -> None:
    cols = ",\n  ".join(column_ddl(dialect, c) for c in table.columns)
    conn.exec_driver_sql(
        f"CREATE TABLE {q(table.name)} (\n  {dialect.id_column},\n  {TENANT} TEXT NOT NULL,\n"
        f"  {CREATED} {dialect.stamp_type} NOT NULL,\n  {UPDATED} {dialect.stamp_type} NOT NULL,"
        f"\n  {cols}\n)"
    )
    for name, shape in wanted_indexes(table).items():
        _create_index(conn, table, name, shape)


def _create_index(conn: Connection, table: Table, name: str, shape: IndexShape) -> None:
    columns, unique = shape
    try:
        conn.exec_driver_sql(
            f"CREATE {'UNIQUE ' if unique else ''}INDEX {q(name)} "
            f"ON {q(table.name)} ({', '.join(q(c) for c in columns)})"
        )
    except exc.IntegrityError as error:
        shown = ", ".join(c for c in columns if c != TENANT)
        raise InvalidSchema(
            f"table {table.name!r}: {shown} cannot be made unique, stored rows share a "
            "value: remove the duplicates first, or leave the column not unique"
        ) from error


def _wanted(conn: Connection, table: Table) -> dict[str, IndexShape]:
    return {stored_name(conn, n): shape for n, shape in wanted_indexes(table).items()}


def _indexes_of(conn: Connection, table: str) -> dict[str, IndexShape]:
    """The indexes loadbay made on data table ``table`` (named ``<table>__…``)."""
    found: dict[str, IndexShape] = {}
    for index in inspect(conn).get_indexes(table):
        name = str(index["name"])
        if name.startswith(stored_name(conn, table + "__")):
            cols = tuple(str(c) for c in index["column_names"])
            found[name] = (cols, bool(index["unique"]))
    return found


def _index_changes(
    have: dict[str, IndexShape], wanted: dict[str, IndexShape]
) -> tuple[list[str], list[str]]:
    """(the indexes to drop, the indexes to create): an index whose shape changed is both."""
    drop = [n for n, shape in have.items() if wanted.get(n) != shape]
    create = [n for n, shape in wanted.items() if have.get(n) != shape]
    return drop, create


def _follow_indexes(conn: Connection, table: Table) -> list[str]:
    wanted = _wanted(conn, table)
    drop, create = _index_changes(_indexes_of(conn, table.name), wanted)
    for name in drop:
        conn.exec_driver_sql(f"DROP INDEX {q(name)}")
    for name in create:
        _create_index(conn, table, name, wanted[name])
    return [f"dropped index {n}" for n in drop] + [f"created index {n}" for n in create]


def _create_changes_table(conn: Connection, dialect: Dialect, table: Table) -> None:
    cols = ",\n  ".join(column_ddl(dialect, c) for c in table.columns)
    name = changes_table(table.name)
    conn.exec_driver_sql(
        f"CREATE TABLE {q(name)} (\n  {IMPORT} TEXT NOT NULL,\n  {ACTION} TEXT NOT NULL,\n"
        f"  {ID} BIGINT NOT NULL,\n  {TENANT} TEXT NOT NULL,\n"
        f"  {CREATED} {dialect.stamp_type},\n  {UPDATED} {dialect.stamp_type},\n  {cols}\n)"
    )
    conn.exec_driver_sql(f"CREATE INDEX {q(name + '__import')} ON {q(name)} ({IMPORT})")


def _add_missing_columns(conn: Connection, dialect: Dialect, table: Table, name: str) -> list[str]:
    have = {c["name"] for c in inspect(conn).get_columns(name)}
    added = [col for col in table.columns if col.name not in have]
    for col in added:
        conn.exec_driver_sql(f"ALTER TABLE {q(name)} ADD COLUMN {column_ddl(dialect, col)}")
    return [col.name for col in added]
