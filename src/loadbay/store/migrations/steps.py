"""The numbered steps, in order (see the package's docstring for how to add one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loadbay.store import system
from loadbay.store.columns import CHANGE_COLUMNS, DATA_COLUMNS, UNPREFIXED
from loadbay.store.data import changes_table, data_table_names
from loadbay.store.dialect import q
from loadbay.store.migrations import baseline


@dataclass(frozen=True)
class Step:
    """One change of the schema, applied once, in one transaction."""

    version: int
    name: str
    apply: Callable[[Connection], None]


def add_columns(table: sa.Table, *names: str) -> Callable[[Connection], None]:
    """A step adding ``names`` to ``table``, each with its type as ``system.py`` declares
    it (and its ``server_default``, if any)."""

    def apply(conn: Connection) -> None:
        for name in names:
            column = table.c[name]
            kind = column.type.compile(dialect=conn.dialect)
            default = ""
            if column.server_default is not None:
                arg = getattr(column.server_default, "arg", None)
                text = arg.text if isinstance(arg, sa.TextClause) else f"'{arg}'"
                default = f" DEFAULT {text}"
            if not column.nullable and not default:
                raise ValueError(f"{table.name}.{name}: NOT NULL needs a server_default")
            null = "" if column.nullable else " NOT NULL"
            conn.exec_driver_sql(
                f'ALTER TABLE "{table.name}" ADD COLUMN "{name}" {kind}{default}{null}'
            )

    return apply


def create_tables(*tables: sa.Table) -> Callable[[Connection], None]:
    """A step creating ``tables`` (with their indexes) as ``system.py`` declares them."""

    def apply(conn: Connection) -> None:
        for table in tables:
            table.create(conn)

    return apply


def create_indexes(*indexes: sa.Index) -> Callable[[Connection], None]:
    """A step creating ``indexes`` as ``system.py`` declares them (``sa.Index`` objects of
    a table there, e.g. ``next(i for i in system.imports.indexes if i.name == "…")``)."""

    def apply(conn: Connection) -> None:
        for index in indexes:
            index.create(conn)

    return apply


def prefix_bookkeeping_columns(conn: Connection) -> None:
    """Step 4: loadbay's columns of every data table and change log move under the
    reserved prefix (``id`` → ``loadbay_id``, ``action`` → ``loadbay_action``…; see
    ``store/columns.py``), leaving their names to the users' columns. The indexes follow
    the columns (both databases rename them in place); PostgreSQL's identity keeps its
    sequence. The tables are found by their change logs, whatever the catalog says."""
    for table in data_table_names(conn):
        for name, wanted in ((table, DATA_COLUMNS), (changes_table(table), CHANGE_COLUMNS)):
            have = {c["name"] for c in sa.inspect(conn).get_columns(name)}
            for new in wanted:
                old = UNPREFIXED[new]
                if old in have and new not in have:
                    conn.exec_driver_sql(f"ALTER TABLE {q(name)} RENAME COLUMN {old} TO {new}")


#: who did what to an import (service/views.ACTS): a token's id and its name then
ACTOR_COLUMNS = tuple(
    f"{act}_by{part}"
    for act in ("created", "started", "cancelled", "reverted")
    for part in ("", "_name")
)


def imports_kind_and_actors(conn: Connection) -> None:
    """Step 5: ``imports.kind`` (``bulk`` for a bulk request, known before by the notes the
    bulk route gave them; else ``file``), who created, started, cancelled and reverted each
    import (nobody known for those before), and the indexes of the imports list's filters
    by kind and by creator."""
    add_columns(system.imports, "kind", *ACTOR_COLUMNS)(conn)
    imports = system.imports
    conn.execute(sa.update(imports).where(imports.c.notes == "bulk records").values(kind="bulk"))
    wanted = ("loadbay_imports_tenant_kind", "loadbay_imports_tenant_creator")
    create_indexes(*(i for i in imports.indexes if i.name in wanted))(conn)


def results_by_import_number(conn: Connection) -> None:
    """Step 6: every import gets a number (``loadbay_import_numbers``, in the order the
    imports were created), and the row results are kept under it instead of under the
    import's id: the results' key becomes (number, table, file, row), narrow and growing,
    so an import's results are written at the index's end. The results are moved into a
    holding table, the old table dropped (its key's name is then free), the new one made
    as ``system.py`` declares it and filled in key order."""
    create_tables(system.import_numbers)(conn)
    conn.exec_driver_sql(
        "INSERT INTO loadbay_import_numbers (import_id) "
        "SELECT id FROM loadbay_imports ORDER BY created_at, id"
    )
    conn.exec_driver_sql(  # results of an import no longer listed (none should be) stay
        "INSERT INTO loadbay_import_numbers (import_id) SELECT DISTINCT r.import_id "
        "FROM loadbay_results r WHERE r.import_id NOT IN "
        "(SELECT n.import_id FROM loadbay_import_numbers n)"
    )
    fields = "table_name, src, row, ref, key, outcome, record_id, superseded_by, diff"
    kept = ", ".join(f"r.{f}" for f in fields.split(", "))
    conn.exec_driver_sql(
        f"CREATE TABLE loadbay_results_moving AS SELECT n.number AS import_number, {kept} "
        "FROM loadbay_results r JOIN loadbay_import_numbers n ON n.import_id = r.import_id"
    )
    conn.exec_driver_sql("DROP TABLE loadbay_results")
    create_tables(system.results)(conn)
    conn.exec_driver_sql(
        f"INSERT INTO loadbay_results (import_number, {fields}) "
        f"SELECT import_number, {fields} FROM loadbay_results_moving "
        "ORDER BY import_number, table_name, src, row"
    )
    conn.exec_driver_sql("DROP TABLE loadbay_results_moving")


STEPS: tuple[Step, ...] = (
    Step(1, "baseline: the schema of the release before migrations", baseline.bring_to_baseline),
    Step(2, "imports.progress: the progress of a run", add_columns(system.imports, "progress")),
    Step(3, "custom_tables: the tables tenants define", create_tables(system.custom_tables)),
    Step(4, "data tables: loadbay's columns named loadbay_*", prefix_bookkeeping_columns),
    Step(5, "imports.kind and who created, started, cancelled, reverted", imports_kind_and_actors),
    Step(6, "results kept under each import's number", results_by_import_number),
)
