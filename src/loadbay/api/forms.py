"""Parsing bodies the routes read themselves: JSON with its fingerprint, multipart forms."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile

from loadbay.errors import InvalidCharacter, InvalidOption
from loadbay.pipeline.read.limits import brackets, check_depth
from loadbay.service.idempotency import fingerprint

M = TypeVar("M", bound=BaseModel)

#: multipart fields that may be repeated or comma-separated
LIST_FIELDS = ("tables", "upload_ids", "key")
#: multipart fields whose value is JSON text
JSON_FIELDS = ("mapping", "constants", "options", "records")
CHUNK = 1 << 20


def validate(model: type[M], data: Any) -> M:
    """The model, or a 422 problem naming every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


def load_json(raw: str | bytes, what: str, depth: int) -> Any:
    """JSON text parsed, once it is known to nest at most ``depth`` arrays and objects
    (LOADBAY_MAX_JSON_DEPTH, checked before parsing as the readers check files)."""
    text = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if brackets(text) > depth:
        check_depth(text, depth, "request", what)
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InvalidOption(f"{what} is not valid JSON: {exc}") from None
    if _SUSPECT.search(text):
        check_text(data, what)
    return data


#: escapes that may make text no database keeps: NUL, and UTF-16 surrogates (lone ones)
_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def check_text(data: Any, what: str) -> None:
    """InvalidCharacter (400) for JSON data holding text no database keeps: a NUL in a
    name or reference (an object's key), or a lone surrogate anywhere. (A NUL in a value
    is the value's problem: a row error of the cell, or the field's.)"""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key in value:
                if "\x00" in key:
                    raise InvalidCharacter(f"{what}: the name {key!r} holds a NUL character")
                _check_encodable(key, what)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            _check_encodable(value, what)


def _check_encodable(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidCharacter(
            f"{what}: {text[:40]!r} holds a lone UTF-16 surrogate, which is not text"
        ) from None


async def json_body(request: Request, model: type[M]) -> tuple[M, str]:
    """The body as ``model``, and its fingerprint (canonical JSON) for Idempotency-Key."""
    raw = await request.body()
    depth = request.app.state.services.settings.max_json_depth
    data = load_json(raw, "the body", depth) if raw.strip() else None
    body = validate(model, data)
    canonical = json.dumps(body.model_dump(mode="json", by_alias=True), sort_keys=True)
    return body, fingerprint(canonical)


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


def is_json(request: Request, untyped: bool = True) -> bool:
    """Whether the body is JSON by its Content-Type (``untyped``: also when none is given)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json") or (untyped and kind == "")


async def read_form(request: Request) -> FormData:
    return await request.form(max_files=50, max_fields=200)


def fields_of(form: FormData, depth: int) -> dict[str, Any]:
    """The non-file fields: lists for LIST_FIELDS, parsed JSON for JSON_FIELDS."""
    fields: dict[str, Any] = {}
    for name, value in form.multi_items():
        if not isinstance(value, str):
            continue
        if name in LIST_FIELDS:
            fields.setdefault(name, []).extend(p.strip() for p in value.split(",") if p.strip())
        elif name in JSON_FIELDS:
            fields[name] = load_json(value, f"the form field {name!r}", depth)
        else:
            fields[name] = value
    return fields


def files_of(form: FormData) -> list[UploadFile]:
    return [v for _, v in form.multi_items() if isinstance(v, UploadFile)]


async def chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while data := await upload.read(CHUNK):
        yield data
