"""What an import request can be refused for before a row is read: at once, with a 422
problem, rather than accepted (202) and failed later. Malformed files still fail in the
import, where the reader knows the row and byte.

One check per thing knowable from the request alone: the tables it names (an unknown one
in multi-table ``records``), a mode the table cannot take (upsert into a table without a
key), empty ``records``, and ``require_all_columns`` with a column no record gives.
"""

from __future__ import annotations

from collections.abc import Sequence

from loadbay.errors import InvalidOption
from loadbay.pipeline.frames import Mode
from loadbay.pipeline.map import MappingOptions, check_required, map_columns
from loadbay.schema.model import Catalog, Table
from loadbay.service.ingest import effective_mode
from loadbay.service.requests import ImportRequest


def check_request(
    catalog: Catalog,
    request: ImportRequest,
    names: Sequence[str | None],
    records: object = None,
) -> None:
    """InvalidOption (422) for what ``request`` (into tables ``names``, one per source, and
    with inline ``records`` if any) cannot do, whatever its rows hold."""
    given = _records_by_table(catalog, names, records)
    tables = [catalog.get(n) for n in dict.fromkeys([*(n for n in names if n), *given])]
    for table in tables:
        mode = effective_mode(request.mode, table)
        if request.require_all_columns and table.name in given:
            _check_columns(table, mode, request, given[table.name])


def _records_by_table(
    catalog: Catalog, names: Sequence[str | None], records: object
) -> dict[str, list[dict[str, object]]]:
    """Inline records by table (none for uploads); InvalidOption when there is none."""
    if records is None:
        return {}
    table = names[0] if names else None
    if table is not None or isinstance(records, list):
        if isinstance(records, dict):
            found = list(records.values())
        else:
            found = list(records) if isinstance(records, list) else []
        if not found:
            raise InvalidOption("records is empty: give at least one record")
        return {table: _objects(found)} if table else {}
    if not isinstance(records, dict):
        return {}
    unknown = [name for name in records if name not in catalog]
    if unknown:
        raise InvalidOption(
            f"records: {', '.join(map(repr, unknown))} "
            f"{'is not a table' if len(unknown) == 1 else 'are not tables'} "
            f"(tables: {', '.join(catalog.names())})"
        )
    by_table = {
        name: _objects(rows if isinstance(rows, list) else []) for name, rows in records.items()
    }
    if not any(by_table.values()):
        raise InvalidOption("records is empty: give at least one record")
    return by_table


def _objects(rows: list[object]) -> list[dict[str, object]]:
    return [r for r in rows if isinstance(r, dict)]


def _check_columns(
    table: Table, mode: Mode, request: ImportRequest, rows: list[dict[str, object]]
) -> None:
    """``require_all_columns``: every column of ``table`` must come from some record's
    field (mapped as the import maps them) or a constant (MissingColumn, 422)."""
    fields = list(dict.fromkeys(name for row in rows for name in row))
    mapping = {f: c for f, c in request.mapping.items() if f in fields}
    constants = {c: v for c, v in request.constants.items() if table.has_column(c)}
    options = MappingOptions(mapping, constants, request.strict_columns)
    cmap = map_columns(fields, table, options)
    match = () if mode is Mode.APPEND else table.match_columns(request.key)
    check_required(cmap, table, mode, match, fields, require_all=True)
