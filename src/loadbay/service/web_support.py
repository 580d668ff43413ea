"""Use cases the web importer needs besides the API's: the caller of a session (by token
id), column suggestions with first values, errors grouped, failed rows with their cells,
cells fixed in the page (a new upload, checked again), the columns step's choices saved
as a template and a template's choices.

Every function takes the caller's tenant and answers NotFound for another tenant's data,
as the API's use cases do.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict, cast

import polars as pl

from loadbay.domain.templates import Template
from loadbay.domain.uploads import Upload
from loadbay.errors import InvalidOption, Unauthorized
from loadbay.pipeline.choices import IMPORT_OPTIONS
from loadbay.pipeline.frames import REF, ROW
from loadbay.pipeline.map import IGNORE, MappingOptions, map_columns, normalise
from loadbay.pipeline.read import read_file
from loadbay.schema.model import Table
from loadbay.service.auth import Principal, principal_of
from loadbay.service.context import Context
from loadbay.service.import_requests import ImportSpec, build_request
from loadbay.service.imports import error_summary, get_import
from loadbay.service.pages import results_page
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.service.templates import (
    all_templates,
    create_template,
    fields_of_request,
    get_template,
)
from loadbay.service.uploads import get_upload, receive, source_of
from loadbay.store import auth_sql
from loadbay.store.engine import reading, statements_alone

#: how sure a suggestion is, by how it was found (fuzzy ones: their similarity)
EXACT, NORMALISED, FUZZY = "exact", "normalised", "fuzzy"
FUZZY_CUTOFF = 0.6
SAMPLE_ROWS = 3
#: the largest import (rows) whose failed cells may be fixed in the page
FIX_MAX_ROWS = 10_000
#: the error groups a page shows at most
GROUPS = 100
#: rows a batch holds when the failed rows are looked up in a file (memory, not speed)
SCAN_ROWS = 10_000
#: (file position, row number, file column) → the cell's new text
Edits = Mapping[tuple[int, int, str], str]


class PreviewColumn(TypedDict):
    """A file column in the columns step: its first values, the suggested table column
    (None: none), how it was found (EXACT, NORMALISED, FUZZY) and how sure (0..1)."""

    name: str
    values: list[str]
    target: str | None
    how: str | None
    sure: float


class Preview(TypedDict):
    """The columns step's start: the file columns, and the required ones nothing maps."""

    columns: list[PreviewColumn]
    unmapped_required: list[str]


def principal_of_token_id(ctx: Context, token_id: str) -> Principal:
    """The caller of a session that holds a token's id; Unauthorized once it is revoked."""
    with ctx.engine.connect() as conn, statements_alone(reading(conn)).begin():
        found = auth_sql.get_token(conn, token_id)
    if found is None or found.revoked_at is not None:
        raise Unauthorized("the session's token was revoked: sign in again")
    return principal_of(found)


def suggest(headers: Sequence[str], table: Table) -> dict[str, tuple[str, str, float]]:
    """file column → (table column, how, sure 0..1): the pipeline's own exact and
    normalised matches, then a fuzzy guess for what is left (to be confirmed by a person)."""
    cmap = map_columns(headers, table, MappingOptions())
    found: dict[str, tuple[str, str, float]] = {}
    for column, header in cmap.sources.items():
        how = EXACT if header == column else NORMALISED
        found[header] = (column, how, 1.0 if how == EXACT else 0.95)
    free = [c for c in table.column_names if c not in cmap.sources]
    for header in cmap.unknown:
        best = max(((_likeness(header, c), c) for c in free), default=(0.0, ""))
        if best[0] >= FUZZY_CUTOFF:
            found[header] = (best[1], FUZZY, round(best[0], 2))
            free.remove(best[1])
    return found


def _likeness(header: str, column: str) -> float:
    """How alike two names are, 0..1, ignoring case and separators (``E-mail adress``
    and ``email``: 0.62)."""
    return difflib.SequenceMatcher(
        None, normalise(header).replace("_", ""), column.replace("_", "")
    ).ratio()


def _first_rows(upload: Upload, rows: int) -> pl.DataFrame:
    """The first rows of an upload, read as the format it was found to be."""
    options = source_of(upload, None).read_options(batch_size=max(rows, 1))
    for batch in read_file(Path(upload.path), options):
        return batch.frame.head(rows)
    return pl.DataFrame()


def column_preview(
    ctx: Context, tenant: str, upload_ids: Sequence[str], table_name: str
) -> Preview:
    """The columns of the uploads (in file order, each once) with their first values and
    suggested targets; the table's required columns that nothing maps."""
    table = ctx.catalog_for(tenant).get(table_name)
    values: dict[str, list[str]] = {}
    for upload_id in upload_ids:
        frame = _first_rows(get_upload(ctx, tenant, upload_id), SAMPLE_ROWS)
        for name in frame.columns:
            if name not in (ROW, REF):
                cells = ["" if v is None else str(v) for v in frame[name].to_list()]
                values.setdefault(name, []).extend(cells)
    suggestions = suggest(list(values), table)
    columns: list[PreviewColumn] = []
    for name, cells in values.items():
        target, how, sure = suggestions.get(name, (None, None, 0.0))
        columns.append(
            {
                "name": name,
                "values": cells[:SAMPLE_ROWS],
                "target": target,
                "how": how,
                "sure": sure,
            }
        )
    return {"columns": columns, "unmapped_required": unmapped_required(table, suggestions)}


def required_columns(table: Table) -> list[str]:
    """Columns a new row cannot do without (required, no default)."""
    return [c.name for c in table.columns if c.required and c.default is None]


def unmapped_required(table: Table, suggestions: dict[str, tuple[str, str, float]]) -> list[str]:
    mapped = {target for target, _, _ in suggestions.values()}
    return [c for c in required_columns(table) if c not in mapped]


def error_groups(ctx: Context, tenant: str, import_id: str) -> list[dict[str, object]]:
    """The errors grouped by table, column and code, most frequent first (one GROUP BY
    over the import's errors, whatever its size): count, a message and a value."""
    return [
        {
            "table": g["table_name"],
            "column": g["column"],
            "code": g["code"],
            "count": int(str(g["count"])),
            "example": g["message"],
            "value": g["example"],
        }
        for g in error_summary(ctx, import_id, tenant, limit=GROUPS)
    ]


def _source_rows(
    request: ImportRequest, wanted: dict[int, set[int]]
) -> dict[tuple[int, int], dict[str, object]]:
    """The cells of the wanted rows (file position → row numbers) as they were read."""
    found: dict[tuple[int, int], dict[str, object]] = {}
    for src, source in enumerate(request.sources):
        rows = wanted.get(src)
        if not rows:
            continue
        batches = read_file(Path(source.path), source.read_options(batch_size=SCAN_ROWS))
        for batch in batches:
            picked = batch.frame.filter(pl.col(ROW).is_in(sorted(rows)))
            for record in picked.iter_rows(named=True):
                cells = {k: v for k, v in record.items() if k not in (ROW, REF)}
                found[(src, int(record[ROW]))] = cells
            if source.table and _past(batch.frame, max(rows)):
                getattr(batches, "close", lambda: None)()
                break  # one table's rows come in order: the rest of the file is not needed
    return found


def _past(frame: pl.DataFrame, row: int) -> bool:
    last = frame[ROW].max() if frame.height else None
    return isinstance(last, int) and last >= row


def failed_rows(
    ctx: Context, tenant: str, import_id: str, limit: int = 20, cursor: str | None = None
) -> dict[str, object]:
    """A page of failed rows: each with its cells as in the file and its errors by column
    (``headers``: the file columns of the page, in file order)."""
    page = results_page(ctx, tenant, import_id, limit, cursor, "failed")
    request = ImportRequest.from_json(get_import(ctx, import_id, tenant).request)
    wanted: dict[int, set[int]] = {}
    for result in page["data"]:
        wanted.setdefault(result["file"], set()).add(result["row"])
    cells = _source_rows(request, wanted)
    headers: list[str] = []
    rows: list[dict[str, Any]] = []
    for result in page["data"]:
        found = cells.get((result["file"], result["row"]), {})
        headers += [h for h in found if h not in headers]
        rows.append({**result, "cells": found})
    return {
        "headers": headers,
        "rows": [_placed(ctx, tenant, request, row, list(row["cells"])) for row in rows],
        "next_cursor": page["next_cursor"],
    }


def _placed(
    ctx: Context,
    tenant: str,
    request: ImportRequest,
    row: Mapping[str, object],
    headers: list[str],
) -> dict[str, object]:
    """A failed row with its errors placed on the file column they came from
    (``by_header``); errors of no file column (a constant, a missing column) in ``other``."""
    file = row["file"]
    errors = cast("list[dict[str, Any]]", row["errors"])
    source = (
        request.sources[file] if isinstance(file, int) and file < len(request.sources) else None
    )
    sources: dict[str, str] = {}
    if source is not None and source.table and headers:
        explicit = {k: v for k, v in request.mapping.items() if k in headers}
        table = ctx.catalog_for(tenant).get(source.table)
        sources = map_columns(headers, table, MappingOptions(explicit=explicit)).sources
    by_header: dict[str, list[str]] = {}
    other: list[str] = []
    for error in errors:
        header = sources.get(error["column"] or "")
        if header is None:
            other.append(f"{error['column'] or 'row'}: {error['message']}")
        else:
            by_header.setdefault(header, []).append(error["message"])
    return {**row, "by_header": by_header, "other": other}


def mapping_of(pairs: Sequence[tuple[str, str]], table: Table) -> dict[str, str]:
    """file column → table column from a form's choices ("" = ignore); one file column
    per table column. A left-out file column that has a table column's name (exact or
    normalised), which the pipeline would read into it, is ignored explicitly
    (``map.IGNORE``)."""
    suggested = suggest([h for h, _ in pairs], table)
    mapping: dict[str, str] = {}
    by_target: dict[str, str] = {}
    for header, target in pairs:
        if not target:
            if suggested.get(header, ("", FUZZY, 0.0))[1] != FUZZY:
                mapping[header] = IGNORE
            continue
        if target in by_target:
            raise InvalidOption(
                f"columns {by_target[target]!r} and {header!r} are both mapped to {target!r}: "
                "choose one"
            )
        by_target[target] = header
        mapping[header] = target
    return mapping


def _fixed_csv(
    source: SourceSpec, edits: dict[tuple[int, str], str], number: int
) -> tuple[bytes, int]:
    """The rows of one file as read, with the edited cells (row, column) replaced, as a
    UTF-8 CSV (cells verbatim: a leading ``'`` means what it meant in the file); and how
    many cells changed (an empty cell and an empty text are the same)."""
    parts: list[str] = []
    seen: set[int] = set()
    changed = 0
    headers: list[str] = []
    for batch in read_file(Path(source.path), source.read_options()):
        frame = batch.frame
        headers = headers or [c for c in frame.columns if c not in (ROW, REF)]
        for (row, column), text in edits.items():
            if column not in headers:
                raise InvalidOption(f"file {number} has no column {column!r}")
            old = frame.filter(pl.col(ROW) == row)[column].to_list()
            if not old:
                continue
            seen.add(row)
            if (old[0] or "") != text:
                changed += 1
                frame = frame.with_columns(
                    pl.when(pl.col(ROW) == row)
                    .then(pl.lit(text))
                    .otherwise(pl.col(column).cast(pl.String))
                    .alias(column)
                )
        parts.append(frame.select(headers).write_csv(include_header=not parts))
    missing = sorted({r for r, _ in edits} - seen)
    if missing:
        raise InvalidOption(f"file {number} has no row {missing[0]}")
    return "".join(parts).encode("utf-8"), changed


def fix_cells(
    ctx: Context, tenant: str, import_id: str, edits: Edits, max_rows: int = FIX_MAX_ROWS
) -> ImportSpec:
    """The files of an import with the failed cells a person fixed in the page: each file
    a new upload (CSV; the original upload stays as it was), and a dry run of them with
    the import's own choices, to submit. InvalidOption: no change, a file, row or column
    the import does not have, or an import of more than ``max_rows`` rows."""
    record = get_import(ctx, import_id, tenant)
    request = ImportRequest.from_json(record.request)
    total = record.rows_total
    if total > max_rows:
        raise InvalidOption(
            f"import {import_id} has {total:,} rows: fixing cells in the page is for files "
            f"of up to {max_rows:,} rows; download the failed rows, fix them and upload them"
        )
    by_file: dict[int, dict[tuple[int, str], str]] = {}
    for (src, row, column), text in edits.items():
        if not 0 <= src < len(request.sources):
            raise InvalidOption(f"the import has no file {src + 1}")
        by_file.setdefault(src, {})[(row, column)] = text
    files = [
        _fixed_csv(source, by_file.get(src, {}), src + 1)
        for src, source in enumerate(request.sources)
    ]
    changed = sum(n for _, n in files)
    if not changed:
        raise InvalidOption("no cell was changed: edit a failed cell, then check again")
    upload_ids = []
    for source, (data, _) in zip(request.sources, files, strict=True):
        name = f"{Path(source.name).name.split('.')[0] or 'file'}-fixed.csv"
        upload, _ = receive(ctx, tenant, name, [data])
        upload_ids.append(upload.id)
    note = f"{changed} cells fixed in the page from {import_id}"
    return _spec_again(record.request, tuple(upload_ids), note)


def _spec_again(stored: Mapping[str, object], upload_ids: tuple[str, ...], note: str) -> ImportSpec:
    """A dry run of new CSV uploads with the choices of an import (its stored request)."""
    request = ImportRequest.from_json(dict(stored))
    options = {k: stored[k] for k in IMPORT_OPTIONS if stored.get(k) not in (None, (), [])}
    options.update(format="csv", delimiter=",", encoding="utf-8")
    return ImportSpec(
        tables=tuple(s.table or "" for s in request.sources),
        upload_ids=upload_ids,
        mode=request.mode.value,
        error_handling=request.error_handling.value,
        key=request.key,
        mapping=dict(request.mapping),
        constants=dict(request.constants),
        options=options,
        dry_run=True,
        notes=f"{request.notes} · {note}" if request.notes else note,
    )


def save_template(ctx: Context, tenant: str, spec: ImportSpec, name: str) -> Template:
    """The choices of an import not made yet (``spec``: as the columns step would submit
    it) saved as a template ``name`` (the checks of an import's, then of a template's)."""
    request = build_request(ctx, tenant, spec)
    return create_template(ctx, tenant, {**fields_of_request(request), "name": name})


def choices_of_template(ctx: Context, tenant: str, ref: str) -> dict[str, object]:
    """A template's choices named as an import's request (mode, key, mapping, constants,
    and its options at the top: empty, date_formats…), for the columns step to start
    from."""
    found = get_template(ctx, tenant, ref)
    return {
        **found.options,
        "mode": found.mode,
        "error_handling": found.error_handling,
        "key": list(found.key),
        "mapping": dict(found.mapping),
        "constants": dict(found.constants),
        "template_id": found.id,
    }


def templates_for(ctx: Context, tenant: str, table: str) -> list[Template]:
    """The tenant's templates that fit an import into ``table`` (or name no table)."""
    return [t for t in all_templates(ctx, tenant) if t.fits(table)]
