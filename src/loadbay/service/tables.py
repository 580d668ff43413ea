"""Use cases of tables: describe them, export their rows; infer, create and alter the
tables a tenant defines.

A tenant's own tables (``create_table``, ``import --create``) are kept in the database
(``store/tables_sql``) and seen through ``Context.catalog_for(tenant)`` beside the
built-in tables and the schema file's, by every process. Their name is their data table's:
a name the built-in tables, the schema file or another tenant use is refused with one
answer, "not available" (nothing is said of the other tenant). ``alter_table`` only adds
columns: a change that would drop, retype or reshape stored data is refused.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from loadbay.config import Settings
from loadbay.domain.tables import TableInfo
from loadbay.errors import Conflict, InvalidOption, InvalidSchema
from loadbay.pipeline.choices import SOURCE_OPTIONS
from loadbay.schema.loader import column_spec, parse_table, table_spec
from loadbay.schema.model import Catalog, Column, ColumnType, Table
from loadbay.service.context import Context
from loadbay.store import tables_sql
from loadbay.store.engine import reading
from loadbay.store.imports_sql import now
from loadbay.store.migrations import ensure_data_tables
from loadbay.store.records_sql import iter_records

if TYPE_CHECKING:  # the engine (polars) only for what infers or checks (the list is light)
    from loadbay.pipeline.infer import Inferred
    from loadbay.service.requests import SourceSpec

#: the longest name of a table a tenant defines: its change log and that log's index
#: (``loadbay_changes__<name>__import``) must stay within PostgreSQL's 63 characters
MAX_TABLE_NAME = 38


def describe_table(table: Table) -> TableInfo:
    return TableInfo.of(table)


def list_tables(ctx: Context, tenant: str | None = None) -> list[TableInfo]:
    """The tables the tenant sees: built-in, the schema file's, and its own."""
    return [describe_table(t) for t in ctx.catalog_for(tenant or ctx.tenant)]


def records(
    ctx: Context,
    table_name: str,
    tenant: str | None = None,
    filters: dict[str, str] | None = None,
) -> Iterator[dict[str, object]]:
    catalog = ctx.catalog_for(tenant or ctx.tenant)
    table = catalog.get(table_name)
    with ctx.engine.connect() as conn, reading(conn).begin():
        yield from iter_records(conn, catalog, table, tenant or ctx.tenant, filters=filters)


def export_table(
    ctx: Context, table_name: str, out: IO[str], fmt: str = "csv", tenant: str | None = None
) -> int:
    """Write every row so that importing the file again changes nothing; return the count."""
    catalog = ctx.catalog_for(tenant or ctx.tenant)
    table = catalog.get(table_name)
    names = table.column_names
    count = 0
    if fmt == "csv":
        from loadbay.pipeline.formula import neutralised_text  # polars: not for the list

        texts = _text_columns(catalog, table)
        writer = csv.writer(out)
        writer.writerow(names)
        for rec in records(ctx, table_name, tenant):
            cells = [(n in texts, _cell(rec[n])) for n in names]
            writer.writerow([neutralised_text(c) if text else c for text, c in cells])
            count += 1
    else:
        for rec in records(ctx, table_name, tenant):
            out.write(json.dumps({n: rec[n] for n in names}, ensure_ascii=False) + "\n")
            count += 1
    return count


#: the types whose values are free text: a cell of one that a spreadsheet would run as a
#: formula (``=…``, ``-dash``…) is exported with a leading apostrophe, as the error report
#: writes it (``pipeline.formula``), and loadbay takes it off again when it reads the
#: file; numbers (``-5``), booleans and dates are written as they are
_TEXTS = frozenset({ColumnType.TEXT, ColumnType.ENUM, ColumnType.EMAIL, ColumnType.CURRENCY})


def _text_columns(catalog: Catalog, table: Table) -> set[str]:
    """The columns of ``table`` whose exported values are text (a reference: the
    referenced column's, as its records show the natural key)."""
    found = set()
    for col in table.columns:
        shown = col
        if col.references is not None:
            shown = catalog.get(col.references.table).column(col.references.column)
        if shown.type in _TEXTS:
            found.add(col.name)
    return found


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---- a tenant's own tables --------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """A table inferred from files: its definition (as a schema file writes it), which
    file header became which column where they differ, the rows read, and notes."""

    table: Table
    mapping: dict[str, str]
    rows: int
    notes: tuple[str, ...]

    def view(self) -> dict[str, object]:
        return {
            "table": table_spec(self.table),
            "mapping": dict(self.mapping),
            "rows": self.rows,
            "notes": list(self.notes),
        }


def _suggestion(found: Inferred) -> Suggestion:
    return Suggestion(found.table, found.mapping, found.rows, found.notes)


def infer_sources(
    settings: Settings, sources: Sequence[SourceSpec], key: str | None = None
) -> list[Suggestion]:
    """The tables ``sources`` would fill, inferred in one pass over each file (nothing is
    created, no database needed): one per table (``SourceSpec.table``, else the file's
    name, as ``pipeline.infer.table_name_of``)."""
    from loadbay.pipeline.infer import FileToInfer, infer_tables
    from loadbay.pipeline.read import limits_of

    limits = limits_of(settings)
    files = [
        FileToInfer(Path(s.path), s.name, s.read_options(settings.batch_size, limits), s.table)
        for s in sources
    ]
    return [_suggestion(found) for found in infer_tables(files, key)]


def infer_table(
    ctx: Context,
    tenant: str,
    upload_id: str,
    table: str | None = None,
    key: str | None = None,
    read: Mapping[str, object] | None = None,
) -> Suggestion:
    """The table an upload of ``tenant`` would fill (``POST /v1/tables/infer``; the web
    importer's "create a table from the file"); ``read``: the source options (format,
    delimiter, encoding, sheet). Nothing is created."""
    from loadbay.service.requests import SourceSpec
    from loadbay.service.uploads import get_upload, source_of

    given: dict[str, Any] = {k: v for k, v in (read or {}).items() if v is not None}
    unknown = sorted(set(given) - set(SOURCE_OPTIONS))
    if unknown:
        raise InvalidOption(
            f"options {', '.join(unknown)} do not change how a file is read: inferring a "
            f"table takes {', '.join(SOURCE_OPTIONS)}",
            field="options",
        )
    upload = get_upload(ctx, tenant, upload_id)
    source = source_of(upload, table, SourceSpec(path="", name="", **given))
    found = infer_sources(ctx.settings, [source], key)
    if len(found) != 1:
        names = ", ".join(s.table.name for s in found)
        raise InvalidSchema(
            f"the upload holds several tables ({names}): infer them from the command line, "
            "or upload one table's records"
        )
    return found[0]


def _parsed(definition: Mapping[str, object]) -> Table:
    if not isinstance(definition, Mapping):
        raise InvalidSchema("a table's definition is an object: name, columns, key…")
    table = parse_table(definition)
    if len(table.name) > MAX_TABLE_NAME:
        raise InvalidSchema(
            f"table name {table.name!r} is too long: a table you define has at most "
            f"{MAX_TABLE_NAME} characters"
        )
    _check_formats(table.columns)
    return table


def _check_formats(columns: Sequence[Column]) -> None:
    from loadbay.pipeline.validate.temporal import date_format_problem

    for col in columns:
        problem = None if col.format is None else date_format_problem(col.format)
        if problem:
            raise InvalidSchema(f"column {col.name!r}: format {col.format!r}: {problem}")


def _available(ctx: Context, conn: Connection, tenant: str, name: str) -> None:
    """Conflict unless ``name`` is free: not stored by any tenant, not a table the
    database holds already (the built-in and schema file's names are checked before)."""
    owner = tables_sql.owner_of(conn, name)
    if owner == tenant:
        raise Conflict(
            f"table {name!r} exists already (PATCH /v1/tables/{name} or import --alter "
            "adds columns to it)",
            field="name",
        )
    if owner is not None or tables_sql.stored_table_exists(conn, name):
        raise tables_sql.not_available(name)


def create_table(ctx: Context, tenant: str, definition: Mapping[str, object]) -> TableInfo:
    """Define a table of ``tenant`` and create its data table (``POST /v1/tables``,
    ``import --create``); the table as ``describe_table`` shows it.

    InvalidSchema (422): the definition is not valid (or references a table the tenant
    does not see); Conflict (409): the name is not available."""
    table = _parsed(definition)
    if table.name in ctx.catalog:
        raise tables_sql.not_available(table.name)
    catalog = Catalog([*ctx.catalog_for(tenant), table])  # checks its references
    with ctx.engine.begin() as conn:
        _available(ctx, conn, tenant, table.name)
        tables_sql.insert_table(conn, tenant, table.name, table_spec(table), now())
        ensure_data_tables(conn, _only(catalog, table))
    return describe_table(table)


def _only(catalog: Catalog, table: Table) -> Catalog:
    """A catalog of ``table`` and the tables it references (data tables to ensure)."""
    wanted = {table.name, *(c.references.table for c in table.references if c.references)}
    return Catalog([t for t in catalog if t.name in wanted])


def _own_table(conn: Connection, tenant: str, name: str, catalog: Catalog) -> Table:
    stored = tables_sql.lock_table_row(conn, tenant, name)
    if stored is None:
        catalog.get(name)  # UnknownTable (404) when the tenant does not see it
        raise Conflict(
            f"table {name!r} is not one you defined: only those can be changed here",
            field="name",
        )
    return parse_table(stored.definition)


def _added(table: Table, columns: Sequence[Mapping[str, object]], has_rows: bool) -> list[Column]:
    """The columns of ``columns`` that ``table`` lacks; Conflict for one that it has in
    another form (it would retype or reshape stored data)."""
    if not columns:
        raise InvalidSchema("give the columns to add: columns: [{name, type, …}]")
    wanted = parse_table({"name": table.name, "columns": [dict(c) for c in columns]}).columns
    added: list[Column] = []
    for col in wanted:
        if table.has_column(col.name):
            have = table.column(col.name)
            if have != col:
                raise Conflict(
                    f"column {col.name!r} of table {table.name!r} is "
                    f"{_shown(column_spec(have))}, not {_shown(column_spec(col))}: a column "
                    "is never retyped or changed, as its stored values would not follow "
                    "(add a column of another name)",
                    field="columns",
                )
            continue
        if col.unique:
            raise InvalidSchema(
                f"column {col.name!r}: a column added to a table cannot be unique (define it "
                "when the table is created)"
            )
        if col.required and has_rows:
            raise InvalidSchema(
                f"column {col.name!r}: a required column cannot be added to table "
                f"{table.name!r}, whose stored rows have no value for it"
            )
        added.append(col)
    return added


def _shown(spec: Mapping[str, object]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in spec.items() if k != "name")


def alter_table(
    ctx: Context, tenant: str, name: str, columns: Sequence[Mapping[str, object]]
) -> TableInfo:
    """Add ``columns`` (as a definition's columns) to the tenant's table ``name``
    (``PATCH /v1/tables/{name}``, ``import --alter``): a column it has already, given the
    same, is left as it is; given otherwise, Conflict (409). Nothing is ever dropped or
    retyped. The table as ``describe_table`` shows it."""
    catalog = ctx.catalog_for(tenant)
    with ctx.engine.begin() as conn:
        table = _own_table(conn, tenant, name, catalog)
        added = _added(table, columns, tables_sql.has_rows(conn, name))
        _check_formats(added)
        if not added:
            return describe_table(table)
        grown = Table(
            table.name,
            (*table.columns, *added),
            key=table.key,
            checks=table.checks,
            description=table.description,
        )
        others = [t for t in catalog if t.name != name]
        wider = Catalog([*others, grown])  # checks the new references
        tables_sql.update_table(conn, tenant, name, table_spec(grown), now())
        ensure_data_tables(conn, _only(wider, grown))
    return describe_table(grown)


def new_columns(have: Iterable[str], suggested: Table) -> list[dict[str, object]]:
    """``import --alter``: the columns of ``suggested`` (inferred from a file) that a table
    with the columns ``have`` lacks, as a definition's columns, none required."""
    known = set(have)
    return [{**column_spec(c), "required": False} for c in suggested.columns if c.name not in known]


def add_file_columns(ctx: Context, tenant: str, suggested: Table) -> list[str]:
    """Add to the tenant's table of that name the columns ``suggested`` has and it lacks
    (``new_columns``); the names added."""
    table = ctx.catalog_for(tenant).get(suggested.name)
    new = new_columns(table.column_names, suggested)
    if new:
        alter_table(ctx, tenant, suggested.name, new)
    return [str(c["name"]) for c in new]


def is_own_table(ctx: Context, tenant: str, name: str) -> bool:
    """Whether ``name`` is a table ``tenant`` defined (not built in, not a schema file's)."""
    with ctx.engine.connect() as conn, reading(conn).begin():
        return tables_sql.owner_of(conn, name) == tenant and name not in ctx.catalog
