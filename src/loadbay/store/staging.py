"""Per-import staging tables, filled by the fastest path each database has.

PostgreSQL: ``COPY … FROM STDIN (FORMAT csv)`` from polars' CSV writer.
SQLite with a database file: ADBC bulk ingest of the frame's Arrow data into the import's
stage file, through its :class:`~loadbay.store.sqlite_ingest.StageWriter`.
SQLite in memory: one ``executemany`` of plain tuples inside the caller's transaction.
The functions that make and fill a stage take either target: the connection or the writer.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loadbay.schema.model import Catalog, Column, Table
from loadbay.store.dialect import Dialect, Sqlite, dialect_of, q
from loadbay.store.sqlite_ingest import StageWriter

#: where a stage is made and filled: the import's connection, or its stage file's writer
Target = Connection | StageWriter

#: the bookkeeping columns of a staging table, before the data columns
META = ("_seq", "_src", "_row", "_ref")


def stage_table_name(import_id: str, index: int) -> str:
    safe = "".join(ch for ch in import_id.lower() if ch.isalnum())[:32]
    return f"loadbay_stage_{safe}_{index}"


def plan_table_name(import_id: str, index: int) -> str:
    safe = "".join(ch for ch in import_id.lower() if ch.isalnum())[:32]
    return f"loadbay_plan_{safe}_{index}"


def value_column(catalog: Catalog, table: Table, name: str) -> Column:
    """The column whose type a staged value has: for a reference, the referenced key column."""
    col = table.column(name)
    if col.references is None:
        return col
    return catalog.get(col.references.table).column(col.references.column)


def create_stage(
    conn: Target,
    name: str,
    catalog: Catalog,
    table: Table,
    columns: Sequence[str],
) -> None:
    """A stage table, empty. PostgreSQL: unlogged (no WAL for a million rows). A table a
    connection keeps (``reused_stage_name``): temporary, made once with every column of
    ``table`` (whatever ``columns`` are), and emptied here in case a run left rows in it."""
    dialect = _dialect(conn)
    if is_reused(name):
        body = _stage_body(dialect, catalog, table, [c.name for c in table.columns])
        run_script(
            conn,
            [f"CREATE TEMPORARY TABLE IF NOT EXISTS {q(name)} {body}", f"DELETE FROM {q(name)}"],
        )
        return
    run_script(
        conn,
        [
            f"DROP TABLE IF EXISTS {q(name)}",  # left by an interrupted run
            f"CREATE {dialect.unlogged}TABLE {q(name)} "
            + _stage_body(dialect, catalog, table, columns),
        ],
    )


def _stage_body(dialect: Dialect, catalog: Catalog, table: Table, columns: Sequence[str]) -> str:
    seq = dialect.stage_seq_column
    cols = "".join(
        f",\n  {q(c)} {dialect.value_type(value_column(catalog, table, c))}" for c in columns
    )
    return f"(\n  {seq},\n  _src INTEGER NOT NULL,\n  _row BIGINT NOT NULL,\n  _ref TEXT{cols}\n)"


# ---- tables a connection keeps for its small imports ------------------------------------------

#: the start of their names
REUSED = "loadbay_reused_"
#: uses of a kept table before it is dropped (and made again by the next): an emptied table
#: keeps the pages of its dead rows, as nothing vacuums temporary tables
REUSES = 64


def reused_stage_name(dialect: Dialect, catalog: Catalog, table: Table, index: int) -> str:
    """The stage a connection keeps for part ``index`` of the small imports into ``table``
    it runs. Named after its definition, so a changed schema gets a table of its own."""
    body = _stage_body(dialect, catalog, table, [c.name for c in table.columns])
    return f"{REUSED}stage_{index}_{_digest(table.name + body)}"


def reused_plan_name(base: str, select: str) -> str:
    """The plan table a connection keeps for the plans of query ``select`` (which names
    its stage: the same query always builds the same columns)."""
    return f"{base}_{_digest(select)}"


def reused_plan_base(index: int) -> str:
    return f"{REUSED}plan_{index}"


def is_reused(name: str) -> bool:
    return name.startswith(REUSED)


def temporary_table_exists(conn: Connection, name: str) -> bool:
    """Does the connection have temporary table ``name`` (one it keeps)?"""
    return dialect_of(conn).temporary_table_exists(conn, name)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def release_tables(conn: Connection, names: Sequence[str]) -> None:
    """Drop the tables of one import; empty those the connection keeps (PostgreSQL), if
    they are there (a rolled-back transaction takes the one it made), and drop each one
    every ``REUSES`` uses: DELETE costs no catalog rows, but leaves dead pages."""
    uses: dict[str, int] = conn.connection.info.setdefault("loadbay_reuses", {})
    statements = []
    for name in names:
        if not is_reused(name):
            statements.append(f"DROP TABLE IF EXISTS {q(name)}")
            continue
        uses[name] = uses.get(name, 0) + 1
        if uses[name] >= REUSES:
            uses[name] = 0
            statements.append(f"DROP TABLE IF EXISTS {q(name)}")
        else:
            statements.append(dialect_of(conn).empty_temporary_table(name))
    run_script(conn, statements)


def add_stage_columns(
    conn: Target, name: str, catalog: Catalog, table: Table, columns: Sequence[str]
) -> None:
    """Columns a file brings after its first batch: NULL in the rows staged before."""
    dialect = _dialect(conn)
    run_script(
        conn,
        [
            f"ALTER TABLE {q(name)} ADD COLUMN {q(c)} "
            f"{dialect.value_type(value_column(catalog, table, c))}"
            for c in columns
        ],
    )


def drop_tables(conn: Connection, names: Sequence[str]) -> None:
    run_script(conn, [f"DROP TABLE IF EXISTS {q(name)}" for name in names])


def staged_rows(conn: Connection, name: str) -> int | None:
    """How many rows a stage table holds; None when it is not there (or not readable: a
    stage file that was never synced may be left torn by a crash). In the caller's
    transaction, under a savepoint: a failed count leaves that transaction usable."""
    try:
        with conn.begin_nested():
            return int(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {q(name)}").scalar_one())
    except sa.exc.DBAPIError:
        return None


def run_script(conn: Target, statements: Sequence[str]) -> None:
    """Statements without parameters, in order; on PostgreSQL in one round trip."""
    if isinstance(conn, StageWriter):
        for statement in statements:
            conn.execute(statement)
        return
    if dialect_of(conn).runs_scripts_at_once and len(statements) > 1:
        conn.exec_driver_sql(";\n".join(statements))
        return
    for statement in statements:
        conn.exec_driver_sql(statement)


def append_frame(conn: Target, name: str, frame: pl.DataFrame) -> None:
    """Append ``frame`` to table ``name`` (frame columns = table columns), the fast way."""
    if frame.height == 0:
        return
    if isinstance(conn, StageWriter):
        conn.append(name, to_sqlite_values(frame))  # the values executemany would bind
    elif dialect_of(conn).supports_copy:
        copy_frame(conn, name, frame)
    else:
        insert_sqlite(conn, name, frame)


def copy_frame(conn: Connection, name: str, frame: pl.DataFrame) -> None:
    buf = io.BytesIO()
    frame.write_csv(
        buf,
        include_header=False,
        date_format="%Y-%m-%d",
        datetime_format="%Y-%m-%d %H:%M:%S%.6f",
        null_value="",
        quote_style="necessary",
    )
    cols = ", ".join(q(c) for c in frame.columns)
    raw = conn.connection.dbapi_connection
    assert raw is not None
    sql = f"COPY {q(name)} ({cols}) FROM STDIN (FORMAT csv)"
    with raw.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[attr-defined]
        view = buf.getbuffer()
        step = 1 << 20
        for start in range(0, len(view), step):
            copy.write(view[start : start + step])
        del view


def insert_sqlite(conn: Connection, name: str, frame: pl.DataFrame) -> None:
    frame = to_sqlite_values(frame)
    cols = ", ".join(q(c) for c in frame.columns)
    marks = ", ".join("?" for _ in frame.columns)
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cur = raw.cursor()
    try:
        cur.executemany(f"INSERT INTO {q(name)} ({cols}) VALUES ({marks})", frame.iter_rows())  # type: ignore[arg-type]
    finally:
        cur.close()


def _dialect(conn: Target) -> Dialect:
    return Sqlite() if isinstance(conn, StageWriter) else dialect_of(conn)


def to_sqlite_values(frame: pl.DataFrame) -> pl.DataFrame:
    """Dates, datetimes and booleans as SQLite stores them (canonical text, 0/1)."""
    casts = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Date:
            casts.append(pl.col(name).dt.strftime("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            casts.append(pl.col(name).dt.strftime("%Y-%m-%d %H:%M:%S%.6f"))
        elif dtype == pl.Boolean:
            casts.append(pl.col(name).cast(pl.Int8))
    return frame.with_columns(casts) if casts else frame
