"""Where PostgreSQL and SQLite differ, all of it: column types, literals, null tests, ids,
parameters, locks, transactions that wait briefly, side files, staging and scripts.

The rest of loadbay asks the :class:`Dialect` of its connection (:func:`dialect_of`) what to
do, never which database it is: a third database is one more subclass here (and its engine
in ``store/engine.py``), not a branch in every module that meets a difference.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine

from loadbay.schema.model import BOOLEAN_WORDS, Column, ColumnType
from loadbay.store.columns import ID
from loadbay.times import utc_naive, utc_now

Query = TypeVar("Query", bound=sa.Select[Any])


def text_literal(value: str) -> str:
    """A SQL string literal of ``value`` (its quotes doubled), for the few statements that
    cannot take a parameter (DDL defaults, ATTACH, constants of a generated query)."""
    return "'" + value.replace("'", "''") + "'"


def q(name: str) -> str:
    """Quote an identifier validated by the schema (or built by loadbay); ``schema.table``
    is quoted part by part (validated names never hold a dot)."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


class Dialect:
    """What one database does its own way: its SQL, its parameters, its locks and
    transactions, its files, its staging. Members are named by what differs."""

    name = "base"
    unlogged = ""
    #: how an import's plan table is created: it is built again whenever an import goes
    #: on, so PostgreSQL keeps it temporary (no WAL, no file to sync, gone with the
    #: session); SQLite puts it in the import's scratch file
    plan_table = ""
    #: ends the plan's subquery that computes each row's outcome, so that the database
    #: computes it once rather than at each use ("": SQLite, which would then materialise
    #: the subquery, slower than repeating the expression)
    plan_fence = ""
    #: does an UPDATE rewrite the index entries of every column it sets, changed or not?
    #: SQLite does (it decides by the SET list), so an import sets indexed columns only on
    #: the rows where they change; PostgreSQL compares the values itself (HOT updates)
    rewrites_set_indexes = False
    #: does the plan keep the stored values (``o_<col>``) of the rows it will update or
    #: delete? PostgreSQL: yes, so the change log and diffs need no second join of the
    #: target (costly there). SQLite: no, they look the row up by its id (cheap there), and
    #: the plan every write statement scans is a third narrower
    plan_keeps_old = True
    id_column = ""
    stamp_type = "TIMESTAMP"
    #: plans of at most this many staged rows look each matched row up by its index
    #: (``PlanBuilder.join``); SQLite always does
    lookup_rows = 0
    #: do small imports (``reused_table``) stage and plan in temporary tables that each
    #: connection keeps and empties, rather than in tables of their own? PostgreSQL: yes,
    #: creating and dropping a table writes ~80 catalog rows, and takes a third of a
    #: hundred-row import (more as the catalogs bloat); SQLite: no, its scratch files
    #: cost no catalog
    reuses_small_tables = False
    #: the bookkeeping ``_seq`` column of a stage table (SQLite: the rowid itself)
    stage_seq_column = "_seq BIGINT NOT NULL"
    #: are statements without parameters sent as one script, in one round trip?
    runs_scripts_at_once = False
    #: does the database load a stage by ``COPY … FROM STDIN`` (else: ``executemany``)?
    supports_copy = False
    #: does the database hold locks keyed by a number for a session (advisory locks)?
    #: Otherwise tables are locked by files beside the database (``store/locks.py``)
    has_advisory_locks = False
    #: the isolation level of a connection whose statements each stand alone (None: as
    #: it is, its ``begin()`` taking the lock the work needs)
    lone_statement_isolation: str | None = None
    #: identifiers longer than this are cut by the database (None: never)
    identifier_limit: int | None = None

    def storage_type(self, column: Column) -> str:
        if column.references is not None:
            return "BIGINT"
        return self.value_type(column)

    def value_type(self, column: Column) -> str:
        raise NotImplementedError

    def literal(self, column: Column, value: str) -> str:
        return f"CAST({text_literal(value)} AS {self.value_type(column)})"

    def null_of(self, column: Column) -> str:
        return f"CAST(NULL AS {self.value_type(column)})"

    def same(self, left: str, right: str) -> str:
        """``left`` equals ``right``, nulls being equal to each other."""
        return f"{left} IS NOT DISTINCT FROM {right}"

    def as_text(self, expr: str) -> str:
        return f"CAST({expr} AS TEXT)"

    def stamp(self, moment: datetime | None = None) -> object:
        """A timestamp parameter for a record's created and updated stamps (naive UTC)."""
        return self.bind_value(utc_naive(moment) if moment else utc_now())

    def stamp_value(self, stored: str) -> object:
        """A write stamp kept as text (``str`` of :meth:`stamp`) as the database compares it."""
        return datetime.fromisoformat(stored)

    def bind_value(self, value: object, scale: int = 0) -> object:
        """A decimal (of ``scale`` places), date or datetime (naive UTC) as a parameter
        compared with a stored value of its type; other values as they are."""
        return value

    def stored_name(self, name: str) -> str:
        """An identifier as the database keeps it."""
        return name if self.identifier_limit is None else name[: self.identifier_limit]

    def next_id(self, conn: Connection, table: str) -> str | None:
        """The SQL of the next id of a row created in ``table``, drawn when planning;
        None: the writer numbers created rows itself (:meth:`id_base`)."""
        return None

    def id_base(self, conn: Connection, table: str) -> int | None:
        """The id after which the writer numbers the rows it creates in ``table`` (the
        writer holding the write lock); None: the plan drew them (:meth:`next_id`)."""
        return None

    def insert_unless_taken(self, table: sa.Table) -> sa.Insert:
        """``INSERT`` into ``table`` that does nothing when its primary key is taken,
        returning the key of the row it inserted."""
        raise NotImplementedError

    def lock_rows(self, query: Query) -> Query:
        """``query``, its rows locked for the transaction when the database locks rows
        (SQLite: the writer's lock covers the whole database already)."""
        return query

    @contextmanager
    def short_transaction(self, engine: Engine, wait_ms: int) -> Iterator[Connection]:
        """A connection of ``engine`` and one transaction of its own, whose statements wait
        at most ``wait_ms`` for a lock (then fail with ``OperationalError``)."""
        raise NotImplementedError

    def transaction_lock(self, conn: Connection, label: str) -> None:
        """Take the lock ``label`` of the connection's schema, held until the transaction
        ends (SQLite: the write lock of ``BEGIN IMMEDIATE`` is held already)."""

    def setup_warnings(self, engine: Engine) -> list[str]:
        """What an operator should change in the database's setup."""
        return []

    def temporary_table_exists(self, conn: Connection, name: str) -> bool:
        """Does the connection have temporary table ``name``? (Asked of the tables it keeps
        for small imports: dialects that ``reuses_small_tables``.)"""
        raise NotImplementedError

    def empty_temporary_table(self, name: str) -> str:
        """The statement that empties the connection's temporary table ``name``, if it
        has it (a rolled-back transaction takes the one it made)."""
        raise NotImplementedError

    def refill_statement(self, name: str, select: str) -> str:
        """One statement that empties table ``name`` and fills it with the rows of
        ``select`` (a table the connection keeps, planned again)."""
        raise NotImplementedError

    def database_file(self, url: URL) -> Path | None:
        """The file the database of ``url`` lives in; None for a server or in memory."""
        return None

    def side_file(self, url: URL, suffix: str) -> Path | None:
        """A file beside the database's own (``<file><suffix>``), for what should not wait
        behind its writer or grow it; None where the database is no file."""
        found = self.database_file(url)
        return None if found is None else found.with_name(found.name + suffix)


class Postgres(Dialect):
    name = "postgresql"
    unlogged = "UNLOGGED "
    plan_table = "TEMPORARY "
    plan_fence = " OFFSET 0"
    id_column = f"{ID} BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    lookup_rows = 1_000
    reuses_small_tables = True
    runs_scripts_at_once = True
    supports_copy = True
    has_advisory_locks = True
    lone_statement_isolation = "AUTOCOMMIT"
    identifier_limit = 63

    def value_type(self, column: Column) -> str:
        return {
            ColumnType.INTEGER: "BIGINT",
            ColumnType.DECIMAL: f"NUMERIC({column.precision},{column.scale})",
            ColumnType.BOOLEAN: "BOOLEAN",
            ColumnType.DATE: "DATE",
            ColumnType.DATETIME: "TIMESTAMP",
        }.get(column.type, "TEXT")

    def next_id(self, conn: Connection, table: str) -> str:
        known: dict[str, str] = conn.connection.info.setdefault("loadbay_sequences", {})
        if table not in known:  # asked once per connection (its schema is fixed)
            known[table] = str(
                conn.exec_driver_sql(
                    "SELECT pg_get_serial_sequence(%(t)s, %(c)s)", {"t": q(table), "c": ID}
                ).scalar_one()
            )
        return f"nextval({text_literal(known[table])})"

    def insert_unless_taken(self, table: sa.Table) -> sa.Insert:
        key = list(table.primary_key.columns)
        stmt: sa.Insert = postgresql.insert(table).on_conflict_do_nothing().returning(*key)
        return stmt

    def lock_rows(self, query: Query) -> Query:
        return query.with_for_update()

    @contextmanager
    def short_transaction(self, engine: Engine, wait_ms: int) -> Iterator[Connection]:
        with engine.connect() as conn, conn.begin():
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(wait_ms)}ms'")
            yield conn

    def transaction_lock(self, conn: Connection, label: str) -> None:
        # keyed on the schema: installs in other schemas of the database do not wait
        schema = str(conn.exec_driver_sql("SELECT current_schema()").scalar_one())
        key = int.from_bytes(
            hashlib.blake2b(f"{label}:{schema}".encode(), digest_size=8).digest(),
            "big",
            signed=True,
        )
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def temporary_table_exists(self, conn: Connection, name: str) -> bool:
        found = conn.exec_driver_sql("SELECT to_regclass(%(n)s)", {"n": f"pg_temp.{q(name)}"})
        return found.scalar_one() is not None

    def empty_temporary_table(self, name: str) -> str:
        table = f"pg_temp.{q(name)}"
        return (
            f"DO $$BEGIN IF to_regclass({text_literal(table)}) IS NOT NULL THEN "
            f"DELETE FROM {table}; END IF; END$$"
        )

    def refill_statement(self, name: str, select: str) -> str:
        return f"WITH gone AS (DELETE FROM {q(name)})\nINSERT INTO {q(name)}\n{select}"

    def setup_warnings(self, engine: Engine) -> list[str]:
        with engine.connect() as conn:
            autovacuum = str(conn.exec_driver_sql("SHOW autovacuum").scalar_one())
        if autovacuum == "on":
            return []
        return [
            "PostgreSQL runs with autovacuum off: every import creates and drops its stage "
            "and plan tables, and without vacuum the system catalogs keep their dead rows, "
            "so every import and bulk request gets slower as they pile up; turn autovacuum "
            "on, or run VACUUM pg_catalog.pg_class, pg_catalog.pg_attribute, "
            "pg_catalog.pg_type, pg_catalog.pg_depend regularly"
        ]


class Sqlite(Dialect):
    name = "sqlite"
    rewrites_set_indexes = True
    plan_keeps_old = False
    id_column = f"{ID} INTEGER PRIMARY KEY AUTOINCREMENT"
    stage_seq_column = "_seq INTEGER PRIMARY KEY"

    def value_type(self, column: Column) -> str:
        # decimals, dates and datetimes are canonical text: exact, and ordered as text
        return {
            ColumnType.INTEGER: "INTEGER",
            ColumnType.BOOLEAN: "INTEGER",
        }.get(column.type, "TEXT")

    def literal(self, column: Column, value: str) -> str:
        if column.type is ColumnType.BOOLEAN:
            return "1" if BOOLEAN_WORDS.get(value.strip().lower()) else "0"
        if column.type is ColumnType.INTEGER:
            return str(int(value))
        return text_literal(value)

    def null_of(self, column: Column) -> str:
        return "NULL"

    def same(self, left: str, right: str) -> str:
        return f"{left} IS {right}"

    def stamp_value(self, stored: str) -> object:
        return stored  # canonical text, compared as text

    def bind_value(self, value: object, scale: int = 0) -> object:
        # decimals, dates and datetimes are stored as canonical text
        if isinstance(value, Decimal):
            return str(value.quantize(Decimal(1).scaleb(-scale)))
        if isinstance(value, datetime):
            return value.isoformat(sep=" ", timespec="microseconds")
        if isinstance(value, date):
            return value.isoformat()
        return value

    def id_base(self, conn: Connection, table: str) -> int:
        base = conn.execute(
            sa.text(
                "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = :t), 0), "
                f"COALESCE((SELECT MAX({ID}) FROM {q(table)}), 0))"
            ),
            {"t": table},
        ).scalar_one()
        return int(base)

    def insert_unless_taken(self, table: sa.Table) -> sa.Insert:
        key = list(table.primary_key.columns)
        stmt: sa.Insert = sqlite.insert(table).on_conflict_do_nothing().returning(*key)
        return stmt

    @contextmanager
    def short_transaction(self, engine: Engine, wait_ms: int) -> Iterator[Connection]:
        # the wait is the busy timeout of the connection's BEGIN IMMEDIATE, set back after
        with engine.connect() as conn:
            driver = conn.connection.driver_connection
            assert driver is not None
            before = driver.execute("PRAGMA busy_timeout").fetchone()[0]
            driver.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
            try:
                with conn.begin():
                    yield conn
            finally:
                driver.execute(f"PRAGMA busy_timeout={int(before)}")

    def database_file(self, url: URL) -> Path | None:
        if not url.database or url.database == ":memory:":
            return None
        return Path(url.database)


#: the dialect of each SQLAlchemy backend loadbay runs on (``make_engine`` builds engines
#: for exactly these)
DIALECTS: dict[str, Dialect] = {d.name: d for d in (Postgres(), Sqlite())}


def dialect_of(conn: Connection | Engine) -> Dialect:
    return DIALECTS[conn.dialect.name]
