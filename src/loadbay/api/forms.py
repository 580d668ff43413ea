"""Parsing bodies the routes read themselves: JSON with its fingerprint, multipart forms."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile

from loadbay.errors import InvalidOption
from loadbay.service.idempotency import fingerprint

M = TypeVar("M", bound=BaseModel)

#: multipart fields that may be repeated or comma-separated
LIST_FIELDS = ("tables", "upload_ids", "key")
#: multipart fields whose value is JSON text
JSON_FIELDS = ("mapping", "constants", "options", "records")
CHUNK = 1 << 20
#: the nesting of arrays and objects a JSON body (or form field) may have
MAX_JSON_DEPTH = 64


def validate(model: type[M], data: Any) -> M:
    """The model, or a 422 problem naming every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


def load_json(raw: str | bytes, what: str) -> Any:
    """JSON text parsed, nested at most MAX_JSON_DEPTH arrays and objects deep."""
    try:
        data = json.loads(raw)
    except RecursionError:
        data = None
        deep = True
    except ValueError as exc:
        raise InvalidOption(f"{what} is not valid JSON: {exc}") from None
    else:
        deep = _nested(raw) > MAX_JSON_DEPTH and _too_deep(data)
    if deep:
        raise InvalidOption(
            f"{what} is nested too deep: at most {MAX_JSON_DEPTH} arrays and objects"
        )
    return data


def _nested(raw: str | bytes) -> int:
    """An upper bound of the nesting of JSON text, counted fast (brackets and braces)."""
    if isinstance(raw, str):
        return raw.count("[") + raw.count("{")
    return raw.count(b"[") + raw.count(b"{")


def _too_deep(data: Any) -> bool:
    stack: list[tuple[Any, int]] = [(data, 1)] if isinstance(data, dict | list) else []
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        if depth > MAX_JSON_DEPTH:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


async def json_body(request: Request, model: type[M]) -> tuple[M, str]:
    """The body as ``model``, and its fingerprint (canonical JSON) for Idempotency-Key."""
    raw = await request.body()
    data = load_json(raw, "the body") if raw.strip() else None
    body = validate(model, data)
    canonical = json.dumps(body.model_dump(mode="json", by_alias=True), sort_keys=True)
    return body, fingerprint(canonical)


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


def is_json(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in ("application/json", "") or kind.endswith("+json")


async def read_form(request: Request) -> FormData:
    return await request.form(max_files=50, max_fields=200)


def fields_of(form: FormData) -> dict[str, Any]:
    """The non-file fields: lists for LIST_FIELDS, parsed JSON for JSON_FIELDS."""
    fields: dict[str, Any] = {}
    for name, value in form.multi_items():
        if not isinstance(value, str):
            continue
        if name in LIST_FIELDS:
            fields.setdefault(name, []).extend(p.strip() for p in value.split(",") if p.strip())
        elif name in JSON_FIELDS:
            fields[name] = load_json(value, f"the form field {name!r}")
        else:
            fields[name] = value
    return fields


def files_of(form: FormData) -> list[UploadFile]:
    return [v for _, v in form.multi_items() if isinstance(v, UploadFile)]


async def chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while data := await upload.read(CHUNK):
        yield data
