"""The numbered steps, in order (see the package's docstring for how to add one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loadbay.store import system
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


STEPS: tuple[Step, ...] = (
    Step(1, "baseline: the schema of the release before migrations", baseline.bring_to_baseline),
    Step(2, "imports.progress: the progress of a run", add_columns(system.imports, "progress")),
    Step(3, "custom_tables: the tables tenants define", create_tables(system.custom_tables)),
)
