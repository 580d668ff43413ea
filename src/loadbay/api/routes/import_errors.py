"""``GET /v1/imports/{id}/errors/summary``: an import's errors grouped by table, column and
code, counted by the database (one GROUP BY), each with an example value."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from loadbay.api.deps import Reader, Svc
from loadbay.api.openapi import errors
from loadbay.service import imports as import_service

router = APIRouter(prefix="/v1/imports", tags=["imports"])

_GROUP_EXAMPLE: dict[str, Any] = {
    "table": "projects",
    "column": "budget",
    "code": "invalid_decimal",
    "count": 1204,
    "example": "lots",
    "message": "'lots' is not a decimal number",
}


class ErrorGroup(BaseModel):
    table: str
    column: str | None = Field(description="The column (null: the row as a whole).")
    code: str = Field(description="Stable code, e.g. required, invalid_decimal.")
    count: int = Field(description="How many errors of this column and code.")
    example: str | None = Field(description="One value that failed (the smallest).")
    message: str = Field(description="One message of the group (the smallest).")


class ErrorSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"data": [_GROUP_EXAMPLE]}]})
    data: list[ErrorGroup] = Field(description="Most frequent first (at most 200 groups).")


@router.get(
    "/{import_id}/errors/summary",
    response_model=ErrorSummary,
    responses=errors(401, 403, 404, 429),
)
def error_summary(import_id: str, principal: Reader, svc: Svc) -> dict[str, Any]:
    """The import's errors grouped by table, column and code, with a count and an example
    value each, most frequent first."""
    found = import_service.error_summary(svc.ctx, import_id, principal.tenant, limit=200)
    return {"data": [{**g, "table": g["table_name"]} for g in found]}
