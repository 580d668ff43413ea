"""A new import: 1 files and table, 2 columns, 3 options; then a dry run (4 check)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import JSONResponse, Response

from loadbay.api import streams
from loadbay.errors import InvalidOption
from loadbay.service import imports as import_service
from loadbay.service import uploads, web_support
from loadbay.service.import_requests import ImportSpec
from loadbay.service.imports import get_import
from loadbay.service.views import upload_view
from loadbay.web.common import User, WebRoute, Writer, render, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)
MODES = ("upsert", "create", "update", "replace", "append", "delete")


def _previous(user: User, import_id: str | None) -> dict[str, Any]:
    """The request of an earlier import (of this tenant), to start from its choices."""
    if not import_id:
        return {}
    return get_import(user.svc.ctx, import_id, user.tenant).request


@router.get("/new")
def new_page(
    request: Request, user: Writer, table: str | None = None, after: str | None = None
) -> Response:
    previous = _previous(user, after)
    sources = previous.get("sources") or [{}]
    return render(
        request,
        "new.html",
        tables=[t.name for t in user.svc.ctx.catalog_for(user.tenant)],
        table=table or sources[0].get("table") or "",
        after=after or "",
        max_bytes=user.svc.settings.max_upload_bytes,
    )


@router.post("/upload")
async def upload(request: Request, user: Writer, filename: str | None = None) -> Response:
    """One file's bytes (XHR, with the session's CSRF token in X-CSRF-Token)."""
    found, _ = await streams.receive(user.svc.ctx, user.tenant, filename, request.stream())
    return JSONResponse(upload_view(found), status_code=201)


@router.get("/new/columns")
def columns_page(
    request: Request,
    user: Writer,
    table: str,
    upload: Annotated[list[str] | None, Query()] = None,
    after: str | None = None,
    template: str | None = None,
    saved: str | None = None,
    pick: Annotated[list[str] | None, Query()] = None,
) -> Response:
    upload_ids = upload or []
    if not upload_ids:
        raise InvalidOption("choose at least one file")
    ctx = user.svc.ctx
    files = [uploads.get_upload(ctx, user.tenant, u) for u in upload_ids]
    preview = web_support.column_preview(ctx, user.tenant, upload_ids, table)
    table_def = ctx.catalog_for(user.tenant).get(table)
    previous, how = _previous(user, after), "earlier"
    if template:  # a saved template's choices, applied
        previous, how = web_support.choices_of_template(ctx, user.tenant, template), "template"
    mapping = previous.get("mapping") or {}
    if pick:  # the file columns of a table made from the file, and the columns they made
        mapping = {h: c for h, _, c in (p.rpartition("=") for p in pick)}
        how = "inferred"
    for column in preview["columns"]:
        if column["name"] in mapping:  # the earlier import's (template's) choice first
            column["target"], column["how"] = mapping[column["name"]], how
    return render(
        request,
        "columns.html",
        table=table_def,
        files=files,
        preview=preview,
        required=web_support.required_columns(table_def),
        unique=[c.name for c in table_def.columns if c.unique or c.name in table_def.key],
        modes=MODES,
        previous=previous,
        after=after or "",
        templates=web_support.templates_for(ctx, user.tenant, table),
        saved=saved or "",
    )


def _spec(form: FormData, user: User) -> ImportSpec:
    count = int(str(form.get("columns") or 0))
    pairs = [
        (str(form.get(f"col-{i}-name") or ""), str(form.get(f"col-{i}-target") or ""))
        for i in range(count)
    ]
    constants = {
        str(k)[len("const-") :]: str(v).strip()
        for k, v in form.multi_items()
        if str(k).startswith("const-") and str(v).strip()
    }
    formats = [f.strip() for f in str(form.get("date_formats") or "").split(",") if f.strip()]
    options: dict[str, Any] = {
        "empty": str(form.get("empty") or "keep"),
        "decimal_comma": form.get("decimal_comma") == "1",
    }
    if formats:
        options["date_formats"] = formats
    table = str(form.get("table") or "")
    return ImportSpec(
        table=table,
        upload_ids=tuple(str(u) for u in form.getlist("upload")),
        mode=str(form.get("mode") or "upsert"),
        error_handling=str(form.get("error_handling") or "strict"),
        key=tuple(str(k) for k in form.getlist("key") if k),
        mapping=web_support.mapping_of(pairs, user.svc.ctx.catalog_for(user.tenant).get(table)),
        constants=constants,
        options=options,
        dry_run=True,
        notes=str(form.get("notes") or "").strip() or None,
        template_id=str(form.get("template_id") or "") or None,
    )


@router.post("/new/check")
async def check(request: Request, user: Writer) -> Response:
    """Step 4: a dry run of the whole file, through the same use case as the API."""
    spec = _spec(await request.form(), user)
    found, _ = await run_in_threadpool(
        import_service.submit,
        user.svc.ctx,
        user.tenant,
        spec,
        user.svc.jobs,
        actor=user.principal.actor,
    )
    return see_other(f"/imports/{found['id']}")


@router.post("/new/template")
async def save_template(request: Request, user: Writer) -> Response:
    """Step 2: the current mapping and options saved as a template, then applied."""
    form = await request.form()
    spec = dataclasses.replace(_spec(form, user), template_id=None)
    saved = await run_in_threadpool(
        web_support.save_template,
        user.svc.ctx,
        user.tenant,
        spec,
        str(form.get("template_name") or ""),
    )
    pairs = [("table", spec.table or ""), *(("upload", u) for u in spec.upload_ids)]
    query = urlencode([*pairs, ("template", saved.id), ("saved", saved.name)])
    return see_other(f"/new/columns?{query}")
