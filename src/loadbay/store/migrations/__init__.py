"""Versioned migrations: loadbay's own tables by numbered steps, the data tables from the
catalog. The one path by which any table of loadbay is created or changed.

How it works
------------
``loadbay_migrations`` holds one row per step applied (``version``, ``name``,
``applied_at``); the database is at the highest version. :func:`upgrade`:

1. a database with no loadbay table is new: every table of ``system.metadata`` is
   created as it is now, and stamped at the latest version (no step runs);
2. a database with loadbay's tables but no ``loadbay_migrations`` was made by the release
   before migrations (e443e63, frozen in ``baseline.py``): it is at version 0, and step 1
   brings it to that baseline (an earlier release lacked a few columns and tables);
3. every step above the database's version runs, in order, each in one transaction
   with its row in ``loadbay_migrations``;
4. then the data tables of the catalog are brought to it (:func:`ensure_data_tables`):
   a table or change log that is missing is created, a column the schema gained is added,
   an index the schema now wants (a column newly ``unique``, a new key, a new reference)
   is created and one it no longer wants is dropped. A new unique index that stored rows
   break is refused, naming the table and column.

Every transaction takes the schema lock first (PostgreSQL: an advisory lock of the
transaction, keyed on the schema; SQLite: the write lock its ``BEGIN IMMEDIATE``
holds) and reads the version again under it, so two processes that start together never
migrate at once: the second finds the work done. ``loadbay migrate`` runs it; ``serve``,
``worker`` and every local command run it when :func:`is_current` (read only, no lock)
says the database is behind.

Adding a step (read this before changing a table)
-------------------------------------------------
- A column of one of loadbay's tables: add the ``sa.Column`` to the ``sa.Table`` in
  ``store/system.py`` AND append a step to ``STEPS`` in ``store/migrations/steps.py``::

      Step(6, "imports.source: where an import came from",
           add_columns(system.imports, "source")),

  ``add_columns`` issues ``ALTER TABLE … ADD COLUMN`` with the column's type as declared
  in ``system.py`` (nullable, or give the column a ``server_default``: existing rows need
  a value). A new table: add it to ``system.py`` AND a step ``create_tables(system.x)``.
  Anything else (a rename, an index, a data fix) is a function ``(conn) -> None`` doing
  it in SQL. Never edit a step that is in a commit on main: add another.
- Versions are consecutive from 1; the next is the last plus one. Two branches that
  added the same number: the later merge renumbers its step (no release in between).
- ``tests/store/test_migrations.py`` upgrades a database of the baseline release with
  rows in it and checks that it ends with exactly the tables, columns and indexes of a
  new database: a column added to ``system.py`` without its step fails it.
- The data tables need no step for what the catalog says (their columns and indexes
  follow the schema at each start); a change of loadbay's own columns in every data
  table (as step 4, ``prefix_bookkeeping_columns``) is a step that finds the tables by
  their change logs (``data.data_table_names``).

Why not Alembic
---------------
Alembic would bring a second configuration (``alembic.ini``/``env.py``), a script
directory to ship inside the package, and revision ids chained by hand, for what is here
a list of functions over a connection. Its autogenerate does not know the data tables
(they are made from the catalog, not from ``MetaData``), its batch mode for SQLite's
``ALTER`` limits is not needed (SQLite ≥ 3.25 renames and adds columns itself), and its
lock for concurrent upgrades is left to the caller anyway. The runner below is ~100
lines, has no configuration, and is run in-process by ``serve`` and ``worker``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Engine, inspect
from sqlalchemy.engine import Connection

from loadbay.errors import StoreError
from loadbay.schema.model import Catalog
from loadbay.store import data, system
from loadbay.store.dialect import dialect_of
from loadbay.store.imports_sql import now
from loadbay.store.migrations import baseline
from loadbay.store.migrations.steps import STEPS, Step

__all__ = [
    "LATEST",
    "STEPS",
    "Step",
    "ensure_data_tables",
    "ensure_lease_table",
    "is_current",
    "lock_schema",
    "upgrade",
]

LATEST = STEPS[-1].version
V = system.migrations


def lock_schema(conn: Connection) -> None:
    """Take the lock of creating and migrating tables, held until the transaction ends.
    PostgreSQL: an advisory lock keyed on the schema (installs in other schemas of the
    database do not wait); SQLite: the write lock its ``BEGIN IMMEDIATE`` already holds."""
    dialect_of(conn).transaction_lock(conn, "loadbay:schema")


def database_version(conn: Connection) -> int | None:
    """The version of the database: None when it has no loadbay table (new), 0 when it
    was made by the release before migrations."""
    names = set(inspect(conn).get_table_names())
    if V.name not in names:
        return 0 if system.imports.name in names else None
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(V.c.version), 0))).scalar_one())


def is_current(conn: Connection, catalog: Catalog) -> bool:
    """Whether the database is at the latest version and its data tables follow the
    catalog (read only: no lock taken)."""
    return database_version(conn) == LATEST and data.data_tables_current(conn, catalog)


def upgrade(engine: Engine, catalog: Catalog) -> list[str]:
    """Bring the database to the latest version and its data tables to the catalog, one
    transaction per step, under the schema lock; what was done, one line each."""
    done: list[str] = []
    while True:
        with engine.begin() as conn:
            lock_schema(conn)
            step = _next_step(conn, done)
            if step is None:
                break
            step.apply(conn)
            _record(conn, step.version, step.name)
            done.append(f"applied step {step.version}: {step.name}")
    with engine.begin() as conn:
        done.extend(ensure_data_tables(conn, catalog))
    return done


def ensure_data_tables(conn: Connection, catalog: Catalog) -> list[str]:
    """Under the schema lock (in the caller's transaction): create the catalog's missing
    data tables, add the columns and indexes it gained, drop the indexes it lost; what
    was done. The only way a data table is created or changed."""
    lock_schema(conn)
    return data.ensure_tables(conn, catalog)


def ensure_lease_table(conn: Connection) -> None:
    """The lease table where it lives apart (SQLite: a file of its own, see
    ``store/leases_sql.py``): created, or given the columns ``system.leases`` gained (its
    rows live minutes, so its changes are columns added, never a step)."""
    lock_schema(conn)
    system.leases.create(conn, checkfirst=True)
    baseline.add_missing_columns(conn, system.leases)


def _next_step(conn: Connection, done: list[str]) -> Step | None:
    version = database_version(conn)
    if version is None:  # a new database: everything as it is now
        system.metadata.create_all(conn)
        _record(conn, LATEST, "a new database, made at the latest version")
        done.append(f"created loadbay's tables at version {LATEST}")
        return None
    if version > LATEST:
        raise StoreError(
            f"the database is at schema version {version}, made by a newer loadbay "
            f"(this one knows versions up to {LATEST}): upgrade loadbay"
        )
    if version == 0:
        V.create(conn, checkfirst=True)
    return next((s for s in STEPS if s.version > version), None)


def _record(conn: Connection, version: int, name: str) -> None:
    conn.execute(sa.insert(V).values(version=version, name=name, applied_at=now()))
