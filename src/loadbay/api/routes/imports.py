"""``/v1/imports``: create (uploads, inline records or files), look, list, results, act."""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, JSONResponse, StreamingResponse

from loadbay.api import forms, streams
from loadbay.api.deps import Reader, Services, Svc, Writer
from loadbay.api.openapi import errors, ref
from loadbay.api.routes.uploads import IdempotencyKey, keyed
from loadbay.api.schemas import (
    Import,
    ImportAsTemplate,
    ImportCreate,
    ImportPage,
    ImportUpdate,
    ResultPage,
    RevertRequest,
    RevertResult,
    Scalar,
    StartRequest,
    Template,
)
from loadbay.domain.json import JSONObject
from loadbay.domain.templates import template_view
from loadbay.errors import InvalidOption
from loadbay.service import imports as import_service
from loadbay.service import pages, templates, uploads
from loadbay.service.auth import Principal
from loadbay.service.idempotency import Scoped, fingerprint
from loadbay.service.import_requests import ImportChanges, ImportSpec
from loadbay.service.views import import_view, revert_view
from loadbay.times import utc_naive

router = APIRouter(prefix="/v1/imports", tags=["imports"])

_FORM_FIELDS: dict[str, Any] = {
    "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
    "table": {"type": "string"},
    "tables": {"type": "array", "items": {"type": "string"}},
    "mode": {
        "type": "string",
        "enum": ["create", "update", "upsert", "replace", "append", "delete"],
    },
    "error_handling": {"type": "string", "enum": ["strict", "lenient"]},
    "key": {"type": "array", "items": {"type": "string"}},
    "mapping": {"type": "string", "description": "JSON object: file column → column"},
    "constants": {"type": "string", "description": "JSON object: column → value"},
    "options": {"type": "string", "description": "JSON object: ImportOptions"},
    "dry_run": {"type": "boolean"},
    "notes": {"type": "string"},
    "template_id": {"type": "string", "description": "A saved template: the defaults"},
}
#: a 202 answer's header: where to follow the import
_LOCATION = {
    "Location": {
        "description": "The import: GET it to follow its state.",
        "schema": {"type": "string", "example": "/v1/imports/imp_9f86d081884c7d65"},
    }
}
_CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ref(ImportCreate)},
            "multipart/form-data": {
                "schema": {"type": "object", "properties": _FORM_FIELDS, "required": ["file"]}
            },
        },
    }
}
_RESULT_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A page of row results; the whole error file with Accept: text/csv; "
        "every row as JSON Lines with Accept: application/x-ndjson.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


def text_of(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _spec(body: ImportCreate) -> ImportSpec:
    key = body.key.split(",") if isinstance(body.key, str) else body.key or []
    uploads = [body.upload_id] if body.upload_id else []
    return ImportSpec(
        table=body.table,
        tables=tuple(body.tables or ()),
        upload_ids=tuple(uploads + list(body.upload_ids or [])),
        records=body.records,
        mode=body.mode,
        error_handling=body.error_handling,
        key=tuple(k.strip() for k in key if k.strip()),
        mapping=dict(body.mapping),
        constants={k: text_of(v) for k, v in body.constants.items()},
        options=body.options.model_dump(exclude_none=True),
        dry_run=body.dry_run,
        notes=body.notes,
        template_id=body.template_id,
        given=frozenset(body.model_fields_set),
    )


@router.post(
    "",
    status_code=202,
    response_model=Import,
    responses={
        202: {"description": "Accepted: queued.", "headers": _LOCATION},
        **errors(400, 401, 403, 404, 409, 413, 415, 422, 429),
    },
    openapi_extra=_CREATE_BODY,
)
async def create_import(
    request: Request, principal: Writer, svc: Svc, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Queue an import: JSON naming uploads, holding records or a file as base64, or
    multipart with files."""
    actor = principal.actor
    scoped = keyed(idempotency_key, "POST /v1/imports", 202)  # unique in this route
    if forms.is_multipart(request):
        form = await forms.read_form(request)
        try:
            fields = forms.fields_of(form, svc.settings.max_json_depth)
            body = forms.validate(ImportCreate, fields)
            if body.content_base64 is not None or body.filename is not None:
                raise InvalidOption(
                    "content_base64 and filename belong to a JSON body: in a multipart "
                    "form, send the file as a file part"
                )
            files = [(f.filename, forms.chunks(f)) for f in forms.files_of(form)]
            print_ = fingerprint(body.model_dump_json())
            found, replayed = await _submit_files(svc, principal, body, files, scoped, print_)
        finally:
            await form.close()
    elif forms.is_json(request):
        body, print_ = await forms.json_body(request, ImportCreate)
        if body.content_base64 is not None:  # a file, kept as an upload as multipart's are
            text = uploads.checked_base64(body.content_base64, svc.settings.max_upload_bytes)
            files = [(body.filename, streams.blocks(uploads.base64_chunks(text)))]
            found, replayed = await _submit_files(svc, principal, body, files, scoped, print_)
        else:
            if body.filename is not None:
                raise InvalidOption("filename names the file of content_base64: give both")
            found, replayed = await run_in_threadpool(
                import_service.submit,
                svc.ctx,
                principal.tenant,
                _spec(body),
                svc.jobs,
                scoped,
                print_,
                actor=actor,
            )
    else:
        raise InvalidOption("send application/json or multipart/form-data")
    return _accepted(found, replayed)


async def _submit_files(
    svc: Services,
    principal: Principal,
    body: ImportCreate,
    files: Sequence[tuple[str | None, AsyncIterable[bytes]]],
    scoped: Scoped | None,
    print_: str,
) -> tuple[JSONObject, bool]:
    """An import and its files in one call: each file received as an upload as its bytes
    arrive, then the import of them submitted (in a thread)."""
    spec = _spec(body)
    import_service.check_files(spec, len(files))
    tenant = principal.tenant
    uploaded = [(await streams.receive(svc.ctx, tenant, n, c))[0] for n, c in files]
    return await run_in_threadpool(
        import_service.submit_uploads,
        svc.ctx,
        tenant,
        spec,
        uploaded,
        svc.jobs,
        scoped,
        print_,
        actor=principal.actor,
    )


def _accepted(found: dict[str, Any], replayed: bool = False) -> JSONResponse:
    """A 202 answer: the import, and where to follow it (Location)."""
    headers = {"Location": f"/v1/imports/{found['id']}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(found, status_code=202, headers=headers)


@router.get("", response_model=ImportPage, responses=errors(401, 403, 422, 429))
def list_imports(
    principal: Reader,
    svc: Svc,
    state: str | None = None,
    table: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    template_id: str | None = None,
    kind: Annotated[
        Literal["file", "bulk"] | None,
        Query(
            description="file: imports of files or records; bulk: bulk requests.",
            examples=["bulk"],
        ),
    ] = None,
    created_by: Annotated[
        str | None,
        Query(
            max_length=40,
            description="The id of the token that created them (tok_…).",
            examples=["tok_5d41402abc4b2a76"],
        ),
    ] = None,
    count: Annotated[
        bool, Query(description="Add total_count: how many the filters keep, all pages.")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Imports, newest first, a page at a time (follow ``next_cursor``)."""
    filters = {
        "state": state,
        "table": table,
        "created_after": utc_naive(created_after),
        "created_before": utc_naive(created_before),
        "template_id": template_id,
        "kind": kind,
        "created_by": created_by,
    }
    return dict(pages.imports_page(svc.ctx, principal.tenant, limit, cursor, filters, count))


@router.get("/{import_id}", response_model=Import, responses=errors(401, 403, 404, 429))
def get_import(import_id: str, principal: Reader, svc: Svc) -> dict[str, Any]:
    """An import: state, counts, progress, timestamps and error."""
    return import_view(import_service.get_import(svc.ctx, import_id, principal.tenant))


@router.get(
    "/{import_id}/results",
    response_model=ResultPage,
    responses={**_RESULT_FORMATS, **errors(401, 403, 404, 422, 429)},
)
def import_results(
    import_id: str,
    request: Request,
    principal: Reader,
    svc: Svc,
    outcome: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    cursor: str | None = None,
) -> Any:
    """Per-row outcomes (filter: ``outcome=failed``, or several comma-separated)."""
    accept = request.headers.get("accept", "")
    if "text/csv" in accept:
        path = pages.error_report(svc.ctx, principal.tenant, import_id)
        return FileResponse(
            path,
            media_type="text/csv",
            filename=f"{import_id}-errors.csv",
            background=BackgroundTask(path.unlink, missing_ok=True),
        )
    if "application/x-ndjson" in accept:
        lines = pages.results_lines(svc.ctx, principal.tenant, import_id, outcome)
        return StreamingResponse(lines, media_type="application/x-ndjson")
    return pages.results_page(svc.ctx, principal.tenant, import_id, limit, cursor, outcome)


@router.patch(
    "/{import_id}",
    response_model=Import,
    responses=errors(401, 403, 404, 409, 422, 429),
)
def change_import(
    import_id: str, body: ImportUpdate, principal: Writer, svc: Svc
) -> dict[str, Any]:
    """Change the mapping, options or notes of a queued or validated import (a JSON
    merge patch: mapping and options key by key, null removing one). A validated dry run
    is queued to be checked again with them; any other state is 409."""
    options = body.options
    changes = ImportChanges(
        mapping=body.mapping,
        options={k: getattr(options, k) for k in options.model_fields_set} if options else None,
        notes=body.notes,
        given=frozenset(body.model_fields_set),
    )
    changed = import_service.change(svc.ctx, principal.tenant, import_id, changes, svc.jobs)
    return import_view(changed)


@router.post(
    "/{import_id}/start",
    status_code=202,
    response_model=Import,
    responses={
        202: {"description": "Accepted: queued to run.", "headers": _LOCATION},
        **errors(401, 403, 404, 409, 429),
    },
)
def start_import(
    import_id: str, principal: Writer, svc: Svc, body: StartRequest | None = None
) -> JSONResponse:
    """Run a dry run for real (queued again). One that ended ``validation_failed`` (rows
    failed a strict dry run) is 409 unless ``{"force": true}``."""
    actor, force = principal.actor, bool(body and body.force)
    started = import_service.start(
        svc.ctx, principal.tenant, import_id, svc.jobs, actor=actor, force=force
    )
    return _accepted(import_view(started))


@router.post(
    "/{import_id}/cancel", response_model=Import, responses=errors(401, 403, 404, 409, 429)
)
def cancel_import(import_id: str, principal: Writer, svc: Svc) -> dict[str, Any]:
    """Cancel a queued or validated import now; a running one stops at its next chunk."""
    actor = principal.actor
    cancelled = import_service.cancel(svc.ctx, principal.tenant, import_id, svc.leases, actor=actor)
    return import_view(cancelled)


@router.post(
    "/{import_id}/revert",
    response_model=RevertResult,
    responses=errors(401, 403, 404, 409, 422, 429),
)
def revert_import(
    import_id: str, principal: Writer, svc: Svc, body: RevertRequest | None = None
) -> dict[str, Any]:
    """Undo a finished import; 409 listing the conflicts unless ``{"force": true}``."""
    force = bool(body and body.force)
    done = import_service.revert(svc.ctx, principal.tenant, import_id, force, actor=principal.actor)
    return revert_view(done)


@router.post(
    "/{import_id}/template",
    status_code=201,
    response_model=Template,
    responses=errors(401, 403, 404, 409, 422, 429),
)
def save_as_template(
    import_id: str, principal: Writer, svc: Svc, body: ImportAsTemplate | None = None
) -> dict[str, Any]:
    """Save this import's tables, mode, error handling, key, mapping, constants and
    options as a new template ``name``."""
    body = body or ImportAsTemplate()
    found = templates.save_import(svc.ctx, principal.tenant, import_id, body.name, body.notes)
    return template_view(found)
