"""``/v1/uploads``: a file's bytes in (a raw body or multipart), its id out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from loadbay.api import forms, streams
from loadbay.api.deps import Reader, Svc, Writer
from loadbay.api.openapi import errors, ref
from loadbay.api.schemas import Upload, UploadCreate
from loadbay.errors import InvalidOption, PayloadTooLarge
from loadbay.service import uploads
from loadbay.service.idempotency import Scoped
from loadbay.service.views import upload_view

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])

_BODY = {
    "requestBody": {
        "required": True,
        "description": "The file: a raw body (name it with ?filename=), a multipart "
        "form with one file part, or JSON with its bytes as base64 (the size limit is "
        "the decoded size's).",
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": ref(UploadCreate)},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Send the same key again to get the first response (kept 24 hours).",
    ),
]


def keyed(key: str | None, route: str, status: int) -> Scoped | None:
    """The client's Idempotency-Key: unique per tenant in the scope of ``route``, whose
    first answer's ``status`` is kept with it."""
    return None if key is None else Scoped(key, route, status)


def _keyed(key: str | None) -> Scoped | None:
    return keyed(key, "POST /v1/uploads", 201)


@router.post(
    "",
    status_code=201,
    response_model=Upload,
    responses=errors(400, 401, 403, 409, 413, 422, 429),
    openapi_extra=_BODY,
)
async def create_upload(
    request: Request,
    principal: Writer,
    svc: Svc,
    idempotency_key: IdempotencyKey = None,
    filename: Annotated[str | None, Query(max_length=255)] = None,
) -> JSONResponse:
    """Stream a file to storage (sha256 and size limit on the way); detect its format."""
    if forms.is_json(request, untyped=False):
        data = forms.load_json(await request.body(), "the body", svc.settings.max_json_depth)
        body = forms.validate(UploadCreate, data)
        text = uploads.checked_base64(body.content_base64, svc.settings.max_upload_bytes)
        upload, replayed = await run_in_threadpool(
            uploads.receive,
            svc.ctx,
            principal.tenant,
            body.filename or filename,
            uploads.base64_chunks(text),
            _keyed(idempotency_key),
        )
    elif forms.is_multipart(request):
        form = await forms.read_form(request)
        try:
            files = forms.files_of(form)
            if len(files) != 1:
                raise InvalidOption("send exactly one file part")
            upload, replayed = await streams.receive(
                svc.ctx,
                principal.tenant,
                files[0].filename,
                forms.chunks(files[0]),
                _keyed(idempotency_key),
            )
        finally:
            await form.close()
    else:
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > svc.settings.max_upload_bytes:
            raise PayloadTooLarge(
                f"the file is larger than the {svc.settings.max_upload_bytes:,} bytes allowed",
                limit=svc.settings.max_upload_bytes,
            )
        upload, replayed = await streams.receive(
            svc.ctx, principal.tenant, filename, request.stream(), _keyed(idempotency_key)
        )
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(upload_view(upload), status_code=201, headers=headers)


@router.get("/{upload_id}", response_model=Upload, responses=errors(401, 403, 404, 429))
async def get_upload(upload_id: str, principal: Reader, svc: Svc) -> dict[str, object]:
    """An upload of the token's tenant."""
    found = await run_in_threadpool(uploads.get_upload, svc.ctx, principal.tenant, upload_id)
    return upload_view(found)
