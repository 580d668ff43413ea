"""Step 1, or a table made from the file: the table the upload calls for, inferred from all
of its rows (``service.tables.infer_table``), shown editable (names, types, required,
unique, key) and created (``service.tables.create_table``, as ``POST /v1/tables``); the
columns step then maps the file onto it."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from loadbay.errors import InvalidOption
from loadbay.schema.loader import table_spec
from loadbay.schema.model import ColumnType
from loadbay.service import tables as table_service
from loadbay.service import uploads
from loadbay.web.common import WebRoute, Writer, render, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)
#: what an inferred column has besides name, type, required and unique (kept while its
#: type is not changed: precision and scale of a decimal, a date's format, enum values…)
_SET_HERE = ("name", "type", "required", "unique")


@router.get("/new/table")
def new_table_page(
    request: Request,
    user: Writer,
    upload: Annotated[list[str] | None, Query()] = None,
    key: str | None = None,
) -> Response:
    if not upload or len(upload) != 1:
        raise InvalidOption("a table is made from one file: choose one file")
    ctx = user.svc.ctx
    file = uploads.get_upload(ctx, user.tenant, upload[0])
    found = table_service.infer_table(ctx, user.tenant, upload[0], key=key or None)
    spec = table_spec(found.table)
    headers = {column: header for header, column in found.mapping.items()}
    columns = [
        {
            **c,
            "header": headers.get(c["name"], c["name"]),
            "extra": json.dumps({k: v for k, v in c.items() if k not in _SET_HERE}),
        }
        for c in spec["columns"]
    ]
    return render(
        request,
        "newtable.html",
        file=file,
        table=spec,
        columns=columns,
        rows=found.rows,
        notes=list(found.notes),
        types=[t.value for t in ColumnType],
    )


def definition_of(form: FormData) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The table the form defines, and (file column, table column) of each column."""
    columns: list[dict[str, Any]] = []
    picks: list[tuple[str, str]] = []
    for i in range(int(str(form.get("columns") or 0))):
        name = str(form.get(f"c-{i}-name") or "").strip()
        kind = str(form.get(f"c-{i}-type") or "text")
        column: dict[str, Any] = {"name": name, "type": kind}
        if kind == form.get(f"c-{i}-inferred"):
            column.update(json.loads(str(form.get(f"c-{i}-extra") or "{}")))
        column["required"] = form.get(f"c-{i}-required") == "1"
        if form.get(f"c-{i}-unique") == "1":
            column["unique"] = True
        columns.append(column)
        picks.append((str(form.get(f"c-{i}-header") or name), name))
    key = str(form.get("key") or "")
    table = {"name": str(form.get("name") or "").strip(), "columns": columns}
    if key:
        table["key"] = [columns[int(key)]["name"]] if key.isdigit() else [key]
    return table, picks


@router.post("/new/table")
async def create_table(request: Request, user: Writer) -> Response:
    form = await request.form()
    definition, picks = definition_of(form)
    created = await run_in_threadpool(
        table_service.create_table, user.svc.ctx, user.tenant, definition
    )
    query = urlencode(
        [
            ("table", created.name),
            *(("upload", str(u)) for u in form.getlist("upload")),
            *(("pick", f"{header}={column}") for header, column in picks),
        ]
    )
    return see_other(f"/new/columns?{query}")
