"""``/v1/templates``: a tenant's saved import settings (``template_id`` on an import)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from loadbay.api.deps import Reader, Svc, Writer
from loadbay.api.openapi import errors
from loadbay.api.routes.imports import text_of
from loadbay.api.schemas import Template, TemplateCreate, TemplatePage, TemplateUpdate
from loadbay.domain.templates import page_view, template_view
from loadbay.errors import InvalidOption
from loadbay.service import templates

router = APIRouter(prefix="/v1/templates", tags=["templates"])


def fields_of(body: TemplateCreate | TemplateUpdate) -> dict[str, object]:
    """The fields the body gave, as the service names them (``table`` is one of ``tables``)."""
    fields = body.model_dump(exclude_unset=True)
    table = fields.pop("table", None)
    if table is not None:
        if fields.get("tables"):
            raise InvalidOption("give table or tables, not both", field="table")
        fields["tables"] = [table]
    if body.options is not None and "options" in fields:
        fields["options"] = body.options.model_dump(exclude_none=True)
    if fields.get("constants"):
        fields["constants"] = {k: text_of(v) for k, v in fields["constants"].items()}
    return fields


@router.post(
    "", status_code=201, response_model=Template, responses=errors(401, 403, 409, 422, 429)
)
async def create_template(body: TemplateCreate, principal: Writer, svc: Svc) -> dict[str, object]:
    """Save a template: an import naming it (``template_id``) takes its fields as defaults."""
    found = await run_in_threadpool(
        templates.create_template, svc.ctx, principal.tenant, fields_of(body)
    )
    return template_view(found)


@router.get("", response_model=TemplatePage, responses=errors(401, 403, 422, 429))
def list_templates(
    principal: Reader,
    svc: Svc,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, object]:
    """The tenant's templates by name, a page at a time (follow ``next_cursor``)."""
    return page_view(templates.list_templates(svc.ctx, principal.tenant, limit, cursor))


@router.get("/{template_id}", response_model=Template, responses=errors(401, 403, 404, 429))
def get_template(template_id: str, principal: Reader, svc: Svc) -> dict[str, object]:
    """One template, by id (or by name)."""
    return template_view(templates.get_template(svc.ctx, principal.tenant, template_id))


@router.patch(
    "/{template_id}", response_model=Template, responses=errors(401, 403, 404, 409, 422, 429)
)
async def update_template(
    template_id: str, body: TemplateUpdate, principal: Writer, svc: Svc
) -> dict[str, object]:
    """Change the fields given (the others stay); a field given as null clears it."""
    found = await run_in_threadpool(
        templates.update_template, svc.ctx, principal.tenant, template_id, fields_of(body)
    )
    return template_view(found)


@router.delete("/{template_id}", response_model=Template, responses=errors(401, 403, 404, 429))
def delete_template(template_id: str, principal: Writer, svc: Svc) -> dict[str, object]:
    """Delete a template (imports made from it keep its id)."""
    return template_view(templates.delete_template(svc.ctx, principal.tenant, template_id))
