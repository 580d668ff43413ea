"""The OpenAPI document: FastAPI's, with every error response a problem document."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from loadbay.api import problems
from loadbay.api.schemas import ImportCreate, Problem, UploadCreate

_DESCRIPTIONS = {
    400: "The request is not valid (a NUL character, a body that is not JSON).",
    401: "No token, or a token that is not valid or was revoked.",
    403: "The token does not have the scope this needs.",
    404: "No such resource for this tenant.",
    409: "The resource's state does not allow this (or, for a revert, later changes; for "
    "an Idempotency-Key, a request with it still in flight).",
    413: "The request or the file is larger than allowed.",
    415: "The request's media type is not supported.",
    422: "The request or its options are not valid.",
    429: "Too many requests: see Retry-After.",
    500: "An internal error.",
    503: "The database or the queue does not answer.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route for these error statuses (always 500 too)."""
    return {code: {"description": _DESCRIPTIONS[code]} for code in (*codes, 500)}


def ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _add_models(components: dict[str, Any], *models: type[BaseModel]) -> None:
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema


def build(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    _add_models(components, Problem, ImportCreate, UploadCreate)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            # every route: a URL with a NUL character (api/guards.py), a lost database
            for status in (400, 503):
                operation.setdefault("responses", {}).setdefault(
                    str(status), {"description": _DESCRIPTIONS[status]}
                )
            for code, answer in operation.get("responses", {}).items():
                if code.isdigit() and int(code) >= 400:
                    answer["content"] = {problems.MEDIA_TYPE: {"schema": ref(Problem)}}
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    app.openapi_schema = schema
    return schema
