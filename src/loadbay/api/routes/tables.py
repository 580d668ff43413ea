"""``/v1/tables``: the tables, their records (pages or whole files), and bulk records; a
tenant's own tables: infer one from an upload, create one, add columns to it."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, JSONResponse

from loadbay.api import forms
from loadbay.api.deps import Reader, Svc, Writer
from loadbay.api.openapi import errors
from loadbay.api.query import any_query
from loadbay.api.schemas import (
    BulkRequest,
    BulkResponse,
    RecordPage,
    TableAlter,
    TableDefinition,
    TableInferRequest,
    TableInfo,
    TableList,
    TableSuggestion,
)
from loadbay.domain.tables import table_view
from loadbay.service import bulk, pages
from loadbay.service import tables as table_service

router = APIRouter(prefix="/v1/tables", tags=["tables"])

#: query parameters of the records route that are not column filters
_RESERVED = {"limit", "cursor", "format", "expand", "count"}
#: ``filter[<column>]``: a filter on any column, one named as a parameter above too
_FILTER = re.compile(r"filter\[([^\[\]]+)\]")
_EXPORTS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A page of records; the whole table with ?format=csv or ?format=jsonl.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}
_MIXED: dict[int | str, dict[str, Any]] = {
    207: {"model": BulkResponse, "description": "Some records failed: see each result."}
}
_MEDIA = {"csv": "text/csv", "jsonl": "application/x-ndjson"}
EXPAND = (
    "Reference columns (comma-separated) to show as the records they name instead of "
    "their natural keys; an unknown one is 400 unknown_expand, naming those there are."
)


def names_of(text: str | None) -> list[str]:
    """``a, b,c`` as ``["a", "b", "c"]`` (a query parameter's list)."""
    return [n.strip() for n in text.split(",") if n.strip()] if text else []


@router.get("", response_model=TableList, responses=errors(401, 403, 429))
def list_tables(principal: Reader, svc: Svc) -> dict[str, Any]:
    """Every table with its columns, types, rules, key and references: the built-in ones,
    the schema file's and the tenant's own."""
    return {"data": [table_view(t) for t in table_service.list_tables(svc.ctx, principal.tenant)]}


@router.post(
    "", status_code=201, response_model=TableInfo, responses=errors(401, 403, 409, 422, 429)
)
def create_table(body: TableDefinition, principal: Writer, svc: Svc) -> dict[str, Any]:
    """Define a table of the tenant (the model of a schema file's table) and create it:
    every process sees it, imports go into it. 409 when the name is not available (built
    in, the schema file's, or taken), 422 when the definition is not valid."""
    definition = body.model_dump(mode="json", exclude_none=True)
    return table_view(table_service.create_table(svc.ctx, principal.tenant, definition))


@router.post("/infer", response_model=TableSuggestion, responses=errors(401, 403, 404, 422, 429))
def infer_table(body: TableInferRequest, principal: Writer, svc: Svc) -> dict[str, Any]:
    """The table an upload would fill, inferred from all of its rows (types, date formats,
    required columns, a key); nothing is created: POST the ``table`` to /v1/tables."""
    read = body.options.model_dump(exclude_none=True) if body.options else {}
    found = table_service.infer_table(
        svc.ctx, principal.tenant, body.upload_id, body.table, body.key, read
    )
    return found.view()


@router.get("/{table}", response_model=TableInfo, responses=errors(401, 403, 404, 429))
def get_table(table: str, principal: Reader, svc: Svc) -> dict[str, Any]:
    """One table."""
    return table_view(pages.table_info(svc.ctx, table, principal.tenant))


@router.patch("/{table}", response_model=TableInfo, responses=errors(401, 403, 404, 409, 422, 429))
def alter_table(table: str, body: TableAlter, principal: Writer, svc: Svc) -> dict[str, Any]:
    """Add columns to a table the tenant defined. A column it has, given the same, stays;
    given otherwise (another type, say) is 409: nothing is dropped or retyped. 409 too
    for a built-in table or the schema file's."""
    columns = [c.model_dump(mode="json", exclude_none=True) for c in body.columns]
    return table_view(table_service.alter_table(svc.ctx, principal.tenant, table, columns))


@router.get(
    "/{table}/records",
    response_model=RecordPage,
    responses={**_EXPORTS, **errors(400, 401, 403, 404, 422, 429)},
)
@any_query  # the other parameters filter columns (an unknown one: 422 from the service)
def list_records(
    table: str,
    request: Request,
    principal: Reader,
    svc: Svc,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    cursor: str | None = None,
    format: Literal["csv", "jsonl"] | None = None,
    expand: Annotated[str | None, Query(description=EXPAND, examples=["customer,contact"])] = None,
    count: Annotated[
        bool, Query(description="Add total_count: how many the filters keep, all pages.")
    ] = False,
) -> Any:
    """Records in id order; any other query parameter filters a column (``?status=active``),
    and ``filter[<column>]=<value>`` filters any column, one named as a parameter of this
    route (``limit``, ``cursor``, ``format``, ``expand``, ``count``) too."""
    filters = _filters(request.query_params.multi_items())
    if format is not None:
        path = pages.export_file(svc.ctx, principal.tenant, table, format)
        return FileResponse(
            path,
            media_type=_MEDIA[format],
            filename=f"{table}.{format}",
            background=BackgroundTask(path.unlink, missing_ok=True),
        )
    return pages.records_page(
        svc.ctx, principal.tenant, table, limit, cursor, filters, names_of(expand), count
    )


def _filters(params: list[tuple[str, str]]) -> dict[str, str]:
    """The column filters among a records request's query parameters."""
    filters = {}
    for name, value in params:
        named = _FILTER.fullmatch(name)
        if named:
            filters[named.group(1)] = value
        elif name not in _RESERVED:
            filters[name] = value
    return filters


@router.post(
    "/{table}/records/bulk",
    response_model=BulkResponse,
    responses={**_MIXED, **errors(400, 401, 403, 404, 409, 413, 422, 429)},
)
def bulk_records(
    table: str,
    body: BulkRequest,
    principal: Writer,
    svc: Svc,
    return_: Annotated[Literal["ids", "records"], Query(alias="return")] = "ids",
    fields: Annotated[str | None, Query(description="With return=records: a,b,c")] = None,
    expand: Annotated[
        str | None, Query(description="With return=records: " + EXPAND, examples=["customer"])
    ] = None,
) -> JSONResponse:
    """Write up to LOADBAY_BULK_MAX records now: 200 if all succeed, 207 if some fail;
    with ``error_handling: strict``, all or nothing (422 ``row_errors`` if any fails)."""
    forms.check_text(body.records, "records")
    chosen = names_of(fields) or None
    answer = bulk.bulk_records(
        svc.ctx,
        svc.leases,
        principal.tenant,
        table,
        body.records,
        body.mode,
        return_records=return_ == "records",
        fields=chosen,
        error_handling=body.error_handling,
        lock_timeout=body.lock_timeout,
        expand=names_of(expand),
        actor=principal.actor,
    )
    return JSONResponse(answer.as_json(), status_code=207 if answer.failed else 200)
